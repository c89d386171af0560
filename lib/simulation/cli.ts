#!/usr/bin/env node
/**
 * cdk-agent-fleet-sim: replays a load trace against the scaling policy the constructs deploy and
 * against the alternatives, prints a table per policy and writes charts. See docs/simulation.md.
 */
import * as fs from 'fs';
import { availableParallelism } from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { writeCharts } from './chart';
import { compare, defaultPolicies } from './compare';
import { resolveConfig, type ConfigFile } from './config';
import { formatReport, summariesToCsv } from './report';
import {
  cellName, describeCell, formatScorecard, judgeComparison, parseCellKey, parseNames, scorecardToCsv, suiteConfigFile, suiteTrace, verdict,
  ALL_SCALE_NAMES, FULL_SUITE, SCALES, SUITE_COMPUTES, SUITE_NAMES, ALL_SHAPE_NAMES, ALL_SOURCE_NAMES, type SuiteCellKey, type SuiteRun, type SuiteSelection,
} from './suite';
import { loadConfigFile, loadTrace, numberOption as number, SHARED_OPTIONS } from './cli-options';
import { WORKER_DEFAULTS } from '../worker/contract';
import { MAX_SEED, type StartupRange } from './params';
import { runSuiteInParallel } from './suite-pool';
import { DEFAULT_BASE_RATE, materialize, SCENARIO_NAMES, traceToCsv, type Trace } from './trace';

export const HELP = `Usage: cdk-agent-fleet-sim [options]
       npm run simulate -- [options]

Replays a load trace against our backlog-per-worker scaling policy (the model BacklogScaling
deploys) and against QueueProcessingFargateService's defaults, plain step scaling on queue
depth, fixed fleets and a perfect-foresight bound. Prints a table per policy and writes SVG and
PNG charts (arrivals, backlog, workers, wait over time) for each.

Options:
  --suite [full|quick|idle|held-out|random]
                        run the scenario suite instead: every load shape x fleet scale x metric
                        source x compute, one scorecard row per cell, a verdict line, and
                        <out>/suite-scorecard.csv (quick: small and medium fleets, Fargate;
                        idle: loads with idle gaps, small and medium fleets; held-out: loads
                        and fleets no default was chosen on, tiny and mid fleets; random: six
                        loads drawn from --seed, new on every seed, on all five fleets but huge)
  --shapes <a,b>        with --suite: only these shapes (${ALL_SHAPE_NAMES.join(', ')})
  --scales <a,b>        with --suite: only these scales (${ALL_SCALE_NAMES.join(', ')})
  --sources <a,b>       with --suite: only these metric sources (${ALL_SOURCE_NAMES.join(', ')})
  --computes <a,b>      with --suite: only these computes (${SUITE_COMPUTES.join(', ')})
  --cell <shape>,<scale>,<source>,<compute>
                        replay one cell of the suite (a scorecard CSV row's first four columns)
                        as a scenario: its load, fleet and policies, a table per policy and
                        charts; with --seed, --latency-goal, --publication-delay,
                        --fargate-start, --no-warm-pool, --task-time-estimate and
                        --prefetch-seconds as the suite's
  --latency-goal <s>    with --suite or --cell: the latency goal every cell's fleet derives its
                        target from, and the pass rule's first bound (default: 60)
  --publication-delay <s>
                        with --suite or --cell: seconds after its period that every source's
                        datapoint becomes readable by the alarms (default: each source's own,
                        60 for metric math and 10 for the publisher); KEDA reads the queue itself
  --fargate-start <min>-<max>
                        with --suite or --cell: seconds a Fargate task takes to start taking
                        messages, uniform in that range, for every policy (default: 25-60);
                        our fleet declares <max> as its workerStartTime, as for a large image
  --no-warm-pool        with --suite or --cell: our EC2 fleets run without the warm pool (a Spot
                        group, or warmPool: false): new instances start in 60-180 s
  --task-time-estimate <ratio>
                        with --suite or --cell: our fleet and KEDA derive their targets from a
                        processing time of <ratio> x the tasks' real mean, 0.1-10 (a misjudged
                        one: 0.5 when tasks take twice what was declared); the pass rule keeps
                        the real latency goal (default: 1)
  --prefetch-seconds <s>
                        with --suite or --cell: every policy's workers hold ahead what their
                        slots start within <s>, 0-3600 (AgentWorker's prefetchSeconds; 0: no
                        prefetch; default: ${WORKER_DEFAULTS.prefetchSeconds})
  --jobs <n>            with --suite: cells run in n processes at once (default: the cores, here
                        ${availableParallelism()}); the scorecard is the same for any n
  --scenario <name>     built-in load: ${SCENARIO_NAMES.join(', ')} (default: viral-burst)
  --trace <file.csv>    load from a CSV of "time,arrivals" rows (seconds, count); overrides --scenario
  --config <file.json>  fleet (BacklogScalingInput fields, acceptableLatencySeconds), worker,
                        cloudWatch and run parameters; see docs/simulation.md
  --seed <n>            seed of every random draw, 0-4294967295 (default: 1, or the config's)
  --base-rate <n>       baseline arrivals per second of the built-in scenarios (default: ${DEFAULT_BASE_RATE})
  --min-workers <n>     override fleet.minWorkers
  --max-workers <n>     override fleet.maxWorkers
  --duration <seconds>  simulated time (default: the trace plus tailSeconds, 1800)
  --out <dir>           where charts, summary.csv and the trace go (default: sim-out)
  --no-charts           skip the SVG/PNG charts
  --no-progress         no progress bar (it is shown only when stderr is a terminal)
  -h, --help            this text
`;

interface CliOptions {
  readonly trace: Trace;
  readonly config: ConfigFile;
  readonly out: string;
  readonly charts: boolean;
  readonly progress: boolean;
  readonly durationSeconds?: number;
  /** With `--cell`: the suite's cell this run replays, judged by the pass rule after the table. */
  readonly cell?: { readonly key: SuiteCellKey; readonly run: SuiteRun };
}

/** What `--suite` runs. */
export interface SuiteCliOptions {
  readonly suite: SuiteSelection;
  readonly out: string;
  readonly progress: boolean;
  /** Child processes that run the cells (1: in this process). */
  readonly jobs: number;
}

/** `--suite` with no value means the full suite. */
function withSuiteValue(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    out.push(a);
    if (a === '--suite' && (i + 1 >= argv.length || argv[i + 1].startsWith('-'))) out.push('full');
  });
  return out;
}

const SUITE_ONLY = ['shapes', 'scales', 'sources', 'computes', 'jobs'] as const;
/** What a suite's cells share (`SuiteRun`), for a suite or one cell of it. */
const RUN_ONLY = ['latency-goal', 'publication-delay', 'fargate-start', 'no-warm-pool', 'task-time-estimate', 'prefetch-seconds'] as const;
/** What sets the load and the fleet of a scenario; a suite's cell has its own. */
const SCENARIO_INPUTS = ['scenario', 'trace', 'config', 'base-rate', 'min-workers', 'max-workers'] as const;
const SCENARIO_ONLY = [...SCENARIO_INPUTS, 'duration', 'no-charts'] as const;

type CliValues = Partial<Record<Exclude<(typeof RUN_ONLY)[number], 'no-warm-pool'> | 'seed', string>> & { readonly 'no-warm-pool'?: boolean };

/** `--seed`, checked where it is given rather than in the first cell that uses it. */
function seedOption(value: string | undefined): number | undefined {
  return number('seed', value, (n) => Number.isInteger(n) && n >= 0 && n <= MAX_SEED, `an integer 0-${MAX_SEED}`);
}

/**
 * `--fargate-start <min>-<max>`: whole seconds, min <= max, and max a `workerStartTime` the
 * Fargate fleet takes (1-3600 s).
 */
function fargateStartOption(value: string | undefined): StartupRange | undefined {
  if (value === undefined) return undefined;
  const match = /^(\d+)-(\d+)$/.exec(value.trim());
  const [min, max] = match ? [Number(match[1]), Number(match[2])] : [NaN, NaN];
  if (!(min <= max && max >= 1 && max <= 3600)) {
    throw new Error(`--fargate-start must be <min>-<max> in whole seconds, with min <= max and max 1-3600, got "${value}"`);
  }
  return { min, max };
}

/** The seed, latency goal, publication delay, Fargate start-up, EC2 warm pool, declared task time and prefetch of a suite run or a cell. */
function suiteRun(values: CliValues, base: SuiteRun): SuiteRun {
  const fargateStartSeconds = fargateStartOption(values['fargate-start']) ?? base.fargateStartSeconds;
  const taskTimeEstimate = number('task-time-estimate', values['task-time-estimate'], (n) => n >= 0.1 && n <= 10, 'a ratio 0.1-10') ?? base.taskTimeEstimate;
  const prefetchSeconds = number('prefetch-seconds', values['prefetch-seconds'], (n) => n >= 0 && n <= 3600, 'a number of seconds 0-3600') ?? base.prefetchSeconds;
  return {
    seed: seedOption(values.seed) ?? base.seed,
    latencyGoalSeconds: number('latency-goal', values['latency-goal'], (n) => n > 0 && n <= 86_400, 'a number of seconds > 0 and <= 86400') ?? base.latencyGoalSeconds,
    publicationDelaySeconds: number('publication-delay', values['publication-delay'], (n) => n >= 0 && n <= 3600, 'a number of seconds 0-3600') ?? base.publicationDelaySeconds,
    ...(fargateStartSeconds ? { fargateStartSeconds } : {}),
    ...(values['no-warm-pool'] ? { ec2WarmPool: false } : {}),
    ...(taskTimeEstimate !== undefined ? { taskTimeEstimate } : {}),
    ...(prefetchSeconds !== undefined ? { prefetchSeconds } : {}),
  };
}

/** Names the flags of `keys` that were given. */
function given(values: Record<string, unknown>, keys: readonly string[]): string[] {
  return keys.filter((k) => values[k] !== undefined).map((k) => `--${k}`);
}

export function parseCli(argv: readonly string[]): CliOptions | SuiteCliOptions | 'help' {
  const { values } = parseArgs({
    args: withSuiteValue(argv),
    options: {
      ...SHARED_OPTIONS,
      'suite': { type: 'string' },
      'cell': { type: 'string' },
      'shapes': { type: 'string' },
      'scales': { type: 'string' },
      'sources': { type: 'string' },
      'computes': { type: 'string' },
      'latency-goal': { type: 'string' },
      'publication-delay': { type: 'string' },
      'fargate-start': { type: 'string' },
      'no-warm-pool': { type: 'boolean' },
      'task-time-estimate': { type: 'string' },
      'prefetch-seconds': { type: 'string' },
      'jobs': { type: 'string' },
      'duration': { type: 'string' },
      'no-progress': { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  if (values.suite !== undefined) {
    const names = Object.keys(SUITE_NAMES) as (keyof typeof SUITE_NAMES)[];
    const base = SUITE_NAMES[values.suite as keyof typeof SUITE_NAMES];
    if (!base || !names.includes(values.suite as keyof typeof SUITE_NAMES)) throw new Error(`--suite must be one of ${names.join(', ')} (or no value for full), got "${values.suite}"`);
    const clash = given(values, [...SCENARIO_ONLY, 'cell']);
    if (clash.length > 0) throw new Error(`--suite runs its own scenarios and fleets; drop ${clash.join(', ')}`);
    return {
      suite: {
        shapes: parseNames('shapes', values.shapes, ALL_SHAPE_NAMES) ?? base.shapes,
        scales: parseNames('scales', values.scales, ALL_SCALE_NAMES) ?? base.scales,
        sources: parseNames('sources', values.sources, ALL_SOURCE_NAMES) ?? base.sources,
        computes: parseNames('computes', values.computes, SUITE_COMPUTES) ?? base.computes,
        ...suiteRun(values, base),
      },
      out: values.out ?? 'sim-out',
      progress: !values['no-progress'] && process.stderr.isTTY === true,
      jobs: number('jobs', values.jobs, (n) => Number.isInteger(n) && n >= 1 && n <= 256, 'an integer 1-256') ?? availableParallelism(),
    };
  }
  const stray = given(values, SUITE_ONLY);
  if (stray.length > 0) throw new Error(`${stray.join(', ')} only apply with --suite`);
  if (values.cell !== undefined) {
    const clash = given(values, SCENARIO_INPUTS);
    if (clash.length > 0) throw new Error(`--cell replays the suite's own load and fleet; drop ${clash.join(', ')}`);
    const key = parseCellKey(values.cell);
    const run = suiteRun(values, FULL_SUITE);
    // The scorecard's row, replayed: the same trace, config and policies (ours, the baselines, foresight).
    const trace = { ...suiteTrace(key.shape, SCALES[key.scale], run.seed), name: cellName(key).replaceAll(' ', '-') };
    return { ...cliOptions(values, trace, suiteConfigFile(key, run)), cell: { key, run } };
  }
  const runOnly = given(values, RUN_ONLY);
  if (runOnly.length > 0) throw new Error(`${runOnly.join(', ')} only apply with --suite or --cell`);
  const file = loadConfigFile(values.config);
  const seed = seedOption(values.seed) ?? file.seed ?? 1;
  const minWorkers = number('min-workers', values['min-workers']);
  const maxWorkers = number('max-workers', values['max-workers']);
  const config: ConfigFile = {
    ...file,
    seed,
    fleet: { ...file.fleet, ...(minWorkers !== undefined ? { minWorkers } : {}), ...(maxWorkers !== undefined ? { maxWorkers } : {}) },
  };
  return cliOptions(values, loadTrace(values, seed), config);
}

/** A scenario run's options: its trace and config, and what the shared flags say. */
function cliOptions(values: { readonly duration?: string; readonly out?: string; readonly 'no-charts'?: boolean; readonly 'no-progress'?: boolean }, trace: Trace, config: ConfigFile): CliOptions {
  const durationSeconds = number('duration', values.duration);
  if (durationSeconds !== undefined && durationSeconds <= 0) throw new Error(`--duration must be > 0 seconds, got ${durationSeconds}`);
  return {
    trace,
    config,
    out: values.out ?? 'sim-out',
    charts: !values['no-charts'],
    progress: !values['no-progress'] && process.stderr.isTTY === true,
    durationSeconds,
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCli(argv);
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  if ('suite' in parsed) return suiteMain(parsed);
  const config = resolveConfig(parsed.config);
  const messages = materialize(parsed.trace, config.params);
  const policies = defaultPolicies(messages, config, parsed.trace);
  const total = Math.ceil(parsed.durationSeconds ?? parsed.trace.durationSeconds + config.params.tailSeconds);
  let bar: { update(n: number): void; stop(): void } | undefined;
  if (parsed.progress) {
    const { SingleBar, Presets } = await import('cli-progress');
    const b = new SingleBar({ stream: process.stderr, format: 'simulating [{bar}] {percentage}% | {value}/{total} policy-minutes', hideCursor: true }, Presets.shades_classic);
    b.start(Math.ceil((total * policies.length) / 60), 0);
    bar = b;
  }
  const result = compare(parsed.trace, config, {
    policies,
    messages,
    durationSeconds: parsed.durationSeconds,
    onProgress: (i, second) => bar?.update(Math.floor((i * total + second) / 60)),
  });
  bar?.stop();
  process.stdout.write(`${formatReport(result, config.params.latencyGoalSeconds)}\n`);
  // The row's pass rule, from this run (the reactive bound is the suite's: not run here).
  if (parsed.cell) process.stdout.write(`\n${describeCell(judgeComparison(parsed.cell.key, parsed.cell.run, result))}\n`);

  fs.mkdirSync(parsed.out, { recursive: true });
  const prefix = parsed.trace.name;
  fs.writeFileSync(path.join(parsed.out, `${prefix}-summary.csv`), summariesToCsv(result.summaries));
  fs.writeFileSync(path.join(parsed.out, `${prefix}-trace.csv`), traceToCsv(parsed.trace));
  if (parsed.charts) {
    const files = await writeCharts(result, parsed.out, prefix, config.params.latencyGoalSeconds);
    process.stdout.write(`\ncharts: ${files.filter((f) => f.endsWith('.svg')).length} SVG + PNG pairs in ${parsed.out}/ (${prefix}-<policy>.svg/.png)\n`);
  }
  return 0;
}

async function suiteMain(options: SuiteCliOptions): Promise<number> {
  const started = Date.now();
  const cells = await runSuiteInParallel(options.suite, options.jobs, (cell, i, total) => {
    if (options.progress) process.stderr.write(`\rsuite: ${i}/${total} cells (${cellName(cell)})\x1b[K`);
  });
  if (options.progress) process.stderr.write('\n');
  process.stdout.write(`${formatScorecard(cells)}\n`);
  fs.mkdirSync(options.out, { recursive: true });
  const file = path.join(options.out, 'suite-scorecard.csv');
  fs.writeFileSync(file, scorecardToCsv(cells));
  process.stdout.write(`scorecard: ${file}; ${cells.length} cells in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  return verdict(cells).pass ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`cdk-agent-fleet-sim: ${err instanceof Error ? err.message : String(err)}\n\nRun with --help for the options.\n`);
      process.exitCode = 2;
    },
  );
}
