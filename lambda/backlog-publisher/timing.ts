/**
 * When each cycle of an invocation runs and how long its calls may take. Pure: times are
 * milliseconds relative to the start of the invocation, remaining time is Lambda's
 * `context.getRemainingTimeInMillis()`.
 *
 * An invocation samples for the minute its schedule gives it: at offsets 0, P, 2P, ... < 60 s
 * for a period P. A cycle starts only if it can end before the Lambda timeout with a margin, and
 * its calls are cut at the next cycle's start, so invocations never run into each other.
 */
import { SCHEDULE_SECONDS } from './contract';

export interface CycleTiming {
  /** Kept free before the Lambda timeout, for the last log line and the return. */
  readonly safetyMarginMs: number;
  /** A cycle is not started with less time than this for its calls. */
  readonly minCycleMs: number;
  /** Of a cycle's time, kept for PutMetricData after the reads (at most half the cycle). */
  readonly putReserveMs: number;
}

export const DEFAULT_TIMING: CycleTiming = { safetyMarginMs: 1000, minCycleMs: 2000, putReserveMs: 2000 };

/** Offsets of the cycles of one scheduled minute: 0, P, 2P, ... below the schedule's interval. */
export function cycleOffsetsMs(periodSeconds: number, windowSeconds: number = SCHEDULE_SECONDS): number[] {
  const n = Math.max(1, Math.ceil(windowSeconds / periodSeconds));
  return Array.from({ length: n }, (_, k) => k * periodSeconds * 1000);
}

/** The offsets that fit in the time the invocation has, measured at its start. */
export function planCycles(periodSeconds: number, remainingAtStartMs: number, timing: CycleTiming = DEFAULT_TIMING): number[] {
  return cycleOffsetsMs(periodSeconds).filter((offset) => remainingAtStartMs - offset - timing.safetyMarginMs >= timing.minCycleMs);
}

/** Whether a cycle runs, and if so how long its calls may take from the moment it starts. */
export type CycleDecision =
  | { readonly run: true; /** For GetQueueAttributes and the worker count, side by side. */ readonly readMs: number; /** The reads, then PutMetricData. */ readonly totalMs: number }
  /** `timeout`: too close to the Lambda timeout, the invocation stops. `late`: this cycle's slot is over, skip it. */
  | { readonly run: false; readonly reason: 'timeout' | 'late' };

/**
 * The decision for a cycle planned at `offsetMs` that starts at `nowMs` with `remainingMs` left.
 * Its calls may run until the next cycle's start or the safety margin before the timeout,
 * whichever is first, and need at least `minCycleMs`.
 */
export function decideCycle(offsetMs: number, nowMs: number, periodSeconds: number, remainingMs: number,
  timing: CycleTiming = DEFAULT_TIMING): CycleDecision {
  const beforeTimeout = remainingMs - timing.safetyMarginMs;
  if (beforeTimeout < timing.minCycleMs) return { run: false, reason: 'timeout' };
  // Whole milliseconds: AbortSignal.timeout takes integers only, and clocks give fractions.
  const totalMs = Math.floor(Math.min(offsetMs + periodSeconds * 1000 - nowMs, beforeTimeout));
  if (totalMs < timing.minCycleMs) return { run: false, reason: 'late' };
  return { run: true, readMs: Math.floor(totalMs - Math.min(timing.putReserveMs, totalMs / 2)), totalMs };
}

/**
 * The timestamp of the cycle planned at `offsetMs`: its slot on a fixed grid, the scheduled
 * minute (the invocation's start rounded down to the minute) plus the offset, not the wall clock
 * when the cycle ran. CloudWatch aggregates a metric's datapoints into periods by timestamp
 * ("Amazon CloudWatch concepts": periods, timestamps), so a cycle that runs a little late
 * (a slow call, a cold start) stamped with the wall clock lands in the next 10 s bucket: one
 * bucket holds two samples and the one before none, a gap that alarms read as missing data.
 * An invocation starts within its scheduled minute, so every cycle of it gets its own bucket.
 */
export function gridTimestampMs(invocationStartMs: number, offsetMs: number, periodSeconds: number): number {
  const minute = Math.floor(invocationStartMs / 60_000) * 60_000;
  const periodMs = periodSeconds * 1000;
  return minute + Math.floor(offsetMs / periodMs) * periodMs;
}
