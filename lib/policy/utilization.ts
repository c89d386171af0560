import type { RuleSample, RuleSignal } from './rules';
import { fleetInput, remainingExpression, remainingWorkers, SPARE_WORKERS, type SignalParams } from './signals';
import { check, type Violation } from './violation';

/**
 * The fleet's other scaling signals: CPU, memory and any per-worker metric (tokens per minute,
 * tool calls), each held below a target by a scale-out-only target tracking policy.
 *
 * Target tracking on these signals never scales in (`DisableScaleIn`): a CPU or memory average
 * can't tell an idle worker from a busy one, and AWS picks the task or instance to remove, so
 * QueueProcessingFargateService's CPU scale-in stops tasks busy with long messages
 * (aws-cdk #20706). Scale-in stays with the spare-workers rule, which here also counts the
 * workers each signal needs, so that it never removes the workers a signal has just added.
 */

/** Where a signal's value comes from. */
export enum UtilizationSource {
  /** Average CPU utilization of the running workers (%). */
  CPU = 'cpu',
  /** Average memory utilization of the running workers (%). */
  MEMORY = 'memory',
  /** Any CloudWatch metric of a per-worker quantity (`BacklogScaling.scaleOnMetric`). */
  METRIC = 'metric',
}

/** One extra signal of the policy: a per-worker average and the target it is held below. */
export interface UtilizationSignal {
  readonly source: UtilizationSource;
  /** Metric math id of its metric in the spare-workers alarm: `cpu`, `memory`, or a name of the user's. */
  readonly id: string;
  readonly label: string;
  /** The prop that set the target, for errors: `cpuTargetPercent`, `scaleOnMetric(Tokens).targetValue`. */
  readonly prop: string;
  readonly target: number;
  /** Seconds after a scale-out on this signal before the next one. */
  readonly scaleOutCooldownSeconds: number;
}

/**
 * A worker is spare for a signal only when removing it leaves the signal below this share of its
 * target: 0.9, the ratio below which AWS's own target tracking scales in ("usually more than
 * 10 % lower", AWS_SCALING_FACTS.targetTrackingScaleInRatio). After such a removal the signal is
 * at most 90 % of the target, below the scale-out alarm's threshold, so the tracking policy does
 * not add the worker back: no flapping. At 60 % CPU, 10 workers at 50 % are 9.26 workers' need,
 * one spare (9 workers at 55.6 %); at 54 % or more none is.
 */
export const UTILIZATION_SPARE_RATIO = 0.9;

/** Defaults that apply when a fleet scales on extra signals. */
export const UTILIZATION_DEFAULTS = {
  /**
   * Scale-out cooldown of the signals' target tracking: 180 s, the time until a new worker shows
   * in a readable datapoint (start-up up to 60 s on Fargate, one 60 s period, 60 s publication).
   * With 60 s (the backlog's default before issue 9) the CPU-bound scenario kept adding workers on datapoints taken before
   * the last ones started: 24 flaps over 20 seeds against 4 (docs/simulation.md).
   */
  scaleOutCooldownSeconds: 180,
  /**
   * Scale-in cooldown with extra signals: 240 s rather than the backlog's 180 s on one-minute
   * metrics (`defaultScaleInCooldownSeconds`), so that the next scale-in reads three datapoints
   * taken after the last one (publication takes 60 s), as many as a target tracking scale-out
   * needs; with 120 s one minute of CPU noise decided it. CPU-bound
   * scenario, 20 seeds: 23 flaps (a scale-out within 15 minutes of a scale-in) with 120 s, 4 with 240 s.
   */
  scaleInCooldownSeconds: 240,
  /**
   * Spare workers for this long before a scale-in with extra signals: 8 minutes rather than the
   * backlog's 2. A CPU average moves with every task that starts or ends, so 2 of 3 minutes of
   * spare workers happen by chance on a steady load. CPU-bound scenario, 20 seeds, with the
   * 180 s and 240 s cooldowns above: 164 flaps and 25 busy workers removed with 3 minutes, 20 and
   * 1 with 6, 8 and 0 with 8 (4 % more worker-minutes than 6) (docs/simulation.md).
   */
  scaleInAfterSeconds: 480,
} as const;

/** Period of the signals' datapoints: ECS, EC2 detailed monitoring and the CloudWatch agent publish each minute. */
export const UTILIZATION_PERIOD_SECONDS = 60;

/** CloudWatch alarms take at most 10 metrics; the spare-workers alarm uses 4 of its own (visible, inFlight, running, desired). */
export const MAX_UTILIZATION_SIGNALS = 6;

/**
 * Workers a signal needs: the running workers carry `value` on average, so the total load is
 * running x value; it needs as many workers as keep the average at 90 % of the target.
 */
export function workersNeeded(signal: UtilizationSignal, running: number, value: number): number {
  return (running * value) / (UTILIZATION_SPARE_RATIO * signal.target);
}

/** The value of a signal in a sample; a missing value counts as 0, as `FILL(x, 0)` does. */
export function utilizationValue(signal: UtilizationSignal, sample: RuleSample): number {
  const value = signal.source === UtilizationSource.CPU ? sample.cpuUtilization
    : signal.source === UtilizationSource.MEMORY ? sample.memoryUtilization
      : sample.metrics?.[signal.id];
  return value === undefined || Number.isNaN(value) ? 0 : value;
}

/**
 * Spare workers with the extra signals: the fewest that the backlog rule (`SPARE_WORKERS`) and
 * each signal leave spare, min(backlog spare, remaining - needed(signal)...), of the workers that
 * stay (`remainingWorkers`). A worker is spare only when no signal needs it.
 */
export function spareWorkersWithUtilization(sample: RuleSample, params: SignalParams, signals: readonly UtilizationSignal[]): number {
  let spare = SPARE_WORKERS.evaluate(sample, params);
  for (const signal of signals) {
    spare = Math.min(spare, remainingWorkers(sample) - workersNeeded(signal, sample.running, utilizationValue(signal, sample)));
  }
  return spare;
}

/** One metric math expression of the spare-workers alarm: its id and formula. */
export interface SpareWorkersExpression {
  readonly id: string;
  readonly expression: string;
}

/**
 * The spare-workers signal with the extra signals, as CloudWatch metric math: the backlog rule's
 * expression, one expression per signal (remaining - running x value / (0.9 x target)), and the
 * least of them. Metric math reads metrics of any namespace (AWS/SQS, AWS/ECS, CWAgent, the
 * agents' own) in one alarm, and an alarm on metric math can trigger a step scaling policy;
 * a composite alarm could AND "spare" with "CPU below target" but can't trigger Auto Scaling.
 * Missing datapoints: the running count and CPU or memory are fleet inputs, filled with their
 * previous value (`FILL(m, REPEAT)`, as the backlog rule fills its fleet inputs) so that a
 * datapoint that arrives late does not read as an idle fleet; a business metric counts as 0
 * (`FILL(m, 0)`): it is not published while the agents are idle. The last expression is the alarm's.
 */
export function spareWorkersExpressions(params: SignalParams, signals: readonly UtilizationSignal[]): SpareWorkersExpression[] {
  const running = fleetInput('running', params);
  const remaining = remainingExpression(params);
  const terms = signals.map((s) => ({
    id: `spare_${s.id}`,
    expression: `${remaining} - ${running} * ${signalInput(s)} / ${round(UTILIZATION_SPARE_RATIO * s.target)}`,
  }));
  const backlog = { id: 'spare_backlog', expression: SPARE_WORKERS.expression(params) };
  return [backlog, ...terms, { id: SPARE_WORKERS.id, expression: `MIN([${[backlog, ...terms].map((t) => t.id).join(', ')}])` }];
}

/** A signal's metric in the spare-workers expression: CPU and memory repeat their last value, a business metric is 0 when silent. */
function signalInput(signal: UtilizationSignal): string {
  return signal.source === UtilizationSource.METRIC ? `FILL(${signal.id}, 0)` : `FILL(${signal.id}, REPEAT)`;
}

/** The spare-workers signal with the extra signals, for the rule set the simulator runs. */
export function spareWorkersSignal(signals: readonly UtilizationSignal[]): RuleSignal {
  return {
    id: SPARE_WORKERS.id,
    label: `${SPARE_WORKERS.label}, and that ${signals.map((s) => s.label).join(', ')} need`,
    evaluate: (sample, params) => spareWorkersWithUtilization(sample, params, signals),
  };
}

/** The signal's value as a rule signal, for its target tracking rule. */
export function utilizationRuleSignal(signal: UtilizationSignal): RuleSignal {
  return { id: signal.id, label: signal.label, evaluate: (sample) => utilizationValue(signal, sample) };
}

/**
 * The metric math id of a custom signal: `metric_` and its name with anything but letters, digits
 * and `_` replaced (ids start with a lowercase letter and hold only those).
 */
export function metricSignalId(name: string): string {
  return `metric_${name.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

/** Builds the CPU and memory signals from their target percentages. */
export function utilizationSignals(input: {
  readonly cpuTargetPercent?: number;
  readonly memoryTargetPercent?: number;
  readonly scaleOutCooldownSeconds: number;
}): UtilizationSignal[] {
  const out: UtilizationSignal[] = [];
  const cooldown = input.scaleOutCooldownSeconds;
  if (input.cpuTargetPercent !== undefined) {
    out.push({ source: UtilizationSource.CPU, id: 'cpu', label: 'CPU utilization (%)', prop: 'cpuTargetPercent', target: input.cpuTargetPercent, scaleOutCooldownSeconds: cooldown });
  }
  if (input.memoryTargetPercent !== undefined) {
    out.push({ source: UtilizationSource.MEMORY, id: 'memory', label: 'Memory utilization (%)', prop: 'memoryTargetPercent', target: input.memoryTargetPercent, scaleOutCooldownSeconds: cooldown });
  }
  return out;
}

/** Rules for the extra signals: percentages 1-100, other targets > 0, each signal once, few enough for one alarm. */
export function validateUtilization(signals: readonly UtilizationSignal[]): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<string>();
  for (const s of signals) {
    out.push(...(s.source === UtilizationSource.METRIC
      ? check(Number.isFinite(s.target) && s.target > 0, s.prop, '> 0 (a per-worker quantity)', s.target)
      : check(Number.isFinite(s.target) && s.target >= 1 && s.target <= 100, s.prop, '1-100 (percent)', s.target)));
    out.push(...check(!seen.has(s.id), s.prop, 'a signal not added twice', `"${s.id}"`));
    seen.add(s.id);
  }
  out.push(...check(signals.length <= MAX_UTILIZATION_SIGNALS, 'scaleOnMetric',
    `at most ${MAX_UTILIZATION_SIGNALS} extra signals with CPU and memory (a CloudWatch alarm reads at most 10 metrics)`, signals.length));
  return out;
}

function round(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** A custom signal of `BacklogScaling.scaleOnMetric(name, ...)`. */
export function metricSignal(name: string, target: number, scaleOutCooldownSeconds: number): UtilizationSignal {
  return {
    source: UtilizationSource.METRIC,
    id: metricSignalId(name),
    label: name,
    prop: `scaleOnMetric(${name}).targetValue`,
    target,
    scaleOutCooldownSeconds,
  };
}
