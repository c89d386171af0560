/**
 * EC2 instance scale-in protection, against a small local fake of IMDSv2 (on 127.0.0.1), a real
 * SQS server for the messages and a mocked Auto Scaling client for SetInstanceProtection.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingClient, SetInstanceProtectionCommand } from '@aws-sdk/client-auto-scaling';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { AGENT_ENV, silentLogger, type AgentWorker } from '../../lib/worker';
import { IDLE_REFRESH_MS, InstanceProtection } from '../../lib/worker/instance-protection';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { delay, sendAll, testWorker, waitFor } from './helpers';

/** IMDSv2 answering the instance id of one InService instance. */
async function fakeImds(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = req.url!;
    const [status, body] = req.method === 'PUT' && path === '/latest/api/token' ? [200, 'token-1']
      : req.headers['x-aws-ec2-metadata-token'] !== 'token-1' ? [401, '']
        : path === '/latest/meta-data/autoscaling/target-lifecycle-state' ? [200, 'InService']
          : path === '/latest/meta-data/instance-id' ? [200, 'i-0123456789abcdef0'] : [404, ''];
    res.writeHead(status).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

let local: LocalSqs;
let sqs: SQSClient;
const workers: AgentWorker[] = [];
beforeAll(async () => { local = await startLocalSqs(); sqs = local.client(); });
afterEach(async () => { await Promise.all(workers.splice(0).map((w) => w.stop())); });
afterAll(async () => { await local.stop(); });

describe('EC2 instance scale-in protection', () => {
  test('dropped at start, held while a message is in flight, dropped when idle and at stop', async () => {
    // GIVEN a worker on an EC2 instance with instance protection on
    const imds = await fakeImds();
    const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
    const asMock = mockClient(autoScaling);
    asMock.on(SetInstanceProtectionCommand).resolves({});
    const { url } = await local.createQueue('instance-protection-1');
    let finished = false;
    const changes: boolean[] = [];
    const worker = testWorker(sqs, url, {
      env: {
        [AGENT_ENV.instanceProtection]: 'true', [AGENT_ENV.lifecycleHookName]: 'agent-drain', [AGENT_ENV.autoScalingGroupName]: 'agents',
        AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url,
      },
      autoScalingClient: autoScaling,
      taskProtectionIdleMs: 100,
      handler: async () => { await delay(400); finished = true; },
    });
    workers.push(worker);
    worker.on('protection_changed', (e) => changes.push(e.protected));
    worker.start();
    const calls = () => asMock.commandCalls(SetInstanceProtectionCommand).map((c) => c.args[0].input.ProtectedFromScaleIn);
    await waitFor(() => calls().length === 1, 10_000, 'the start-up reset');
    // WHEN a message arrives and is processed
    await sendAll(sqs, url, ['work']);
    await waitFor(() => finished && calls().length === 3, 10_000, 'protection on, then off');
    // THEN
    expect(calls()).toEqual([false, true, false]);
    expect(changes).toEqual([true, false]);
    expect(asMock.commandCalls(SetInstanceProtectionCommand)[1].args[0].input).toEqual({
      AutoScalingGroupName: 'agents', InstanceIds: ['i-0123456789abcdef0'], ProtectedFromScaleIn: true,
    });
    await worker.stop();
    expect(calls()).toEqual([false, true, false]);
    await imds.close();
  });

  test('off unless asked: no SetInstanceProtection call', async () => {
    const imds = await fakeImds();
    const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
    const asMock = mockClient(autoScaling);
    const { url } = await local.createQueue('instance-protection-2');
    let handled = 0;
    const worker = testWorker(sqs, url, {
      env: { [AGENT_ENV.lifecycleHookName]: 'agent-drain', [AGENT_ENV.autoScalingGroupName]: 'agents', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url },
      autoScalingClient: autoScaling,
      handler: async () => { handled++; },
    });
    workers.push(worker);
    worker.start();
    await sendAll(sqs, url, ['x']);
    await waitFor(() => handled === 1, 10_000, 'the message');
    await worker.stop();
    expect(asMock.commandCalls(SetInstanceProtectionCommand)).toHaveLength(0);
    await imds.close();
  });
});

describe('EC2 instance protection left by someone else', () => {
  test('an idle worker drops it again every 5 minutes (the group protects new instances only once InService)', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    try {
      const calls: boolean[] = [];
      const client = { send: async (command: SetInstanceProtectionCommand) => { calls.push(command.input.ProtectedFromScaleIn!); return {}; } };
      const protection = new InstanceProtection({
        autoScalingGroupName: 'agents',
        target: async () => ({ client: client as unknown as AutoScalingClient, instanceId: 'i-1', release: () => undefined }),
        idleMs: 100, logger: silentLogger,
        onChange: () => undefined,
      });
      protection.start();
      await jest.advanceTimersByTimeAsync(0);
      expect(calls).toEqual([false]);
      await jest.advanceTimersByTimeAsync(IDLE_REFRESH_MS);
      expect(calls).toEqual([false, false]);
      await protection.close();
    } finally {
      jest.useRealTimers();
    }
  });
});
