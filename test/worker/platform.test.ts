/**
 * ECS task scale-in protection and the EC2 termination lifecycle hook, against small local fakes
 * of the ECS agent and of IMDSv2 (on 127.0.0.1), with a real SQS server for the messages and a
 * mocked Auto Scaling client for CompleteLifecycleAction.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { AGENT_ENV, type AgentWorker } from '../../lib/worker';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { delay, depth, sendAll, testWorker, waitFor } from './helpers';

interface Fake {
  readonly url: string;
  readonly requests: Array<{ method: string; path: string; headers: http.IncomingHttpHeaders; body: string }>;
  close(): Promise<void>;
}

async function fakeServer(respond: (method: string, path: string, headers: http.IncomingHttpHeaders) => [number, string]): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => { body += c.toString(); });
    req.on('end', () => {
      requests.push({ method: req.method!, path: req.url!, headers: req.headers, body });
      const [status, text] = respond(req.method!, req.url!, req.headers);
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}

let local: LocalSqs;
let sqs: SQSClient;
let n = 0;
const workers: AgentWorker[] = [];
const fakes: Fake[] = [];
beforeAll(async () => { local = await startLocalSqs(); sqs = local.client(); });
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});
afterAll(async () => { await local.stop(); });

describe('ECS task scale-in protection', () => {
  test('held while messages are in flight, dropped when idle', async () => {
    // GIVEN a fake ECS agent
    const agent = await fakeServer(() => [200, JSON.stringify({ protection: { ProtectionEnabled: true } })]);
    fakes.push(agent);
    const { url } = await local.createQueue(`protect-${++n}`);
    let handled = 0;
    const worker = testWorker(sqs, url, {
      env: { [AGENT_ENV.taskProtection]: 'true', [AGENT_ENV.taskProtectionMinutes]: '15', ECS_AGENT_URI: agent.url },
      taskProtectionIdleMs: 100,
      handler: async () => { await delay(300); handled++; },
    });
    workers.push(worker);
    const changes: boolean[] = [];
    worker.on('protection_changed', (e) => changes.push(e.protected));
    worker.start();
    await delay(300);
    expect(agent.requests).toEqual([]); // idle: no protection
    // WHEN
    await sendAll(sqs, url, ['a', 'b']);
    await waitFor(() => handled === 2 && changes.length === 2, 10_000, 'protection set and dropped');
    // THEN
    expect(changes).toEqual([true, false]);
    expect(agent.requests.map((r) => [r.method, r.path, JSON.parse(r.body)])).toEqual([
      ['PUT', '/task-protection/v1/state', { ProtectionEnabled: true, ExpiresInMinutes: 15 }],
      ['PUT', '/task-protection/v1/state', { ProtectionEnabled: false }],
    ]);
  });

  test('a no-op without ECS_AGENT_URI, and harmless when the agent refuses', async () => {
    const agent = await fakeServer(() => [400, JSON.stringify({ error: { Code: 'InvalidParameter' } })]);
    fakes.push(agent);
    for (const env of [{ [AGENT_ENV.taskProtection]: 'true' }, { [AGENT_ENV.taskProtection]: 'true', ECS_AGENT_URI: agent.url }]) {
      const { url } = await local.createQueue(`protect-${++n}`);
      await sendAll(sqs, url, ['x']);
      let handled = 0;
      const worker = testWorker(sqs, url, { env, taskProtectionIdleMs: 10, handler: async () => { handled++; } });
      workers.push(worker);
      worker.start();
      await waitFor(() => handled === 1, 10_000, 'the message');
      await worker.stop();
      expect((await depth(sqs, url)).visible + (await depth(sqs, url)).inFlight).toBe(0);
    }
    expect(agent.requests.length).toBeGreaterThan(0);
  });

  test('a worker busy for the whole protection limit pauses: no new message, protection dropped, so a deployment can replace it; then it resumes', async () => {
    // GIVEN a fake ECS agent, a steady backlog, and a 1 s pause
    const agent = await fakeServer(() => [200, JSON.stringify({ protection: { ProtectionEnabled: true } })]);
    fakes.push(agent);
    const { url } = await local.createQueue(`protect-${++n}`);
    await sendAll(sqs, url, Array.from({ length: 60 }, (_, i) => String(i)));
    const events: string[] = [];
    const at: number[] = [];
    const record = (e: string): void => { events.push(e); at.push(performance.now()); };
    const worker = testWorker(sqs, url, {
      env: { [AGENT_ENV.taskProtection]: 'true', [AGENT_ENV.taskProtectionMinutes]: '60', ECS_AGENT_URI: agent.url },
      concurrency: 2, prefetch: 2, taskProtectionIdleMs: 100, taskProtectionPauseSeconds: 1,
      handler: async (m) => { record(`start ${m.Body}`); await delay(100); },
    });
    workers.push(worker);
    worker.on('protection_changed', (e) => record(e.protected ? 'protected' : 'unprotected'));
    worker.start();
    await waitFor(() => events.includes('protected'), 10_000, 'protection');
    // WHEN the protection has been held for its 60 minutes
    const now = Date.now.bind(Date);
    const clock = jest.spyOn(Date, 'now').mockImplementation(() => now() + 61 * 60_000);
    try {
      await waitFor(() => events.includes('unprotected'), 10_000, 'protection dropped');
      const droppedAt = events.indexOf('unprotected');
      await waitFor(() => events.lastIndexOf('protected') > droppedAt, 10_000, 'protection taken again');
      // THEN protection was dropped with a backlog still waiting, no handler started during the
      // 1 s pause that followed, and the worker resumed
      const next = events.findIndex((e, i) => i > droppedAt && e.startsWith('start'));
      expect(next).toBeGreaterThan(droppedAt);
      expect(at[next] - at[droppedAt]).toBeGreaterThanOrEqual(900);
      expect((await depth(sqs, url)).visible).toBeGreaterThan(0);
    } finally {
      clock.mockRestore();
    }
  });
});

describe('EC2 termination lifecycle hook', () => {
  // Terminated: scale-in terminates it; Warmed:Stopped: scale-in returns it to the group's warm pool.
  test.each(['Terminated', 'Warmed:Stopped'])('drains when the target lifecycle state reads %s, then completes the lifecycle action', async (leaving) => {
    // GIVEN a fake IMDSv2 that answers InService, then the state that takes the instance out of service
    let state = 'InService';
    const imds = await fakeServer((method, path, headers) => {
      if (method === 'PUT' && path === '/latest/api/token') return [200, 'token-1'];
      if (headers['x-aws-ec2-metadata-token'] !== 'token-1') return [401, ''];
      if (path === '/latest/meta-data/autoscaling/target-lifecycle-state') return [200, state];
      if (path === '/latest/meta-data/instance-id') return [200, 'i-0123456789abcdef0'];
      return [404, ''];
    });
    fakes.push(imds);
    const autoScaling = new AutoScalingClient({ region: 'us-east-1' });
    const asMock = mockClient(autoScaling);
    asMock.on(CompleteLifecycleActionCommand).resolves({});
    const { url } = await local.createQueue(`lifecycle-${++n}`);
    await sendAll(sqs, url, ['work']);
    let started = false;
    let finished = false;
    const worker = testWorker(sqs, url, {
      env: { [AGENT_ENV.lifecycleHookName]: 'drain-hook', [AGENT_ENV.autoScalingGroupName]: 'agents', AWS_EC2_METADATA_SERVICE_ENDPOINT: imds.url },
      autoScalingClient: autoScaling,
      lifecyclePollMs: 50,
      handler: async () => { started = true; await delay(500); finished = true; },
    });
    workers.push(worker);
    const stopped = new Promise<string>((r) => worker.on('stopped', (e) => r(e.reason)));
    worker.start();
    await waitFor(() => started, 10_000, 'the handler');
    // WHEN
    state = leaving;
    // THEN
    expect(await stopped).toBe('lifecycle');
    expect(finished).toBe(true);
    expect(asMock.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input)).toEqual([{
      AutoScalingGroupName: 'agents', LifecycleHookName: 'drain-hook', InstanceId: 'i-0123456789abcdef0', LifecycleActionResult: 'CONTINUE',
    }]);
    expect(await depth(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  test('a no-op when instance metadata does not answer', async () => {
    const closed = await fakeServer(() => [200, '']);
    await closed.close(); // nothing listens on its port now
    const { url } = await local.createQueue(`lifecycle-${++n}`);
    await sendAll(sqs, url, ['x']);
    let handled = 0;
    const worker = testWorker(sqs, url, {
      env: { [AGENT_ENV.lifecycleHookName]: 'h', [AGENT_ENV.autoScalingGroupName]: 'g' },
      imdsEndpoint: closed.url, lifecyclePollMs: 20,
      handler: async () => { handled++; },
    });
    workers.push(worker);
    worker.start();
    await waitFor(() => handled === 1, 10_000, 'the message');
    expect(worker.state).toBe('running');
  });
});
