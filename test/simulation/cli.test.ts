import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SERIES } from '../../lib/simulation/chart';
import { parseCli } from '../../lib/simulation/cli';
import { describeCell, parseCellKey, runCell } from '../../lib/simulation/suite';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const cli = path.join(root, 'lib', 'simulation', 'cli.ts');

function run(args: string[]): string {
  return execFileSync(tsx, [cli, ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
}

describe('the simulate command (child process)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sim-'));
  let stdout = '';

  beforeAll(() => {
    stdout = run(['--scenario', 'viral-burst', '--out', out, '--no-progress']);
  }, 60_000);

  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('prints the table: one row per policy with the wait percentiles, late messages, peak workers, worker-minutes, scale events', () => {
    expect(stdout).toMatch(/policy\s+p50 wait\s+p95 wait\s+p99 wait\s+max wait\s+late\s+peak workers\s+worker-minutes\s+scale events/);
    for (const policy of ['ours', 'qpfs-defaults', 'plain-steps', 'fixed-20', 'perfect-foresight']) expect(stdout).toMatch(new RegExp(`^${policy}\\s+\\d`, 'm'));
  });

  test('writes an SVG and a PNG per policy, each SVG with the four series', () => {
    for (const policy of ['ours', 'qpfs-defaults', 'perfect-foresight']) {
      const svg = fs.readFileSync(path.join(out, `viral-burst-${policy}.svg`), 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const s of SERIES) {
        expect(svg).toContain(s.title);
        expect(svg).toContain(`stroke="${s.color}"`);
      }
      const png = fs.readFileSync(path.join(out, `viral-burst-${policy}.png`));
      expect(png.subarray(1, 4).toString()).toBe('PNG');
      expect(png.length).toBeGreaterThan(10_000);
    }
    expect(fs.readFileSync(path.join(out, 'viral-burst-summary.csv'), 'utf8')).toMatch(/^policy,messages,waitP50/);
  });

  test('a CSV trace and a JSON config; --help lists the flags; bad input is a clear error', () => {
    const trace = path.join(out, 'small.csv');
    fs.writeFileSync(trace, 'time,arrivals\n0,30\n60,0\n120,10\n');
    const config = path.join(out, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ fleet: { minWorkers: 1, maxWorkers: 3 }, worker: { processingTime: { distribution: 'constant', meanSeconds: 2 } }, tailSeconds: 300 }));
    const text = run(['--trace', trace, '--config', config, '--out', out, '--no-charts']);
    expect(text).toContain('scenario: small');
    expect(text).toMatch(/^40 messages over 3 min/m);
    const help = run(['--help']);
    for (const flag of ['--scenario', '--trace', '--config', '--seed', '--out', '--duration', '--base-rate', '--no-charts']) expect(help).toContain(flag);
    // A file a flag names that cannot be read or is not a JSON object: an error naming the flag and the file.
    const broken = path.join(out, 'broken.json');
    fs.writeFileSync(broken, '{"fleet":');
    expect(() => parseCli(['--config', broken])).toThrow(`--config ${broken}: not valid JSON (`);
    const list = path.join(out, 'list.json');
    fs.writeFileSync(list, '[1]');
    expect(() => parseCli(['--config', list])).toThrow(`--config ${list}: must be a JSON object (fleet, worker, cloudWatch, ...), got [1]`);
    const missing = path.join(out, 'missing.csv');
    expect(() => parseCli(['--trace', missing])).toThrow(`--trace ${missing}: cannot read it (ENOENT: no such file or directory)`);
    // Bad input: exit code 2 and one line naming the flag, the value and what is allowed.
    const bad = spawnSync(tsx, [cli, '--scenario', 'nope'], { cwd: root, encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^cdk-agent-fleet-sim: --scenario must be one of .*\n\nRun with --help for the options\.\n$/);
  });

  test('--suite: a scorecard row per cell, a verdict line and the scorecard CSV; unknown suite values are one clear error', () => {
    const text = run(['--suite', 'quick', '--shapes', 'steady', '--scales', 'small', '--sources', 'publisher,publisher-30s', '--out', out, '--no-progress']);
    expect(text).toMatch(/^shape\s+scale\s+source\s+compute\s+ours p95\s+ours w-min\s+qpfs p95/m);
    expect(text).toMatch(/^steady\s+small\s+publisher\s+fargate\s+\d+/m);
    expect(text).toMatch(/^steady\s+small\s+publisher-30s\s+fargate\s+\d+/m);
    expect(text).toMatch(/^verdict: PASS: 2\/2 cells pass/m);
    expect(fs.readFileSync(path.join(out, 'suite-scorecard.csv'), 'utf8')).toMatch(/^shape,scale,source,compute,ours\.waitP95/);
    // The flags' errors are parseCli's, which the command prints as above.
    const fail = (args: string[]) => () => parseCli(args);
    expect(fail(['--suite', 'huge'])).toThrow(/--suite must be one of full, quick, idle, held-out, random /);
    expect(fail(['--suite', '--shapes', 'steady,tsunami'])).toThrow(/--shapes must be a comma-separated list of steady, .*; got "steady,tsunami"/);
    expect(fail(['--suite', '--sources', 'publisher-20s'])).toThrow(/--sources must be a comma-separated list of metric-math, publisher, publisher-30s, publisher-60s; got "publisher-20s"/);
    expect(fail(['--suite', '--scenario', 'steady'])).toThrow(/--suite runs its own scenarios and fleets; drop --scenario/);
    expect(fail(['--shapes', 'steady'])).toThrow(/--shapes only apply with --suite/);
    expect(fail(['--suite', '--jobs', '0'])).toThrow(/--jobs must be an integer 1-256, got "0"/);
    expect(fail(['--jobs', '2'])).toThrow(/--jobs only apply with --suite/);
    expect(fail(['--suite', '--latency-goal', '0'])).toThrow(/--latency-goal must be a number of seconds > 0 and <= 86400, got "0"/);
    expect(fail(['--latency-goal', '20'])).toThrow(/--latency-goal only apply with --suite/);
    expect(fail(['--suite', '--publication-delay', '3601'])).toThrow(/--publication-delay must be a number of seconds 0-3600, got "3601"/);
    expect(fail(['--publication-delay', '120'])).toThrow(/--publication-delay only apply with --suite or --cell/);
    expect(fail(['--suite', '--fargate-start', '150-60'])).toThrow(/--fargate-start must be <min>-<max> in whole seconds, with min <= max and max 1-3600, got "150-60"/);
    expect(fail(['--suite', '--fargate-start', '90'])).toThrow(/--fargate-start must be <min>-<max> .*got "90"/);
    expect(fail(['--fargate-start', '60-150'])).toThrow(/--fargate-start only apply with --suite or --cell/);
    expect(fail(['--no-warm-pool'])).toThrow(/--no-warm-pool only apply with --suite or --cell/);
    expect(fail(['--suite', '--task-time-estimate', '0'])).toThrow(/--task-time-estimate must be a ratio 0.1-10, got "0"/);
    expect(fail(['--task-time-estimate', '2'])).toThrow(/--task-time-estimate only apply with --suite or --cell/);
    expect(fail(['--suite', '--prefetch-seconds', '3601'])).toThrow(/--prefetch-seconds must be a number of seconds 0-3600, got "3601"/);
    expect(fail(['--prefetch-seconds', '1'])).toThrow(/--prefetch-seconds only apply with --suite or --cell/);
    expect(fail(['--suite', '--seed', '1.5'])).toThrow(/--seed must be an integer 0-4294967295, got "1.5"/);
    expect(fail(['--seed=-1'])).toThrow(/--seed must be an integer 0-4294967295, got "-1"/);
  }, 60_000);

  test('--cell: one scorecard row replayed as a scenario, with the figures the suite gives that cell at the run options given', () => {
    const key = 'burst-aftershock,small,metric-math,fargate';
    const dir = path.join(out, 'cell');
    const text = run(['--cell', key, '--publication-delay', '120', '--task-time-estimate', '0.5', '--no-charts', '--no-progress', '--out', dir]);
    expect(text).toMatch(/^scenario: burst-aftershock-small-metric-math-fargate \(2 h at 3 %/m);
    const [header, ...rows] = fs.readFileSync(path.join(dir, 'burst-aftershock-small-metric-math-fargate-summary.csv'), 'utf8').trim().split('\n').map((r) => r.split(','));
    const cell = runCell(parseCellKey(key), { seed: 1, publicationDelaySeconds: 120, taskTimeEstimate: 0.5 });
    // The row's pass rule, as the suite judges it (the reactive bound is the suite's alone).
    expect(text).toMatch(/^burst-aftershock small metric-math fargate: (pass|FAIL: .+) \(p95 bound \d+ s; worker-minutes \d\.\d\dx perfect foresight's\)$/m);
    expect(text).toContain(describeCell({ ...cell, reactiveBound: undefined }));
    for (const policy of ['ours', 'qpfs-defaults', 'plain-steps', 'keda', 'perfect-foresight']) {
      const row = rows.find((r) => r[0] === policy)!;
      expect(Number(row[header.indexOf('waitP95')])).toBeCloseTo(cell.summaries[policy].waitP95, 2);
      expect(Number(row[header.indexOf('workerMinutes')])).toBeCloseTo(cell.summaries[policy].workerMinutes, 2);
    }
    const fail = (args: string[]) => () => parseCli(args);
    expect(fail(['--cell', 'steady,small,publisher'])).toThrow(/--cell must be <shape>,<scale>,<source>,<compute> \(shapes: steady, .*; computes: fargate, ec2\); got "steady,small,publisher"/);
    expect(fail(['--cell', 'steady,small,publisher,fargate', '--scenario', 'spiky'])).toThrow(/--cell replays the suite's own load and fleet; drop --scenario/);
    expect(fail(['--cell', 'steady,small,publisher,fargate', '--shapes', 'steady'])).toThrow(/--shapes only apply with --suite/);
    expect(fail(['--suite', '--cell', 'steady,small,publisher,fargate'])).toThrow(/--suite runs its own scenarios and fleets; drop --cell/);
  }, 60_000);

  test('--suite --jobs --latency-goal --publication-delay: cells run in several processes give the scorecard they give in one, at the goal and delay given', () => {
    const cells = ['--suite', '--shapes', 'steady,batch,burst-aftershock', '--scales', 'small', '--computes', 'fargate', '--latency-goal', '300', '--publication-delay', '30', '--no-progress'];
    const scorecard = (jobs: string) => {
      const dir = path.join(out, `jobs-${jobs}`);
      // Exit code 0 or 1, with the verdict: whether the cells pass is not this test's concern.
      const { status, stdout: text } = spawnSync(tsx, [cli, ...cells, '--jobs', jobs, '--out', dir], { cwd: root, encoding: 'utf8' });
      expect([0, 1]).toContain(status);
      expect(text).toMatch(/^verdict: (PASS|FAIL): \d+\/6 cells pass.*; latency goal 300 s; datapoints readable 30 s after their period$/m);
      return fs.readFileSync(path.join(dir, 'suite-scorecard.csv'), 'utf8');
    };
    const one = scorecard('1');
    expect(one.trim().split('\n')).toHaveLength(7);
    expect(scorecard('3')).toBe(one);
    // The goal reached every cell: it is the wait bound's floor.
    const [header, ...rows] = one.trim().split('\n').map((r) => r.split(','));
    for (const row of rows) expect(Number(row[header.indexOf('waitBound')])).toBeGreaterThanOrEqual(300);
  }, 120_000);
});
