import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SecretValue, type Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { AgentCompute, AgentQueue, Ec2AgentFleet, ElasticAgentFleet, type Ec2AgentFleetProps } from '../../lib';
import { resourcesOf, synthTemplate, TEST_IMAGE, testStack } from '../support/cdk';

const DB_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:agents/db-AbCdEf';
const PARAMETER_VALUE = 'parameter-value-4f1c';
const SECRET_VALUE = 'secret-value-9b2e';

/** A stack with the secrets users pass most: a Secrets Manager secret's JSON key, a SecureString, a secret of the stack (with its KMS key). */
function secretsOf(stack: Stack) {
  const db = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Db', DB_SECRET_ARN);
  const token = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', { parameterName: '/agents/token' });
  const key = new kms.Key(stack, 'SecretKey', { enableKeyRotation: true });
  const own = new secretsmanager.Secret(stack, 'Own', { encryptionKey: key, secretStringValue: SecretValue.unsafePlainText(SECRET_VALUE) });
  const plain = new ssm.StringParameter(stack, 'Plain', { stringValue: PARAMETER_VALUE });
  return {
    key, own, plain,
    secrets: {
      DB_PASSWORD: ecs.Secret.fromSecretsManager(db, 'password'),
      API_TOKEN: ecs.Secret.fromSsmParameter(token),
      OWN: ecs.Secret.fromSecretsManagerVersion(own, { versionStage: 'AWSCURRENT' }),
      PLAIN: ecs.Secret.fromSsmParameter(plain),
    },
  };
}

function fleet(props: (stack: Stack) => Partial<Ec2AgentFleetProps>, stack: Stack = testStack()) {
  const queue = new AgentQueue(stack, 'Tasks');
  new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, ...props(stack) });
  return synthTemplate(stack);
}

/** The launch template's user data with CloudFormation's functions kept as JSON. */
function userData(template: Template): string {
  const [[, lt]] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
  const joined = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  const parts: unknown[] = typeof joined === 'string' ? [joined] : joined['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : JSON.stringify(p))).join('');
}

function instanceStatements(template: Template): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('InstanceRole'))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

function heredoc(script: string, delimiter: string): string {
  const match = new RegExp(`<<'${delimiter}'\\n([\\s\\S]*?)\\n${delimiter}\\n`).exec(script);
  if (!match) throw new Error(`no ${delimiter} heredoc in the user data`);
  return match[1];
}

describe('Ec2AgentFleet secrets', () => {
  test('user data lists each secret by ARN, and the unit runs docker through the launcher that reads them', () => {
    // GIVEN / WHEN
    const template = fleet((stack) => ({ secrets: secretsOf(stack).secrets }));
    const script = userData(template);
    // THEN
    expect(heredoc(script, 'SECRETS').split('\n')).toEqual([
      `DB_PASSWORD ${DB_SECRET_ARN}:password::`,
      'API_TOKEN arn:{"Ref":"AWS::Partition"}:ssm:{"Ref":"AWS::Region"}:{"Ref":"AWS::AccountId"}:parameter/agents/token',
      expect.stringMatching(/^OWN \{"Ref":"Own\w+"\}::AWSCURRENT:$/),
      expect.stringMatching(/^PLAIN arn:.*:parameter\/\{"Ref":"Plain\w+"\}$/),
    ]);
    expect(script).toContain('chmod 0600 /etc/agent-fleet/secrets');
    expect(script).toContain('chmod 0700 /usr/local/libexec/agent-fleet/with-secrets');
    expect(script).toMatch(/\nExecStart=\/usr\/local\/libexec\/agent-fleet\/with-secrets \/usr\/bin\/docker run --rm --name agent-worker --env-file \/etc\/agent-fleet\/agent.env --env DB_PASSWORD --env API_TOKEN --env OWN --env PLAIN --log-driver awslogs /);
  });

  test('no secret value is in the launch template, and nothing in user data traces commands', () => {
    // GIVEN / WHEN
    const template = fleet((stack) => ({ secrets: secretsOf(stack).secrets }));
    // THEN: the values are in their own resources only (where the test put them)
    const [[, lt]] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
    expect(JSON.stringify(lt)).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(lt)).not.toContain(PARAMETER_VALUE);
    expect(JSON.stringify(template.toJSON())).toContain(PARAMETER_VALUE);
    const script = userData(template);
    expect(script).not.toMatch(/set -[a-z]*x|set -o xtrace/);
    expect(heredoc(script, 'AGENT_ENV')).not.toMatch(/DB_PASSWORD|API_TOKEN|OWN|PLAIN/);
  });

  test('the instance role reads exactly those secrets, and decrypts with the secret\'s key only through Secrets Manager', () => {
    // GIVEN / WHEN
    const template = fleet((stack) => ({ secrets: secretsOf(stack).secrets }));
    const statements = instanceStatements(template);
    const on = (action: string) => statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    // THEN
    expect(on('secretsmanager:GetSecretValue')).toEqual([DB_SECRET_ARN, { Ref: expect.stringMatching(/^Own/) }]);
    expect(on('ssm:GetParameter').map((r) => JSON.stringify(r)).sort()).toEqual([
      expect.stringMatching(/:parameter\/",\{"Ref":"Plain\w+"\}\]\]\}$/),
      expect.stringMatching(/:parameter\/agents\/token"\]\]\}$/),
    ]);
    // The key is in the stack, so the grant is in its key policy (where Resource "*" means this key).
    const [[, key]] = resourcesOf(template, 'AWS::KMS::Key');
    expect(key.Properties.KeyPolicy.Statement).toContainEqual(expect.objectContaining({
      Action: 'kms:Decrypt',
      Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^FleetInstanceRole/), 'Arn'] } },
      Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
    }));
    expect(statements.filter((s) => [s.Resource].flat().includes('*') && JSON.stringify(s.Action).match(/secretsmanager|ssm|kms/))).toEqual([]);
  });

  test('without secrets there is no launcher and docker runs directly', () => {
    const script = userData(fleet(() => ({})));
    expect(script).not.toContain('with-secrets');
    expect(script).toMatch(/\nExecStart=\/usr\/bin\/docker run --rm --name agent-worker --env-file \/etc\/agent-fleet\/agent.env --log-driver/);
  });

  test('names that are not variable names, or that the fleet or environment set, are errors listed together', () => {
    // GIVEN
    const props = (stack: Stack): Partial<Ec2AgentFleetProps> => {
      const token = ecs.Secret.fromSsmParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'P', { parameterName: '/agents/token' }));
      return {
        environment: { MODEL: 'small' },
        secrets: { 'API-KEY': token, QUEUE_URL: token, AGENT_CONCURRENCY: token, AWS_REGION: token, AGENT_LIFECYCLE_HOOK_NAME: token, MODEL: token },
      };
    };
    // WHEN / THEN
    let message = '';
    try {
      fleet(props);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^TestStack\/Fleet: invalid configuration \(6 problems\)/);
    expect(message).toContain('secrets.API-KEY: must be a name of letters, digits and _ that does not start with a digit, got "API-KEY"');
    for (const name of ['QUEUE_URL', 'AGENT_CONCURRENCY', 'AWS_REGION', 'AGENT_LIFECYCLE_HOOK_NAME']) {
      expect(message).toContain(`secrets.${name}: must be a name the fleet does not set itself (it sets QUEUE_URL, AWS_REGION and AGENT_* from its props), got "${name}"`);
    }
    expect(message).toContain('secrets.MODEL: must be a name not also in environment (one variable, two values), got "MODEL"');
  });

  test('a secret of another kind, or a JSON key with a line break, is an error naming it', () => {
    const custom = { arn: 'arn:aws:s3:::bucket/key', hasField: false, grantRead: () => { throw new Error('not granted'); } } as unknown as ecs.Secret;
    expect(() => fleet(() => ({ secrets: { FROM_S3: custom } }))).toThrow(
      /secrets\.FROM_S3: must be an SSM parameter or a Secrets Manager secret \(.*\), got arn:aws:s3:::bucket\/key/);
    expect(() => fleet((stack) => ({
      secrets: { DB: ecs.Secret.fromSecretsManager(secretsmanager.Secret.fromSecretCompleteArn(stack, 'Db', DB_SECRET_ARN), 'pass\nword') },
    }))).toThrow(/secrets\.DB: must be a secret whose ARN \(and JSON key\) has no line break/);
  });

  test('ElasticAgentFleet passes AgentCompute.ec2({ secrets }) through, and names its props as the user wrote them', () => {
    // GIVEN
    const stack = testStack();
    const token = ecs.Secret.fromSsmParameter(ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', { parameterName: '/agents/token' }));
    // WHEN
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute: AgentCompute.ec2({ secrets: { API_TOKEN: token } }) });
    const template = synthTemplate(stack);
    // THEN
    expect(agents.ec2Fleet).toBeDefined();
    expect(userData(template)).toContain('--env API_TOKEN ');
    expect(instanceStatements(template).some((s) => [s.Action].flat().includes('ssm:GetParameter'))).toBe(true);
    expect(() => new ElasticAgentFleet(testStack(), 'Agents', {
      image: TEST_IMAGE, compute: AgentCompute.ec2({ secrets: { QUEUE_URL: token } }),
    })).toThrow(/TestStack\/Agents: invalid configuration[\s\S]*compute\.secrets\.QUEUE_URL: must be a name the fleet does not set itself/);
  });
});

// The launcher that user data installs, run here with Python 3 against a stand-in AWS CLI that
// answers from a table (no AWS call), and a command that prints the environment it gets.
const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });

if (python.status !== 0) {
  test('the secrets launcher: skipped, python3 is not installed', () => {
    console.warn('python3 is not installed: the EC2 secrets launcher did not run.');
  });
} else {
  describe('the secrets launcher on the instance', () => {
    const pythonPath = python.stdout.trim();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-secrets-'));
    const launcherScript = (() => {
      const stack = testStack();
      const template = fleet((s) => ({ secrets: secretsOf(s).secrets }), stack);
      return heredoc(userData(template), 'LAUNCHER');
    })();
    const REGION_ARN = 'arn:aws:secretsmanager:us-east-2:123456789012:secret:agents/api-XyZ123';
    const RESPONSES: Record<string, unknown> = {
      'get-parameter --with-decryption --name arn:aws:ssm:eu-west-1:123456789012:parameter/agents/token': { Parameter: { Value: 'line one\nline two\n' } },
      [`get-secret-value --secret-id ${DB_SECRET_ARN}`]: { SecretString: '{"password":"p4ss","port":5432}' },
      [`get-secret-value --secret-id ${REGION_ARN} --version-stage AWSPREVIOUS`]: { SecretString: 'previous' },
      [`get-secret-value --secret-id ${REGION_ARN} --version-id v-1`]: { SecretString: 'by id' },
      'get-secret-value --secret-id arn:aws:secretsmanager:eu-west-1:123456789012:secret:binary-AAAAAA': { SecretBinary: 'AAEC' },
    };
    const aws = path.join(dir, 'aws');
    fs.writeFileSync(aws, [
      `#!${pythonPath}`,
      'import json, os, sys',
      'args = sys.argv[1:]',
      'open(os.environ["AWS_STUB_LOG"], "a").write(" ".join(args) + "\\n")',
      'key = " ".join(args[args.index("--output") + 3:])',
      `answers = json.loads(${JSON.stringify(JSON.stringify(RESPONSES))})`,
      'if key not in answers:',
      '    sys.stderr.write("An error occurred (AccessDeniedException) when calling the operation\\n"); sys.exit(254)',
      'print(json.dumps(answers[key]))',
    ].join('\n'), { mode: 0o755 });

    function launch(lines: string[]): { status: number | null; env: Record<string, string>; stderr: string; calls: string[] } {
      const list = path.join(dir, `secrets-${Math.random().toString(36).slice(2)}`);
      const log = `${list}.log`;
      fs.writeFileSync(list, lines.map((l) => `${l}\n`).join(''));
      fs.writeFileSync(log, '');
      const launcher = `${list}.py`;
      fs.writeFileSync(launcher, launcherScript.replace('"/usr/bin/aws"', JSON.stringify(aws)).replace('"/etc/agent-fleet/secrets"', JSON.stringify(list)));
      const run = spawnSync(pythonPath, [launcher, pythonPath, '-c', 'import json, os; print(json.dumps(dict(os.environ)))'], {
        encoding: 'utf8', env: { PATH: process.env.PATH, AWS_STUB_LOG: log },
      });
      return {
        status: run.status,
        env: run.status === 0 ? JSON.parse(run.stdout) : {},
        stderr: run.stderr,
        calls: fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean),
      };
    }

    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('reads an SSM parameter with decryption, a JSON key, a version stage or id, each in its ARN\'s region', () => {
      // GIVEN / WHEN
      const run = launch([
        'TOKEN arn:aws:ssm:eu-west-1:123456789012:parameter/agents/token',
        `PASSWORD ${DB_SECRET_ARN}:password::`,
        `PORT ${DB_SECRET_ARN}:port::`,
        `WHOLE ${DB_SECRET_ARN}`,
        `PREVIOUS ${REGION_ARN}::AWSPREVIOUS:`,
        `BY_ID ${REGION_ARN}:::v-1`,
      ]);
      // THEN
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.env).toMatchObject({
        TOKEN: 'line one\nline two\n', PASSWORD: 'p4ss', PORT: '5432', WHOLE: '{"password":"p4ss","port":5432}', PREVIOUS: 'previous', BY_ID: 'by id',
      });
      expect(run.calls[0]).toBe('--region eu-west-1 --output json ssm get-parameter --with-decryption --name arn:aws:ssm:eu-west-1:123456789012:parameter/agents/token');
      expect(run.calls[4]).toBe(`--region us-east-2 --output json secretsmanager get-secret-value --secret-id ${REGION_ARN} --version-stage AWSPREVIOUS`);
    });

    test.each([
      ['a JSON key the secret lacks', `DB ${DB_SECRET_ARN}:user::`, /cannot read secret DB from .*:user::: the secret's JSON has no key user/],
      ['a binary secret', 'BIN arn:aws:secretsmanager:eu-west-1:123456789012:secret:binary-AAAAAA', /cannot read secret BIN .*: a binary secret/],
      ['a secret the role may not read', 'DENIED arn:aws:secretsmanager:eu-west-1:123456789012:secret:other-BBBBBB', /AccessDeniedException[\s\S]*cannot read secret DENIED .*: aws secretsmanager get-secret-value failed \(exit 254\)/],
      ['an ARN of another service', 'S3 arn:aws:s3:::bucket/key', /cannot read secret S3 from arn:aws:s3:::bucket\/key: not the ARN of an SSM parameter or a Secrets Manager secret/],
    ])('%s: the launcher exits non-zero, naming the variable and the ARN but no value, and starts nothing', (_name, line, message) => {
      const run = launch([`PASSWORD ${DB_SECRET_ARN}:password::`, line]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(message);
      expect(run.stderr).not.toContain('p4ss');
      expect(run.env).toEqual({});
    });
  });
}
