import { parseConfig, PublisherConfigError } from '../../../lambda/backlog-publisher/config';
import { PUBLISHER_ENV } from '../../../lambda/backlog-publisher/contract';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/agent-tasks';
const ecsEnv = { QUEUE_URL, FLEET_NAME: 'orders', ECS_CLUSTER: 'agents', ECS_SERVICE: 'workers' };

function problems(env: Record<string, string | undefined>): string {
  try {
    parseConfig(env);
  } catch (e) {
    expect(e).toBeInstanceOf(PublisherConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a PublisherConfigError');
}

describe('parseConfig', () => {
  test('an ECS fleet with the defaults', () => {
    expect(parseConfig(ecsEnv)).toEqual({
      queueUrl: QUEUE_URL,
      fleetName: 'orders',
      namespace: 'AgentFleet',
      periodSeconds: 10,
      workers: { kind: 'ecs', cluster: 'agents', service: 'workers' },
    });
  });

  test('an Auto Scaling group, with namespace and period', () => {
    const config = parseConfig({ QUEUE_URL, FLEET_NAME: 'gpu', AUTO_SCALING_GROUP_NAME: 'gpu-asg', METRIC_NAMESPACE: 'MyApp/Agents', PERIOD_SECONDS: '30' });
    expect(config.workers).toEqual({ kind: 'autoScaling', groupName: 'gpu-asg' });
    expect(config.namespace).toBe('MyApp/Agents');
    expect(config.periodSeconds).toBe(30);
  });

  test('blank values count as unset', () => {
    expect(parseConfig({ ...ecsEnv, METRIC_NAMESPACE: ' ', PERIOD_SECONDS: '' }).periodSeconds).toBe(10);
  });

  test('an empty environment names every required variable at once', () => {
    const message = problems({});
    expect(message).toMatch(/^backlog-publisher environment: invalid configuration \(3 problems\)/);
    expect(message).toContain('QUEUE_URL: must be the queue\'s URL');
    expect(message).toContain('FLEET_NAME: must be 1-1024 characters');
    expect(message).toContain('ECS_CLUSTER + ECS_SERVICE or AUTO_SCALING_GROUP_NAME: must be set');
  });

  test.each([
    [{ PERIOD_SECONDS: '15' }, 'PERIOD_SECONDS: must be one of 10, 30, 60 (seconds), got 15'],
    [{ PERIOD_SECONDS: '10s' }, 'PERIOD_SECONDS: must be one of 10, 30, 60 (seconds), got 10s'],
    [{ QUEUE_URL: 'agent-tasks' }, 'QUEUE_URL: must be the queue\'s URL (https://sqs.<region>.amazonaws.com/<account>/<name>), got agent-tasks'],
    [{ METRIC_NAMESPACE: 'AWS/SQS' }, 'METRIC_NAMESPACE: must be 1-255 printable ASCII characters, not starting with "AWS/" or ":", got AWS/SQS'],
    [{ METRIC_NAMESPACE: 'x'.repeat(256) }, 'METRIC_NAMESPACE: must be 1-255'],
    [{ ECS_SERVICE: undefined }, 'ECS_SERVICE: must be set together with ECS_CLUSTER'],
    [{ ECS_CLUSTER: undefined }, 'ECS_CLUSTER: must be set together with ECS_SERVICE'],
    [{ AUTO_SCALING_GROUP_NAME: 'g' }, 'AUTO_SCALING_GROUP_NAME: must be unset when ECS_CLUSTER/ECS_SERVICE are set'],
  ])('rejects %j', (change, message) => {
    expect(problems({ ...ecsEnv, ...change })).toContain(message);
  });

  test('the variable names are pinned: the construct sets them', () => {
    expect(Object.values(PUBLISHER_ENV).sort()).toEqual(
      ['AUTO_SCALING_GROUP_NAME', 'ECS_CLUSTER', 'ECS_SERVICE', 'FLEET_NAME', 'METRIC_NAMESPACE', 'PERIOD_SECONDS', 'QUEUE_URL']);
  });
});
