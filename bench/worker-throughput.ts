/**
 * Worker throughput benchmark (`npm run bench`). Prints ratios, not times: the machine's speed
 * cancels out.
 *
 * One local SQS server (fauxqs on 127.0.0.1, the same as the tests), the same messages for every
 * contender (each on a fresh queue), concurrency 10, and a handler whose latency is fixed per
 * message and heavy-tailed like a model call: log-normal, median 10 ms, p99 ≈ 200 ms, drawn from
 * a seeded generator. The bound is concurrency ÷ mean latency: nothing can go faster. SQS calls
 * are counted on the server (what SQS bills), sends excluded.
 *
 * "÷ measured bound" divides by concurrency ÷ the mean time the handlers really took (a timer of
 * 10 ms fires a little late), which isolates the runtime's own overhead.
 *
 * Contenders: AgentWorker (concurrency 10) with the fleet's defaults (the queue's own 30 s
 * visibility timeout, heartbeats every 10 s); sqs-consumer with batchSize 10; sqs-consumer as 10
 * consumers of batchSize 1. Then, with a no-op handler: AgentWorker ÷ a bare SDK loop that
 * receives 10 and deletes them with DeleteMessageBatch.
 *
 * Long tasks: AgentWorker at concurrency 64 with tasks of 5-60 s (uniform), where heartbeats
 * dominate the calls. Time is compressed by BENCH_TIME_SCALE (default 10): task durations, the
 * queue's visibility timeout (30 s → 3 s, so heartbeats every 1 s instead of 10 s) and the prefetch
 * window (0.5 s → 0.05 s: tasks this long prefetch nothing) shrink by the same factor, which keeps
 * heartbeats and receives per task, and so calls per task, those of real time.
 *
 * Options: BENCH_MESSAGES (default 12000), BENCH_NOOP_MESSAGES (default 20000), BENCH_LONG_MESSAGES
 * (default 1200), BENCH_SEED (default 42), BENCH_ONLY=agent (AgentWorker alone, for tuning),
 * BENCH_ONLY=long (the long-task profile alone).
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { Consumer } from 'sqs-consumer';
import { AgentWorker, WORKER_DEFAULTS, silentLogger } from '../lib/worker';
import { startLocalSqs, type LocalSqs } from '../test/support/local-sqs';
import { sendAll } from '../test/worker/helpers';
import { Random } from '../lib/simulation/random';

const CONCURRENCY = 10;
// Long enough that the end of the run (the last slow messages finishing alone) weighs little.
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 12000);
const NOOP_MESSAGES = Number(process.env.BENCH_NOOP_MESSAGES ?? 20000);
const LONG_MESSAGES = Number(process.env.BENCH_LONG_MESSAGES ?? 1200);
const LONG_CONCURRENCY = 64;
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 10);
const SEED = Number(process.env.BENCH_SEED ?? 42);
const MEDIAN_MS = 10;
/** σ such that p99 = median × e^(2.326σ) ≈ 200 ms. */
const SIGMA = Math.log(200 / MEDIAN_MS) / 2.3263;

function logNormalLatencies(n: number, seed: number): number[] {
  const random = new Random(seed);
  return Array.from({ length: n }, () => MEDIAN_MS * Math.exp(SIGMA * random.normal()));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  readonly name: string;
  readonly perSecond: number;
  readonly callsPerMessage: number;
  readonly calls: Record<string, number>;
  /** Mean time the handlers actually took (timers overshoot the nominal latency a little). */
  readonly measuredMeanMs: number;
}

/** A contender: starts consuming `queueUrl`, calls `done()` once per processed message, returns a stopper. */
type Contender = (sqs: SQSClient, queueUrl: string, handle: (m: Message) => Promise<void>) => Promise<() => Promise<void>>;

async function run(local: LocalSqs, name: string, bodies: readonly string[], contender: Contender,
  handle: (m: Message) => Promise<void>, visibilityTimeoutSeconds: number = WORKER_DEFAULTS.visibilityTimeoutSeconds): Promise<Outcome> {
  const sqs = local.client();
  const { url } = await local.createQueue(`bench-${name.replace(/[^a-z0-9]+/gi, '-')}-${Date.now()}`,
    { VisibilityTimeout: String(visibilityTimeoutSeconds) });
  await sendAll(sqs, url, bodies);
  await local.resetCalls();
  let processed = 0;
  let busyMs = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((r) => { finished = r; });
  const t0 = performance.now();
  const stop = await contender(sqs, url, async (m) => {
    const start = performance.now();
    await handle(m);
    busyMs += performance.now() - start;
    if (++processed === bodies.length) finished();
  });
  await allDone;
  const seconds = (performance.now() - t0) / 1000;
  await stop();
  await sleep(200); // let acknowledgements land before counting
  const calls = await local.calls();
  const total = Object.entries(calls).filter(([k]) => !k.startsWith('Send')).reduce((s, [, v]) => s + v, 0);
  return { name, perSecond: bodies.length / seconds, callsPerMessage: total / bodies.length, calls, measuredMeanMs: busyMs / bodies.length };
}

/** AgentWorker as a fleet configures it, but for the visibility timeout: the queue's own, read at start. */
const agentWorkerOf = (concurrency: number, prefetchSeconds?: number): Contender => async (sqs, queueUrl, handle) => {
  const worker = new AgentWorker({
    queueUrl, sqsClient: sqs, concurrency, prefetchSeconds, logger: silentLogger, handleSignals: false, env: {},
    handler: (m) => handle(m),
  });
  worker.start();
  return () => worker.stop();
};
const agentWorker = agentWorkerOf(CONCURRENCY);

const sqsConsumers = (consumers: number, batchSize: number): Contender => async (sqs, queueUrl, handle) => {
  const all = Array.from({ length: consumers }, () => Consumer.create({
    queueUrl, sqs, batchSize, waitTimeSeconds: 20, pollingWaitTimeMs: 0, handleMessage: async (m) => { await handle(m); return m; },
  }));
  for (const c of all) {
    c.on('error', () => undefined);
    c.on('processing_error', () => undefined);
    c.start();
  }
  return async () => {
    for (const c of all) c.stop({ abort: true });
    await sleep(100);
  };
};

const bareLoop: Contender = async (sqs, queueUrl, handle) => {
  let running = true;
  const controller = new AbortController();
  const loop = (async () => {
    while (running) {
      const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 20 }),
        { abortSignal: controller.signal }).catch(() => ({ Messages: [] as Message[] }));
      const messages = out.Messages ?? [];
      if (messages.length === 0) continue;
      for (const m of messages) await handle(m);
      await sqs.send(new DeleteMessageBatchCommand({
        QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
      }));
    }
  })();
  return async () => {
    running = false;
    controller.abort();
    await loop;
  };
};

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]): string => `| ${r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(rows[0]), `|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const latencies = logNormalLatencies(MESSAGES, SEED);
  const sorted = [...latencies].sort((a, b) => a - b);
  const mean = latencies.reduce((s, x) => s + x, 0) / latencies.length;
  const bound = (CONCURRENCY * 1000) / mean;
  const bodies = latencies.map((l) => l.toFixed(3));
  const modelCall = (m: Message): Promise<void> => sleep(Number(m.Body));
  const noop = async (): Promise<void> => undefined;
  const q = (p: number): string => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(1);
  console.log(`messages ${MESSAGES}, seed ${SEED}, concurrency ${CONCURRENCY}`);
  console.log(`handler latency ms: median ${q(0.5)}, mean ${mean.toFixed(1)}, p99 ${q(0.99)}, max ${sorted[sorted.length - 1].toFixed(0)}`);
  console.log(`bound = concurrency / mean latency = ${bound.toFixed(0)} messages/s\n`);

  const local = await startLocalSqs();
  try {
    if (process.env.BENCH_ONLY === 'long') {
      await longTasks(local);
      return;
    }
    const results: Outcome[] = [];
    for (const [name, contender] of [
      ['AgentWorker (concurrency 10)', agentWorker],
      ['sqs-consumer, batchSize 10', sqsConsumers(1, 10)],
      ['sqs-consumer, 10 consumers of batchSize 1', sqsConsumers(10, 1)],
    ] as const) {
      if (process.env.BENCH_ONLY === 'agent' && contender !== agentWorker) continue;
      process.stderr.write(`running ${name}…\n`);
      results.push(await run(local, name, bodies, contender, modelCall));
    }
    console.log(table([
      ['contender', 'throughput ÷ bound', '÷ measured bound', 'SQS calls per message', 'calls'],
      ...results.map((r) => [r.name, (r.perSecond / bound).toFixed(3), (r.perSecond / ((CONCURRENCY * 1000) / r.measuredMeanMs)).toFixed(3),
        r.callsPerMessage.toFixed(3),
        Object.entries(r.calls).filter(([k]) => !k.startsWith('Send')).map(([k, v]) => `${k} ${v}`).join(', ')]),
    ]));

    process.stderr.write('running the no-op comparison…\n');
    const noopBodies = Array.from({ length: NOOP_MESSAGES }, (_, i) => String(i));
    const bare = await run(local, 'bare SDK loop', noopBodies, bareLoop, noop);
    const worker = await run(local, 'AgentWorker no-op', noopBodies, agentWorker, noop);
    console.log(`\nno-op handler, ${NOOP_MESSAGES} messages:`);
    console.log(table([
      ['contender', 'throughput ÷ bare loop', 'SQS calls per message'],
      [worker.name, (worker.perSecond / bare.perSecond).toFixed(3), worker.callsPerMessage.toFixed(3)],
      [`${bare.name} (receive 10, DeleteMessageBatch)`, '1.000', bare.callsPerMessage.toFixed(3)],
    ]));
    if (process.env.BENCH_ONLY !== 'agent') await longTasks(local);
  } finally {
    await local.stop();
  }
}

/** The long-task profile: where heartbeats dominate the calls. */
async function longTasks(local: LocalSqs): Promise<void> {
  const random = new Random(SEED + 1);
  const seconds = Array.from({ length: LONG_MESSAGES }, () => random.uniform(5, 60));
  const meanMs = (seconds.reduce((a, b) => a + b, 0) / seconds.length) * 1000 / TIME_SCALE;
  const bound = (LONG_CONCURRENCY * 1000) / meanMs;
  const visibility = WORKER_DEFAULTS.visibilityTimeoutSeconds / TIME_SCALE;
  if (!Number.isInteger(visibility)) throw new Error(`BENCH_TIME_SCALE must divide ${WORKER_DEFAULTS.visibilityTimeoutSeconds}`);
  process.stderr.write('running the long-task profile…\n');
  const r = await run(local, 'AgentWorker long tasks', seconds.map((s) => ((s * 1000) / TIME_SCALE).toFixed(1)),
    agentWorkerOf(LONG_CONCURRENCY, WORKER_DEFAULTS.prefetchSeconds / TIME_SCALE), (m) => sleep(Number(m.Body)), visibility);
  console.log(`\nlong tasks: ${LONG_MESSAGES} tasks of 5-60 s (uniform), concurrency ${LONG_CONCURRENCY}, time ÷ ${TIME_SCALE}`
    + ` (visibility ${WORKER_DEFAULTS.visibilityTimeoutSeconds} s → ${visibility} s):`);
  const per = (k: string): string => ((r.calls[k] ?? 0) / LONG_MESSAGES).toFixed(3);
  console.log(table([
    ['contender', 'throughput ÷ bound', 'SQS calls per message', 'heartbeats (ChangeMessageVisibilityBatch)', 'ReceiveMessage', 'DeleteMessageBatch'],
    [r.name, (r.perSecond / bound).toFixed(3), r.callsPerMessage.toFixed(3), per('ChangeMessageVisibilityBatch'), per('ReceiveMessage'), per('DeleteMessageBatch')],
  ]));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
