import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { CDK_CONTEXT } from '../support/cdk';
import { CHECKED_STACKS } from './variants';

// AWS's CloudFormation linter (the Python `cfn-lint`, not the unrelated npm package) over every
// template of the checked stacks: no error, and only the warning kinds listed here, each with
// why it is acceptable.
const ACCEPTED_WARNINGS: Record<string, string> = {
  // aws-cdk-lib writes an explicit DependsOn next to a Ref/GetAtt to the same resource (a Lambda
  // function on its role, the VPC's default-security-group handler on its role, a scaling policy
  // on its scalable target). CloudFormation orders by either; the duplicate changes nothing.
  W3005: 'redundant DependsOn written by aws-cdk-lib next to a Ref or GetAtt',
};

// Errors that are gaps in cfn-lint's schema, not in the template: each matches one rule at one
// location, with why. Anything else at that rule still fails.
const SCHEMA_GAPS: { readonly rule: string; readonly path: RegExp; readonly reason: string }[] = [{
  rule: 'E3016',
  path: /^Resources\/\w+\/UpdatePolicy\/AutoScalingInstanceRefresh$/,
  reason: 'the AutoScalingInstanceRefresh update policy (CloudFormation UpdatePolicy attribute; aws-cdk-lib\'s '
    + 'UpdatePolicy.instanceRefresh, the EC2 fleet\'s with a warm pool) is newer than cfn-lint 1.51\'s schema of UpdatePolicy',
}];

interface LintFinding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path: (string | number)[] };
}

const cfnLintVersion = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' });
const cfnLintPresent = cfnLintVersion.status === 0;

if (!cfnLintPresent) {
  test('cfn-lint checks: skipped, the `cfn-lint` command is not installed (pip install cfn-lint)', () => {
    console.warn('cfn-lint is not installed: the CloudFormation lint of the synthesized templates did not run.');
  });
} else {
  describe(`cfn-lint (${cfnLintVersion.stdout.trim()})`, () => {
    let findings: LintFinding[];

    beforeAll(() => {
      const templates = CHECKED_STACKS.map(([, build]) => {
        const stack = build(new App({ context: CDK_CONTEXT }));
        const assembly = (stack.node.root as App).synth();
        return path.join(assembly.directory, assembly.getStackArtifact(stack.artifactId).templateFile);
      });
      const run = spawnSync('cfn-lint', ['--format', 'json', '--', ...templates], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      // Exit codes are a bit mask of the levels found (2 error, 4 warning, 8 informational); 1 is a crash.
      if (run.status === null || run.status === 1 || run.stdout.trim() === '') throw new Error(`cfn-lint failed: ${run.stderr}`);
      findings = JSON.parse(run.stdout) as LintFinding[];
    }, 180_000);

    const describeFinding = (f: LintFinding) => `${f.Rule.Id} ${path.basename(f.Filename)} ${f.Location.Path.join('/')}: ${f.Message}`;

    const schemaGap = (f: LintFinding) => SCHEMA_GAPS.some((g) => g.rule === f.Rule.Id && g.path.test(f.Location.Path.join('/')));

    test('no errors in any template, but for the listed gaps of cfn-lint\'s schema', () => {
      expect(findings.filter((f) => f.Level === 'Error' && !schemaGap(f)).map(describeFinding)).toEqual([]);
    });

    test('each warning is of a kind listed with its reason', () => {
      expect(findings.filter((f) => f.Level === 'Warning' && !(f.Rule.Id in ACCEPTED_WARNINGS)).map(describeFinding)).toEqual([]);
    });
  });
}
