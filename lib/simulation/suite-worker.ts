/**
 * A child process of `runSuiteInParallel`: runs the cells its parent sends, one message each, and
 * sends each back. It exits when the parent disconnects.
 */
import { runCell, type SuiteCellKey, type SuiteRun } from './suite';

/** A cell to run: its place in the scorecard, its key, and what the run's cells share. */
export interface SuiteWorkerTask {
  readonly index: number;
  readonly key: SuiteCellKey;
  readonly run: SuiteRun;
}

process.on('message', (task: SuiteWorkerTask) => {
  const { index, key, run } = task;
  try {
    process.send!({ index, cell: runCell(key, run) });
  } catch (err) {
    process.send!({ index, error: err instanceof Error ? err.message : String(err) });
  }
});
