// Wall time of the quick scenario suite (40 cells) run in one process (the baseline, `--jobs 1`)
// and in one child process per core (the default), alternating runs: prints each median and the
// ratio, and checks that both wrote the same scorecard.
//   npm run bench:suite -- [runs]
import * as os from 'node:os';
import * as path from 'node:path';
import { median, runSuite } from './suite-run';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.argv[2] ?? 3);
const cores = os.availableParallelism();
const suite = (jobs: number) => runSuite(ROOT, ['quick', '--jobs', String(jobs)]);

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
