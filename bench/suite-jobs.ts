// Wall time of the quick scenario suite (40 cells) run in one process (the baseline, `--jobs 1`)
// and in one child process per core (the default), alternating runs: prints each median and the
// ratio, and checks that both wrote the same scorecard.
//   npm run bench:suite -- [runs]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.argv[2] ?? 3);
const cores = os.availableParallelism();

function suite(jobs: number): { seconds: number; scorecard: string } {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'suite-bench-'));
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, [...process.execArgv, 'lib/simulation/cli.ts', '--suite', 'quick', '--jobs', String(jobs), '--no-progress', '--out', out], { cwd: ROOT, encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  // Exit code 1 is a failing verdict, not a failed run.
  if (result.status !== 0 && result.status !== 1) throw new Error(`--jobs ${jobs} failed:\n${result.stderr}`);
  const scorecard = fs.readFileSync(path.join(out, 'suite-scorecard.csv'), 'utf8');
  fs.rmSync(out, { recursive: true, force: true });
  return { seconds, scorecard };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const one: number[] = [];
const all: number[] = [];
for (let i = 0; i < runs; i++) {
  const a = suite(1);
  const b = suite(cores);
  if (a.scorecard !== b.scorecard) throw new Error('the scorecards differ between --jobs 1 and --jobs ' + cores);
  one.push(a.seconds);
  all.push(b.seconds);
  process.stderr.write(`run ${i + 1}/${runs}: --jobs 1 ${a.seconds.toFixed(1)} s, --jobs ${cores} ${b.seconds.toFixed(1)} s\n`);
}
console.log(`| quick suite (40 cells) | median wall time (s) |`);
console.log('|---|---|');
console.log(`| --jobs 1 (baseline: one process) | ${median(one).toFixed(1)} |`);
console.log(`| --jobs ${cores} (default: the cores) | ${median(all).toFixed(1)} |`);
console.log(`| ratio baseline / default (speed-up) | ${(median(one) / median(all)).toFixed(2)} |`);
