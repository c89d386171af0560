import type { Duration } from 'aws-cdk-lib';
import { targetFromLatency } from '../policy/backlog';
import { knownSeconds } from '../validation';

/** Options of `BacklogTarget.fromLatency`. */
export interface LatencyTargetOptions {
  /** How long a task may wait in the queue before a worker starts it. */
  readonly acceptableLatency: Duration;
  /**
   * How long a worker takes with one task, on average (the worker's ProcessingTime metric tells).
   * Scaling weighs the backlog by the measured mean over it (`weighByMeasuredTime`), so tasks
   * longer than declared are sized on their real time once a minute of them is measured; a time
   * declared too long is not corrected, and twice the real one costs some 5 % more worker-minutes
   * (docs/simulation.md, twenty-third and twenty-fourth rounds).
   */
  readonly processingTime: Duration;
  /**
   * Weigh the visible backlog by the workers' measured mean processing time (their
   * `ProcessingTime` metric) over `processingTime`, never below 1: when tasks take longer than
   * declared, each waiting one counts as the work it brings and the fleet grows to the latency
   * goal. Turn it off where more workers would not make tasks faster (a rate-limited downstream
   * that slows them all). Not on EKS, where KEDA reads the queue's count itself.
   * @default true
   */
  readonly weighByMeasuredTime?: boolean;
  /**
   * Tasks each worker processes at once. Leave it unset to take the fleet's `concurrency` (one
   * source of truth); set, it must equal the fleet's (a warning says where it does not).
   * @default - the fleet's concurrency (1 where no fleet is known)
   */
  readonly concurrency?: number;
}

/**
 * The backlog per worker that scaling holds the fleet to: how many waiting tasks one worker may
 * have in front of it.
 */
export class BacklogTarget {
  /** A fixed number of waiting tasks per worker. */
  public static perWorker(messages: number): BacklogTarget {
    return new BacklogTarget(messages, () => messages);
  }

  /**
   * From a latency goal, AWS's formula: acceptable latency / processing time x concurrency
   * (10 s / 0.1 s = 100 tasks per worker).
   */
  public static fromLatency(options: LatencyTargetOptions): BacklogTarget {
    const latency = knownSeconds(options.acceptableLatency);
    const processing = knownSeconds(options.processingTime);
    const messagesAt = (concurrency: number) => latency === undefined || processing === undefined
      ? NaN
      : targetFromLatency(latency, processing, concurrency);
    return new BacklogTarget(messagesAt(options.concurrency ?? 1), messagesAt, options.acceptableLatency, options.concurrency, options.processingTime,
      options.weighByMeasuredTime ?? true);
  }

  private constructor(
    /** Acceptable waiting tasks per running worker (NaN when not known at synth), at the target's own concurrency (1 unless given). */
    public readonly messagesPerWorker: number,
    private readonly messagesAt: (concurrency: number) => number,
    /** The latency goal, when the target came from one. */
    public readonly acceptableLatency?: Duration,
    /** The concurrency the target was given, if any. */
    public readonly concurrency?: number,
    /** The processing time the target was derived from, when it came from a latency goal. */
    public readonly processingTime?: Duration,
    /** Whether scaling weighs the backlog by the measured processing time over `processingTime` (`LatencyTargetOptions.weighByMeasuredTime`). */
    public readonly weighsMeasuredTime = false,
  ) {}

  /**
   * Acceptable waiting tasks per running worker of a fleet whose workers process `concurrency`
   * tasks at once: a latency target given no concurrency of its own scales with the fleet's.
   */
  public messagesPerWorkerFor(concurrency: number): number {
    return this.messagesAt(this.concurrency ?? concurrency);
  }
}
