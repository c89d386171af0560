/**
 * The local run: the simulator's trace replayed time-compressed into an embedded SQS queue, real
 * worker processes, and the policy model `BacklogScaling` deploys (`oursPolicy` =
 * `buildScalingModel` + `rulesFromModel`) executed by the simulator's autoscaler on CloudWatch
 * datapoints built the simulator's way (`SampleLog`, `Datapoints`: one-minute snapshots,
 * publication delay) from live queue counts and live worker counts. The simulator runs the same
 * messages and settings for the prediction.
 */
import * as path from 'node:path';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { DEFAULT_STEPS, taskDurationStats } from '../../agent/simulated-task';
import { RuleAutoscaler, type ScalingEvent } from '../simulation/autoscaler';
import { Datapoints, SampleLog } from '../simulation/cloudwatch';
import { initialWorkers } from '../simulation/compare';
import type { SimulationConfig } from '../simulation/config';
import { simulate, type MinuteStats, type RunResult } from '../simulation/engine';
import { oursPolicy, type SimulationPolicy } from '../simulation/policies';
import { Random } from '../simulation/random';
import { percentile } from '../simulation/stats';
import { materialize, type Messages, type Trace } from '../simulation/trace';
import { AGENT_ENV, WORKER_DEFAULTS } from '../worker/contract';
import { SimClock } from './clock';
import { createFleetQueues, queueCounts, startEmbeddedSqs, type QueueCounts } from './embedded-sqs';
import { WorkerFleet } from './worker-fleet';
import type { WorkerReport } from './worker-process';

/** The reference agent's simulated task: the default handler of the workers. */
export const DEFAULT_WORKER_MODULE = path.join(__dirname, '..', '..', 'agent', `simulated-task${path.extname(__filename)}`);

export interface LocalRunOptions {
  readonly trace: Trace;
  readonly config: SimulationConfig;
  /** Simulated seconds per real second. */
  readonly speed: number;
  /** Handler module of the workers. @default DEFAULT_WORKER_MODULE */
  readonly workerModule?: string;
  /** Where the workers' log goes. */
  readonly logFile: string;
  /** Called about once a simulated second with the live state. */
  readonly onTick?: (status: LiveStatus) => void;
  /** Aborts the run (Ctrl-C): the fleet and the server are stopped, the promise rejects. */
  readonly signal?: AbortSignal;
  /** Receives a function that kills every worker process at once (a second Ctrl-C). */
  readonly onFleet?: (killAll: () => void) => void;
}

/** What the live view shows. */
export interface LiveStatus {
  readonly now: number;
  readonly durationSeconds: number;
  readonly sent: number;
  readonly total: number;
  readonly queue: QueueCounts;
  readonly desired: number;
  readonly running: number;
  readonly starting: number;
  readonly draining: number;
  readonly processed: number;
  /** p95 wait of the messages processed so far, simulated seconds. */
  readonly waitP95: number;
  readonly events: readonly ScalingEvent[];
  /** Phase after the trace: waiting for the queue to empty. */
  readonly finishing: boolean;
  /** How far the autoscaler's tick is behind the clock, simulated seconds. */
  readonly lagSeconds: number;
}

/** Every message, accounted for. */
export interface Accounting {
  readonly sent: number;
  /** Messages processed (at least once). */
  readonly processed: number;
  /** Extra processings beyond the first. */
  readonly duplicates: number;
  readonly deadLettered: number;
  /** Neither processed nor dead-lettered. */
  readonly lost: number;
  /** Of the lost: still in the queue when the run ended. */
  readonly unfinished: number;
}

export interface LocalRunResult {
  readonly trace: Trace;
  readonly policy: SimulationPolicy;
  readonly live: RunResult;
  readonly predicted: RunResult;
  /**
   * The simulator again, on the same messages with the processing times the live handlers took
   * (simulated seconds): what the policy would do with this machine's actual service times.
   */
  readonly predictedMeasured: RunResult;
  readonly accounting: Accounting;
  readonly speed: number;
  /** Wall-clock seconds: the whole run, and the replay of the trace and its tail. */
  readonly wallSeconds: number;
  readonly replayWallSeconds: number;
  /** Before the replay: the server, the queues and the parked worker processes. */
  readonly warmUpWallSeconds: number;
  /** Mean processing time of the processed messages, simulated seconds (the prediction assumes the config's mean). */
  readonly meanProcessingSeconds: number;
  /** Mean processing time of the prediction's messages, simulated seconds. */
  readonly predictedMeanProcessingSeconds: number;
  /** Largest lag of the autoscaler's tick behind the clock, simulated seconds. */
  readonly maxTickLagSeconds: number;
}

/** How often the live view's queue counts are refreshed, real ms. */
const VIEW_REFRESH_MS = 250;

/** How long (simulated) the run may go on after the trace and its tail for the queue to empty. */
const FINISH_GRACE_SECONDS = 600;
/** ...and then, if the queue still holds messages, how long in real time. */
const FINISH_GRACE_REAL_MS = 30_000;

/** The config the run and its prediction share: with the default worker, the task's processing-time spread. */
export function withDefaultWorker(config: SimulationConfig): SimulationConfig {
  const pt = config.params.worker.processingTime;
  return {
    ...config,
    params: {
      ...config.params,
      worker: { ...config.params.worker, processingTime: { distribution: 'lognormal', meanSeconds: pt.meanSeconds, cv: taskDurationStats(DEFAULT_STEPS).cv } },
    },
  };
}

/** A worker's timings, time-compressed: each of the fleet contract's defaults divided by the speed. */
function workerEnvironment(config: SimulationConfig, speed: number, queueUrl: string, visibility: number): Record<string, string> {
  const w = config.params.worker;
  return {
    [AGENT_ENV.queueUrl]: queueUrl,
    [AGENT_ENV.concurrency]: String(w.concurrency),
    [AGENT_ENV.visibilityTimeoutSeconds]: String(visibility),
    [AGENT_ENV.handlerTimeoutSeconds]: String(WORKER_DEFAULTS.handlerTimeoutSeconds / speed),
    [AGENT_ENV.drainDeadlineSeconds]: String(w.drainDeadlineSeconds / speed),
    [AGENT_ENV.stopTimeoutSeconds]: String(WORKER_DEFAULTS.stopTimeoutSeconds / speed),
    // The reference agent's median step, so that a task takes the configured mean in simulated time.
    AGENT_SIM_STEP_MS: String((w.processingTime.meanSeconds / taskDurationStats(DEFAULT_STEPS).meanMedians) * (1000 / speed)),
  };
}

export async function runLocal(o: LocalRunOptions): Promise<LocalRunResult> {
  const wallStart = Date.now();
  const { config, trace, speed } = o;
  const params = config.params;
  const messages = materialize(trace, params);
  const policy = oursPolicy(config.fleet, params, initialWorkers(messages, config));
  const rules = policy.kind === 'rules' ? policy.rules : undefined;
  if (!rules) throw new Error('the local run executes a rule policy');
  const duration = Math.ceil(trace.durationSeconds + params.tailSeconds);
  const predicted = { ...simulate(messages, policy, params, duration), policy: 'predicted' };

  const clock = new SimClock(speed);
  const sqs = await startEmbeddedSqs();
  let fleet: WorkerFleet | undefined;
  const aborted = (): boolean => o.signal?.aborted === true;
  try {
    // The visibility timeout as AgentQueue sets it, not compressed: it only matters when a worker
    // dies holding a message (here, never before SIGKILL), and a compressed one (6 s at 60x) would
    // let a CPU-starved worker's heartbeat come too late and the message be processed twice.
    const visibility = WORKER_DEFAULTS.visibilityTimeoutSeconds;
    const queues = await createFleetQueues(sqs, `local-${trace.name}`, visibility);
    const processed = new Map<string, Extract<WorkerReport, { type: 'processed' }>[]>();
    // The datapoints' samples; a completed task's processing time feeds the task time factor, as the workers' ProcessingTime metric does.
    const log = new SampleLog(duration + FINISH_GRACE_SECONDS + 1);
    const f = (fleet = new WorkerFleet({
      workerModule: o.workerModule ?? DEFAULT_WORKER_MODULE,
      env: { ...sqs.env(), ...workerEnvironment(config, speed, queues.queueUrl, visibility) },
      startOptions: {
        retryDelaySeconds: 2 / speed,
        maxRetryDelaySeconds: 300 / speed,
        batchWindowMs: 50 / speed,
      },
      // On EC2, instances start from the group's warm pool, as the prediction executes it (maxWorkers prepared: never empty).
      startupSeconds: policy.warmPool?.startupSeconds ?? params.worker.startupSeconds,
      poolSize: config.fleet.maxWorkers,
      killAfterMs: Math.max(10_000, (WORKER_DEFAULTS.stopTimeoutSeconds / speed) * 1000),
      logFile: o.logFile,
      clock,
      rng: new Random(params.seed + 7_777_777),
      onProcessed: (r) => {
        log.completed(Math.min(log.capacitySeconds - 1, Math.max(0, Math.floor(clock.toSim(r.doneAt)))), clock.simSeconds(r.doneAt - r.startedAt));
        const list = processed.get(r.messageId);
        if (list) list.push(r);
        else processed.set(r.messageId, [r]);
      },
    }));
    o.onFleet?.(() => f.killAll());
    await Promise.race([f.warmUp(), abortPromise(o.signal)]);

    // The producer: the trace's messages at their send times.
    const sentWall = new Float64Array(messages.count).fill(NaN);
    const indexById = new Map<string, number>();
    let sent = 0;
    const sendBatch = async (batch: number[]): Promise<void> => {
      const wall = Date.now();
      const out = await sqs.client.send(new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: batch.map((m) => ({ Id: String(m), MessageBody: JSON.stringify({ taskId: `task-${m}`, prompt: `${trace.name} #${m}`, steps: DEFAULT_STEPS }) })),
      }));
      if ((out.Failed ?? []).length > 0) throw new Error(`SendMessageBatch failed: ${JSON.stringify(out.Failed)}`);
      for (const ok of out.Successful ?? []) {
        indexById.set(ok.MessageId!, Number(ok.Id));
        sentWall[Number(ok.Id)] = wall;
      }
    };
    const produce = async (): Promise<void> => {
      while (sent < messages.count && !aborted()) {
        await clock.until(messages.sentAt[sent]);
        // Everything due (the first is: a timer may fire a hair early), in batches of 10 sent at once.
        const now = Math.max(clock.now(), messages.sentAt[sent]);
        const due: number[] = [];
        while (sent + due.length < messages.count && messages.sentAt[sent + due.length] <= now) due.push(sent + due.length);
        const batches = Array.from({ length: Math.ceil(due.length / 10) }, (_, k) => due.slice(k * 10, k * 10 + 10));
        await Promise.all(batches.map(sendBatch));
        sent += due.length;
      }
    };

    const waitOf = (r: Extract<WorkerReport, { type: 'processed' }>, m: number): number => Math.max(0, clock.simSeconds(r.startedAt - sentWall[m]));
    const waitsSoFar = (): number[] => {
      const out: number[] = [];
      for (const [id, list] of processed) {
        const m = indexById.get(id);
        if (m !== undefined) out.push(waitOf(list[0], m));
      }
      return out.sort((a, b) => a - b);
    };

    const datapoints = new Datapoints(log, params.cloudWatch);
    const scaler = new RuleAutoscaler(rules, datapoints, {
      alarmReinvokeSeconds: params.cloudWatch.alarmReinvokeSeconds,
      ec2: params.worker.compute === 'ec2',
    });
    const events: ScalingEvent[] = [];
    const timeline: { minute: number; backlog: number; workers: number }[] = [];
    let desired = policy.initialWorkers;
    let peakWorkers = desired;
    // The warm pool's stopped instances bill their volumes, as in the prediction: worker-seconds.
    let poolWorkerSeconds = 0;
    let busyWorkersRemoved = 0;
    let atEnd: QueueCounts = { visible: 0, inFlight: 0, delayed: 0 };
    let maxLag = 0;
    let lastActivity = 0;
    let sqsSilentUntil = -Infinity;
    let sentBefore = 0;
    let replayWallSeconds = 0;
    let waitP95 = NaN;
    let q: QueueCounts = { visible: 0, inFlight: 0, delayed: 0 };
    let lastRead = 0;
    const snapshotEvery = Math.min(params.cloudWatch.countSampleSeconds, ...rules.rules.map((r) => r.metric.periodSeconds));

    const warmUpWallSeconds = (Date.now() - wallStart) / 1000;
    for (let i = 0; i < desired; i++) f.launch(0, true);
    f.startDue(0);
    clock.start();
    let producerError: unknown;
    const producer = produce().catch((error: unknown) => { producerError = error; });

    for (let s = 1; s <= duration + FINISH_GRACE_SECONDS && !aborted(); s++) {
      await clock.until(s);
      const lag = clock.now() - s;
      maxLag = Math.max(maxLag, lag);
      if (f.error) throw new Error(`a worker process failed: ${f.error}`);
      if (producerError) throw producerError;
      // Queue counts are read when a datapoint takes its snapshot (SQS's Approximate* once a
      // minute, or every period when shorter) and, for the view, a few times a real second.
      if (s % snapshotEvery === 0 || Date.now() - lastRead >= VIEW_REFRESH_MS || s > duration) {
        q = await queueCounts(sqs.client, queues.queueUrl);
        lastRead = Date.now();
      }
      // SQS stops publishing for a queue idle this long, and is late with its first datapoint after it.
      if (sent > sentBefore && s - 1 - lastActivity >= params.cloudWatch.sqsInactiveAfterSeconds) sqsSilentUntil = s + params.cloudWatch.sqsWakeDelaySeconds;
      sentBefore = sent;
      if (q.visible + q.inFlight + q.delayed > 0) lastActivity = s;
      const c = f.counts();
      const conc = params.worker.concurrency;
      const busy = c.running === 0 ? NaN : Math.min(c.inFlight, c.running * conc) / (c.running * conc);
      const w = params.worker;
      const silent = s < sqsSilentUntil || s - lastActivity >= params.cloudWatch.sqsInactiveAfterSeconds;
      log.record(s - 1, { ...q, running: c.running, desired, cpuUtilization: w.idleCpuPercent + (w.busyCpuPercent - w.idleCpuPercent) * busy }, !silent);

      const decision = scaler.evaluate(s, desired, f.transitions(s, w.instanceWarmupSeconds));
      events.push(...decision.events);
      desired = decision.desired;
      busyWorkersRemoved += f.reconcile(desired, s);
      f.startDue(s);
      const after = f.counts();
      if (s <= duration) {
        peakWorkers = Math.max(peakWorkers, after.billed);
        if (policy.warmPool) poolWorkerSeconds += Math.max(0, policy.warmPool.maxPrepared - after.billed) * policy.warmPool.stoppedCostRatio;
        if (s % 60 === 0 || s === duration) timeline.push({ minute: Math.ceil(s / 60) - 1, backlog: q.visible, workers: after.billed });
        if (s === duration) {
          atEnd = q;
          replayWallSeconds = (Date.now() - wallStart) / 1000 - warmUpWallSeconds;
        }
      }
      const finishing = s > duration;
      if (s % 15 === 0) waitP95 = percentile(waitsSoFar(), 0.95);
      o.onTick?.({
        now: s, durationSeconds: duration, sent, total: messages.count, queue: q, desired,
        running: after.running, starting: after.starting, draining: after.draining,
        processed: processed.size, waitP95, events, finishing, lagSeconds: lag,
      });
      if (finishing && sent === messages.count && q.visible + q.inFlight + q.delayed === 0) break;
    }
    // A machine too busy to keep up with the clock may still hold work: give the workers some real time.
    const finishBy = Date.now() + FINISH_GRACE_REAL_MS;
    while (!aborted() && Date.now() < finishBy && f.counts().running > 0) {
      const left = await queueCounts(sqs.client, queues.queueUrl);
      if (sent === messages.count && left.visible + left.inFlight + left.delayed === 0) break;
      await new Promise((resolve) => setTimeout(resolve, VIEW_REFRESH_MS));
    }
    if (aborted()) throw new Error('interrupted');
    await producer;
    if (producerError) throw producerError;

    // Stop every worker (they drain), then count what the dead-letter queue and the queue hold.
    const workerSeconds = f.workers.reduce((acc, wk) => acc + Math.max(0, Math.min(Number.isNaN(wk.stoppedAt) ? duration : wk.stoppedAt, duration) - Math.min(wk.launchedAt, duration)), 0);
    await f.close(Math.max(10_000, (WORKER_DEFAULTS.stopTimeoutSeconds / speed) * 1000));
    const dead = await drainQueue(sqs.client, queues.deadLetterQueueUrl);
    const left = await queueCounts(sqs.client, queues.queueUrl);

    const waits = new Float64Array(messages.count);
    let processings = 0;
    let serviceSum = 0;
    const done = new Uint8Array(messages.count);
    for (const [id, list] of processed) {
      const m = indexById.get(id);
      if (m === undefined) continue;
      done[m] = 1;
      processings += list.length;
      waits[m] = waitOf(list[0], m);
      serviceSum += clock.simSeconds(list[0].doneAt - list[0].startedAt);
    }
    let deadLettered = 0;
    for (const id of dead) {
      const m = indexById.get(id);
      if (m !== undefined && !done[m]) {
        done[m] = 2;
        deadLettered++;
      }
    }
    let accounted = 0;
    for (let m = 0; m < messages.count; m++) {
      if (done[m]) accounted++;
      else waits[m] = Math.max(0, duration - messages.sentAt[m]);
    }
    const uniqueProcessed = done.reduce((n, d) => n + (d === 1 ? 1 : 0), 0);

    const measured = Float64Array.from(messages.processingSeconds);
    for (const [id, list] of processed) {
      const m = indexById.get(id);
      if (m !== undefined) measured[m] = clock.simSeconds(list[0].doneAt - list[0].startedAt);
    }
    const predictedMeasured = { ...simulate({ ...messages, processingSeconds: measured }, policy, params, duration), policy: 'predicted, measured service' };

    const live: RunResult = {
      policy: 'live',
      durationSeconds: duration,
      sent,
      processed: uniqueProcessed,
      visibleAtEnd: atEnd.visible,
      inFlightAtEnd: atEnd.inFlight,
      delayedAtEnd: atEnd.delayed,
      waits,
      released: f.released,
      peakWorkers,
      workerMinutes: (workerSeconds + poolWorkerSeconds) / 60,
      busyWorkersRemoved,
      events,
      timeline: liveTimeline(timeline, messages, waits),
    };
    return {
      trace, policy, live, predicted, predictedMeasured, speed,
      accounting: {
        sent,
        processed: uniqueProcessed,
        duplicates: processings - uniqueProcessed,
        deadLettered,
        lost: messages.count - accounted,
        unfinished: left.visible + left.inFlight + left.delayed,
      },
      wallSeconds: (Date.now() - wallStart) / 1000,
      warmUpWallSeconds,
      replayWallSeconds,
      meanProcessingSeconds: uniqueProcessed === 0 ? NaN : serviceSum / uniqueProcessed,
      maxTickLagSeconds: maxLag,
      predictedMeanProcessingSeconds: messages.processingSeconds.reduce((a, b) => a + b, 0) / Math.max(1, messages.count),
    };
  } finally {
    if (fleet) await fleet.close(2000);
    await sqs.stop();
  }
}

/** The per-minute rows of the charts: arrivals by send time, and each minute's p95 wait by minute sent. */
function liveTimeline(rows: readonly { minute: number; backlog: number; workers: number }[], messages: Messages, waits: Float64Array): MinuteStats[] {
  // Worker processes report no CPU here: the live run has no utilization timeline.
  const byMinute = new Map<number, number[]>();
  for (let m = 0; m < messages.count; m++) {
    const minute = Math.floor(messages.sentAt[m] / 60);
    const list = byMinute.get(minute) ?? [];
    list.push(waits[m]);
    byMinute.set(minute, list);
  }
  return rows.map((r) => {
    const list = byMinute.get(r.minute) ?? [];
    return { ...r, arrivals: list.length, waitP95: list.length ? percentile(list.sort((a, b) => a - b), 0.95) : NaN, cpuUtilization: NaN };
  });
}

/** Receives everything a queue holds; returns the message IDs. */
async function drainQueue(client: import('@aws-sdk/client-sqs').SQSClient, queueUrl: string): Promise<string[]> {
  const ids: string[] = [];
  for (;;) {
    const out = await client.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600, WaitTimeSeconds: 0 }));
    if (!out.Messages?.length) return ids;
    for (const m of out.Messages) ids.push(m.MessageId!);
  }
}

function abortPromise(signal?: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(new Error('interrupted'));
    signal.addEventListener('abort', () => reject(new Error('interrupted')), { once: true });
  });
}
