/**
 * CloudWatch as the scaling policies see it: per-second samples of the queue and the fleet,
 * aggregated into datapoints of a period (Average or Maximum, as the metric's statistic), which
 * alarms can read only `publicationDelaySeconds` after the period ends; and alarms that go to
 * ALARM after N consecutive breaching datapoints.
 */
import { breaches, Statistic, type Comparison, type RuleMetric, type RuleSample } from '../policy/rules';
import type { CloudWatchParams } from './params';

/** Per-second samples of everything a metric can read; index = second. */
export class SampleLog {
  readonly visible: Float64Array;
  readonly inFlight: Float64Array;
  readonly delayed: Float64Array;
  readonly running: Float64Array;
  readonly desired: Float64Array;
  /** Average CPU of the running workers, NaN when none runs (ECS publishes no CPU then). */
  readonly cpu: Float64Array;
  /** Average memory of the running workers, NaN when none runs. */
  readonly memory: Float64Array;
  /** 0 where SQS publishes no datapoint (an inactive queue, and the wake-up lag after it). */
  readonly sqsPublishing: Uint8Array;
  /** The processing time (s) of the tasks completed in each second, summed, and their count. */
  readonly completedSeconds: Float64Array;
  readonly completedTasks: Float64Array;
  private length = 0;

  constructor(readonly capacitySeconds: number) {
    this.visible = new Float64Array(capacitySeconds);
    this.inFlight = new Float64Array(capacitySeconds);
    this.delayed = new Float64Array(capacitySeconds);
    this.running = new Float64Array(capacitySeconds);
    this.desired = new Float64Array(capacitySeconds);
    this.cpu = new Float64Array(capacitySeconds);
    this.memory = new Float64Array(capacitySeconds).fill(NaN);
    this.sqsPublishing = new Uint8Array(capacitySeconds);
    this.completedSeconds = new Float64Array(capacitySeconds);
    this.completedTasks = new Float64Array(capacitySeconds);
  }

  get seconds(): number {
    return this.length;
  }

  record(second: number, s: RuleSample, sqsPublishing: boolean): void {
    this.visible[second] = s.visible;
    this.inFlight[second] = s.inFlight;
    this.delayed[second] = s.delayed;
    this.running[second] = s.running;
    this.desired[second] = s.desired;
    this.cpu[second] = s.cpuUtilization;
    this.memory[second] = s.memoryUtilization ?? NaN;
    this.sqsPublishing[second] = sqsPublishing ? 1 : 0;
    this.length = Math.max(this.length, second + 1);
  }

  /** A task completed in `second` after `processingSeconds` of work (what the worker's ProcessingTime metric records). */
  completed(second: number, processingSeconds: number): void {
    this.completedSeconds[second] += processingSeconds;
    this.completedTasks[second]++;
  }
}

/**
 * The workers' ProcessingTime Average (ms) as a datapoint ending at `end` reads it: the mean of the
 * tasks completed in the newest whole minute by then, NaN when none. The worker writes the metric
 * once a minute (at high resolution, so that a 10 s period may read it), so a shorter period (the
 * publisher's 10 s) sees the minute's mean, repeated (`FILL(processingTime, REPEAT)`), until the
 * next minute's arrives. It simplifies: simulating each worker's own records instead, stamped at its
 * own phase, with REPEAT reaching back or not, passed the same publisher cells and one metric-math
 * cell more (docs/simulation.md, twenty-eighth round).
 */
function processingTimeMs(log: SampleLog, end: number): number {
  const to = Math.floor(end / 60) * 60;
  let seconds = 0;
  let tasks = 0;
  for (let i = Math.max(0, to - 60); i < to; i++) {
    seconds += log.completedSeconds[i];
    tasks += log.completedTasks[i];
  }
  return tasks > 0 ? (1000 * seconds) / tasks : NaN;
}

function aggregate(values: Float64Array, from: number, to: number, every: number, statistic: Statistic): number {
  let acc = statistic === Statistic.MAXIMUM ? -Infinity : 0;
  let n = 0;
  for (let i = from + every - 1; i < to; i += every) {
    const v = values[i];
    if (Number.isNaN(v)) continue;
    acc = statistic === Statistic.MAXIMUM ? Math.max(acc, v) : acc + v;
    n++;
  }
  if (n === 0) return NaN;
  return statistic === Statistic.MAXIMUM ? acc : acc / n;
}

/** Datapoints of every (period, statistic) a policy reads, computed once each. */
export class Datapoints {
  private readonly cache = new Map<string, (RuleSample | null)[]>();

  constructor(private readonly log: SampleLog, private readonly params: CloudWatchParams, private readonly seed = 0) {}

  /**
   * Datapoint `k` of a period covers seconds [kP, (k+1)P); null when SQS published nothing for it.
   * Undefined when it is not complete yet.
   */
  datapoint(periodSeconds: number, statistic: Statistic, k: number): RuleSample | null | undefined {
    const end = (k + 1) * periodSeconds;
    if (k < 0 || end > this.log.seconds) return undefined;
    const key = `${periodSeconds}:${statistic}`;
    let list = this.cache.get(key);
    if (!list) {
      list = [];
      this.cache.set(key, list);
    }
    const hit = list[k];
    if (hit !== undefined) return hit;
    const from = k * periodSeconds;
    const l = this.log;
    // Counts are snapshots: SQS's Approximate* and the running-task count once a minute, or every
    // period when it is shorter (the publisher's high-resolution metric). CPU and memory are averaged over the period.
    const every = Math.min(periodSeconds, this.params.countSampleSeconds);
    const value: RuleSample | null = l.sqsPublishing[end - 1] === 0 ? null : {
      visible: aggregate(l.visible, from, end, every, statistic),
      inFlight: aggregate(l.inFlight, from, end, every, statistic),
      delayed: aggregate(l.delayed, from, end, every, statistic),
      running: aggregate(l.running, from, end, every, statistic),
      desired: aggregate(l.desired, from, end, every, statistic),
      // Utilization is the period's Average whatever the counts' statistic: ECS and the CloudWatch
      // agent publish averages, and BacklogScaling reads them with Average in every alarm.
      cpuUtilization: aggregate(l.cpu, from, end, 1, Statistic.AVERAGE),
      memoryUtilization: aggregate(l.memory, from, end, 1, Statistic.AVERAGE),
      processingTimeMs: processingTimeMs(l, end),
    };
    list[k] = value;
    return value;
  }

  /** Index of the newest datapoint an alarm can read at `now`, or -1. */
  latestReadable(periodSeconds: number, now: number): number {
    return Math.floor((now - this.params.publicationDelaySeconds) / periodSeconds) - 1;
  }

  /**
   * The metric's values of the `count` newest readable datapoints (oldest first); NaN where missing.
   * The newest one may be half-arrived (`lateness`): with inputs from different pipelines its fleet
   * inputs lag the queue's, and the signal's FILL(REPEAT) reads them from the datapoint before;
   * with inputs that arrive together (the publisher's) the whole datapoint may be missing.
   */
  values(metric: RuleMetric, now: number, count: number): number[] {
    const latest = this.latestReadable(metric.periodSeconds, now);
    const out: number[] = [];
    for (let k = latest - count + 1; k <= latest; k++) {
      let d = this.withGrowth(metric, k, this.datapoint(metric.periodSeconds, metric.statistic, k));
      if (d && k === latest) d = this.asArrived(metric, k, d);
      out.push(d ? metric.signal.evaluate(d, metric.signalParams) : NaN);
    }
    return out;
  }

  /** The datapoint with DIFF(visible) from the one before it (0 when that one is missing, as FILL(..., 0)). */
  private withGrowth(metric: RuleMetric, k: number, d: RuleSample | null | undefined): RuleSample | null | undefined {
    if (!d) return d;
    const before = this.datapoint(metric.periodSeconds, metric.statistic, k - 1);
    return { ...d, visibleGrowth: before ? d.visible - before.visible : 0 };
  }

  /** The newest datapoint as an alarm sees it when it may not have fully arrived. */
  private asArrived(metric: RuleMetric, k: number, d: RuleSample): RuleSample | null {
    const { lateFleetInputsProbability: lateFleet, missingNewestProbability: missing } = this.params.lateness;
    // Metrics that say nothing of their pipelines (the baselines' single metrics) arrive whole.
    const together = metric.signalParams.inputsArriveTogether;
    if (together === undefined) return d;
    if (together) return missing > 0 && unitHash(this.seed, metric.periodSeconds, k, 1) < missing ? null : d;
    if (lateFleet <= 0 || unitHash(this.seed, metric.periodSeconds, k, 2) >= lateFleet) return d;
    // The fleet's counts and the workers' processing time have not arrived: FILL(m, REPEAT) reads the previous datapoint's.
    const before = this.datapoint(metric.periodSeconds, metric.statistic, k - 1);
    return {
      ...d,
      running: before?.running ?? NaN,
      desired: before?.desired ?? NaN,
      cpuUtilization: before?.cpuUtilization ?? NaN,
      memoryUtilization: before?.memoryUtilization ?? NaN,
      processingTimeMs: before?.processingTimeMs ?? NaN,
    };
  }
}

/** A deterministic draw in [0, 1) for a datapoint (so every policy of a run sees the same lateness). */
function unitHash(seed: number, period: number, k: number, salt: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(period + 31 * salt, 0xc2b2ae35) ^ Math.imul(k + 1, 0x27d4eb2f)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return ((h ^ (h >>> 16)) >>> 0) / 4294967296;
}

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/**
 * An alarm's state from its `evaluationPeriods` newest datapoints: ALARM when at least
 * `datapointsToAlarm` of them breach ("M out of N", CloudWatch User Guide, "Evaluating an alarm").
 * Missing datapoints: with `treatMissing` 'missing' (target tracking's alarms) any missing one
 * gives INSUFFICIENT_DATA, on which target tracking takes no action; with 'notBreaching' (the
 * step alarms `BacklogScaling` creates) a missing one counts as not breaching.
 */
export function alarmState(values: readonly number[], evaluationPeriods: number, comparison: Comparison, threshold: number,
  datapointsToAlarm = evaluationPeriods, treatMissing: 'missing' | 'notBreaching' = 'missing'): AlarmState {
  if (values.length < evaluationPeriods) return 'INSUFFICIENT_DATA';
  if (treatMissing === 'missing' && values.some((v) => !Number.isFinite(v))) return 'INSUFFICIENT_DATA';
  const breaching = values.filter((v) => Number.isFinite(v) && breaches(comparison, v, threshold)).length;
  return breaching >= datapointsToAlarm ? 'ALARM' : 'OK';
}

/** Tracks one alarm's ALARM episodes: its action runs on entering ALARM and again every `reinvokeSeconds` while it stays. */
export class AlarmActions {
  private inAlarmSince: number | undefined;
  private lastInvoked = -Infinity;

  constructor(private readonly reinvokeSeconds: number) {}

  /** Whether the action runs now, given the alarm's state now. */
  shouldInvoke(state: AlarmState, now: number): boolean {
    if (state !== 'ALARM') {
      this.inAlarmSince = undefined;
      return false;
    }
    if (this.inAlarmSince === undefined) {
      this.inAlarmSince = now;
      this.lastInvoked = now;
      return true;
    }
    if (now - this.lastInvoked >= this.reinvokeSeconds) {
      this.lastInvoked = now;
      return true;
    }
    return false;
  }
}
