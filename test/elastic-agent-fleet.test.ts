import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import {
  AgentCompute, AgentImage, AgentQueue, BacklogMetricSource, BacklogPublisher, BacklogTarget, Ec2AgentFleet, ElasticAgentFleet, FargateAgentFleet,
} from '../lib';
import { TEST_IMAGE, testStack, synthTemplate } from './support/cdk';

describe('ElasticAgentFleet', () => {
  test.each([
    ['fargate', AgentCompute.fargate({ cpu: 512, memoryLimitMiB: 1024 }), FargateAgentFleet],
    ['ec2', AgentCompute.ec2({ instanceType: new ec2.InstanceType('t3.small') }), Ec2AgentFleet],
  ])('the README snippet (%s) gives a queue, a fleet and its scaling', (_kind, compute, fleetClass) => {
    // GIVEN
    const stack = testStack();
    // WHEN
    const agents = new ElasticAgentFleet(stack, 'Agents', {
      image: AgentImage.fromRegistry('public.ecr.aws/docker/library/node:20-alpine'),
      compute,
      minWorkers: 0,
      maxWorkers: 20,
      target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6) }),
    });
    // THEN
    expect(agents.queue).toBeInstanceOf(AgentQueue);
    expect(agents.fleet).toBeInstanceOf(fleetClass);
    expect(agents.fleet.maxWorkers).toBe(20);
    expect(agents.scaling.model.targetBacklogPerWorker).toBe(10);
    const template = synthTemplate(stack);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    // 4 scaling alarms (burst, surge on the publisher's 10 s metrics, scale-in, idle) and 7 monitoring alarms (dead letters, oldest
    // task, saturated, workers not starting, memory, processing time, publisher silent)
    template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    // The VPC's default security group restriction, and the backlog publisher: the default metric source on Fargate and EC2.
    template.resourceCountIs('AWS::Lambda::Function', 2);
    expect(agents.publisher).toBeInstanceOf(BacklogPublisher);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Id: 'visible', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'VisibleMessages' }), Period: 10 }) })]),
    });
  });

  test('the publisher as metric source puts high-resolution metrics that scaling reads', () => {
    const stack = testStack();
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, metricSource: BacklogMetricSource.PUBLISHER, publisherPeriod: Duration.seconds(30) });
    expect(agents.publisher).toBeDefined();
    expect(agents.scaling.model.metricPeriodSeconds).toBe(30);
    synthTemplate(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PERIOD_SECONDS: '30', METRIC_NAMESPACE: 'AgentFleet' }) },
    });
  });

  test('monitoring can be left out', () => {
    const stack = testStack();
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, monitoring: false });
    expect(agents.monitoring).toBeUndefined();
    synthTemplate(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 0);
  });

  test('defaults to Fargate, 0-10 workers, 10 messages per worker', () => {
    const agents = new ElasticAgentFleet(testStack(), 'Agents', { image: TEST_IMAGE });
    expect(agents.fleet).toBeInstanceOf(FargateAgentFleet);
    expect([agents.fleet.minWorkers, agents.fleet.maxWorkers]).toEqual([0, 10]);
    expect(agents.scaling.model.targetBacklogPerWorker).toBe(10);
  });

  test('the new queue\'s visibility timeout is short and independent of the handler timeout (heartbeats keep long handlers\' messages)', () => {
    const stack = testStack();
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, handlerTimeout: Duration.minutes(20) });
    const template = synthTemplate(stack);
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 30, RedrivePolicy: Match.anyValue() });
    template.hasResourceProperties('AWS::ECS::TaskDefinition', { ContainerDefinitions: [Match.objectLike({
      Environment: Match.arrayWith([{ Name: 'AGENT_HANDLER_TIMEOUT_SECONDS', Value: '1200' }, { Name: 'AGENT_VISIBILITY_TIMEOUT_SECONDS', Value: '30' }]),
    })] });
  });

  test('queue settings pass through; a visibility timeout too short for a heartbeat is an error', () => {
    const stack = testStack();
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, queueProps: { maxReceiveCount: 2 } });
    synthTemplate(stack).hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 2 }) });
    expect(() => new ElasticAgentFleet(testStack(), 'Agents', {
      image: TEST_IMAGE, handlerTimeout: Duration.minutes(10), queueProps: { visibilityTimeout: Duration.seconds(1) },
    })).toThrow(/TestStack\/Agents: invalid configuration[\s\S]*queueProps\.visibilityTimeout: must be 2-43200 seconds, got 1 seconds/);
  });

  test('an existing queue is consumed instead of a new one', () => {
    const stack = testStack();
    const existing = AgentQueue.fromQueues(stack, 'Existing', {
      queue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-1:111111111111:tasks'),
      visibilityTimeout: Duration.minutes(10),
    });
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, queue: existing });
    expect(agents.queue).toBe(existing);
    synthTemplate(stack).resourceCountIs('AWS::SQS::Queue', 0);
  });

  test('an existing queue together with queue settings is a conflict naming both props', () => {
    const stack = testStack();
    const existing = AgentQueue.fromQueues(stack, 'Existing', { queue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-1:111111111111:tasks') });
    expect(() => new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, queue: existing, queueProps: { maxReceiveCount: 3 } }))
      .toThrow(/TestStack\/Agents: invalid configuration[\s\S]*queueProps: must be unset when `queue` is given/);
  });

  test('scaling options reach the scaling', () => {
    const agents = new ElasticAgentFleet(testStack(), 'Agents', {
      image: TEST_IMAGE, scaling: { scaleToZeroAfter: Duration.minutes(5), scaleOutCooldown: Duration.seconds(30) },
    });
    expect(agents.scaling.model.scaleToZero?.idleSeconds).toBe(300);
    expect(agents.scaling.model.targetTracking.scaleOutCooldownSeconds).toBe(30);
  });
});
