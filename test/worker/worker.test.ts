/**
 * AgentWorker against a real SQS server (fauxqs on 127.0.0.1): processing, continuous bounded
 * concurrency, heartbeats, handler deadline, retries with backoff, redrive to the DLQ, drain.
 */
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { DrainDeadlineError, HandlerTimeoutError, retryDelaySeconds, type AgentWorker } from '../../lib/worker';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { delay, depth, receiveAll, sendAll, testWorker, waitFor } from './helpers';

let local: LocalSqs;
let sqs: SQSClient;
let n = 0;
const queueName = (): string => `worker-${++n}`;
const workers: AgentWorker[] = [];
const track = (w: AgentWorker): AgentWorker => { workers.push(w); return w; };

/** A first task whose handler returns at once: the worker then measures its tasks as fast and prefetches. */
const WARM_UP = 'warm-up';
async function warmUp(worker: AgentWorker, url: string, done: readonly string[]): Promise<void> {
  worker.start();
  await sendAll(sqs, url, [WARM_UP]);
  await waitFor(() => done.includes(WARM_UP), 10_000, 'the warm-up task');
}

beforeAll(async () => {
  local = await startLocalSqs();
  sqs = local.client();
});
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});
afterAll(async () => {
  await local.stop();
});

describe('processing', () => {
  test('processes every message once, deletes it, and batches the deletes', async () => {
    // GIVEN
    const { url } = await local.createQueue(queueName());
    const ids = await sendAll(sqs, url, Array.from({ length: 50 }, (_, i) => JSON.stringify({ i })));
    const seen: Message[] = [];
    await local.resetCalls();
    // WHEN
    const worker = track(testWorker(sqs, url, { concurrency: 10, handler: async (m) => { seen.push(m); } }));
    worker.start();
    await waitFor(() => seen.length === 50, 20_000, '50 messages');
    await worker.stop();
    // THEN
    expect(new Set(seen.map((m) => m.MessageId))).toEqual(new Set(ids));
    expect(seen[0].Body).toMatch(/^\{"i":\d+\}$/);
    expect(seen[0].Attributes?.ApproximateReceiveCount).toBe('1');
    expect(await depth(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const calls = await local.calls();
    expect(calls.DeleteMessage ?? 0).toBe(0);
    expect(calls.DeleteMessageBatch).toBeLessThanOrEqual(10);
  });

  test('a finished message frees its slot at once: fast messages pass a slow one', async () => {
    // GIVEN one slow message and many fast ones, three slots
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['slow', ...Array.from({ length: 30 }, (_, i) => `fast-${i}`)]);
    const order: string[] = [];
    let running = 0;
    let maxRunning = 0;
    const worker = track(testWorker(sqs, url, {
      concurrency: 3,
      handler: async (m) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await delay(m.Body === 'slow' ? 3000 : 10);
        running--;
        order.push(m.Body!);
      },
    }));
    // WHEN
    worker.start();
    await waitFor(() => order.length === 31, 20_000, 'all messages');
    // THEN the slow message finished last, and no more than 3 ran at once
    expect(order[order.length - 1]).toBe('slow');
    expect(maxRunning).toBe(3);
  });

  test('heartbeats keep held messages invisible past the visibility timeout', async () => {
    // GIVEN a 2 s visibility timeout; one slot and one prefetched message, each taking 1.5 s
    // (a window long enough to prefetch them, measured on a first, instant task)
    const { url } = await local.createQueue(queueName());
    const done: string[] = [];
    const worker = track(testWorker(sqs, url, {
      concurrency: 1, prefetch: 1, prefetchSeconds: 3600, visibilityTimeoutSeconds: 2, heartbeatSeconds: 0.5, handlerTimeoutSeconds: 2,
      handler: async (m) => { if (m.Body !== WARM_UP) await delay(1500); done.push(m.Body!); },
    }));
    await warmUp(worker, url, done);
    await sendAll(sqs, url, ['a', 'b']);
    await local.resetCalls();
    // WHEN
    await waitFor(() => worker.inFlight === 2, 10_000, 'both messages held');
    const stolen: Message[] = [];
    const end = Date.now() + 20_000;
    while (done.length < 3 && Date.now() < end) {
      // another consumer keeps looking (and would take any message whose visibility lapsed)
      stolen.push(...await receiveAll(sqs, url, 60));
      await delay(200);
    }
    // THEN
    expect(stolen).toEqual([]);
    expect(done.filter((b) => b !== WARM_UP).sort()).toEqual(['a', 'b']);
    expect((await local.calls()).ChangeMessageVisibilityBatch).toBeGreaterThan(0);
  });
});

describe('prefetch, bounded by the measured task time', () => {
  // The most messages a worker at concurrency 1 held besides the one it ran, halfway through each task.
  async function mostPrefetched(taskMs: number, messages: number): Promise<number> {
    const { url } = await local.createQueue(queueName());
    let finished = 0;
    let most = 0;
    const worker: AgentWorker = track(testWorker(sqs, url, {
      concurrency: 1,
      handler: async () => {
        await delay(taskMs / 2);
        most = Math.max(most, worker.inFlight - 1);
        await delay(taskMs / 2);
        finished++;
      },
    }));
    await sendAll(sqs, url, Array.from({ length: messages }, (_, i) => String(i)));
    worker.start();
    await waitFor(() => finished === messages, 20_000, 'every task');
    return most;
  }

  test('tasks longer than the 0.5 s window per slot prefetch nothing: the next message stays in the queue for any worker', async () => {
    expect(await mostPrefetched(1200, 3)).toBe(0);
  });

  test('fast tasks keep the whole prefetch (min(concurrency, 10) = 1 at concurrency 1)', async () => {
    expect(await mostPrefetched(20, 30)).toBe(1);
  });
});

describe('failures', () => {
  test('a failing message is retried with a growing backoff and dead-lettered after maxReceiveCount receives', async () => {
    // GIVEN
    const { url, dlqUrl } = await local.createQueueWithDlq(queueName(), 3);
    const [id] = await sendAll(sqs, url, ['poison']);
    const attempts: Array<{ count: number; at: number }> = [];
    const released: number[] = [];
    const worker = track(testWorker(sqs, url, {
      concurrency: 2, retryDelaySeconds: 1, maxRetryDelaySeconds: 2,
      handler: async (m) => {
        attempts.push({ count: Number(m.Attributes!.ApproximateReceiveCount), at: Date.now() });
        throw new Error('cannot do it');
      },
    }));
    worker.on('processing_error', (e) => released.push(e.retryDelaySeconds));
    // WHEN
    worker.start();
    await waitFor(async () => (await depth(sqs, dlqUrl)).visible === 1, 30_000, 'the message in the DLQ');
    // THEN three receives, with the visibility backoff between them, then the DLQ
    expect(attempts.map((a) => a.count)).toEqual([1, 2, 3]);
    expect(released).toEqual([1, 2, 2]);
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(900);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(1900);
    const [dead] = await receiveAll(sqs, dlqUrl);
    expect(dead.MessageId).toBe(id);
    expect((await depth(sqs, url)).visible + (await depth(sqs, url)).inFlight).toBe(0);
  });

  test('the backoff grows with the receive count and is capped', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((c) => retryDelaySeconds(c, 2, 30))).toEqual([2, 4, 8, 16, 30, 30, 30]);
    expect(retryDelaySeconds(Number.NaN, 2, 30)).toBe(2);
  });

  test('a failed message is invisible for its backoff, as the server sees it', async () => {
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['x']);
    let failed = false;
    const worker = track(testWorker(sqs, url, {
      retryDelaySeconds: 30, maxRetryDelaySeconds: 30,
      handler: async () => { failed = true; throw new Error('no'); },
    }));
    worker.start();
    await waitFor(() => failed, 10_000, 'the failure');
    await worker.stop();
    expect(await receiveAll(sqs, url)).toEqual([]);
    expect((await depth(sqs, url)).inFlight).toBe(1);
  });

  test('malformed messages and odd handlers cannot crash the worker', async () => {
    // GIVEN a JSON handler, a body that is not JSON, and handlers that throw non-errors or synchronously
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['{"ok":1}', 'not json', 'throw-string', 'throw-sync', '{"ok":2}']);
    const ok: number[] = [];
    const errors: unknown[] = [];
    const worker = track(testWorker(sqs, url, {
      concurrency: 5, retryDelaySeconds: 60, maxRetryDelaySeconds: 60,
      handler: (m) => {
        if (m.Body === 'throw-string') return Promise.reject('a string');
        if (m.Body === 'throw-sync') throw new TypeError('sync');
        return Promise.resolve().then(() => { ok.push((JSON.parse(m.Body!) as { ok: number }).ok); });
      },
    }));
    worker.on('processing_error', (e) => errors.push(e.error));
    // WHEN
    worker.start();
    await waitFor(() => ok.length === 2 && errors.length === 3, 10_000, 'every message handled');
    // THEN
    expect(ok.sort()).toEqual([1, 2]);
    expect(errors.map((e) => (e instanceof Error ? e.name : typeof e)).sort()).toEqual(['SyntaxError', 'TypeError', 'string']);
    expect(worker.state).toBe('running');
  });

  test('a handler past its deadline sees its signal abort, and the message is retried', async () => {
    // GIVEN a handler that waits on its signal the first time
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['stuck-once']);
    const reasons: unknown[] = [];
    const counts: number[] = [];
    const worker = track(testWorker(sqs, url, {
      handlerTimeoutSeconds: 1, visibilityTimeoutSeconds: 5, retryDelaySeconds: 0,
      handler: async (m, { signal }) => {
        counts.push(Number(m.Attributes!.ApproximateReceiveCount));
        if (counts.length === 1) {
          await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
          reasons.push(signal.reason);
        }
      },
    }));
    let timedOut = false;
    worker.on('processing_error', (e) => { timedOut = e.timedOut; });
    // WHEN
    worker.start();
    await waitFor(() => counts.length === 2, 15_000, 'the retry');
    await worker.stop();
    // THEN
    expect(reasons[0]).toBeInstanceOf(HandlerTimeoutError);
    expect(timedOut).toBe(true);
    expect(counts).toEqual([1, 2]);
    expect(await depth(sqs, url)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });
});

describe('drain', () => {
  test('a drain during a long poll strands nothing: the poll completes and what it brings is released at once', async () => {
    // GIVEN workers in a long poll on empty queues; WHEN a message arrives just as the drain starts, 12 times
    let stranded = 0;
    let longestStopMs = 0;
    for (let i = 0; i < 12; i++) {
      const { url } = await local.createQueue(queueName());
      const worker = track(testWorker(sqs, url, { waitTimeSeconds: 3, visibilityTimeoutSeconds: 60, handler: async () => undefined }));
      worker.start();
      await delay(150);
      await sendAll(sqs, url, ['m']);
      const t0 = Date.now();
      await worker.stop();
      longestStopMs = Math.max(longestStopMs, Date.now() - t0);
      // THEN the message was released (visible again) or processed; none sits out the 60 s visibility timeout
      const d = await depth(sqs, url);
      stranded += d.inFlight;
    }
    expect(stranded).toBe(0);
    // The drain waited at most for the poll's wait (3 s), not for the visibility timeout.
    expect(longestStopMs).toBeLessThan(8_000);
  });

  test('stop() on an idle worker ends once the long poll in progress returns', async () => {
    const { url } = await local.createQueue(queueName());
    const worker = track(testWorker(sqs, url, { waitTimeSeconds: 2, handler: async () => undefined }));
    worker.start();
    await delay(300);
    const t0 = Date.now();
    await worker.stop();
    expect(Date.now() - t0).toBeLessThan(6_000);
    expect(worker.state).toBe('stopped');
  });

  test('in-flight handlers finish, prefetched messages are released at once, deletes are flushed', async () => {
    // GIVEN two slots busy for 1.5 s and two prefetched messages
    const { url } = await local.createQueue(queueName());
    const warmedUp: string[] = [];
    const started: string[] = [];
    const finished: string[] = [];
    const worker = track(testWorker(sqs, url, {
      concurrency: 2, prefetch: 2, prefetchSeconds: 3600, visibilityTimeoutSeconds: 60,
      handler: async (m) => {
        if (m.Body === WARM_UP) return void warmedUp.push(m.Body);
        started.push(m.Body!); await delay(1500); finished.push(m.Body!);
      },
    }));
    let stopped: { released: number } | undefined;
    worker.on('stopped', (e) => { stopped = e; });
    await warmUp(worker, url, warmedUp);
    await sendAll(sqs, url, ['a', 'b', 'c', 'd']);
    await waitFor(() => started.length === 2 && worker.inFlight === 4, 10_000, 'two running, two prefetched');
    // WHEN
    const stopping = worker.stop();
    // THEN the prefetched two are visible to another consumer before the handlers end
    let taken: Message[] = [];
    await waitFor(async () => { taken = taken.concat(await receiveAll(sqs, url)); return taken.length === 2; }, 5_000, 'released messages');
    expect(finished).toEqual([]);
    await stopping;
    expect(finished.sort()).toEqual(started.sort());
    expect(taken.map((m) => m.Body).sort()).toEqual(['a', 'b', 'c', 'd'].filter((b) => !started.includes(b)).sort());
    expect(stopped).toEqual({ reason: 'stop', released: 2 });
    expect((await depth(sqs, url)).inFlight).toBe(2); // only the two our consumer took
  });

  test('at the drain deadline the signal aborts and the message is released for another worker', async () => {
    // GIVEN a handler that ignores its signal
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['long']);
    let signal: AbortSignal | undefined;
    let release!: () => void;
    const worker = track(testWorker(sqs, url, {
      drainDeadlineSeconds: 1,
      handler: async (_m, ctx) => { signal = ctx.signal; await new Promise<void>((r) => { release = r; }); },
    }));
    worker.start();
    await waitFor(() => signal !== undefined, 10_000, 'the handler');
    // WHEN
    await worker.stop();
    // THEN
    expect(signal!.aborted).toBe(true);
    expect(signal!.reason).toBeInstanceOf(DrainDeadlineError);
    const again = await receiveAll(sqs, url);
    expect(again.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['long', '2']]);
    release();
  });

  test('stop() before start() and twice resolves', async () => {
    const { url } = await local.createQueue(queueName());
    const worker = testWorker(sqs, url, { handler: async () => undefined });
    await worker.stop();
    await worker.stop();
    expect(worker.state).toBe('stopped');
    expect(() => worker.start()).toThrow(/start\(\) called when stopped/);
  });
});

describe('events and metrics', () => {
  test('typed events report the life of each message, and a throwing listener is harmless', async () => {
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['e1']);
    const events: string[] = [];
    const worker = track(testWorker(sqs, url, { handler: async () => undefined }));
    worker.on('started', () => events.push('started'));
    worker.on('message_received', (e) => events.push(`received:${e.message.Body}`));
    worker.on('message_processed', (e) => { events.push(`processed:${e.message.Body}`); throw new Error('listener bug'); });
    worker.on('draining', (e) => events.push(`draining:${e.reason}`));
    worker.on('stopped', (e) => events.push(`stopped:${e.reason}`));
    const off = worker.on('message_received', () => events.push('never'));
    off();
    worker.start();
    await waitFor(() => events.includes('processed:e1'), 10_000, 'processed');
    await worker.stop();
    expect(events).toEqual(['started', 'received:e1', 'processed:e1', 'draining:stop', 'stopped:stop']);
  });

  test('EMF records carry processing times, counts and in-flight, with the Fleet dimension', async () => {
    const { url } = await local.createQueue(queueName());
    await sendAll(sqs, url, ['m1', 'm2', 'bad']);
    const lines: string[] = [];
    let handled = 0;
    const worker = track(testWorker(sqs, url, {
      concurrency: 3, metricsNamespace: 'AgentFleet', fleetName: 'test-fleet', metricsWriter: (l) => lines.push(l),
      retryDelaySeconds: 60, maxRetryDelaySeconds: 60,
      handler: async (m) => { handled++; if (m.Body === 'bad') throw new Error('bad'); },
    }));
    worker.start();
    await waitFor(() => handled === 3, 10_000, 'three handled');
    await worker.stop();
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; StorageResolution?: number }> }> } });
    expect(records.length).toBeGreaterThan(0);
    const all = records.reduce<Record<string, number>>((acc, r) => {
      for (const k of ['MessagesProcessed', 'MessagesFailed']) acc[k] = (acc[k] ?? 0) + Number(r[k] ?? 0);
      const t = r.ProcessingTime;
      acc.times = (acc.times ?? 0) + (Array.isArray(t) ? t.length : t === undefined ? 0 : 1);
      return acc;
    }, {});
    expect(all).toEqual({ MessagesProcessed: 2, MessagesFailed: 1, times: 3 });
    expect(records[0]._aws.CloudWatchMetrics[0].Namespace).toBe('AgentFleet');
    expect(records[0]._aws.CloudWatchMetrics[0].Dimensions).toEqual([['Fleet']]);
    expect(records[0].Fleet).toBe('test-fleet');
    expect(records[records.length - 1].InFlight).toBe(0);
    // ProcessingTime at 1 s, which the publisher's 10 s scaling alarms can read; the counts at a minute.
    const resolutions = Object.fromEntries(records.flatMap((r) => r._aws.CloudWatchMetrics[0].Metrics).map((m) => [m.Name, m.StorageResolution ?? 60]));
    expect(resolutions).toEqual({ ProcessingTime: 1, MessagesProcessed: 60, MessagesFailed: 60, HandlerTimeouts: 60, InFlight: 60 });
  });
});
