/**
 * The handler's loop with every AWS call mocked: the schedule of cycles, both fleet kinds, and
 * the failures a local server cannot produce (throttling, CloudWatch errors). The run against a
 * real SQS server is in local-sqs.test.ts.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, type LifecycleState } from '@aws-sdk/client-auto-scaling';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { createHandler, PublisherConfigError } from '../../../lambda/backlog-publisher';
import { byMetric, fakeTime, logLines, mockCloudWatch } from './support';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/agent-tasks';
const ECS_ENV = { QUEUE_URL, FLEET_NAME: 'orders', ECS_CLUSTER: 'agents', ECS_SERVICE: 'workers', METRIC_NAMESPACE: 'Test/Fleet' };

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

function setup(env: Record<string, string> = ECS_ENV, timeoutMs = 70_000) {
  const time = fakeTime(timeoutMs);
  const cloudWatch = mockCloudWatch();
  const sqs = new SQSClient({ region: 'us-east-1' });
  const sqsMock = mockClient(sqs);
  sqsMock.on(GetQueueAttributesCommand).resolves({
    Attributes: { ApproximateNumberOfMessages: '30', ApproximateNumberOfMessagesNotVisible: '5', ApproximateNumberOfMessagesDelayed: '2' },
  });
  const ecs = new ECSClient({ region: 'us-east-1' });
  const ecsMock = mockClient(ecs);
  ecsMock.on(DescribeServicesCommand).resolves({ services: [{ serviceName: 'workers', runningCount: 4 }], failures: [] });
  const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
  const autoScalingMock = mockClient(autoScaling);
  const logs = logLines();
  const handler = createHandler({
    env, clock: time.clock, sleep: time.sleep, log: logs.log,
    clients: { sqs, ecs, autoScaling, cloudWatch: cloudWatch.client },
  });
  return { time, cloudWatch, sqsMock, ecsMock, autoScalingMock, logs, invoke: () => handler({}, time.context) };
}

describe('backlog publisher handler (mocked AWS)', () => {
  test('an ECS fleet: six cycles 10 s apart, each one put of five high-resolution metrics', async () => {
    // GIVEN
    const { time, cloudWatch, sqsMock, ecsMock, invoke } = setup();

    // WHEN
    const summary = await invoke();

    // THEN
    expect(summary).toEqual({ cycles: 6, skipped: 0, published: 30, unpublished: 0 });
    expect(time.sleeps).toEqual([10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(sqsMock.commandCalls(GetQueueAttributesCommand)[0].args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    });
    expect(ecsMock.commandCalls(DescribeServicesCommand)[0].args[0].input).toEqual({ cluster: 'agents', services: ['workers'] });
    const puts = cloudWatch.puts();
    expect(puts).toHaveLength(6);
    expect(puts.map((p) => p.MetricData![0].Timestamp!.getTime() - time.startMs)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    for (const put of puts) {
      expect(put.Namespace).toBe('Test/Fleet');
      expect(byMetric(put.MetricData)).toEqual({
        BacklogPerWorker: 7.5, VisibleMessages: 30, InFlightMessages: 5, DelayedMessages: 2, RunningWorkers: 4,
      });
      for (const datum of put.MetricData!) {
        expect(datum.Dimensions).toEqual([{ Name: 'Fleet', Value: 'orders' }]);
        expect(datum.StorageResolution).toBe(1);
      }
    }
  });

  test('an Auto Scaling group at a 60 s period: one cycle, InService instances, standard resolution', async () => {
    // GIVEN
    const { cloudWatch, autoScalingMock, ecsMock, invoke } = setup(
      { QUEUE_URL, FLEET_NAME: 'gpu', AUTO_SCALING_GROUP_NAME: 'gpu-asg', PERIOD_SECONDS: '60' });
    autoScalingMock.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [{
        AutoScalingGroupName: 'gpu-asg', MinSize: 0, MaxSize: 10, DesiredCapacity: 4, DefaultCooldown: 300, AvailabilityZones: [],
        HealthCheckType: 'EC2', CreatedTime: new Date(0),
        Instances: (['InService', 'InService', 'Pending', 'Terminating:Wait'] as LifecycleState[]).map((LifecycleState, i) => ({
          InstanceId: `i-${i}`, AvailabilityZone: 'us-east-1a', HealthStatus: 'Healthy', ProtectedFromScaleIn: false, LifecycleState,
        })),
      }],
    });

    // WHEN
    const summary = await invoke();

    // THEN
    expect(summary).toEqual({ cycles: 1, skipped: 0, published: 6, unpublished: 0 });
    expect(autoScalingMock.commandCalls(DescribeAutoScalingGroupsCommand)[0].args[0].input).toEqual({ AutoScalingGroupNames: ['gpu-asg'] });
    expect(ecsMock.commandCalls(DescribeServicesCommand)).toHaveLength(0);
    const [put] = cloudWatch.puts();
    expect(put.Namespace).toBe('AgentFleet');
    expect(byMetric(put.MetricData)).toEqual({
      BacklogPerWorker: 15, VisibleMessages: 30, InFlightMessages: 5, DelayedMessages: 2, RunningWorkers: 2, DesiredWorkers: 4,
    });
    expect(put.MetricData!.every((d) => d.StorageResolution === 60 && d.Dimensions![0].Value === 'gpu')).toBe(true);
  });

  test('ECS throttled: the queue figures are still published, without backlog per worker, and nothing throws', async () => {
    // GIVEN the first DescribeServices is throttled, the next ones answer
    const { cloudWatch, ecsMock, logs, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '30' });
    ecsMock.on(DescribeServicesCommand).rejectsOnce(throttled()).resolves({ services: [{ runningCount: 3 }] });

    // WHEN
    const summary = await invoke();

    // THEN
    expect(summary).toEqual({ cycles: 2, skipped: 0, published: 3 + 5, unpublished: 0 });
    const [first, second] = cloudWatch.puts();
    expect(byMetric(first.MetricData)).toEqual({ VisibleMessages: 30, InFlightMessages: 5, DelayedMessages: 2 });
    expect(byMetric(second.MetricData)).toEqual({
      BacklogPerWorker: 10, VisibleMessages: 30, InFlightMessages: 5, DelayedMessages: 2, RunningWorkers: 3,
    });
    const [line] = logs.parsed();
    expect(line).toMatchObject({
      level: 'WARN', fleet: 'orders', cycle: 1, of: 2, VisibleMessages: 30, put: 3,
      errors: [{ source: 'workers', name: 'ThrottlingException', message: 'Rate exceeded' }],
    });
    expect(line).not.toHaveProperty('BacklogPerWorker');
  });

  test('a missing ECS service is reported in the log, and the queue figures are published', async () => {
    const { cloudWatch, ecsMock, logs, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '60' });
    ecsMock.on(DescribeServicesCommand).resolves({ services: [], failures: [{ arn: 'arn:aws:ecs:us-east-1:1:service/agents/workers', reason: 'MISSING' }] });

    await expect(invoke()).resolves.toMatchObject({ cycles: 1, published: 3 });
    expect(Object.keys(byMetric(cloudWatch.puts()[0].MetricData)).sort()).toEqual(['DelayedMessages', 'InFlightMessages', 'VisibleMessages']);
    expect(logs.parsed()[0].errors).toEqual([{ source: 'workers', name: 'UnreadableResponseError', message: 'ECS service workers: MISSING' }]);
  });

  test('a failed put is carried into the next cycle\'s put with its own timestamps', async () => {
    // GIVEN CloudWatch fails the first put
    const { time, cloudWatch, logs, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '30' });
    cloudWatch.mock.on(PutMetricDataCommand).rejectsOnce(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' })).resolves({});

    // WHEN
    const summary = await invoke();

    // THEN the second put carries both samples
    expect(summary).toEqual({ cycles: 2, skipped: 0, published: 10, unpublished: 0 });
    const puts = cloudWatch.puts();
    expect(puts).toHaveLength(2);
    const times = puts[1].MetricData!.map((d) => d.Timestamp!.getTime() - time.startMs);
    expect(times.filter((t) => t === 0)).toHaveLength(5);
    expect(times.filter((t) => t === 30_000)).toHaveLength(5);
    expect(logs.parsed().map((l) => [l.level, l.put, l.carried])).toEqual([['WARN', 0, 5], ['INFO', 10, 0]]);
  });

  test('CloudWatch down all minute: the invocation still resolves, and says what was lost', async () => {
    const { cloudWatch, logs, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '30' });
    cloudWatch.mock.on(PutMetricDataCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'Error' }));

    await expect(invoke()).resolves.toEqual({ cycles: 2, skipped: 0, published: 0, unpublished: 10 });
    expect(logs.parsed().at(-1)).toEqual({ level: 'ERROR', message: 'datapoints not published', fleet: 'orders', unpublished: 10 });
  });

  test('a short Lambda timeout: the loop stops in time', async () => {
    // GIVEN a 25 s timeout (the construct should give 70 s)
    const { time, cloudWatch, invoke } = setup(ECS_ENV, 25_000);

    // WHEN
    const summary = await invoke();

    // THEN cycles at 0, 10 and 20 s; the 20 s one needs 2 s + 1 s margin of the 5 s left
    expect(summary).toEqual({ cycles: 3, skipped: 3, published: 15, unpublished: 0 });
    expect(cloudWatch.puts()).toHaveLength(3);
    expect(time.context.getRemainingTimeInMillis()).toBeGreaterThan(0);
  });

  test('a cycle whose slot has passed is skipped, the next runs on time', async () => {
    // GIVEN the first cycle's reads hold the clock for 19 s
    const { time, cloudWatch, sqsMock, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '10' });
    sqsMock.on(GetQueueAttributesCommand).callsFakeOnce(async () => {
      time.advance(19_000);
      return { Attributes: { ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '0', ApproximateNumberOfMessagesDelayed: '0' } };
    });

    // WHEN
    const summary = await invoke();

    // THEN the cycle at 10 s is skipped (at 19 s it has 1 s of its slot), the one at 20 s runs
    expect(summary).toMatchObject({ cycles: 5, skipped: 1 });
    expect(cloudWatch.puts().map((p) => p.MetricData![0].Timestamp!.getTime() - time.startMs)).toEqual([0, 20_000, 30_000, 40_000, 50_000]);
  });

  test('a bad configuration fails the invocation with every problem named', async () => {
    const { invoke } = setup({ QUEUE_URL, FLEET_NAME: 'orders', ECS_CLUSTER: 'agents', PERIOD_SECONDS: '5' });

    const failure = invoke();
    await expect(failure).rejects.toThrow(PublisherConfigError);
    await expect(failure).rejects.toThrow(/PERIOD_SECONDS: must be one of 10, 30, 60 \(seconds\), got 5\n.*ECS_SERVICE: must be set together with ECS_CLUSTER/);
  });

  test('each cycle logs one JSON line with the figures, the put and how long it took', async () => {
    const { logs, invoke } = setup({ ...ECS_ENV, PERIOD_SECONDS: '30' });

    await invoke();

    expect(logs.parsed()).toEqual([1, 2].map((cycle) => ({
      level: 'INFO', message: 'published', fleet: 'orders', namespace: 'Test/Fleet', cycle, of: 2,
      BacklogPerWorker: 7.5, VisibleMessages: 30, InFlightMessages: 5, DelayedMessages: 2, RunningWorkers: 4,
      put: 5, carried: 0, errors: [], durationMs: 0,
    })));
  });
});
