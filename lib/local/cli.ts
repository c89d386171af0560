#!/usr/bin/env node
/**
 * cdk-agent-fleet-local: the whole elastic fleet on one machine — an embedded SQS server, real
 * worker processes, the deployed scaling policy acting on live counts — next to the simulator's
 * prediction. See docs/local-run.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { writeCharts } from '../simulation/chart';
import { resolveConfig, type ConfigFile } from '../simulation/config';
import type { ComputeKind } from '../simulation/params';
import { summarize } from '../simulation/stats';
import { loadConfigFile, loadTrace, numberOption as number, SHARED_OPTIONS } from '../simulation/cli-options';
import { sourceConfig, SOURCES } from '../simulation/suite';
import { DEFAULT_BASE_RATE, SCENARIO_NAMES, type Trace } from '../simulation/trace';
import { formatLocalReport, toReport } from './report';
import { runLocal, withDefaultWorker, type LocalRunResult } from './run';
import { liveView } from './view';

/** 12,600 simulated seconds of the viral burst (3 h + the 30 min tail) in 210 s. */
export const DEFAULT_SPEED = 60;

export const HELP = `Usage: cdk-agent-fleet-local [options]
       npm run local -- [options]

Runs the whole elastic fleet on this machine, time-compressed: an embedded SQS server (fauxqs on
127.0.0.1) with the queue and dead-letter queue as AgentQueue creates them, a producer replaying
the load, real worker processes (AgentWorker) started with the compute's start-up delay and
stopped with SIGTERM (they drain), and the scaling policy BacklogScaling deploys acting on live
queue and worker counts through emulated CloudWatch datapoints. Prints the live run next to the
simulator's prediction for the same messages, and accounts for every message.

Options:
  --scenario <name>         built-in load: ${SCENARIO_NAMES.join(', ')} (default: viral-burst)
  --trace <file.csv>        load from a CSV of "time,arrivals" rows (the simulator's format)
  --speed <n>               simulated seconds per real second (default: ${DEFAULT_SPEED}: the viral burst,
                            3.5 simulated hours, in about 4 minutes)
  --min-workers <n>         fleet minimum (default: 0)
  --max-workers <n>         fleet maximum (default: 20); also the worker processes kept ready
  --concurrency <n>         messages each worker processes at once (default: 1)
  --target <n>              backlog per worker to hold (default: from the 60 s latency goal and
                            the 6 s mean task: 10 x concurrency)
  --metric-source <s>       publisher (the backlog publisher's ${SOURCES.publisher.metricPeriodSeconds} s datapoints, what
                            ElasticAgentFleet deploys; the default unless --config sets
                            fleet.metricPeriodSeconds) or math (one-minute SQS datapoints)
  --compute <c>             fargate (start-up 25-60 s, default) or ec2 (30-60 s from the warm pool, warm-up)
  --worker <module>         module whose default export is the handler, run inside AgentWorker in
                            each worker process (default: the reference agent's simulated task)
  --seed <n>                seed of the trace and start-up draws (default: 1)
  --base-rate <n>           baseline arrivals per second of the scenarios (default: ${DEFAULT_BASE_RATE})
  --config <file.json>      the simulator's config file (fleet, worker, cloudWatch, ...)
  --out <dir>               charts and the workers' log (default: local-out)
  --report <file.json>      write the results as JSON (simulated time)
  --no-charts               skip the SVG/PNG charts
  -h, --help                this text

Exit status: 0 when every message was processed or dead-lettered, 1 when any was lost, 2 on bad
options, 130 when interrupted.
`;

export interface LocalCliOptions {
  readonly trace: Trace;
  readonly config: ConfigFile;
  readonly speed: number;
  readonly workerModule?: string;
  readonly out: string;
  readonly report?: string;
  readonly charts: boolean;
}

const whole = (n: number): boolean => Number.isInteger(n) && n >= 0;

export function parseLocalCli(argv: readonly string[]): LocalCliOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...SHARED_OPTIONS,
      'speed': { type: 'string' },
      'concurrency': { type: 'string' },
      'target': { type: 'string' },
      'metric-source': { type: 'string' },
      'compute': { type: 'string' },
      'worker': { type: 'string' },
      'report': { type: 'string' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const file = loadConfigFile(values.config);
  const seed = number('seed', values.seed, Number.isInteger, 'an integer') ?? file.seed ?? 1;
  const flag = values['metric-source'];
  if (flag !== undefined && flag !== 'math' && flag !== 'publisher') throw new Error(`--metric-source must be math or publisher, got "${flag}"`);
  // The source's period and datapoints as the suite's cells have them. The flag's override the
  // config file; without it, the deployed default (the publisher) applies unless the file sets a period.
  const source = sourceConfig(SOURCES[flag === 'math' ? 'metric-math' : 'publisher']);
  const over = flag ? source : undefined;
  const under = !flag && file.fleet?.metricPeriodSeconds === undefined ? source : undefined;
  const compute = values.compute as ComputeKind | undefined;
  if (compute !== undefined && compute !== 'fargate' && compute !== 'ec2') throw new Error(`--compute must be fargate or ec2, got "${compute}"`);
  const fleet = {
    ...under?.fleet,
    ...file.fleet,
    ...over?.fleet,
    ...defined('minWorkers', number('min-workers', values['min-workers'], whole, 'a whole number >= 0')),
    ...defined('maxWorkers', number('max-workers', values['max-workers'], (n) => whole(n) && n >= 1, 'a whole number >= 1')),
    ...defined('targetBacklogPerWorker', number('target', values.target, (n) => n > 0, 'a number > 0')),
  };
  const worker = {
    ...file.worker,
    ...defined('concurrency', number('concurrency', values.concurrency, (n) => whole(n) && n >= 1, 'a whole number >= 1')),
    ...(compute ? { compute } : {}),
  };
  const trace = loadTrace(values, seed);
  const workerModule = values.worker ? path.resolve(values.worker) : undefined;
  if (workerModule && !fs.existsSync(workerModule)) throw new Error(`--worker: no such file "${values.worker}"`);
  return {
    trace,
    config: { ...file, seed, fleet, worker, cloudWatch: { ...under?.cloudWatch, ...file.cloudWatch, ...over?.cloudWatch } },
    speed: number('speed', values.speed, (n) => n > 0 && n <= 1000, 'a number in (0, 1000]') ?? DEFAULT_SPEED,
    workerModule,
    out: values.out ?? 'local-out',
    report: values.report,
    charts: !values['no-charts'],
  };
}

function defined<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}

export async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseLocalCli(argv);
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return 0;
  }
  // This process and the workers talk only to the local server; the SDK's Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const resolved = resolveConfig(parsed.config);
  const config = parsed.workerModule ? resolved : withDefaultWorker(resolved);
  fs.mkdirSync(parsed.out, { recursive: true });

  // Ctrl-C (or SIGTERM): stop the run, drain and stop every worker, close the server; a second one kills at once.
  const abort = new AbortController();
  let fleetKill: (() => void) | undefined;
  const onSignal = (): void => {
    if (abort.signal.aborted) {
      fleetKill?.();
      process.exit(130);
    }
    process.stderr.write('\ninterrupted: stopping the workers and the queue server (again to kill at once)\n');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const tty = process.stderr.isTTY === true;
  const view = liveView(process.stderr, tty);
  process.stderr.write(`starting: embedded SQS, ${config.fleet.maxWorkers} worker processes (parked until launched), ${parsed.speed}x\n`);
  let result: LocalRunResult;
  try {
    result = await runLocal({
      trace: parsed.trace,
      config,
      speed: parsed.speed,
      workerModule: parsed.workerModule,
      logFile: path.join(parsed.out, `${parsed.trace.name}-workers.log`),
      onTick: (s) => view.update(s),
      signal: abort.signal,
      onFleet: (kill) => { fleetKill = kill; },
    });
  } catch (err) {
    view.close();
    if (abort.signal.aborted) return 130;
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  view.close();

  const goal = config.params.latencyGoalSeconds;
  process.stdout.write(`\n${formatLocalReport(result, goal)}\n`);
  if (parsed.report) {
    fs.mkdirSync(path.dirname(path.resolve(parsed.report)), { recursive: true });
    fs.writeFileSync(parsed.report, `${JSON.stringify(toReport(result, goal), null, 2)}\n`);
  }
  if (parsed.charts) {
    const runs = [result.live, result.predicted];
    await writeCharts({
      trace: result.trace, durationSeconds: result.live.durationSeconds, policies: [result.policy, result.policy],
      runs, summaries: runs.map((r) => summarize(r, goal)),
    }, parsed.out, parsed.trace.name, goal);
    process.stdout.write(`charts: ${parsed.out}/${parsed.trace.name}-live.svg/.png and -predicted.svg/.png\n`);
  }
  return result.accounting.lost > 0 ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`cdk-agent-fleet-local: ${err instanceof Error ? err.message : String(err)}\n\nRun with --help for the options.\n`);
      process.exitCode = 2;
    },
  );
}
