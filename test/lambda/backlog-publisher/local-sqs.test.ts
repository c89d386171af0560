/**
 * The handler against a real SQS-compatible server (fauxqs on loopback): the figures it
 * publishes are the queue's real state, read through the SDK's default client configuration
 * (AWS_ENDPOINT_URL_SQS); and a queue that is down or hangs costs only the queue figures.
 * ECS and CloudWatch, which have no local server, are mocked.
 */
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import * as net from 'node:net';
import { createHandler } from '../../../lambda/backlog-publisher';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startLocalSqs, type LocalSqs } from '../../support/local-sqs';
import { byMetric, fakeTime, logLines, mockCloudWatch } from './support';

let local: LocalSqs;
let sqs: SQSClient;
const savedEnv = { ...process.env };

beforeAll(async () => {
  local = await startLocalSqs();
  sqs = local.client();
  // The handler makes its SQS client from the SDK's defaults: endpoint, region and credentials from here.
  Object.assign(process.env, local.env());
});

afterAll(async () => {
  process.env = savedEnv;
  await local.stop();
});

function mockEcs(...runningCounts: number[]) {
  const ecs = new ECSClient({ region: LOCAL_REGION });
  let behavior = mockClient(ecs).on(DescribeServicesCommand);
  for (const runningCount of runningCounts) behavior = behavior.resolvesOnce({ services: [{ serviceName: 'workers', runningCount }] });
  return ecs;
}

async function send(queueUrl: string, count: number, delaySeconds = 0): Promise<void> {
  const entries = Array.from({ length: count }, (_, i) => ({ Id: `m${i}`, MessageBody: `task ${i}`, DelaySeconds: delaySeconds }));
  await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
}

/** Receives exactly `count` messages (SQS may return fewer per call), leaving them in flight. */
async function receive(queueUrl: string, count: number): Promise<Message[]> {
  const got: Message[] = [];
  while (got.length < count) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: count - got.length, WaitTimeSeconds: 1 }));
    got.push(...(out.Messages ?? []));
  }
  return got;
}

function env(queueUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  return { QUEUE_URL: queueUrl, FLEET_NAME: 'local', ECS_CLUSTER: 'agents', ECS_SERVICE: 'workers', ...extra };
}

/** One invocation at a 60 s period (one cycle) on the queue; the figures it put. */
async function publishOneMinute(queueUrl: string, runningWorkers: number): Promise<Record<string, number | undefined>> {
  const time = fakeTime();
  const cloudWatch = mockCloudWatch();
  const handler = createHandler({
    env: env(queueUrl, { PERIOD_SECONDS: '60' }),
    clients: { ecs: mockEcs(runningWorkers), cloudWatch: cloudWatch.client },
    clock: time.clock, sleep: time.sleep, log: logLines().log,
  });
  await handler({}, time.context);
  return byMetric(cloudWatch.puts()[0].MetricData);
}

describe('backlog publisher against a real local SQS server', () => {
  test('publishes the queue\'s real visible, in-flight and delayed counts, read afresh each cycle', async () => {
    // GIVEN 7 messages sent, 3 of them received (in flight), and 2 sent with a delay
    const { url } = await local.createQueue('publisher-state', { VisibilityTimeout: '300' });
    await send(url, 7);
    const inFlight = await receive(url, 3);
    await send(url, 2, 60);

    // AND between the two 30 s cycles, a worker finishes one message and takes two more
    const time = fakeTime();
    const sleep = async (ms: number): Promise<void> => {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: inFlight[0].ReceiptHandle! }));
      await receive(url, 2);
      await time.sleep(ms);
    };
    const cloudWatch = mockCloudWatch();
    const handler = createHandler({
      env: env(url, { PERIOD_SECONDS: '30' }),
      clients: { ecs: mockEcs(2, 4), cloudWatch: cloudWatch.client },
      clock: time.clock, sleep, log: logLines().log,
    });

    await local.resetCalls();

    // WHEN
    const summary = await handler({}, time.context);

    // THEN its own default client asked the local server, once a cycle
    expect((await local.calls()).GetQueueAttributes).toBe(2);
    expect(summary).toEqual({ cycles: 2, skipped: 0, published: 10, unpublished: 0 });
    const [first, second] = cloudWatch.puts();
    expect(byMetric(first.MetricData)).toEqual({
      VisibleMessages: 4, InFlightMessages: 3, DelayedMessages: 2, RunningWorkers: 2, BacklogPerWorker: 2,
    });
    expect(byMetric(second.MetricData)).toEqual({
      VisibleMessages: 2, InFlightMessages: 4, DelayedMessages: 2, RunningWorkers: 4, BacklogPerWorker: 0.5,
    });
    expect(first.MetricData!.every((d) => d.StorageResolution === 1)).toBe(true);
  });

  test('an empty queue with no workers: backlog per worker 0, all figures still put', async () => {
    const { url } = await local.createQueue('publisher-empty');

    expect(await publishOneMinute(url, 0)).toEqual({
      VisibleMessages: 0, InFlightMessages: 0, DelayedMessages: 0, RunningWorkers: 0, BacklogPerWorker: 0,
    });
  });

  test('a visible message with no workers is a backlog of 1 per worker (the signal that leaves 0)', async () => {
    const { url } = await local.createQueue('publisher-from-zero');
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'first task' }));

    expect(await publishOneMinute(url, 0)).toMatchObject({ VisibleMessages: 1, RunningWorkers: 0, BacklogPerWorker: 1 });
  });
});

describe('backlog publisher when SQS fails', () => {
  test('SQS down (connection refused): the worker count is still published, and nothing throws', async () => {
    // GIVEN a port where nothing listens
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port: p } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(p));
      });
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const down = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const time = fakeTime();
    const cloudWatch = mockCloudWatch();
    const logs = logLines();
    const handler = createHandler({
      env: env(`${endpoint}/000000000000/gone`, { PERIOD_SECONDS: '30' }),
      clients: { sqs: down, ecs: mockEcs(3, 3), cloudWatch: cloudWatch.client },
      clock: time.clock, sleep: time.sleep, log: logs.log,
    });

    // WHEN
    const summary = await handler({}, time.context);
    down.destroy();

    // THEN
    expect(summary).toEqual({ cycles: 2, skipped: 0, published: 2, unpublished: 0 });
    for (const put of cloudWatch.puts()) expect(byMetric(put.MetricData)).toEqual({ RunningWorkers: 3 });
    const [line] = logs.parsed();
    expect(line).toMatchObject({ level: 'WARN', RunningWorkers: 3, put: 1, errors: [{ source: 'sqs' }] });
    expect(JSON.stringify(line.errors)).toMatch(/ECONNREFUSED/);
  });

  test('SQS hanging: the read is cut off and the invocation ends before its timeout (real clock)', async () => {
    // GIVEN a server that accepts connections and never answers, and 3.5 s left before the timeout
    const sockets = new Set<net.Socket>();
    const server = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const hanging = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    const timeoutAt = Date.now() + 3_500;
    const context = { getRemainingTimeInMillis: () => timeoutAt - Date.now() };
    const cloudWatch = mockCloudWatch();
    const logs = logLines();
    const handler = createHandler({
      env: env(`${endpoint}/000000000000/hung`),
      clients: { sqs: hanging, ecs: mockEcs(5), cloudWatch: cloudWatch.client },
      log: logs.log,
    });

    try {
      // WHEN
      const summary = await handler({}, context);

      // THEN one cycle (no other fits), the worker count published, and time to spare
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(500);
      expect(summary).toEqual({ cycles: 1, skipped: 5, published: 1, unpublished: 0 });
      expect(byMetric(cloudWatch.puts()[0].MetricData)).toEqual({ RunningWorkers: 5 });
      expect(logs.parsed()[0]).toMatchObject({ level: 'WARN', errors: [{ source: 'sqs', name: 'AbortError' }] });
    } finally {
      hanging.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
