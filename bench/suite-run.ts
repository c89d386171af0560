// One run of the simulator's scenario suite as a child process, for the benchmarks that time it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Wall time (s) and scorecard CSV of `cli.ts --suite ...args` run in the tree at `root`. */
export function runSuite(root: string, args: readonly string[]): { seconds: number; scorecard: string } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'suite-bench-'));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [...process.execArgv, 'lib/simulation/cli.ts', '--suite', ...args, '--no-progress', '--out', out], { cwd: root, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  try {
    // Exit code 1 is a failing verdict, not a failed run.
    if (result.status !== 0 && result.status !== 1) throw new Error(`--suite ${args.join(' ')} in ${root} failed:\n${result.stderr}`);
    return { seconds, scorecard: fs.readFileSync(path.join(out, 'suite-scorecard.csv'), 'utf8') };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
