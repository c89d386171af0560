import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { cellName, runSuite, suiteCellKeys, type SuiteCell, type SuiteSelection } from './suite';
import type { SuiteWorkerTask } from './suite-worker';

/** A child's answer: the cell it ran, or why it could not. */
type SuiteWorkerReply = { readonly index: number; readonly cell: SuiteCell } | { readonly index: number; readonly error: string };

/**
 * Runs a selection's cells in `jobs` child processes (`suite-worker`), each taking the next cell
 * when it is done, and returns them in the scorecard's order. A cell is a pure function of its key
 * and the seed, so the scorecard is the same whatever `jobs` is; with 1 the cells run here.
 */
export async function runSuiteInParallel(
  selection: SuiteSelection,
  jobs: number,
  onCell?: (cell: SuiteCell, done: number, total: number) => void,
): Promise<SuiteCell[]> {
  const keys = suiteCellKeys(selection);
  if (jobs <= 1 || keys.length <= 1) return runSuite(selection, onCell);
  // The same extension as this module: the compiled package forks .js, a clone under tsx forks .ts
  // (a forked child inherits tsx's loader through process.execArgv).
  const worker = path.join(__dirname, `suite-worker${path.extname(__filename)}`);
  const cells: SuiteCell[] = new Array(keys.length);
  const children: ChildProcess[] = [];
  let next = 0;
  let done = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const busy = new Set<ChildProcess>();
      // Gives a child the next cell, or lets it exit when none is left.
      const feed = (child: ChildProcess) => {
        if (next >= keys.length) return child.disconnect();
        const task: SuiteWorkerTask = { index: next, key: keys[next], run: selection };
        busy.add(child);
        next++;
        child.send(task);
      };
      for (let i = 0; i < Math.min(jobs, keys.length); i++) {
        // Structured clone, not JSON: a figure that is NaN or Infinity comes back as itself, not null.
        const child = fork(worker, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        children.push(child);
        child.on('message', (reply: SuiteWorkerReply) => {
          busy.delete(child);
          if ('error' in reply) return reject(new Error(`cell ${cellName(keys[reply.index])}: ${reply.error}`));
          cells[reply.index] = reply.cell;
          done++;
          onCell?.(reply.cell, done, keys.length);
          feed(child);
          if (done === keys.length) resolve();
        });
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          if (busy.has(child)) reject(new Error(`a suite worker stopped (${signal ?? `exit code ${code}`}) in the middle of a cell`));
        });
        feed(child);
      }
    });
  } finally {
    // On an error, the children still running (a child that is done has been disconnected).
    for (const child of children) if (child.connected) child.kill();
  }
  return cells;
}
