/**
 * A worker process under SIGTERM: it stops receiving, finishes what it holds, releases its
 * prefetch, flushes deletes and exits by itself with code 0; no message is processed twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AGENT_ENV } from '../../lib/worker';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { readResults, spawnWorker } from './fixtures/processes';
import { depth, sendAll, waitFor } from './helpers';

let local: LocalSqs;
let dir: string;
beforeAll(async () => { local = await startLocalSqs(); });
afterAll(async () => { await local.stop(); });
beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'agent-worker-')); });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

test('SIGTERM drains and the process exits by itself with code 0; a second worker finishes the rest, each message once', async () => {
  // GIVEN 60 messages of 300 ms and a worker of 4 slots (SDK defaults: AWS_ENDPOINT_URL_SQS, QUEUE_URL)
  const sqs = local.client();
  const { url } = await local.createQueue('sigterm');
  const ids = await sendAll(sqs, url, Array.from({ length: 60 }, () => '300'));
  const env = {
    ...local.env(), RESULTS_DIR: dir, [AGENT_ENV.queueUrl]: url, [AGENT_ENV.concurrency]: '4',
    [AGENT_ENV.visibilityTimeoutSeconds]: '10', [AGENT_ENV.handlerTimeoutSeconds]: '5', [AGENT_ENV.drainDeadlineSeconds]: '8',
  };
  const first = await spawnWorker(env);
  await waitFor(() => readResults(dir).ok.size >= 8, 20_000, 'some messages processed');
  // WHEN
  first.child.kill('SIGTERM');
  const exit = await first.exited;
  // THEN
  expect(exit).toEqual({ code: 0, signal: null });
  expect(first.output()).toMatch(/stopped SIGTERM released=\d+/);
  const afterFirst = readResults(dir).ok;
  expect([...afterFirst.values()].every((c) => c === 1)).toBe(true);
  const d = await depth(sqs, url);
  expect(d.visible).toBe(60 - afterFirst.size - d.inFlight);

  // A second worker takes the rest at once: nothing was left invisible by the first.
  const second = await spawnWorker(env);
  await waitFor(() => readResults(dir).ok.size === 60, 30_000, 'all 60 processed');
  second.child.kill('SIGTERM');
  expect(await second.exited).toEqual({ code: 0, signal: null });
  const { ok } = readResults(dir);
  expect(new Set(ok.keys())).toEqual(new Set(ids));
  expect([...ok.values()].every((c) => c === 1)).toBe(true);
  expect(await depth(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
});
