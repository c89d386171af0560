// Wall time of the simulator in this tree against a baseline git revision, alternating runs: the
// full suite's 30 publisher cells on Fargate (all three fleets, 20 to 500 workers), each median
// and the ratio, and whether both trees wrote the same scorecard (a change that only makes the
// simulator faster must change no figure).
//   npm run bench:engine -- <revision> [runs]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { median, runSuite } from './suite-run';

const ROOT = path.join(__dirname, '..');
const [revision, runsArg] = process.argv.slice(2);
if (!revision) throw new Error('usage: npm run bench:engine -- <revision> [runs]');
const runs = Number(runsArg ?? 3);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`runs must be a whole number of at least 1, not ${runsArg}`);
const SUITE = ['full', '--sources', 'publisher', '--computes', 'fargate'];

const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--short', revision);
const tree = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'engine-bench-')), commit);
const modules = path.join(tree, 'node_modules');
git('worktree', 'add', '--detach', tree, commit);
try {
  fs.symlinkSync(path.join(ROOT, 'node_modules'), modules);
  const base: number[] = [];
  const ours: number[] = [];
  let same = true;
  for (let i = 0; i < runs; i++) {
    const a = runSuite(tree, SUITE);
    const b = runSuite(ROOT, SUITE);
    same &&= a.scorecard === b.scorecard;
    base.push(a.seconds);
    ours.push(b.seconds);
    process.stderr.write(`run ${i + 1}/${runs}: ${commit} ${a.seconds.toFixed(1)} s, this tree ${b.seconds.toFixed(1)} s\n`);
  }
  console.log(`| the suite's 30 publisher cells on Fargate | median wall time (s) |`);
  console.log('|---|---|');
  console.log(`| ${commit} (baseline) | ${median(base).toFixed(1)} |`);
  console.log(`| this tree | ${median(ours).toFixed(1)} |`);
  console.log(`| ratio baseline / this tree (speed-up) | ${(median(base) / median(ours)).toFixed(2)} |`);
  console.log(same ? 'the same scorecard on every run' : 'the scorecards differ: the trees simulate differently');
} finally {
  // The link is this tree's modules, not the revision's: it goes before git removes the worktree.
  fs.rmSync(modules, { force: true });
  git('worktree', 'remove', '--force', tree);
}
