/**
 * How many messages a worker holds ahead of its slots. A prefetched message saves a slot the wait
 * for a receive when it frees, but it waits behind its own worker's busy slots while another
 * worker may have one free (a worker the fleet just started finds the queue empty), and the
 * fleet's scaling reads it as in flight, a busy worker's, not as waiting. So the buffer holds only
 * what the slots start within `prefetchSeconds` (`WORKER_DEFAULTS.prefetchSeconds`), at the task
 * time the worker measures: fast tasks keep the whole `prefetch`; a task longer than the window
 * per slot gets none.
 */
import { AWS_LIMITS } from './contract';

/** The most messages held ahead: a receive's batch at most, and no more than the slots. */
export function defaultPrefetch(concurrency: number): number {
  return Math.min(concurrency, AWS_LIMITS.maxReceiveBatch);
}

/** Weight of each finished task in the measured task time: about the last ten tasks. */
const TASK_TIME_WEIGHT = 0.1;

/**
 * Messages to hold ahead of the slots now: none until a task has finished (nothing measured yet),
 * then concurrency x window / mean task time, at most `maxPrefetch`.
 */
export function prefetchFor(maxPrefetch: number, concurrency: number, windowSeconds: number, meanTaskSeconds: number): number {
  if (Number.isNaN(meanTaskSeconds)) return 0;
  // A task measured at 0 ms (a no-op) counts as a microsecond.
  return Math.min(maxPrefetch, Math.floor((concurrency * windowSeconds) / Math.max(meanTaskSeconds, 1e-6)));
}

/**
 * How many messages to ask for now (0: wait): a full batch when there is room for one, a partial
 * one only when a slot has nothing to do, so receives stay full while slots stay fed. `capacity`
 * is the concurrency plus the prefetch now.
 */
export function receiveSize(held: number, capacity: number, concurrency: number, batchSize: number): number {
  const free = capacity - held;
  const slotIdle = held < concurrency;
  if (free <= 0 || (free < Math.min(batchSize, capacity) && !slotIdle)) return 0;
  return Math.min(batchSize, free);
}

/** A running mean of a worker's task times (exponentially weighted); NaN until the first. */
export class TaskTimeAverage {
  private mean = NaN;

  add(seconds: number): void {
    this.mean = Number.isNaN(this.mean) ? seconds : this.mean + TASK_TIME_WEIGHT * (seconds - this.mean);
  }

  get seconds(): number {
    return this.mean;
  }
}
