import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_SPEED, HELP, parseLocalCli } from '../../lib/local/cli';
import type { LocalRunReport } from '../../lib/local/report';
import { statusLines } from '../../lib/local/view';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

describe('local run command line', () => {
  test('--help explains every option of the interface', () => {
    expect(parseLocalCli(['--help'])).toBe('help');
    for (const flag of ['--scenario', '--trace', '--speed', '--min-workers', '--max-workers', '--concurrency', '--target',
      '--metric-source', '--worker', '--out', '--report', '--no-charts']) {
      expect(HELP).toContain(flag);
    }
  });

  test('defaults: the viral burst at the default speed, on the publisher\'s datapoints as the suite has them', () => {
    const o = parseLocalCli([]);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.trace.name).toBe('viral-burst');
    expect(o.speed).toBe(DEFAULT_SPEED);
    expect(o.config.fleet).toEqual({ metricPeriodSeconds: 10, inputsArriveTogether: true });
    expect(o.config.cloudWatch).toEqual({ countSampleSeconds: 10, publicationDelaySeconds: 10 });
    expect(o.charts).toBe(true);
  });

  test('math reads one-minute SQS datapoints; fleet and worker options reach the config', () => {
    const o = parseLocalCli(['--metric-source', 'math', '--min-workers', '1', '--max-workers', '8', '--concurrency', '4', '--target', '25', '--no-charts']);
    if (o === 'help') throw new Error('unexpected help');
    expect(o.config.fleet).toEqual({ metricPeriodSeconds: 60, inputsArriveTogether: false, minWorkers: 1, maxWorkers: 8, targetBacklogPerWorker: 25 });
    expect(o.config.cloudWatch).toEqual({ countSampleSeconds: 60, publicationDelaySeconds: 60 });
    expect(o.config.worker).toMatchObject({ concurrency: 4 });
    expect(o.charts).toBe(false);
  });

  test('a config file\'s period stands without the flag; the flag overrides it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-cli-'));
    const config = path.join(dir, 'config.json');
    fs.writeFileSync(config, JSON.stringify({ fleet: { metricPeriodSeconds: 30 }, cloudWatch: { publicationDelaySeconds: 20 } }));
    const own = parseLocalCli(['--config', config]);
    const flagged = parseLocalCli(['--config', config, '--metric-source', 'publisher']);
    if (own === 'help' || flagged === 'help') throw new Error('unexpected help');
    expect(own.config.fleet).toEqual({ metricPeriodSeconds: 30 });
    expect(own.config.cloudWatch).toEqual({ publicationDelaySeconds: 20 });
    expect(flagged.config.fleet).toEqual({ metricPeriodSeconds: 10, inputsArriveTogether: true });
    expect(flagged.config.cloudWatch).toEqual({ countSampleSeconds: 10, publicationDelaySeconds: 10 });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('bad options are errors that name the option and the value', () => {
    expect(() => parseLocalCli(['--speed', '0'])).toThrow(/--speed must be .* got "0"/);
    expect(() => parseLocalCli(['--metric-source', 'cloudwatch'])).toThrow(/--metric-source must be math or publisher, got "cloudwatch"/);
    expect(() => parseLocalCli(['--max-workers', '2.5'])).toThrow(/--max-workers must be a whole number >= 1, got "2.5"/);
    expect(() => parseLocalCli(['--worker', 'no/such/module.js'])).toThrow(/--worker: no such file/);
    expect(() => parseLocalCli(['--scenario', 'tsunami'])).toThrow(/--scenario must be one of/);
    expect(() => parseLocalCli(['--config', 'no/such/config.json'])).toThrow('--config no/such/config.json: cannot read it (ENOENT: no such file or directory)');
  });

  test('the plain view line shows progress, backlog, workers and the last scale events', () => {
    const [a, b, c] = statusLines({
      now: 1800, durationSeconds: 3600, sent: 10, total: 20, processed: 8, desired: 4, running: 3, starting: 1, draining: 0,
      queue: { visible: 2, inFlight: 3, delayed: 0 }, waitP95: 12.3, finishing: false, lagSeconds: 0,
      events: [{ time: 600, rule: 'burst steps on excess backlog', from: 1, to: 4 }],
    });
    expect(a).toContain(' 50 %');
    expect(b).toMatch(/backlog 2 visible, 3 in flight .* desired 4, running 3 \(\+1 starting/);
    expect(c).toContain('0:10:00 1→4 (burst steps on excess backlog)');
  });
});

/** Runs the command from the sources (as `npm run local` does) and collects its output. */
function runCli(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [path.join(ROOT, 'lib', 'local', 'cli.ts'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('a short local run with real worker processes', () => {
  // Fargate on the default source, the publisher; EC2 with instances from the warm pool and the
  // exact scale-in of one-minute metrics.
  test.each([['fargate', 'publisher'], ['ec2', 'math']])('%s, %s: accounts for every message: processed once, or dead-lettered after maxReceiveCount receives', async (compute, source) => {
    // GIVEN a 3-minute trace of 60 tasks, every tenth of which always fails, and a 2-minute tail
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-run-'));
    fs.writeFileSync(path.join(dir, 'trace.csv'), 'time,arrivals\n0,10\n60,30\n120,20\n');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ tailSeconds: 120 }));
    const report = path.join(dir, 'report.json');

    // WHEN it runs at 100x with at most 3 worker processes
    const run = await runCli(['--trace', path.join(dir, 'trace.csv'), '--config', path.join(dir, 'config.json'),
      '--speed', '100', '--max-workers', '3', '--compute', compute, '--metric-source', source, '--worker', path.join(__dirname, 'fixtures', 'flaky-handler.ts'),
      '--out', dir, '--report', report, '--no-charts']);

    // THEN every message is accounted for, the poison ones in the DLQ, none lost or twice
    expect(run.stderr).not.toMatch(/cdk-agent-fleet-local:/);
    expect(run.status).toBe(0);
    const r = JSON.parse(fs.readFileSync(report, 'utf8')) as LocalRunReport;
    expect(r).toMatchObject({ sent: 60, processed: 54, deadLettered: 6, lost: 0, unfinished: 0, duplicates: 0 });
    expect(r.predicted.peakWorkers).toBeGreaterThan(0);
    expect(r.peakWorkers).toBeLessThanOrEqual(3);
    expect(run.stdout).toContain('accounting: 60 sent = 54 processed + 6 dead-lettered + 0 lost');
    fs.rmSync(dir, { recursive: true, force: true });
  }, 120_000);
});
