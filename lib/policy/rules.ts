import { targetTrackingCapacity } from './backlog';
import { AWS_SCALING_FACTS, signalParams, type BacklogScalingModel, type StepPolicyModel } from './scaling-policy';
import { BACKLOG_PER_WORKER, EXCESS_BACKLOG, keepLabel, QUEUED_MESSAGES, SPARE_WORKERS, WORKERS_ABOVE_KEEP, WORKERS_TO_KEEP, type FleetSample, type KeepSignal, type SignalParams } from './signals';
import { AdjustmentType, findStep, type ScalingStep } from './steps';
import { spareWorkersSignal, UTILIZATION_PERIOD_SECONDS, utilizationRuleSignal } from './utilization';

/**
 * Any scaling policy as alarms and actions on signals: the generic form that the model of
 * `BacklogScalingModel` and other designs (QueueProcessingFargateService's steps on the raw
 * queue depth and its CPU target tracking, plain step scaling) are written in, so that one
 * executor (the simulator) runs them all with the same step lookup and rounding.
 */

/** A fleet sample with the service's average CPU, for CPU target tracking (ECSServiceAverageCPUUtilization). */
export interface RuleSample extends FleetSample {
  /** Average CPU utilization of the running workers, in percent (0-100). */
  readonly cpuUtilization: number;
  /** Average memory utilization of the running workers, in percent (0-100). @default - not modelled */
  readonly memoryUtilization?: number;
  /** Per-worker values of the fleet's custom signals, by metric math id (`BacklogScaling.scaleOnMetric`). @default - none */
  readonly metrics?: Readonly<Record<string, number>>;
}

/** A signal a rule's alarm watches: the four backlog signals of `signals.ts`, or one below. */
export interface RuleSignal {
  readonly id: string;
  readonly label: string;
  evaluate(sample: RuleSample, params: SignalParams): number;
}

/** The `signalParams` of a rule on a signal that reads no fleet constant (raw queue depth, CPU). */
export const NO_SIGNAL_PARAMS: SignalParams = { target: 1, concurrency: 1 };

/** ApproximateNumberOfMessagesVisible alone: the raw queue depth that QueueProcessingFargateService scales on. */
export const VISIBLE_MESSAGES: RuleSignal = {
  id: 'visible',
  label: 'Visible messages (raw queue depth)',
  evaluate: (s) => s.visible,
};

/** The service's average CPU utilization in percent (ECS `CPUUtilization`, AWS/ECS namespace). */
export const CPU_UTILIZATION: RuleSignal = {
  id: 'cpuUtilization',
  label: 'Average CPU utilization of the running workers (%)',
  evaluate: (s) => s.cpuUtilization,
};

/** CloudWatch alarm comparison operators. */
export enum Comparison {
  GREATER_THAN = 'GreaterThanThreshold',
  GREATER_THAN_OR_EQUAL = 'GreaterThanOrEqualToThreshold',
  LESS_THAN = 'LessThanThreshold',
  LESS_THAN_OR_EQUAL = 'LessThanOrEqualToThreshold',
}

/** How a datapoint aggregates the samples of its period (CloudWatch statistic of each input metric). */
export enum Statistic {
  AVERAGE = 'Average',
  MAXIMUM = 'Maximum',
}

/** Whether `value` breaches `threshold` under `comparison`. */
export function breaches(comparison: Comparison, value: number, threshold: number): boolean {
  switch (comparison) {
    case Comparison.GREATER_THAN: return value > threshold;
    case Comparison.GREATER_THAN_OR_EQUAL: return value >= threshold;
    case Comparison.LESS_THAN: return value < threshold;
    default: return value <= threshold;
  }
}

/** The datapoints an alarm or a target tracking policy reads. */
export interface RuleMetric {
  readonly signal: RuleSignal;
  /** The constants passed to the signal (the backlog target and worker concurrency for backlog signals; ignored by others). */
  readonly signalParams: SignalParams;
  readonly periodSeconds: number;
  readonly statistic: Statistic;
}

/** A step scaling policy: an alarm on a signal and the steps its action applies. */
export interface StepRule extends StepPolicyModel {
  readonly kind: 'step';
  readonly name: string;
  readonly metric: RuleMetric;
  readonly comparison: Comparison;
  /**
   * false: a missing datapoint counts as not breaching (`TreatMissingData.NOT_BREACHING`, what
   * `BacklogScaling`'s alarms set); undefined: missing data leaves the alarm without a state
   * (CloudWatch's default `missing`), and no action runs.
   */
  readonly treatMissingAsBreaching?: false;
}

/** A target tracking policy: AWS's own pair of alarms, and ceil(capacity x metric / target). */
export interface TargetTrackingRule {
  readonly kind: 'target-tracking';
  readonly name: string;
  readonly metric: RuleMetric;
  readonly target: number;
  readonly scaleOutCooldownSeconds: number;
  readonly scaleInCooldownSeconds: number;
  readonly disableScaleIn: boolean;
  /** Datapoints above the target that trigger a scale-out (3 of 3, reported). */
  readonly scaleOutDatapoints: number;
  /** Datapoints below `scaleInRatio` x target that trigger a scale-in (15 of 15, reported). */
  readonly scaleInDatapoints: number;
  readonly scaleInRatio: number;
}

export type ScalingRule = StepRule | TargetTrackingRule;

/** A fleet's bounds and every policy attached to it. */
export interface ScalingRuleSet {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly rules: readonly ScalingRule[];
}

/**
 * Whether a rule's step adds workers to a fleet at `desired`: a change rule does when all its
 * steps are positive; an ExactCapacity step when its capacity is above `desired` (AWS applies a
 * higher exact capacity as a scale-out).
 */
export function isScaleOutStep(rule: StepRule, step: ScalingStep, desired: number): boolean {
  return rule.adjustmentType === AdjustmentType.EXACT_CAPACITY ? step.change > desired : rule.steps.every((s) => s.change > 0);
}

/**
 * The step that applies to a datapoint, honouring the side of the threshold: above it a step
 * matches `lower <= delta < upper`; below it (a Less* alarm) `lower < delta <= upper`
 * ("Step adjustments for step scaling", Application Auto Scaling User Guide).
 */
export function findRuleStep(rule: StepRule, metric: number): ScalingStep | undefined {
  const below = rule.comparison === Comparison.LESS_THAN || rule.comparison === Comparison.LESS_THAN_OR_EQUAL;
  return findStep(rule.steps, rule.threshold, metric, below);
}

/**
 * The capacity a target tracking rule asks for on a datapoint, or undefined when it asks for no
 * change. Scale-out uses AWS's ceil(capacity x metric / target); scale-in rounds down and never
 * goes below one worker per the metric's own rounding.
 */
export function targetTrackingDecision(rule: TargetTrackingRule, capacity: number, metric: number, direction: 'out' | 'in'): number | undefined {
  if (direction === 'in' && rule.disableScaleIn) return undefined;
  const next = targetTrackingCapacity(capacity, metric, rule.target);
  if (direction === 'out') return next > capacity ? next : undefined;
  return next < capacity ? next : undefined;
}

/** The backlog signals read the queue counts with the Maximum statistic, as `BacklogMetrics` binds them. */
function backlogMetric(signal: RuleSignal, model: BacklogScalingModel): RuleMetric {
  return { signal, signalParams: signalParams(model), periodSeconds: model.metricPeriodSeconds, statistic: Statistic.MAXIMUM };
}

function stepRule(name: string, model: BacklogScalingModel, policy: StepPolicyModel, signal: RuleSignal, comparison: Comparison): StepRule {
  return {
    kind: 'step',
    name,
    metric: backlogMetric(signal, model),
    comparison,
    threshold: policy.threshold,
    evaluationPeriods: policy.evaluationPeriods,
    datapointsToAlarm: policy.datapointsToAlarm,
    treatMissingAsBreaching: false,
    adjustmentType: policy.adjustmentType,
    steps: policy.steps,
    cooldownSeconds: policy.cooldownSeconds,
    minAdjustmentMagnitude: policy.minAdjustmentMagnitude,
  };
}

/**
 * The rules `BacklogScaling` deploys for a model: target tracking on backlog per worker
 * (scale-out only), burst steps on excess backlog (`>` threshold) with the surge step on periods
 * under a minute, scale-in steps on spare workers (`>=` threshold) and, with minWorkers 0,
 * ExactCapacity 0 once the queue holds nothing (`<= 0`) for the idle time.
 */
export function rulesFromModel(model: BacklogScalingModel): ScalingRuleSet {
  const rules: ScalingRule[] = [
    {
      kind: 'target-tracking',
      name: 'backlog-per-worker target tracking',
      metric: backlogMetric(BACKLOG_PER_WORKER, model),
      target: model.heldBacklogPerWorker,
      scaleOutCooldownSeconds: model.targetTracking.scaleOutCooldownSeconds,
      scaleInCooldownSeconds: model.scaleIn.cooldownSeconds,
      disableScaleIn: model.targetTracking.disableScaleIn,
      scaleOutDatapoints: AWS_SCALING_FACTS.targetTrackingScaleOutDatapoints,
      scaleInDatapoints: AWS_SCALING_FACTS.targetTrackingScaleInDatapoints,
      scaleInRatio: AWS_SCALING_FACTS.targetTrackingScaleInRatio,
    },
    stepRule('burst steps on excess backlog', model, model.burst, EXCESS_BACKLOG, Comparison.GREATER_THAN),
    ...(model.surge ? [stepRule('surge step on excess backlog', model, model.surge, EXCESS_BACKLOG, Comparison.GREATER_THAN)] : []),
    scaleInRule(model),
    ...(model.trim ? [trimRule(model, model.trim)] : []),
    ...utilizationRules(model),
  ];
  if (model.scaleToZero) {
    rules.push(stepRule('scale to zero when idle', model, model.scaleToZero, QUEUED_MESSAGES, Comparison.LESS_THAN_OR_EQUAL));
  }
  return { minWorkers: model.minWorkers, maxWorkers: model.maxWorkers, rules };
}

/**
 * The scale-in: steps on spare workers (`>=` threshold), or exact capacities on the workers to
 * keep (`<` threshold), the workers needed being those that the spare count leaves out.
 */
function scaleInRule(model: BacklogScalingModel): StepRule {
  if (!model.scaleIn.keep) return stepRule('scale-in steps on spare workers', model, model.scaleIn, spareSignal(model), Comparison.GREATER_THAN_OR_EQUAL);
  return stepRule('scale-in to the workers to keep', model, model.scaleIn, keepRuleSignal(model, WORKERS_TO_KEEP), Comparison.LESS_THAN);
}

/** The exact scale-in's trim: steps on the workers above those to keep where its ladder has no capacity (`>=` threshold). */
function trimRule(model: BacklogScalingModel, trim: StepPolicyModel): StepRule {
  return stepRule('scale-in trim above the workers to keep', model, trim, keepRuleSignal(model, WORKERS_ABOVE_KEEP), Comparison.GREATER_THAN_OR_EQUAL);
}

/** The spare-workers signal, with the extra signals' when the model has any. */
function spareSignal(model: BacklogScalingModel): RuleSignal {
  return model.utilization ? spareWorkersSignal(model.utilization) : SPARE_WORKERS;
}

/** An exact scale-in signal as a rule reads it: on the spare count, with the extra signals' when the model has any. */
function keepRuleSignal(model: BacklogScalingModel, signal: KeepSignal): RuleSignal {
  const spare = spareSignal(model);
  return {
    id: signal.id,
    label: keepLabel(signal, model.utilization ? spare.label : undefined),
    evaluate: (s, p) => signal.valueOnSpare(spare.evaluate(s, p), s, p),
  };
}

/**
 * Target tracking on each extra signal (CPU, memory, per-worker metrics): scale-out only, the
 * period's Average, AWS's alarms; the spare-workers rule does the scale-in.
 */
function utilizationRules(model: BacklogScalingModel): TargetTrackingRule[] {
  return (model.utilization ?? []).map((signal) => ({
    kind: 'target-tracking',
    name: `${signal.label} target tracking`,
    // AWS/ECS, AWS/EC2 (detailed monitoring) and the CloudWatch agent publish once a minute.
    metric: { signal: utilizationRuleSignal(signal), signalParams: NO_SIGNAL_PARAMS, periodSeconds: UTILIZATION_PERIOD_SECONDS, statistic: Statistic.AVERAGE },
    target: signal.target,
    scaleOutCooldownSeconds: signal.scaleOutCooldownSeconds,
    scaleInCooldownSeconds: model.scaleIn.cooldownSeconds,
    disableScaleIn: true,
    scaleOutDatapoints: AWS_SCALING_FACTS.targetTrackingScaleOutDatapoints,
    scaleInDatapoints: AWS_SCALING_FACTS.targetTrackingScaleInDatapoints,
    scaleInRatio: AWS_SCALING_FACTS.targetTrackingScaleInRatio,
  }));
}
