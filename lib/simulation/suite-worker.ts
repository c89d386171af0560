/**
 * A child process of `runSuiteInParallel`: runs the cells its parent sends, one message each, and
 * sends each back. It exits when the parent disconnects.
 */
import { runCell, type SuiteCellKey } from './suite';

/** A cell to run: its place in the scorecard, its key, the suite's seed and latency goal. */
export interface SuiteWorkerTask {
  readonly index: number;
  readonly key: SuiteCellKey;
  readonly seed: number;
  readonly latencyGoalSeconds?: number;
}

process.on('message', (task: SuiteWorkerTask) => {
  const { index, key, seed, latencyGoalSeconds } = task;
  try {
    process.send!({ index, cell: runCell(key.shape, key.scale, key.source, key.compute, seed, latencyGoalSeconds) });
  } catch (err) {
    process.send!({ index, error: err instanceof Error ? err.message : String(err) });
  }
});
