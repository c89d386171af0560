import type { Duration } from 'aws-cdk-lib';
import { targetFromLatency } from '../policy/backlog';
import { knownSeconds } from '../validation';

/** Options of `BacklogTarget.fromLatency`. */
export interface LatencyTargetOptions {
  /** How long a task may wait in the queue before a worker starts it. */
  readonly acceptableLatency: Duration;
  /** How long a worker takes with one task, on average (the worker's ProcessingTime metric tells). */
  readonly processingTime: Duration;
  /**
   * Tasks each worker processes at once.
   * @default 1
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
    return new BacklogTarget(messages);
  }

  /**
   * From a latency goal, AWS's formula: acceptable latency / processing time x concurrency
   * (10 s / 0.1 s = 100 tasks per worker).
   */
  public static fromLatency(options: LatencyTargetOptions): BacklogTarget {
    const latency = knownSeconds(options.acceptableLatency);
    const processing = knownSeconds(options.processingTime);
    const messages = latency === undefined || processing === undefined
      ? NaN
      : targetFromLatency(latency, processing, options.concurrency ?? 1);
    return new BacklogTarget(messages, options.acceptableLatency);
  }

  private constructor(
    /** Acceptable waiting tasks per running worker (NaN when not known at synth). */
    public readonly messagesPerWorker: number,
    /** The latency goal, when the target came from one. */
    public readonly acceptableLatency?: Duration,
  ) {}
}
