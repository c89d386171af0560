import { App, Aspects, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AwsSolutionsChecks as AwsSolutionsChecksV2 } from 'cdk-nag-v2';
import { AgentCompute, BacklogMetricSource, ElasticAgentFleet } from '../../lib';
import { CDK_CONTEXT, TEST_IMAGE, validationViolations } from '../support/cdk';
import { CHECKED_STACKS } from './variants';

// Our acknowledgements must hold under whichever cdk-nag major a user's app runs:
// v3 reads CDK's validation acknowledgements, v2 the `cdk_nag` metadata of each resource.
// Both run the AwsSolutions pack as their READMEs tell users to.
interface NagMajor {
  /** An app with the AwsSolutions pack registered. */
  app(): App;
  /** The pack's unacknowledged findings on `stack`, as `rule at path` lines. */
  findings(stack: Stack): string[];
}

const MAJORS: Record<'v2' | 'v3', NagMajor> = {
  v3: {
    app() {
      const app = new App({ context: CDK_CONTEXT });
      Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
      return app;
    },
    findings: (stack) => validationViolations(stack)
      .map((v) => `${v.ruleName} at ${v.constructPaths.join(', ')}: ${v.description}`),
  },
  v2: {
    app() {
      const app = new App({ context: CDK_CONTEXT });
      Aspects.of(app).add(new AwsSolutionsChecksV2({ reports: false }));
      return app;
    },
    // v2 reports a finding (and a rule that could not run, CdkNagValidationFailure) as an
    // error or warning annotation on the resource; errors also fail synth.
    findings(stack) {
      validationViolations(stack);
      return stack.node.findAll().flatMap((c) => c.node.metadata
        .filter((m) => (m.type === 'aws:cdk:error' || m.type === 'aws:cdk:warning') && /^(AwsSolutions-|CdkNagValidationFailure)/.test(String(m.data)))
        .map((m) => String(m.data).trim().replace(': ', ` at ${c.node.path}: `)));
    },
  },
};

describe.each(Object.entries(MAJORS))('cdk-nag %s AwsSolutions', (_major, nag) => {
  test.each(CHECKED_STACKS.map(([name, build]) => [name, build]))('%s: no unacknowledged finding', (_name, build) => {
    expect(nag.findings(build(nag.app()))).toEqual([]);
  });

  test.each([
    ['Fargate', AgentCompute.fargate()],
    ['EC2', AgentCompute.ec2()],
  ])('CPU, memory and a business metric as scaling signals on %s add no unacknowledged finding', (_name, compute) => {
    const stack = new Stack(nag.app(), 'Signals');
    const agents = new ElasticAgentFleet(stack, 'Agents', {
      image: TEST_IMAGE, compute, metricSource: BacklogMetricSource.PUBLISHER, scaling: { cpuTargetPercent: 60, memoryTargetPercent: 70 },
    });
    const toolCalls = new cloudwatch.Metric({ namespace: agents.fleet.metricsNamespace, metricName: 'ToolCalls', dimensionsMap: { Fleet: agents.fleet.fleetName } });
    agents.scaling.scaleOnMetric('ToolCalls', { metric: toolCalls, targetValue: 5 });
    expect(nag.findings(stack)).toEqual([]);
  });

  test('it does run: a queue without TLS enforcement next to the fleet is reported', () => {
    const stack = new Stack(nag.app(), 'Broken');
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE });
    new sqs.Queue(stack, 'Plain', { enforceSSL: false });
    const findings = nag.findings(stack);
    expect(findings).toEqual([
      expect.stringMatching(/^AwsSolutions-SQS3 at Broken\/Plain\/Resource: /),
      expect.stringMatching(/^AwsSolutions-SQS4 at Broken\/Plain\/Resource: /),
    ]);
  });
});
