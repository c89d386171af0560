/**
 * Every modelling assumption of the simulator, as a named parameter with its source.
 * "stated" = AWS documents the value; "reported" = users measured it, AWS does not publish it;
 * "chosen" = our modelling choice. docs/simulation.md lists the same table.
 */
import { AWS_SCALING_FACTS, EC2_INSTANCE_WARMUP_SECONDS, EC2_ROOT_VOLUME_GIB, WORKER_START_SECONDS } from '../policy/scaling-policy';
import { defaultDrainDeadline, WORKER_DEFAULTS } from '../worker/contract';

/** How long one message takes to process. */
export interface ProcessingTimeParams {
  /** `lognormal` (right-skewed, typical of LLM/agent calls), `exponential`, `uniform` (mean x [1 - cv, 1 + cv]) or `constant`. */
  readonly distribution: 'lognormal' | 'exponential' | 'uniform' | 'constant';
  readonly meanSeconds: number;
  /** Coefficient of variation (standard deviation / mean); ignored by `exponential` (1) and `constant` (0). */
  readonly cv: number;
}

export type ComputeKind = 'fargate' | 'ec2';

/** One worker: start-up, concurrency, service time, CPU and drain. */
export interface WorkerParams {
  readonly compute: ComputeKind;
  /** Start-up delay from launch to receiving messages, uniform in [min, max] seconds. */
  readonly startupSeconds: StartupRange;
  /** Messages a worker processes at once (`AgentWorker` `concurrency`). */
  readonly concurrency: number;
  /** The most messages a worker holds ahead of its slots (`AgentWorker` `prefetch`). @default - min(concurrency, 10) */
  readonly prefetch?: number;
  /** It holds what its slots start within this long at its measured task time (`AgentWorker` `prefetchSeconds`; 0: never). */
  readonly prefetchSeconds: number;
  readonly processingTime: ProcessingTimeParams;
  /** A removed worker stops receiving and finishes its in-flight messages for up to this long, then releases the rest. */
  readonly drainDeadlineSeconds: number;
  /** CPU of a worker with every slot busy (%); idle workers use `idleCpuPercent`. Only CPU target tracking reads it. */
  readonly busyCpuPercent: number;
  readonly idleCpuPercent: number;
  /** Memory of a worker with every slot busy (%), and of an idle one. Only memory target tracking reads it. */
  readonly busyMemoryPercent: number;
  readonly idleMemoryPercent: number;
  /** EC2 only: instance warm-up, during which further scale-out counts the warming capacity and scale-in waits. */
  readonly instanceWarmupSeconds: number;
}

/** CloudWatch and alarm timing. */
export interface CloudWatchParams {
  /** Queue and running-worker counts are snapshots taken this often (the datapoint of a shorter period takes one at its end). */
  readonly countSampleSeconds: number;
  /** Seconds from the end of a datapoint's period until alarms can read it. */
  readonly publicationDelaySeconds: number;
  /** An alarm that stays in ALARM invokes its scaling action again this often. */
  readonly alarmReinvokeSeconds: number;
  /** A queue with no messages and no activity this long stops publishing metrics... */
  readonly sqsInactiveAfterSeconds: number;
  /** ...and its first datapoint after new activity appears only this much later. */
  readonly sqsWakeDelaySeconds: number;
  /** How often the newest readable datapoint has not fully arrived when an alarm evaluates. */
  readonly lateness: LatenessParams;
}

/**
 * Half-arrived data: CloudWatch evaluates alarms on whatever has arrived, and metrics that come
 * through different pipelines (SQS's, Container Insights' or the Auto Scaling group's) do not
 * arrive together ("datapoint availability: a few minutes at worst; irregular", AWS, qualitative).
 */
export interface LatenessParams {
  /**
   * Probability that the newest datapoint has the queue's counts but not yet the fleet's
   * (running, desired, CPU). Applies to metric math over SQS and fleet metrics, not to the
   * publisher, whose inputs arrive in one put.
   */
  readonly lateFleetInputsProbability: number;
  /** Probability that the newest datapoint is missing altogether (a late or skipped publisher cycle). */
  readonly missingNewestProbability: number;
}

/** Everything a run needs besides the arrivals and the policy. */
export interface SimulationParams {
  readonly seed: number;
  readonly worker: WorkerParams;
  readonly cloudWatch: CloudWatchParams;
  /** A message waiting longer than this (visible to received) counts as late. */
  readonly latencyGoalSeconds: number;
  /** Extra simulated time after the trace ends, so the backlog of a burst can clear. */
  readonly tailSeconds: number;
  /** Share of messages sent with `DelaySeconds` (they sit in the delayed state first). */
  readonly delayedFraction: number;
  readonly delaySeconds: number;
}

/** A start-up delay, drawn uniformly between min and max seconds. */
export interface StartupRange {
  readonly min: number;
  readonly max: number;
}

/** Start-up delays by compute kind. */
export const STARTUP_SECONDS: Record<ComputeKind, StartupRange> = {
  /** Fargate task launch to running: about 25-60 s, image size matters (reported; NOTES.md). */
  fargate: { min: 25, max: WORKER_START_SECONDS.fargate },
  /** EC2 instance launch to InService and the agent container up: about 60-180 s (reported; no AWS figure). */
  ec2: { min: 60, max: WORKER_START_SECONDS.ec2 },
};

/** An EC2 instance started from the group's warm pool (Stopped, prepared): about 30-60 s to taking messages (reported). */
export const WARM_POOL_STARTUP_SECONDS = { min: 30, max: WORKER_START_SECONDS.ec2WarmPool } as const;

/**
 * What a stopped instance in the warm pool costs, as a share of the same instance running: its
 * gp3 root volume at $0.08 per GiB-month against the default t3.medium's $0.0416 an hour, $30.37
 * a month (us-east-1 on-demand list prices). The default 30 GiB (`EC2_ROOT_VOLUME_GIB`, $2.40 a
 * month) is 0.079. Larger instance types make it smaller.
 */
export function warmPoolStoppedCostRatio(rootVolumeGiB: number = EC2_ROOT_VOLUME_GIB): number {
  return (rootVolumeGiB * 0.08) / (0.0416 * 730);
}

export const DEFAULT_WORKER: WorkerParams = {
  compute: 'fargate',
  startupSeconds: STARTUP_SECONDS.fargate,
  /** `WORKER_DEFAULTS.concurrency` of the worker runtime. */
  concurrency: WORKER_DEFAULTS.concurrency,
  prefetchSeconds: WORKER_DEFAULTS.prefetchSeconds,
  /** The example fleet: 6 s per task; log-normal with cv 0.5 (chosen). */
  processingTime: { distribution: 'lognormal', meanSeconds: 6, cv: 0.5 },
  /** Worker runtime default: Fargate's 120 s stop timeout minus the 10 s drain margin (lib/worker/contract.ts). */
  drainDeadlineSeconds: defaultDrainDeadline(WORKER_DEFAULTS.stopTimeoutSeconds),
  /** CPU-bound worker (chosen): the case most favourable to CPU target tracking. */
  busyCpuPercent: 100,
  idleCpuPercent: 2,
  /** A runtime holding its working set (chosen): memory-bound agents set their own figures in the config. */
  busyMemoryPercent: 60,
  idleMemoryPercent: 20,
  /** What `Ec2AgentFleet` sets as the group's instance warm-up (EC2 only). */
  instanceWarmupSeconds: EC2_INSTANCE_WARMUP_SECONDS,
};

export const DEFAULT_CLOUDWATCH: CloudWatchParams = {
  /** SQS publishes its Approximate* metrics once a minute (stated); Container Insights' RunningTaskCount too. */
  countSampleSeconds: AWS_SCALING_FACTS.sqsMetricPeriodSeconds,
  /** Chosen (`AWS_SCALING_FACTS.metricPublicationDelaySeconds`). See docs/simulation.md for the sensitivity. */
  publicationDelaySeconds: AWS_SCALING_FACTS.metricPublicationDelaySeconds,
  /** An alarm in ALARM re-invokes its step action once a minute (stated). */
  alarmReinvokeSeconds: AWS_SCALING_FACTS.alarmReinvokeSeconds,
  /** SQS: a queue inactive for 6 h (stated)... */
  sqsInactiveAfterSeconds: 6 * 3600,
  /** ...can take up to 15 min to show its first datapoint again (stated, worst case). */
  sqsWakeDelaySeconds: 15 * 60,
  /**
   * Chosen (AWS publishes no figure): one newest datapoint in four has the queue's counts before
   * the fleet's; the publisher stamps its samples on a fixed grid, so its newest datapoint is
   * missing only when a cycle fails: one in fifty.
   */
  lateness: { lateFleetInputsProbability: 0.25, missingNewestProbability: 0.02 },
};

export const DEFAULT_PARAMS: SimulationParams = {
  seed: 1,
  worker: DEFAULT_WORKER,
  cloudWatch: DEFAULT_CLOUDWATCH,
  /** The example fleet: acceptable latency 1 minute. */
  latencyGoalSeconds: 60,
  /** Half an hour (chosen): long enough for a burst's backlog to clear and the fleet to scale in. */
  tailSeconds: 30 * 60,
  delayedFraction: 0,
  delaySeconds: 0,
};

/** The largest seed: the random source keeps 32 bits of it. */
export const MAX_SEED = 2 ** 32 - 1;

/** Rules for parameters, reported all at once. */
export function validateParams(p: SimulationParams): string[] {
  const out: string[] = [];
  const need = (ok: boolean, what: string, value: unknown) => { if (!ok) out.push(`${what}, got ${String(value)}`); };
  const w = p.worker;
  // The random source keeps 32 bits of the seed: beyond them two seeds would give the same run.
  need(Number.isInteger(p.seed) && p.seed >= 0 && p.seed <= MAX_SEED, `seed must be an integer 0-${MAX_SEED}`, p.seed);
  need(w.compute === 'fargate' || w.compute === 'ec2', 'worker.compute must be "fargate" or "ec2"', w.compute);
  need(w.startupSeconds.min >= 0 && w.startupSeconds.max >= w.startupSeconds.min, 'worker.startupSeconds must have 0 <= min <= max', `${w.startupSeconds.min}-${w.startupSeconds.max}`);
  need(Number.isInteger(w.concurrency) && w.concurrency >= 1 && w.concurrency <= 1000, 'worker.concurrency must be an integer 1-1000', w.concurrency);
  need(w.prefetch === undefined || (Number.isInteger(w.prefetch) && w.prefetch >= 0 && w.prefetch <= 100), 'worker.prefetch must be an integer 0-100', w.prefetch);
  need(w.prefetchSeconds >= 0 && w.prefetchSeconds <= 3600, 'worker.prefetchSeconds must be 0-3600', w.prefetchSeconds);
  need(['lognormal', 'exponential', 'uniform', 'constant'].includes(w.processingTime.distribution), 'worker.processingTime.distribution must be lognormal, exponential, uniform or constant', w.processingTime.distribution);
  need(w.processingTime.meanSeconds > 0, 'worker.processingTime.meanSeconds must be > 0', w.processingTime.meanSeconds);
  need(w.processingTime.cv >= 0 && (w.processingTime.distribution !== 'uniform' || w.processingTime.cv <= 1), 'worker.processingTime.cv must be >= 0 (<= 1 for uniform)', w.processingTime.cv);
  need(w.drainDeadlineSeconds >= 0, 'worker.drainDeadlineSeconds must be >= 0', w.drainDeadlineSeconds);
  need(w.busyCpuPercent >= 0 && w.busyCpuPercent <= 100 && w.idleCpuPercent >= 0 && w.idleCpuPercent <= w.busyCpuPercent,
    'worker CPU must have 0 <= idleCpuPercent <= busyCpuPercent <= 100', `${w.idleCpuPercent}/${w.busyCpuPercent}`);
  need(w.busyMemoryPercent >= 0 && w.busyMemoryPercent <= 100 && w.idleMemoryPercent >= 0 && w.idleMemoryPercent <= w.busyMemoryPercent,
    'worker memory must have 0 <= idleMemoryPercent <= busyMemoryPercent <= 100', `${w.idleMemoryPercent}/${w.busyMemoryPercent}`);
  need(w.instanceWarmupSeconds >= 0, 'worker.instanceWarmupSeconds must be >= 0', w.instanceWarmupSeconds);
  need(Number.isInteger(p.cloudWatch.countSampleSeconds) && p.cloudWatch.countSampleSeconds >= 1, 'cloudWatch.countSampleSeconds must be a whole number >= 1', p.cloudWatch.countSampleSeconds);
  need(p.cloudWatch.publicationDelaySeconds >= 0, 'cloudWatch.publicationDelaySeconds must be >= 0', p.cloudWatch.publicationDelaySeconds);
  need([p.cloudWatch.lateness.lateFleetInputsProbability, p.cloudWatch.lateness.missingNewestProbability].every((x) => x >= 0 && x <= 1),
    'cloudWatch.lateness probabilities must be 0-1', JSON.stringify(p.cloudWatch.lateness));
  need(p.cloudWatch.alarmReinvokeSeconds > 0, 'cloudWatch.alarmReinvokeSeconds must be > 0', p.cloudWatch.alarmReinvokeSeconds);
  need(p.latencyGoalSeconds > 0, 'latencyGoalSeconds must be > 0', p.latencyGoalSeconds);
  need(p.tailSeconds >= 0, 'tailSeconds must be >= 0', p.tailSeconds);
  need(p.delayedFraction >= 0 && p.delayedFraction <= 1, 'delayedFraction must be 0-1', p.delayedFraction);
  need(p.delaySeconds >= 0 && p.delaySeconds <= 900, 'delaySeconds must be 0-900 (SQS DelaySeconds)', p.delaySeconds);
  return out;
}
