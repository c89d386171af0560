import { backlogPerWorker } from './backlog';

/**
 * The inputs every scaling signal is computed from: the queue's Approximate* counters and the
 * fleet's running and desired workers, as CloudWatch reports them once a period. A fleet input
 * that has not arrived yet for the newest period is NaN (the simulator models that).
 */
export interface FleetSample {
  /** ApproximateNumberOfMessagesVisible: waiting to be received. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received by a worker, not yet deleted. */
  readonly inFlight: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay, not yet receivable. */
  readonly delayed: number;
  /** Running workers: ECS RunningTaskCount, ASG GroupInServiceInstances, or the publisher's count. */
  readonly running: number;
  /**
   * Workers requested: ECS DesiredTaskCount, ASG GroupDesiredCapacity, or the publisher's count.
   * Running plus those still starting: what the fleet will have without another scaling action.
   */
  readonly desired: number;
  /**
   * DIFF(visible): the visible count's change since the previous datapoint; missing (the first
   * datapoint, or none before it) counts as 0, as `FILL(DIFF(visible), 0)` does.
   * @default 0
   */
  readonly visibleGrowth?: number;
  /**
   * The workers' mean processing time, in ms (`AgentFleet` `ProcessingTime` Average): of the tasks
   * completed in the newest minute; NaN or absent when none completed.
   * @default - none
   */
  readonly processingTimeMs?: number;
}

/** The metric ids that the signals' expressions use; `BacklogScaling` binds them to CloudWatch metrics. */
export type SignalInput = 'visible' | 'inFlight' | 'delayed' | 'running' | 'desired' | 'processingTime';

/**
 * The fleet's constants a signal's formula uses; substituted into the metric math as literals.
 */
export interface SignalParams {
  /** Acceptable backlog per worker (visible messages per running worker). */
  readonly target: number;
  /** Messages each worker processes at once (`AgentWorker` `concurrency`): a busy worker holds this many in flight. */
  readonly concurrency: number;
  /**
   * Whether every input arrives in one put (the backlog publisher), so no input can lag the
   * others. Otherwise the fleet's inputs (Container Insights or Auto Scaling group metrics) and
   * SQS's arrive through different pipelines, and the newest period may hold the queue's counts
   * before the fleet's: the expressions then fill a missing fleet input with its previous value.
   * @default false
   */
  readonly inputsArriveTogether?: boolean;
  /**
   * Periods over which the burst signal projects the backlog's growth: the time a requested
   * worker takes to start taking messages, in periods (`BacklogScalingModel.workerStartSeconds`).
   * @default 0 - no projection
   */
  readonly growthPeriods?: number;
  /**
   * The exact scale-in's constants (`WORKERS_TO_KEEP`), when the fleet scales in that way.
   * @default - none
   */
  readonly keep?: KeepParams;
  /**
   * The mean processing time, in ms, that the target was derived from (`BacklogTarget.fromLatency`).
   * When set, the signals weigh the visible backlog by the measured time over it (`taskTimeFactor`).
   * @default - none: a message counts as one
   */
  readonly declaredProcessingTimeMs?: number;
}

/** The constants of the workers-to-keep signal: see `WORKERS_TO_KEEP`. */
export interface KeepParams {
  /** Workers kept beyond those needed, per square root of those needed (`KEEP_HEADROOM`). */
  readonly headroom: number;
  /** The capacity ladder's ratio: the capacity set is below ratio x the value + 1 (`keepCapacities`; 1 when it sets every whole number). */
  readonly ratio: number;
  /**
   * The value that asks for no scale-in: maxWorkers + 1, above the alarm's threshold (maxWorkers)
   * and every step, so that no step applies even when an older datapoint keeps the alarm in ALARM.
   */
  readonly none: number;
}

/**
 * A fleet input in an expression. Metric math treats a value missing from one input as 0 in
 * arithmetic, so a Container Insights count that lags SQS's by a minute would read as "no
 * workers" (`visible - 0`: a burst fires again and again; `0 - needed`: a scale-in run restarts).
 * `FILL(m, REPEAT)` fills it with the most recent actual value instead ("Metric math syntax and
 * functions", CloudWatch User Guide: FILL with REPEAT). Inputs that arrive together need no fill.
 */
export function fleetInput(id: string, params: SignalParams): string {
  return params.inputsArriveTogether ? id : `FILL(${id}, REPEAT)`;
}

/**
 * One scaling signal, written once: the CloudWatch metric math expression that CloudFormation
 * gets, and the same formula as a function for the simulator and the tests. Both read the same
 * inputs; the `params` are substituted as literals.
 */
export interface ScalingSignal {
  /** The metric math id of the expression. */
  readonly id: string;
  readonly label: string;
  readonly inputs: readonly SignalInput[];
  expression(params: SignalParams): string;
  evaluate(sample: FleetSample, params: SignalParams): number;
}

/**
 * Measured mean task times up to this multiple of the declared one leave the backlog as it is;
 * beyond it they weigh it (`taskTimeFactor`). A minute's mean is a sample: on the suite's small
 * fleets (tens of tasks a minute) it strays from the true mean by several percent, and counting
 * every excursion above the declared time made the burst and the scale-in trade workers on noise
 * (the 40 small-fleet cells: 1.6-2.1 % more worker-minutes at a margin of 1, 0.2-0.4 % at 1.25,
 * the declared time right; the full suite, seed 1: 1.165x foresight's worker-minutes at 1, 1.159x
 * at 1.25, 1.157x unweighed). With tasks twice as long as declared, 1.25 still passes the 106
 * cells that 1 passes (against 91 unweighed), for 1.143x against 1.160x; 1.5 passes 106 too, its
 * p95 4 s nearer the goal (docs/simulation.md, twenty-fourth round).
 */
export const TASK_TIME_MARGIN = 1.25;

/**
 * How much longer tasks take than the time the target was derived from: the workers' measured
 * mean processing time over `TASK_TIME_MARGIN` x the declared one, at least 1 (1 when nothing was
 * measured or nothing declared). The signals multiply the visible backlog by it, so that a message
 * counts as the work it brings: a target derived from a mean half the real one held twice the
 * backlog the latency goal meant (15 of the full suite's 120 cells lost p95 on seed 1;
 * docs/simulation.md, twenty-third round).
 *
 * Never below 1: the declared time is the least a task is taken to need. A per-minute mean of
 * heavy-tailed task times is usually below the true mean (a few long tasks carry it), and a factor
 * allowed under 1 lowered the fleet on such readings: the heavy-tailed load on 20 workers waited
 * 68 s at p95 against 44 s. A time declared too long stays a cost the user chose, as before.
 */
export function taskTimeFactor(s: FleetSample, p: SignalParams): number {
  const measured = s.processingTimeMs;
  if (!p.declaredProcessingTimeMs || measured === undefined || !Number.isFinite(measured)) return 1;
  return Math.max(1, measured / marginTimeMs(p.declaredProcessingTimeMs));
}

/** The time beyond which a measured mean weighs the backlog: `TASK_TIME_MARGIN` x the declared one, as the expression writes it. */
function marginTimeMs(declaredMs: number): number {
  return round(TASK_TIME_MARGIN * declaredMs);
}

/**
 * `taskTimeFactor` in metric math: IF(t > m, t / m, 1) with m the margin time and t the measured
 * one, `FILL(FILL(processingTime, REPEAT), m)`. Each worker writes the metric once a minute and
 * only while it processes tasks, so the newest period may have none yet (REPEAT: the last mean,
 * as far back as the alarm's query reaches) and an idle fleet has none at all (the margin time: a
 * factor of 1).
 */
function taskTimeFactorExpression(p: SignalParams): string | undefined {
  if (!p.declaredProcessingTimeMs) return undefined;
  const margin = marginTimeMs(p.declaredProcessingTimeMs);
  const measured = `FILL(FILL(processingTime, REPEAT), ${margin})`;
  return `IF(${measured} > ${margin}, ${measured} / ${margin}, 1)`;
}

/** A backlog term in metric math (`visible`, or a sum), weighed by the task time factor when there is one. */
function weighed(backlog: string, p: SignalParams): string {
  const factor = taskTimeFactorExpression(p);
  if (!factor) return backlog;
  return `${factor} * ${/^\w+$/.test(backlog) ? backlog : `(${backlog})`}`;
}

/** The inputs a signal's expression reads with these params: the processing time only where a time was declared. */
export function signalInputs(signal: ScalingSignal, p: SignalParams): SignalInput[] {
  return signal.inputs.filter((id) => id !== 'processingTime' || p.declaredProcessingTimeMs);
}

/** max(x, 1) in metric math: no workers counts as one. */
function atLeastOne(x: string): string {
  return `IF(${x} > 1, ${x}, 1)`;
}

/**
 * Backlog per requested worker: visible / max(desired, 1). Held to the target by target tracking,
 * whose new capacity ceil(desired x metric / target) is then ceil(visible / target), the workers
 * the waiting messages need at the target. AWS's example divides by running capacity; with
 * workers still starting (25-60 s on Fargate, 1-3 min on EC2) that inflates the metric and target
 * tracking asks again for workers already requested (the simulator's batch load overshot to
 * maxWorkers that way). The visible count is weighed by `taskTimeFactor`.
 */
export const BACKLOG_PER_WORKER: ScalingSignal = {
  id: 'backlogPerWorker',
  label: 'Backlog per worker (visible messages / requested workers)',
  inputs: ['visible', 'desired', 'processingTime'],
  expression: (p) => `${weighed('visible', p)} / ${atLeastOne(fleetInput('desired', p))}`,
  evaluate: (s, p) => backlogPerWorker(taskTimeFactor(s, p) * s.visible, s.desired),
};

/**
 * The backlog's growth in the newest period, when it grew: `IF(g > 0, g, 0)` with
 * g = FILL(DIFF(visible), 0) ("Metric math syntax and functions", CloudWatch User Guide: DIFF
 * returns the difference between each value and the one before it; FILL gives the first
 * datapoint, which has none, a 0).
 */
const VISIBLE_GROWTH = 'IF(FILL(DIFF(visible), 0) > 0, FILL(DIFF(visible), 0), 0)';

/**
 * Messages beyond what the requested fleet should hold, with the backlog projected to when new
 * workers take messages: visible + growthPeriods x max(DIFF(visible), 0) - target x desired
 * (the projected backlog weighed by `taskTimeFactor`).
 * Above 0, the burst step policy adds workers. Counting desired rather than running workers means
 * workers already requested and still starting are not asked for again while the burst
 * datapoints keep breaching. With no workers any visible message is excess, which is how the
 * fleet leaves 0 (target tracking can't: 0 x anything is 0).
 *
 * The projection: workers start 25-60 s (Fargate) or 60-180 s (EC2) after the action, so a
 * backlog that grew in the newest period keeps growing until they take messages. Projecting that
 * growth, rather than adding two to four times the lacking workers whatever the trend (an earlier
 * default), sizes a real onset large and a blip that has passed small. Over the slowest start-up
 * (`WORKER_START_SECONDS`), not also the datapoint's age: on Fargate with metric math, 120 s
 * amplified the noisy loads' blips (large fleet: 16 of 20 cells passing against 17 with 60 s;
 * docs/simulation.md, fourth round). And no further than the burst's next look at a count that
 * includes the workers it requested (`growthHorizonSeconds`; fifth round).
 */
export const EXCESS_BACKLOG: ScalingSignal = {
  id: 'excessBacklog',
  label: 'Messages beyond the requested fleet\'s target backlog (growth projected over a start-up)',
  inputs: ['visible', 'desired', 'processingTime'],
  expression: (p) => {
    const projected = p.growthPeriods ? `visible + ${round(p.growthPeriods)} * ${VISIBLE_GROWTH}` : 'visible';
    return `${weighed(projected, p)} - ${p.target} * ${fleetInput('desired', p)}`;
  },
  evaluate: (s, p) => taskTimeFactor(s, p) * (s.visible + round(p.growthPeriods ?? 0) * Math.max(0, s.visibleGrowth ?? 0)) - p.target * s.desired,
};

/** A constant as the expression writes it (and the simulator reads it): at most three decimals. */
function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** A constant rounded up to three decimals: a bound that must not shrink. */
function roundUp(x: number): number {
  return Math.ceil(Math.round(x * 1e6) / 1000) / 1000;
}

/**
 * Standard deviations of in-flight noise that the spare-workers signal keeps as headroom. The
 * in-flight count a one-minute snapshot reads fluctuates around its mean like a Poisson count,
 * by about its square root; a scale-in that trusts one low reading removes workers the mean load
 * needs, the backlog builds, the burst adds them back, and the fleet oscillates (the suite's
 * noisy-sinusoid load on 20 workers: 18 -> 10 -> 14 -> 6 -> 20 within 15 minutes at a steady
 * need of 12, p95 96 s against KEDA's 68 s). One standard deviation (square-root staffing) ends
 * that: docs/simulation.md has the sweep (0, 1, 2; and proportional headroom of 10-30 %).
 */
export const IN_FLIGHT_HEADROOM_SIGMAS = 1;

/**
 * Workers the queue does not need:
 * running - max(visible / target + (inFlight + sqrt(inFlight)) / concurrency, 1).
 *
 * Workers needed = those the waiting messages call for at the backlog target (visible / target,
 * AWS's backlog-per-instance formula; the visible count weighed by `taskTimeFactor`) + those busy
 * with in-flight messages (a worker holds `concurrency` messages at once, so inFlight /
 * concurrency workers are busy), with one standard deviation of in-flight noise as headroom
 * (`IN_FLIGHT_HEADROOM_SIGMAS`). A busy worker is never spare (KEDA's scaleOnInFlight lesson): in
 * steady state with every worker busy and nothing waiting, inFlight = running x concurrency, so
 * needed >= running and nothing is removed.
 * Dividing in-flight messages by the backlog target instead would count a busy fleet as mostly
 * idle (20 workers, 14 of them busy at concurrency 1, target 10: 19 "spare" rather than about 2).
 * Never leaves fewer than one worker: going to 0 is the idle rule's job. Metric math has `^`
 * ("Metric math syntax and functions", CloudWatch User Guide: arithmetic operators + - * / ^).
 * The workers counted are those that stay (`remainingWorkers`), not every running one.
 */
export const SPARE_WORKERS: ScalingSignal = {
  id: 'spareWorkers',
  label: 'Workers that stay beyond what visible messages (at the target) and in-flight messages (busy workers, with headroom) need',
  inputs: ['visible', 'inFlight', 'running', 'desired', 'processingTime'],
  expression: (p) => `${remainingExpression(p)} - ${neededExpression(p)}`,
  evaluate: (s, p) => remainingWorkers(s) - needed(s, p),
};

/**
 * Workers that stay without another action: min(running, desired). A worker that a scale-in
 * removed counts as running until it has drained and stopped (an ECS task stays RUNNING until its
 * container exits, up to its stop timeout; an instance until its termination hook completes), but
 * it is no longer desired: counted as spare, the next scale-in read it again and removed as many
 * from the smaller fleet. The suite's heavy-tailed load, run on 2,000 workers, went 2,000 -> 1,488
 * -> 976 while about 1,300 were busy, and burst back to 2,000 (docs/simulation.md, eleventh round).
 * Workers still starting are desired and not running: not spare either.
 */
export function remainingWorkers(s: FleetSample): number {
  return Math.min(s.running, s.desired);
}

/** `remainingWorkers` in metric math. */
export function remainingExpression(p: SignalParams): string {
  const running = fleetInput('running', p);
  const desired = fleetInput('desired', p);
  return `IF(${running} < ${desired}, ${running}, ${desired})`;
}

/** The workers the queue needs, at least one: see `SPARE_WORKERS`. */
function needed(s: FleetSample, p: SignalParams): number {
  const { target, concurrency } = p;
  return Math.max((taskTimeFactor(s, p) * s.visible) / target + (s.inFlight + IN_FLIGHT_HEADROOM_SIGMAS * Math.sqrt(Math.max(0, s.inFlight))) / concurrency, 1);
}

function neededExpression(p: SignalParams): string {
  return atLeastOne(`(${weighed('visible', p)} / ${p.target} + (inFlight + ${IN_FLIGHT_HEADROOM_SIGMAS} * (inFlight ^ 0.5)) / ${p.concurrency})`);
}

/**
 * Workers an exact scale-in keeps beyond those needed, per square root of those needed: it keeps
 * n + 0.75 x sqrt(n) for n needed (square-root staffing: a margin that grows with the square root
 * of the offered load, as a queue's fluctuations do; Halfin and Whitt, "Heavy-traffic limits for
 * queues with many exponential servers", Operations Research, 1981). The count needed is a
 * one-minute snapshot and carries its noise; an exact capacity sets it at once rather than a step
 * at a time, so it keeps a margin. A fixed 25 % (1.25 x n, the eighth round's default) was the
 * same margin as this at 9 workers and more than three times it at 100.
 * On the suite's 30 EC2 cells with one-minute metrics, cells passing on seeds 1, 2 and 3 and the
 * geometric mean of worker-minutes / perfect foresight's: 1.25 x n 26 / 25 / 23 at 1.338x /
 * 1.344x / 1.345x; 0.75 26 / 25 / 23 at 1.312x / 1.315x / 1.313x; the same cells from 0.5
 * (1.300x-1.308x) to 1.0 (1.319x-1.324x), while 0.25 lost a cell on seed 3 and 0 two on seed 1.
 * 0.75 is the middle of that plateau (docs/simulation.md, twelfth round).
 */
export const KEEP_HEADROOM = 0.75;

/**
 * Workers to keep for `neededWorkers` needed, in metric math: n + headroom x sqrt(n) (`KEEP_HEADROOM`).
 * The expressions that use it write the need four times, about 600 characters (1,460 with the task
 * time factor, `taskTimeFactor`): within the 2,048 an alarm's expression may have (CloudWatch API
 * Reference, MetricDataQuery).
 */
function keptExpression(neededWorkers: string, p: SignalParams): string {
  return `(${neededWorkers} + ${round(keepParams(p).headroom)} * (${neededWorkers} ^ 0.5))`;
}

/** `keptExpression` as a function. */
function kept(neededWorkers: number, p: SignalParams): number {
  return neededWorkers + round(keepParams(p).headroom) * Math.sqrt(Math.max(0, neededWorkers));
}

/**
 * Workers to keep on a scale-in, for an exact capacity (ExactCapacity steps): the workers needed
 * with headroom (`keptExpression`), when the fleet runs at least `ratio` x that plus one;
 * otherwise `none` (no scale-in). `needed`: the workers needed, as an expression.
 *
 * Why exact: where nothing paces scale-in actions (EC2 Auto Scaling's step policies take no
 * cooldown) and one-minute datapoints are read by up to three actions (`scaleInActionsPerCount`),
 * a step that removes a count removes it again on each read, so the count steps had to be a third
 * of the spare workers, and a fleet came down from a burst a third at a time. Setting a capacity
 * instead is the same on every read. The `ratio` condition keeps the capacity the steps set (the
 * next one at or above the value, `keepSteps`) below the running count, so the action never adds.
 */
export function keepExpression(neededWorkers: string, p: SignalParams): string {
  const keeping = keptExpression(neededWorkers, p);
  return `IF(${ladderAppliesExpression(keeping, p)}, ${keeping}, ${keepParams(p).none})`;
}

/** `keepExpression` as a function of the workers needed and running. */
export function keep(neededWorkers: number, running: number, p: SignalParams): number {
  const keeping = kept(neededWorkers, p);
  return ladderApplies(keeping, running, p) ? keeping : keepParams(p).none;
}

/** Whether the fleet runs ratio x the workers to keep + 1 or more: a capacity of the ladder lies below it. */
function ladderApplies(keeping: number, running: number, p: SignalParams): boolean {
  return running - roundUp(keepParams(p).ratio) * keeping >= 1;
}

/** `ladderApplies` in metric math, on an expression of the workers to keep. */
function ladderAppliesExpression(keeping: string, p: SignalParams): string {
  return `${fleetInput('running', p)} - ${roundUp(keepParams(p).ratio)} * ${keeping} >= 1`;
}

/**
 * Workers above those to keep where the exact scale-in's ladder can't set a capacity (the fleet
 * runs less than ratio x the workers to keep + 1, `keepExpression`), else 0: running - the
 * workers to keep. Its steps remove a third of that a minute (`trimSteps`). `needed`: the
 * workers needed, as an expression.
 *
 * Why: the ladder's capacities are up to its ratio apart (1.24 for 100 workers, 1.41 for 500,
 * 1.58 for 2,000), so on its own the exact scale-in left a fleet at up to ratio x the workers to
 * keep while the need fell slowly (the suite's daily wave on 2,000 workers: 348,544 worker-minutes;
 * with these steps, 302,717; docs/simulation.md, tenth round).
 */
function aboveKeepExpression(neededWorkers: string, p: SignalParams): string {
  const keeping = keptExpression(neededWorkers, p);
  return `IF(${ladderAppliesExpression(keeping, p)}, 0, ${fleetInput('running', p)} - ${keeping})`;
}

/** `aboveKeepExpression` as a function of the workers needed and running. */
function aboveKeep(neededWorkers: number, running: number, p: SignalParams): number {
  const keeping = kept(neededWorkers, p);
  return ladderApplies(keeping, running, p) ? 0 : running - keeping;
}

function keepParams(p: SignalParams): KeepParams {
  if (!p.keep) throw new Error('the workers-to-keep signal needs SignalParams.keep');
  return p.keep;
}

/** An exact scale-in signal's label; `spareLabel`: the spare-workers signal it keeps from, when extra signals join the backlog's. */
export function keepLabel(signal: ScalingSignal, spareLabel?: string): string {
  return spareLabel ? `${signal.label}, with ${spareLabel}` : signal.label;
}

/**
 * A signal of the exact scale-in, written once on the workers needed: as metric math on an
 * expression of them, and as a function. Its own expression reads the backlog's need; with extra
 * signals it reads the need their spare count leaves (`onSpare`, `valueOnSpare`).
 */
export interface KeepSignal extends ScalingSignal {
  onNeeded(neededWorkers: string, p: SignalParams): string;
  valueOnNeeded(neededWorkers: number, running: number, p: SignalParams): number;
  /** On a spare count (a metric math id): the workers needed are the workers that stay less the spare ones. */
  onSpare(spareWorkers: string, p: SignalParams): string;
  /** `onSpare` as a function of the spare count. */
  valueOnSpare(spareWorkers: number, s: FleetSample, p: SignalParams): number;
}

function keepSignal(id: string, label: string, onNeeded: KeepSignal['onNeeded'], valueOnNeeded: KeepSignal['valueOnNeeded']): KeepSignal {
  return {
    id,
    label,
    inputs: ['visible', 'inFlight', 'running', 'processingTime'],
    onNeeded,
    valueOnNeeded,
    onSpare: (spareWorkers, p) => onNeeded(`(${remainingExpression(p)} - ${spareWorkers})`, p),
    valueOnSpare: (spareWorkers, s, p) => valueOnNeeded(remainingWorkers(s) - spareWorkers, s.running, p),
    expression: (p) => onNeeded(neededExpression(p), p),
    evaluate: (s, p) => valueOnNeeded(needed(s, p), s.running, p),
  };
}

/** Workers to keep on a scale-in (`keepExpression`), from the queue's need. */
export const WORKERS_TO_KEEP = keepSignal('workersToKeep',
  'Workers to keep: those the queue needs, with headroom (maxWorkers + 1 when none is spare)', keepExpression, keep);

/** Workers above those to keep, where the exact scale-in's ladder has no capacity below the running count (`aboveKeepExpression`). */
export const WORKERS_ABOVE_KEEP = keepSignal('workersAboveKeep',
  'Workers above those to keep, where no capacity of the exact scale-in lies between (0 where one does)', aboveKeepExpression, aboveKeep);

/** Every message the queue holds, in any state: visible + inFlight + delayed. 0 for long enough means idle. */
export const QUEUED_MESSAGES: ScalingSignal = {
  id: 'queuedMessages',
  label: 'Messages in the queue (visible + in flight + delayed)',
  inputs: ['visible', 'inFlight', 'delayed'],
  expression: () => 'visible + inFlight + delayed',
  evaluate: (s) => s.visible + s.inFlight + s.delayed,
};
