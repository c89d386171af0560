/**
 * The backlog-per-worker formula and the target it is held to.
 *
 * AWS's guide for scaling on SQS ("Scaling policy based on Amazon SQS", EC2 Auto Scaling User
 * Guide; "Target tracking using metric math", Application Auto Scaling User Guide):
 *   backlog per instance            = ApproximateNumberOfMessagesVisible / running capacity
 *   acceptable backlog per instance = acceptable latency / average processing time
 * A worker that handles `concurrency` messages at once clears `concurrency` times as many.
 */

/** Messages waiting per running worker; no workers counts as one, as in `visible / max(running, 1)`. */
export function backlogPerWorker(visible: number, runningWorkers: number): number {
  return visible / Math.max(runningWorkers, 1);
}

/** Acceptable backlog per worker from a latency goal: latency / processing time x concurrency. */
export function targetFromLatency(acceptableLatencySeconds: number, processingTimeSeconds: number, concurrency = 1): number {
  return (acceptableLatencySeconds / processingTimeSeconds) * concurrency;
}

/**
 * The capacity target tracking asks for: capacity x metric / target, rounded up when scaling
 * out and down when scaling in (AWS's example: 10 instances at 150 against 100 gives 15).
 * Target tracking cannot leave 0: 0 x anything is 0 (that is what the step policy is for).
 */
export function targetTrackingCapacity(capacity: number, metric: number, target: number): number {
  const exact = (capacity * metric) / target;
  // Guard against binary fractions such as 10 * 1.1 = 11.000000000000002.
  const rounded = Math.round(exact * 1e9) / 1e9;
  return metric >= target ? Math.ceil(rounded) : Math.floor(rounded);
}

/** Clamps a capacity into the fleet's bounds. */
export function clampCapacity(capacity: number, minWorkers: number, maxWorkers: number): number {
  return Math.min(maxWorkers, Math.max(minWorkers, capacity));
}
