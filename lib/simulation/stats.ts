/** Summary statistics of a run. */
import type { RunResult } from './engine';

/** Nearest-rank percentile of sorted values (NaN for none). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1];
}

/** One row of the comparison table. */
export interface RunSummary {
  readonly policy: string;
  readonly messages: number;
  readonly waitP50: number;
  readonly waitP95: number;
  readonly waitP99: number;
  readonly waitMax: number;
  /** Messages that waited longer than the latency goal (unfinished ones included when already late). */
  readonly late: number;
  /** Messages not finished when the run ended. */
  readonly unfinished: number;
  readonly peakWorkers: number;
  readonly workerMinutes: number;
  readonly scaleEvents: number;
}

export function summarize(run: RunResult, latencyGoalSeconds: number): RunSummary {
  const sorted = run.waits.slice().sort();
  let late = 0;
  for (const w of sorted) if (w > latencyGoalSeconds) late++;
  return {
    policy: run.policy,
    messages: run.sent,
    waitP50: percentile(sorted, 0.5),
    waitP95: percentile(sorted, 0.95),
    waitP99: percentile(sorted, 0.99),
    waitMax: sorted.length ? sorted[sorted.length - 1] : NaN,
    late,
    unfinished: run.visibleAtEnd + run.inFlightAtEnd + run.delayedAtEnd,
    peakWorkers: run.peakWorkers,
    workerMinutes: run.workerMinutes,
    scaleEvents: run.events.length,
  };
}
