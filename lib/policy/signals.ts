import { backlogPerWorker } from './backlog';

/**
 * The inputs every scaling signal is computed from: the queue's Approximate* counters and the
 * fleet's running workers, as CloudWatch reports them once a period.
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
}

/** The metric ids that the signals' expressions use; `BacklogScaling` binds them to CloudWatch metrics. */
export type SignalInput = 'visible' | 'inFlight' | 'delayed' | 'running';

/**
 * The fleet's constants a signal's formula uses; substituted into the metric math as literals.
 */
export interface SignalParams {
  /** Acceptable backlog per worker (visible messages per running worker). */
  readonly target: number;
  /** Messages each worker processes at once (`AgentWorker` `concurrency`): a busy worker holds this many in flight. */
  readonly concurrency: number;
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

// A fleet at 0 may publish no running-workers datapoint at all: count a missing one as 0.
const RUNNING = 'FILL(running, 0)';
// max(running, 1) in metric math: no workers counts as one.
const RUNNING_OR_ONE = `IF(${RUNNING} > 1, ${RUNNING}, 1)`;

/** Backlog per worker (AWS's formula): visible / max(running, 1). Held to the target by target tracking. */
export const BACKLOG_PER_WORKER: ScalingSignal = {
  id: 'backlogPerWorker',
  label: 'Backlog per worker (visible messages / running workers)',
  inputs: ['visible', 'running'],
  expression: () => `visible / ${RUNNING_OR_ONE}`,
  evaluate: (s) => backlogPerWorker(s.visible, s.running),
};

/**
 * Messages beyond what the running fleet should hold: visible - target x running. Above 0, the
 * burst step policy adds workers; with no workers any visible message is excess, which is how
 * the fleet leaves 0 (target tracking can't: 0 x anything is 0).
 */
export const EXCESS_BACKLOG: ScalingSignal = {
  id: 'excessBacklog',
  label: 'Messages beyond the fleet\'s target backlog',
  inputs: ['visible', 'running'],
  expression: ({ target }) => `visible - ${target} * ${RUNNING}`,
  evaluate: (s, { target }) => s.visible - target * s.running,
};

/**
 * Workers the queue does not need: running - max(visible / target + inFlight / concurrency, 1).
 *
 * Workers needed = those the waiting messages call for at the backlog target (visible / target,
 * AWS's backlog-per-instance formula) + those busy with in-flight messages (a worker holds
 * `concurrency` messages at once, so inFlight / concurrency workers are busy). A busy worker is
 * never spare (KEDA's scaleOnInFlight lesson): in steady state with every worker busy and nothing
 * waiting, inFlight = running x concurrency, so needed = running and nothing is removed. Dividing
 * in-flight messages by the backlog target instead would count a busy fleet as mostly idle
 * (20 workers, 14 of them busy at concurrency 1, target 10: 19 "spare" rather than 6).
 * Never leaves fewer than one worker: going to 0 is the idle rule's job.
 */
export const SPARE_WORKERS: ScalingSignal = {
  id: 'spareWorkers',
  label: 'Workers beyond what visible messages (at the target) and in-flight messages (busy workers) need',
  inputs: ['visible', 'inFlight', 'running'],
  expression: ({ target, concurrency }) => {
    const needed = `(visible / ${target} + inFlight / ${concurrency})`;
    return `${RUNNING} - IF(${needed} > 1, ${needed}, 1)`;
  },
  evaluate: (s, { target, concurrency }) => s.running - Math.max(s.visible / target + s.inFlight / concurrency, 1),
};

/** Every message the queue holds, in any state: visible + inFlight + delayed. 0 for long enough means idle. */
export const QUEUED_MESSAGES: ScalingSignal = {
  id: 'queuedMessages',
  label: 'Messages in the queue (visible + in flight + delayed)',
  inputs: ['visible', 'inFlight', 'delayed'],
  expression: () => 'visible + inFlight + delayed',
  evaluate: (s) => s.visible + s.inFlight + s.delayed,
};
