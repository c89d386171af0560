import { PUBLISHER_METRICS, PUBLISHER_METRIC_UNITS } from '../../../lambda/backlog-publisher/contract';
import {
  buildMetricData, desiredTasks, groupDesiredCapacity, inServiceInstances, parseQueueAttributes, runningTasks, sampleFigures, storageResolution,
  UnreadableResponseError,
} from '../../../lambda/backlog-publisher/metrics';

const attributes = (visible: string, inFlight: string, delayed: string) => ({
  ApproximateNumberOfMessages: visible,
  ApproximateNumberOfMessagesNotVisible: inFlight,
  ApproximateNumberOfMessagesDelayed: delayed,
});

describe('parseQueueAttributes', () => {
  test('reads the three counters', () => {
    expect(parseQueueAttributes(attributes('12', '3', '0'))).toEqual({ visible: 12, inFlight: 3, delayed: 0 });
  });

  test.each([
    ['a missing counter', { ApproximateNumberOfMessages: '1', ApproximateNumberOfMessagesNotVisible: '0' }, /ApproximateNumberOfMessagesDelayed/],
    ['no attributes at all', undefined, /ApproximateNumberOfMessages:/],
    ['a negative count', attributes('-1', '0', '0'), /expected a count, got "-1"/],
    ['a fraction', attributes('1.5', '0', '0'), /expected a count/],
    ['text', attributes('many', '0', '0'), /expected a count/],
  ])('rejects %s rather than guess', (_, input, message) => {
    expect(() => parseQueueAttributes(input)).toThrow(UnreadableResponseError);
    expect(() => parseQueueAttributes(input)).toThrow(message);
  });
});

describe('runningTasks (ECS DescribeServices)', () => {
  test('is the service\'s runningCount', () => {
    expect(runningTasks({ services: [{ serviceName: 'workers', runningCount: 4 }] }, 'workers')).toBe(4);
    expect(runningTasks({ services: [{ serviceName: 'workers', runningCount: 0 }] }, 'workers')).toBe(0);
  });

  test('a service ECS reports missing is an error, not 0 workers', () => {
    expect(() => runningTasks({ services: [], failures: [{ arn: 'arn:x', reason: 'MISSING' }] }, 'workers'))
      .toThrow('ECS service workers: MISSING');
    expect(() => runningTasks({}, 'workers')).toThrow(/not in the response/);
  });

  test('desiredCount and DesiredCapacity: the workers requested (running or starting), for the burst signal', () => {
    expect(desiredTasks({ services: [{ serviceName: 'workers', runningCount: 4, desiredCount: 9 }] }, 'workers')).toBe(9);
    expect(desiredTasks({ services: [{ serviceName: 'workers', runningCount: 4 }] }, 'workers')).toBeUndefined();
    expect(groupDesiredCapacity({ AutoScalingGroups: [{ DesiredCapacity: 3, Instances: [] }] }, 'g')).toBe(3);
    const data = buildMetricData({ timestamp: new Date(0), runningWorkers: 4, desiredWorkers: 9 }, 'orders', 10);
    expect(data.map((d) => [d.MetricName, d.Value, d.Unit])).toEqual([['RunningWorkers', 4, 'Count'], ['DesiredWorkers', 9, 'Count']]);
  });

  test('a service without a runningCount is unreadable', () => {
    expect(() => runningTasks({ services: [{ serviceName: 'workers' }] }, 'workers')).toThrow(/runningCount/);
  });
});

describe('inServiceInstances (DescribeAutoScalingGroups)', () => {
  test('counts only InService instances', () => {
    const states = ['InService', 'Pending', 'InService', 'Terminating:Wait', 'Standby', 'InService', 'Warmed:Running'];
    expect(inServiceInstances({ AutoScalingGroups: [{ Instances: states.map((LifecycleState) => ({ LifecycleState })) }] }, 'g')).toBe(3);
  });

  test('a group with no instances has 0; a missing group is an error', () => {
    expect(inServiceInstances({ AutoScalingGroups: [{}] }, 'g')).toBe(0);
    expect(() => inServiceInstances({ AutoScalingGroups: [] }, 'g')).toThrow('Auto Scaling group g: not found');
  });
});

describe('storageResolution', () => {
  test('is high resolution under a minute', () => {
    expect(storageResolution(10)).toBe(1);
    expect(storageResolution(30)).toBe(1);
    expect(storageResolution(60)).toBe(60);
  });
});

describe('sampleFigures', () => {
  const timestamp = new Date(0);
  const queue = { visible: 10, inFlight: 4, delayed: 1 };

  test('backlog per worker is visible / max(workers, 1)', () => {
    expect(sampleFigures({ timestamp, queue, runningWorkers: 4 }).BacklogPerWorker).toBe(2.5);
    expect(sampleFigures({ timestamp, queue, runningWorkers: 0 }).BacklogPerWorker).toBe(10);
    // In-flight and delayed messages are not backlog: they are being worked on or not yet due.
    expect(sampleFigures({ timestamp, queue: { visible: 0, inFlight: 50, delayed: 9 }, runningWorkers: 2 }).BacklogPerWorker).toBe(0);
  });

  test('without the worker count: the queue figures, and no backlog per worker', () => {
    expect(sampleFigures({ timestamp, queue })).toEqual({ VisibleMessages: 10, InFlightMessages: 4, DelayedMessages: 1 });
  });

  test('without the queue figures: the worker count alone', () => {
    expect(sampleFigures({ timestamp, runningWorkers: 3 })).toEqual({ RunningWorkers: 3 });
  });

  test('with nothing read: nothing', () => {
    expect(sampleFigures({ timestamp })).toEqual({});
  });
});

describe('buildMetricData', () => {
  const timestamp = new Date('2026-01-01T00:00:10Z');

  test('one datum per figure, each with the Fleet dimension, the sample time, its unit and the resolution', () => {
    const data = buildMetricData({ timestamp, queue: { visible: 9, inFlight: 2, delayed: 1 }, runningWorkers: 3 }, 'orders', 10);
    expect(data).toHaveLength(5);
    expect(data.find((d) => d.MetricName === 'BacklogPerWorker')).toEqual({
      MetricName: 'BacklogPerWorker',
      Dimensions: [{ Name: 'Fleet', Value: 'orders' }],
      Timestamp: timestamp,
      Value: 3,
      Unit: 'None',
      StorageResolution: 1,
    });
    expect(Object.fromEntries(data.map((d) => [d.MetricName, [d.Value, d.Unit]]))).toEqual({
      BacklogPerWorker: [3, 'None'],
      VisibleMessages: [9, 'Count'],
      InFlightMessages: [2, 'Count'],
      DelayedMessages: [1, 'Count'],
      RunningWorkers: [3, 'Count'],
    });
  });

  test('standard resolution at a 60 s period', () => {
    const data = buildMetricData({ timestamp, runningWorkers: 1 }, 'orders', 60);
    expect(data.map((d) => d.StorageResolution)).toEqual([60]);
  });

  test('the contract gives every metric a unit', () => {
    expect(Object.keys(PUBLISHER_METRIC_UNITS).sort()).toEqual(Object.values(PUBLISHER_METRICS).sort());
  });
});
