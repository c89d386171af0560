import { Token } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { check, type Violation } from '../policy/violation';
import { checkSecretNames } from './agent-fleet';

/**
 * The program that starts the agent container when the fleet has secrets: it reads each secret
 * with the instance role, then runs `docker run` with the values in its environment, which
 * `docker run --env NAME` (no value) passes on to the container. The values never reach a file,
 * the user data, its log or a command line.
 */
export const SECRETS_LAUNCHER = '/usr/local/libexec/agent-fleet/with-secrets';
/** `NAME ARN` lines: which secret becomes which variable (ARNs only, no values). */
const SECRETS_LIST = '/etc/agent-fleet/secrets';

/**
 * The launcher, in Python 3 (Amazon Linux 2023 ships it for dnf and cloud-init, and the AWS CLI v2).
 * It parses the ARNs that `ecs.Secret` gives, as ECS does:
 * - an SSM parameter: `arn:<partition>:ssm:<region>:<account>:parameter/<name>`, read with
 *   `ssm get-parameter --with-decryption` (a SecureString is decrypted);
 * - a Secrets Manager secret: `arn:...:secret:<name>`, optionally followed by
 *   `:<json-key>:<version-stage>:<version-id>` (ECS's format, "Pass Secrets Manager secrets
 *   through Amazon ECS environment variables"), read with `secretsmanager get-secret-value`.
 * Each is read in the region of its ARN. A failure names the variable and the ARN, never a value,
 * and exits non-zero: systemd retries the unit, and marks the instance unhealthy if it keeps failing.
 */
const LAUNCHER = `#!/usr/bin/python3
import json, os, subprocess, sys

def aws(region, *args):
    run = subprocess.run(["/usr/bin/aws", "--region", region, "--output", "json", *args], stdout=subprocess.PIPE)
    if run.returncode != 0:
        raise ValueError("aws " + " ".join(args[:2]) + " failed (exit " + str(run.returncode) + ")")
    return json.loads(run.stdout)

def read(arn):
    parts = arn.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] == "ssm" and parts[5].startswith("parameter/"):
        return aws(parts[3], "ssm", "get-parameter", "--with-decryption", "--name", arn)["Parameter"]["Value"]
    if len(parts) in (7, 10) and parts[0] == "arn" and parts[2] == "secretsmanager" and parts[5] == "secret":
        key, stage, version = parts[7:] if len(parts) == 10 else ("", "", "")
        args = ["secretsmanager", "get-secret-value", "--secret-id", ":".join(parts[:7])]
        args += ["--version-stage", stage] if stage else []
        args += ["--version-id", version] if version else []
        secret = aws(parts[3], *args)
        if "SecretString" not in secret:
            raise ValueError("a binary secret (only a SecretString can be an environment variable)")
        if not key:
            return secret["SecretString"]
        try:
            fields = json.loads(secret["SecretString"])
        except ValueError:
            raise ValueError("the secret is not JSON, so it has no key " + key) from None
        if not isinstance(fields, dict) or key not in fields:
            raise ValueError("the secret's JSON has no key " + key)
        value = fields[key]
        return value if isinstance(value, str) else json.dumps(value)
    raise ValueError("not the ARN of an SSM parameter or a Secrets Manager secret")

env = dict(os.environ)
with open("${SECRETS_LIST}") as lines:
    for line in lines:
        name, arn = line.rstrip("\\n").split(" ", 1)
        try:
            env[name] = read(arn)
        except ValueError as error:
            sys.exit("agent-fleet: cannot read secret " + name + " from " + arn + ": " + str(error))
os.execve(sys.argv[1], sys.argv[1:], env)`;

/** The user data and the docker options that hand `secrets` to the agent container. */
export interface SecretsLaunch {
  /** User data commands that install the launcher and the list of secrets (none without secrets). */
  readonly commands: string[];
  /** What comes before `/usr/bin/docker run` in the unit's `ExecStart`. */
  readonly execStartPrefix: string;
  /** `docker run` options that pass each secret's variable from the launcher's environment. */
  readonly dockerOptions: string;
}

/** How the agent container gets `secrets` on an instance; grants `role` read on each one (and its KMS key). */
export function launchWithSecrets(secrets: Record<string, ecs.Secret>, role: iam.IGrantable): SecretsLaunch {
  const entries = Object.entries(secrets);
  if (entries.length === 0) return { commands: [], execStartPrefix: '', dockerOptions: '' };
  for (const [, secret] of entries) secret.grantRead(role);
  return {
    commands: [
      `install -d -m 0700 ${SECRETS_LAUNCHER.slice(0, SECRETS_LAUNCHER.lastIndexOf('/'))}`,
      `cat > ${SECRETS_LAUNCHER} <<'LAUNCHER'\n${LAUNCHER}\nLAUNCHER`,
      `chmod 0700 ${SECRETS_LAUNCHER}`,
      `cat > ${SECRETS_LIST} <<'SECRETS'\n${entries.map(([name, secret]) => `${name} ${secret.arn}`).join('\n')}\nSECRETS`,
      `chmod 0600 ${SECRETS_LIST}`,
    ],
    execStartPrefix: `${SECRETS_LAUNCHER} `,
    dockerOptions: entries.map(([name]) => `--env ${name} `).join(''),
  };
}

const LINE_BREAK = /[\r\n\0]/;
// What the launcher can read; checked only where the ARN is known at synth (not a token).
const READABLE_ARN = /^arn:[^:]+:(ssm:[^:]*:[^:]*:parameter\/.+|secretsmanager:[^:]*:[^:]*:secret:[^:]+(:[^:]*:[^:]*:[^:]*)?)$/;

/**
 * The rules for `secrets` on EC2: each becomes a variable of the container's environment, so its
 * name must be a variable name that nothing else sets (the fleet's own variables, or `environment`:
 * one variable with two values would silently lose one), and its ARN one the launcher can read.
 */
export function validateSecrets(
  secrets: Record<string, ecs.Secret>, envName: RegExp, fleetEnv: ReadonlySet<string>, environment: Record<string, string>,
): Violation[] {
  return [...checkSecretNames(secrets, fleetEnv, environment), ...Object.entries(secrets).flatMap(([name, secret]) => [
    ...check(envName.test(name), `secrets.${name}`, 'a name of letters, digits and _ that does not start with a digit', JSON.stringify(name)),
    ...check(!LINE_BREAK.test(secret.arn), `secrets.${name}`, 'a secret whose ARN (and JSON key) has no line break', JSON.stringify(secret.arn)),
    ...check(Token.isUnresolved(secret.arn) || READABLE_ARN.test(secret.arn), `secrets.${name}`,
      'an SSM parameter or a Secrets Manager secret (arn:...:ssm:...:parameter/..., arn:...:secretsmanager:...:secret:...[:key:stage:id])',
      secret.arn),
  ])];
}
