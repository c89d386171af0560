/**
 * Chaos: several worker processes, thousands of messages, workers killed at random and restarted.
 * - with SIGKILL and SIGTERM: every message is processed at least once or is in the DLQ;
 * - with SIGTERM only: no message is processed twice;
 * - poison messages reach the DLQ after exactly maxReceiveCount deliveries (never more).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { AGENT_ENV } from '../../lib/worker';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { readResults, spawnWorker, type WorkerProcess } from './fixtures/processes';
import { delay, depth, receiveAll, sendAll } from './helpers';
import { Random } from '../../lib/simulation/random';

const MAX_RECEIVE_COUNT = 4;
const WORKERS = 3;

let local: LocalSqs;
beforeAll(async () => { local = await startLocalSqs(); });
afterAll(async () => { await local.stop(); });

async function chaos(name: string, signals: readonly NodeJS.Signals[], seed: number) {
  const random = new Random(seed);
  const dir = mkdtempSync(path.join(tmpdir(), `chaos-${name}-`));
  const sqs = local.client();
  const { url, dlqUrl } = await local.createQueueWithDlq(name, MAX_RECEIVE_COUNT);
  const bodies = Array.from({ length: 3000 }, () => String(5 + Math.floor(random.next() * 60)));
  const ids = await sendAll(sqs, url, bodies);
  const poison = await sendAll(sqs, url, Array.from({ length: 15 }, () => 'poison'));
  const env = {
    ...local.env(), RESULTS_DIR: dir, [AGENT_ENV.queueUrl]: url, [AGENT_ENV.concurrency]: '8',
    [AGENT_ENV.visibilityTimeoutSeconds]: '4', [AGENT_ENV.handlerTimeoutSeconds]: '2', [AGENT_ENV.drainDeadlineSeconds]: '3',
  };
  const pool: Array<WorkerProcess | undefined> = [];
  for (let i = 0; i < WORKERS; i++) pool.push(await spawnWorker(env));
  const kills: string[] = [];
  const terminated: Array<WorkerProcess['exited']> = [];
  const spawning: Array<Promise<void>> = [];
  const deadline = Date.now() + 55_000;
  const settled = async (): Promise<boolean> => {
    const d = await depth(sqs, url);
    return d.visible + d.inFlight + d.delayed === 0;
  };
  try {
    while (Date.now() < deadline && !(await settled())) {
      await delay(400 + random.next() * 600);
      if (kills.length >= 12) continue;
      const i = Math.floor(random.next() * WORKERS);
      const victim = pool[i];
      if (!victim) continue;
      const sig = signals[Math.floor(random.next() * signals.length)];
      pool[i] = undefined;
      victim.child.kill(sig);
      kills.push(sig);
      // A stopped worker drains on its own (a receive in progress completes first) while its replacement starts.
      if (sig === 'SIGTERM') terminated.push(victim.exited);
      // The replacement starts in the background, so process start-up time does not space the kills.
      spawning.push(spawnWorker(env).then((w) => { pool[i] = w; }));
    }
  } finally {
    await Promise.all(spawning);
    await Promise.all(pool.map(async (w) => { if (w) { w.child.kill('SIGTERM'); await w.exited; } }));
  }
  for (const exit of await Promise.all(terminated)) expect(exit).toEqual({ code: 0, signal: null });
  const results = readResults(dir);
  const dead = new Set((await receiveAll(sqs, dlqUrl)).map((m) => m.MessageId!));
  rmSync(dir, { recursive: true, force: true });
  return { ids, poison, results, dead, kills, settled: await settled() };
}

test('SIGKILL and SIGTERM at random: every message processed at least once or dead-lettered', async () => {
  const { ids, poison, results, dead, kills, settled } = await chaos('chaos-kill', ['SIGKILL', 'SIGTERM'], 7);
  expect(settled).toBe(true);
  expect(kills.length).toBeGreaterThanOrEqual(3);
  const lost = ids.filter((id) => !results.ok.has(id) && !dead.has(id));
  expect(lost).toEqual([]);
  for (const id of poison) {
    expect(dead.has(id)).toBe(true);
    expect(results.ok.has(id)).toBe(false);
    for (const count of results.fails.get(id) ?? []) expect(count).toBeLessThanOrEqual(MAX_RECEIVE_COUNT);
  }
}, 120_000);

test('SIGTERM only: no message processed twice, none lost, poison dead-lettered after maxReceiveCount deliveries', async () => {
  const { ids, poison, results, dead, kills, settled } = await chaos('chaos-term', ['SIGTERM'], 11);
  expect(settled).toBe(true);
  expect(kills.length).toBeGreaterThanOrEqual(3);
  expect(new Set(results.ok.keys())).toEqual(new Set(ids));
  expect([...results.ok.entries()].filter(([, c]) => c > 1)).toEqual([]);
  expect([...dead].sort()).toEqual([...poison].sort());
  for (const id of poison) {
    const counts = results.fails.get(id) ?? [];
    // each delivery has its own receive count, and none goes beyond maxReceiveCount: the next receive dead-letters it
    expect(new Set(counts).size).toBe(counts.length);
    expect(Math.max(...counts)).toBeLessThanOrEqual(MAX_RECEIVE_COUNT);
  }
}, 120_000);
