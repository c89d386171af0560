import type { SignalParams } from './signals';
import { AdjustmentType, validateSteps, type ScalingStep } from './steps';
import { UTILIZATION_DEFAULTS, validateUtilization, type UtilizationSignal } from './utilization';
import { check, checkIntegerRange, checkRange, type Violation } from './violation';

/**
 * AWS facts the policy relies on (seconds). Each is AWS's documented value unless marked.
 */
export const AWS_SCALING_FACTS = {
  /** SQS publishes its Approximate* metrics once a minute (SQS Developer Guide, "CloudWatch metrics for Amazon SQS"). */
  sqsMetricPeriodSeconds: 60,
  /** High-resolution periods that EC2 Auto Scaling target tracking accepts (10, 30 or 60 s). */
  highResolutionPeriodsSeconds: [10, 30, 60] as readonly number[],
  /** Default cooldown of ECS service auto scaling policies, both ways (ECS Developer Guide). */
  defaultCooldownSeconds: 300,
  /** Target tracking scale-out alarm: 3 of 3 one-minute datapoints above target (reported). */
  targetTrackingScaleOutDatapoints: 3,
  /** Target tracking scale-in alarm: 15 of 15 datapoints below 90 % of target (15 reported; the 10 % rule stated by AWS). */
  targetTrackingScaleInDatapoints: 15,
  targetTrackingScaleInRatio: 0.9,
} as const;

/** The target tracking half of the policy: keeps backlog per worker at the target. */
export interface TargetTrackingModel {
  /** Seconds after a scale-out before another scale-out may act on the same signal. */
  readonly scaleOutCooldownSeconds: number;
  /**
   * Scale-in is done by the spare-workers step policy, which counts in-flight messages as work;
   * target tracking only scales out.
   */
  readonly disableScaleIn: true;
}

/** A step scaling policy on one signal: an alarm (threshold, evaluation periods) and steps. */
export interface StepPolicyModel {
  readonly threshold: number;
  /** Consecutive periods the alarm must breach before it acts. */
  readonly evaluationPeriods: number;
  readonly adjustmentType: AdjustmentType;
  readonly steps: readonly ScalingStep[];
  readonly cooldownSeconds: number;
  /** With percentages: the least number of workers a step moves. */
  readonly minAdjustmentMagnitude?: number;
}

/** The idle rule: a step policy that sets the fleet to 0 once the queue has been empty long enough. */
export interface ScaleToZeroModel extends StepPolicyModel {
  readonly idleSeconds: number;
}

/**
 * The whole scaling policy of a fleet on a queue, as plain data. `BacklogScaling` turns it into
 * CloudFormation; the simulator executes it; the dashboard draws its target.
 */
export interface BacklogScalingModel {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Acceptable backlog per worker (visible messages per running worker). */
  readonly targetBacklogPerWorker: number;
  /**
   * Messages each worker processes at once: a busy worker holds this many in flight, so the
   * spare-workers signal counts inFlight / concurrency workers as busy.
   */
  readonly concurrency: number;
  /** Period of the datapoints every alarm and the target tracking policy evaluate. */
  readonly metricPeriodSeconds: number;
  /** Target tracking on backlog per worker (scale-out, proportional). */
  readonly targetTracking: TargetTrackingModel;
  /** Step scaling on excess backlog (bursts, and 0 -> 1): alarm on `excessBacklog > threshold`. */
  readonly burst: StepPolicyModel;
  /** Step scaling on spare workers (scale-in that never counts busy workers as idle). */
  readonly scaleIn: StepPolicyModel;
  /**
   * Going to 0: ExactCapacity 0 when `queuedMessages` stays <= 0 for `idleSeconds` (an alarm
   * that fires below its threshold). Absent when minWorkers > 0.
   */
  readonly scaleToZero?: ScaleToZeroModel;
  /**
   * Extra signals (CPU, memory, per-worker metrics), each with a scale-out-only target tracking
   * policy; the spare-workers rule counts the workers they need (`lib/policy/utilization.ts`).
   * @default - none: backlog only
   */
  readonly utilization?: readonly UtilizationSignal[];
}

/** What a user may choose; everything else has a default. Times in seconds. */
export interface BacklogScalingInput {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly targetBacklogPerWorker: number;
  /** Messages each worker processes at once. @default 1 */
  readonly concurrency?: number;
  readonly metricPeriodSeconds?: number;
  readonly scaleOutCooldownSeconds?: number;
  readonly scaleInCooldownSeconds?: number;
  readonly burstSteps?: readonly ScalingStep[];
  readonly burstAdjustmentType?: AdjustmentType;
  readonly scaleInSteps?: readonly ScalingStep[];
  readonly scaleInEvaluationPeriods?: number;
  readonly scaleToZeroAfterSeconds?: number;
  /** Extra signals held below their targets (`utilizationSignals`). @default - none */
  readonly utilization?: readonly UtilizationSignal[];
}

/**
 * Default burst steps, in messages above the threshold: AWS's SQS example's bounds and
 * proportions (+1 for 0-50, +2 for 50-200, +3 beyond) times six: +6 workers for 0-50, +12 for
 * 50-200, +18 beyond. The burst alarm reads one datapoint, so these steps are the fleet's only
 * reaction before target tracking's third; the simulator's viral burst (docs/simulation.md)
 * showed AWS's +1/+2/+3 too slow for the goal of issue 6 (p95 wait at most a third of
 * QueueProcessingFargateService's: 0.37-0.46 with them, 0.24-0.31 with these).
 */
export const DEFAULT_BURST_STEPS: readonly ScalingStep[] = [
  { lower: 0, upper: 50, change: 6 },
  { lower: 50, upper: 200, change: 12 },
  { lower: 200, change: 18 },
];

/**
 * Default scale-in steps, in spare workers above the threshold of 1: -1 for 1-3 spare, -3 for
 * 4-15, -15 beyond. Each step removes no more workers than are spare at its lower bound, so it
 * never takes away one the backlog or the busy workers need.
 */
export const DEFAULT_SCALE_IN_STEPS: readonly ScalingStep[] = [
  { lower: 0, upper: 3, change: -1 },
  { lower: 3, upper: 15, change: -3 },
  { lower: 15, change: -15 },
];

export const DEFAULTS = {
  metricPeriodSeconds: AWS_SCALING_FACTS.sqsMetricPeriodSeconds,
  /** Agents are slow to start and bursts matter: re-evaluate scale-out after one minute. */
  scaleOutCooldownSeconds: 60,
  /**
   * Two minutes, not AWS's default 300 s: the spare-workers signal never counts a busy worker
   * as spare, so scaling in sooner after a burst removes only idle capacity; two minutes is the
   * age of the newest readable datapoint (one period + publication delay), so the next scale-in
   * reads a count taken after the last one. With 300 s the viral burst cost 1.29-1.38x the
   * perfect-foresight worker-minutes (goal <= 1.3); with 60 s the alarm acts again on stale
   * datapoints and scales in below the load (docs/simulation.md).
   */
  scaleInCooldownSeconds: 120,
  /**
   * Six minutes of datapoints with a spare worker before scaling in, not target tracking's 15
   * (AWS_SCALING_FACTS.targetTrackingScaleInDatapoints): target tracking waits that long because
   * its backlog metric can't tell idle workers from busy ones; the spare-workers signal can. With
   * 15 minutes the fleet held its burst peak long after the backlog had cleared (one visible
   * message resets the count), costing up to 1.38x the perfect-foresight worker-minutes.
   */
  scaleInAfterSeconds: 6 * 60,
  scaleToZeroAfterSeconds: 15 * 60,
} as const;

/** Builds the policy model from the user's choices and the defaults. */
export function buildScalingModel(input: BacklogScalingInput): BacklogScalingModel {
  const period = input.metricPeriodSeconds ?? DEFAULTS.metricPeriodSeconds;
  const scaleInCooldown = input.scaleInCooldownSeconds
    ?? (input.utilization && input.utilization.length > 0 ? UTILIZATION_DEFAULTS.scaleInCooldownSeconds : DEFAULTS.scaleInCooldownSeconds);
  return {
    minWorkers: input.minWorkers,
    maxWorkers: input.maxWorkers,
    targetBacklogPerWorker: input.targetBacklogPerWorker,
    concurrency: input.concurrency ?? 1,
    metricPeriodSeconds: period,
    targetTracking: {
      scaleOutCooldownSeconds: input.scaleOutCooldownSeconds ?? DEFAULTS.scaleOutCooldownSeconds,
      disableScaleIn: true,
    },
    burst: {
      threshold: 0,
      evaluationPeriods: 1,
      adjustmentType: input.burstAdjustmentType ?? AdjustmentType.CHANGE_IN_CAPACITY,
      steps: input.burstSteps ?? DEFAULT_BURST_STEPS,
      cooldownSeconds: input.scaleOutCooldownSeconds ?? DEFAULTS.scaleOutCooldownSeconds,
      minAdjustmentMagnitude: 1,
    },
    scaleIn: {
      threshold: 1,
      evaluationPeriods: input.scaleInEvaluationPeriods ?? periodsFor(DEFAULTS.scaleInAfterSeconds, period),
      adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
      steps: input.scaleInSteps ?? DEFAULT_SCALE_IN_STEPS,
      cooldownSeconds: scaleInCooldown,
    },
    scaleToZero: input.minWorkers === 0
      ? scaleToZeroModel(input.scaleToZeroAfterSeconds ?? DEFAULTS.scaleToZeroAfterSeconds, period, scaleInCooldown)
      : undefined,
    ...(input.utilization && input.utilization.length > 0 ? { utilization: input.utilization } : {}),
  };
}

function scaleToZeroModel(idleSeconds: number, periodSeconds: number, cooldownSeconds: number): ScaleToZeroModel {
  return {
    idleSeconds,
    threshold: 0,
    evaluationPeriods: periodsFor(idleSeconds, periodSeconds),
    adjustmentType: AdjustmentType.EXACT_CAPACITY,
    // Fires below the threshold, so the upper bound 0 is inclusive: applies at queuedMessages <= 0.
    steps: [{ upper: 0, change: 0 }],
    cooldownSeconds,
  };
}

/** The constants the model's signals are computed with: its backlog target and the workers' concurrency. */
export function signalParams(model: BacklogScalingModel): SignalParams {
  return { target: model.targetBacklogPerWorker, concurrency: model.concurrency };
}

/** Evaluation periods that make `seconds` of consecutive datapoints (at least one). */
export function periodsFor(seconds: number, periodSeconds: number): number {
  return Math.max(1, Math.ceil(seconds / periodSeconds));
}

/** Every rule the model must satisfy; `prop` names are those of `BacklogScalingProps`. */
export function validateScalingModel(model: BacklogScalingModel): Violation[] {
  const out: Violation[] = [];
  out.push(...checkIntegerRange('minWorkers', model.minWorkers, 0, 10_000));
  out.push(...checkIntegerRange('maxWorkers', model.maxWorkers, 1, 10_000));
  if (Number.isInteger(model.minWorkers) && Number.isInteger(model.maxWorkers)) {
    out.push(...check(model.minWorkers <= model.maxWorkers, 'minWorkers', `<= maxWorkers (${model.maxWorkers})`, model.minWorkers));
  }
  out.push(...check(Number.isFinite(model.targetBacklogPerWorker) && model.targetBacklogPerWorker > 0,
    'target', '> 0 messages per worker', model.targetBacklogPerWorker));
  out.push(...checkIntegerRange('concurrency', model.concurrency, 1, 1000));
  out.push(...check(AWS_SCALING_FACTS.highResolutionPeriodsSeconds.includes(model.metricPeriodSeconds),
    'metricPeriod', 'one of 10, 30, 60 seconds', `${model.metricPeriodSeconds} seconds`));
  out.push(...checkRange('scaleOutCooldown', model.targetTracking.scaleOutCooldownSeconds, 0, 86_400, ' seconds'));
  out.push(...checkRange('scaleInCooldown', model.scaleIn.cooldownSeconds, 0, 86_400, ' seconds'));
  // CloudWatch evaluates at most one day of datapoints.
  out.push(...checkIntegerRange('scaleInEvaluationPeriods', model.scaleIn.evaluationPeriods, 1, Math.floor(86_400 / model.metricPeriodSeconds)));
  out.push(...validateSteps('burstSteps', model.burst.steps));
  model.burst.steps.forEach((s, i) => out.push(...check(s.change > 0, `burstSteps[${i}].change`, '> 0 (burst steps add workers)', s.change)));
  out.push(...validateSteps('scaleInSteps', model.scaleIn.steps));
  model.scaleIn.steps.forEach((s, i) => {
    const spareAtLower = model.scaleIn.threshold + (s.lower ?? 0);
    out.push(...check(s.change < 0 && -s.change <= spareAtLower, `scaleInSteps[${i}].change`,
      `between -${spareAtLower} and -1 (no more than the spare workers at the step's lower bound)`, s.change));
  });
  if (model.scaleToZero) {
    // One evaluation period of CloudWatch alarms is at most one day (1,440 one-minute datapoints).
    out.push(...checkRange('scaleToZeroAfter', model.scaleToZero.idleSeconds, model.metricPeriodSeconds, 86_400, ' seconds'));
  }
  out.push(...validateUtilization(model.utilization ?? []));
  return out;
}
