import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { AgentCompute, AgentQueueEncryption, BacklogMetricSource, ElasticAgentFleet } from '../../lib';
import { AgentFleetEc2Stack, AgentFleetFargateStack } from '../../bin/reference-stacks';
import { CDK_CONTEXT, TEST_IMAGE, validationViolations } from '../support/cdk';

/** An app with cdk-nag's AwsSolutions pack, as a user would run it. */
function nagApp(): App {
  const app = new App({ context: CDK_CONTEXT });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

/** Findings, as `rule at path` lines, so a failure reads like cdk-nag's own report. */
function findings(stack: Stack): string[] {
  return validationViolations(stack).map((v) => `${v.ruleName} at ${v.constructPaths.join(', ')}: ${v.description}`);
}

describe('cdk-nag AwsSolutions', () => {
  test('the reference stacks have no unacknowledged finding', () => {
    const app = nagApp();
    const fargate = new AgentFleetFargateStack(app, 'AgentFleetFargateStack');
    new AgentFleetEc2Stack(app, 'AgentFleetEc2Stack');
    expect(findings(fargate)).toEqual([]);
  });

  test.each([
    ['Fargate', AgentCompute.fargate()],
    ['EC2', AgentCompute.ec2()],
  ])('a default ElasticAgentFleet on %s has no unacknowledged finding', (_name, compute) => {
    const stack = new Stack(nagApp(), 'Defaults');
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute });
    expect(findings(stack)).toEqual([]);
  });

  test.each([
    ['Fargate', AgentCompute.fargate({ spot: true })],
    ['EC2', AgentCompute.ec2({ spot: true })],
  ])('the publisher, a KMS key and Spot on %s add no unacknowledged finding', (_name, compute) => {
    const stack = new Stack(nagApp(), 'Options');
    new ElasticAgentFleet(stack, 'Agents', {
      image: TEST_IMAGE, compute, metricSource: BacklogMetricSource.PUBLISHER, queueProps: { encryption: AgentQueueEncryption.KMS },
    });
    expect(findings(stack)).toEqual([]);
  });

  test.each([
    ['Fargate', AgentCompute.fargate()],
    ['EC2', AgentCompute.ec2()],
  ])('CPU, memory and a business metric as scaling signals on %s add no unacknowledged finding', (_name, compute) => {
    const stack = new Stack(nagApp(), 'Signals');
    const agents = new ElasticAgentFleet(stack, 'Agents', {
      image: TEST_IMAGE, compute, metricSource: BacklogMetricSource.PUBLISHER, scaling: { cpuTargetPercent: 60, memoryTargetPercent: 70 },
    });
    const toolCalls = new cloudwatch.Metric({ namespace: agents.fleet.metricsNamespace, metricName: 'ToolCalls', dimensionsMap: { Fleet: agents.fleet.fleetName } });
    agents.scaling.scaleOnMetric('ToolCalls', { metric: toolCalls, targetValue: 5 });
    expect(findings(stack)).toEqual([]);
  });

  test('it does run: a queue without TLS enforcement next to the fleet is reported', () => {
    const stack = new Stack(nagApp(), 'Broken');
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE });
    new sqs.Queue(stack, 'Plain', { enforceSSL: false });
    expect(findings(stack)).toEqual(expect.arrayContaining([expect.stringMatching(/^AwsSolutions-SQS4 at Broken\/Plain/)]));
  });
});
