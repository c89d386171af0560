/**
 * The CPU-bound scenario: agents that run a local model (each task loads the CPU for half a
 * minute), several tasks per worker, and a backlog that stays short because every worker takes
 * new tasks into free slots at once. Backlog per worker barely moves; CPU is the signal. Runs
 * ours on the backlog alone, ours with `cpuTargetPercent`, and QueueProcessingFargateService's
 * defaults (CPU target tracking that also scales in), and reports whether the CPU policy reaches
 * its target, scales in a busy worker, or oscillates. On Fargate ours scales in by steps; on EC2
 * by the exact scale-in (ExactCapacity), from the group's warm pool.
 *
 *   npm run simulate:cpu-bound -- [--compute fargate|ec2] [seeds...]
 */
import { UTILIZATION_DEFAULTS, utilizationSignals } from '../policy/utilization';
import { simulate, type RunResult } from './engine';
import { DEFAULT_PARAMS, MAX_SEED, STARTUP_SECONDS, type ComputeKind, type SimulationParams } from './params';
import { oursPolicy, qpfsPolicy, type FleetConfig, type SimulationPolicy } from './policies';
import { Random } from './random';
import { percentile } from './stats';
import { materialize, type Trace, type TracePoint } from './trace';

const MINUTE = 60;

/** The load: 30 min at 0.1 task/s, 2 h at 0.5 task/s, 1 h at 0.1 task/s (per-minute Poisson counts). */
export const CPU_BOUND_PHASES = [
  { minutes: 30, ratePerSecond: 0.1 },
  { minutes: 120, ratePerSecond: 0.5 },
  { minutes: 60, ratePerSecond: 0.1 },
] as const;

/** Minutes after the plateau starts before its figures count (scale-out and start-up). */
export const SETTLE_MINUTES = 20;

/** A scale-out this soon after a scale-in counts as a flap. */
export const FLAP_MINUTES = 15;

/** CPU target of the scenario's CPU policy. */
export const CPU_TARGET_PERCENT = 60;

/**
 * Workers that run a local model: 4 tasks at once, 30 s each (log-normal, cv 0.3), a full worker
 * at 100 % CPU, an idle one at 2 %. The latency goal of 1 minute gives a backlog target of
 * 60 / 30 x 4 = 8 messages per worker, which a queue that workers drain into free slots never reaches.
 */
export const CPU_BOUND_PARAMS: SimulationParams = {
  ...DEFAULT_PARAMS,
  worker: {
    ...DEFAULT_PARAMS.worker,
    concurrency: 4,
    processingTime: { distribution: 'lognormal', meanSeconds: 30, cv: 0.3 },
    busyCpuPercent: 100,
    idleCpuPercent: 2,
  },
};

/** The scenario on a compute: its start-up (a new EC2 instance's for the baselines; ours starts from the warm pool). */
export function cpuBoundParams(compute: ComputeKind, seed = 1): SimulationParams {
  return { ...CPU_BOUND_PARAMS, seed, worker: { ...CPU_BOUND_PARAMS.worker, compute, startupSeconds: STARTUP_SECONDS[compute] } };
}

const FLEET: FleetConfig = { minWorkers: 1, maxWorkers: 20 };

export function cpuBoundTrace(seed = 1): Trace {
  const rng = new Random(seed * 7919 + 23);
  const points: TracePoint[] = [];
  let t = 0;
  for (const phase of CPU_BOUND_PHASES) {
    for (let m = 0; m < phase.minutes; m++, t += MINUTE) points.push({ time: t, arrivals: rng.poisson(phase.ratePerSecond * MINUTE) });
  }
  return { name: 'cpu-bound', description: '30 min at 0.1 task/s, 2 h at 0.5 task/s, 1 h at 0.1 task/s; 30 s CPU-bound tasks, 4 per worker', points, durationSeconds: t };
}

/** The three policies of the scenario. */
export function cpuBoundPolicies(params: SimulationParams = CPU_BOUND_PARAMS): SimulationPolicy[] {
  const utilization = utilizationSignals({ cpuTargetPercent: CPU_TARGET_PERCENT, scaleOutCooldownSeconds: UTILIZATION_DEFAULTS.scaleOutCooldownSeconds });
  return [
    { ...oursPolicy(FLEET, params, 1), name: 'ours-backlog' },
    { ...oursPolicy({ ...FLEET, utilization }, params, 1), name: `ours-cpu${CPU_TARGET_PERCENT}` },
    qpfsPolicy(FLEET.maxWorkers, 1),
  ];
}

/** What the scenario measures of one run. */
export interface CpuBoundFigures {
  readonly policy: string;
  /** Mean and range of the minute-end CPU over the settled plateau (%). */
  readonly plateauCpuMean: number;
  readonly plateauCpuMin: number;
  readonly plateauCpuMax: number;
  /** Workers over the settled plateau. */
  readonly plateauWorkersMin: number;
  readonly plateauWorkersMax: number;
  /** Scaling events on the settled plateau, by direction. */
  readonly plateauScaleOuts: number;
  readonly plateauScaleIns: number;
  /** Changes of direction between consecutive scaling events over the whole run (a rise and a fall is 1). */
  readonly reversals: number;
  /** Scale-ins followed by a scale-out within `FLAP_MINUTES` over the whole run: workers removed that were still needed. */
  readonly flaps: number;
  readonly busyWorkersRemoved: number;
  readonly released: number;
  readonly waitP95Seconds: number;
  readonly workerMinutes: number;
}

export function cpuBoundFigures(run: RunResult): CpuBoundFigures {
  const from = CPU_BOUND_PHASES[0].minutes + SETTLE_MINUTES;
  const to = CPU_BOUND_PHASES[0].minutes + CPU_BOUND_PHASES[1].minutes;
  const plateau = run.timeline.filter((m) => m.minute >= from && m.minute < to);
  const cpu = plateau.map((m) => m.cpuUtilization).filter((c) => !Number.isNaN(c));
  const events = run.events.filter((e) => e.time >= from * MINUTE && e.time < to * MINUTE);
  let reversals = 0;
  for (let i = 1; i < run.events.length; i++) {
    const up = (e: { from: number; to: number }) => e.to > e.from;
    if (up(run.events[i]) !== up(run.events[i - 1])) reversals++;
  }
  const flaps = run.events.filter((e, i) => e.to < e.from && run.events.slice(i + 1)
    .some((n) => n.to > n.from && n.time - e.time <= FLAP_MINUTES * MINUTE)).length;
  const sortedWaits = Array.from(run.waits).sort((a, b) => a - b);
  return {
    policy: run.policy,
    plateauCpuMean: cpu.reduce((a, b) => a + b, 0) / cpu.length,
    plateauCpuMin: Math.min(...cpu),
    plateauCpuMax: Math.max(...cpu),
    plateauWorkersMin: Math.min(...plateau.map((m) => m.workers)),
    plateauWorkersMax: Math.max(...plateau.map((m) => m.workers)),
    plateauScaleOuts: events.filter((e) => e.to > e.from).length,
    plateauScaleIns: events.filter((e) => e.to < e.from).length,
    reversals,
    flaps,
    busyWorkersRemoved: run.busyWorkersRemoved,
    released: run.released,
    waitP95Seconds: percentile(sortedWaits, 0.95),
    workerMinutes: run.workerMinutes,
  };
}

/** Runs the scenario on a compute: figures per policy. */
export function runCpuBound(seed = 1, compute: ComputeKind = 'fargate'): CpuBoundFigures[] {
  const params = cpuBoundParams(compute, seed);
  const trace = cpuBoundTrace(seed);
  const messages = materialize(trace, params);
  return cpuBoundPolicies(params).map((policy) => cpuBoundFigures(simulate(messages, policy, params, trace.durationSeconds + params.tailSeconds)));
}

export function formatCpuBound(figures: readonly CpuBoundFigures[], compute: ComputeKind = 'fargate'): string {
  const head = ['policy', 'CPU mean', 'CPU min-max', 'workers', 'outs', 'ins', 'reversals', 'flaps', 'busy removed', 'released', 'p95 wait s', 'worker-min'];
  const rows = figures.map((f) => [
    f.policy, f.plateauCpuMean.toFixed(1), `${f.plateauCpuMin.toFixed(0)}-${f.plateauCpuMax.toFixed(0)}`,
    `${f.plateauWorkersMin}-${f.plateauWorkersMax}`, String(f.plateauScaleOuts), String(f.plateauScaleIns), String(f.reversals), String(f.flaps),
    String(f.busyWorkersRemoved), String(f.released), f.waitP95Seconds.toFixed(1), f.workerMinutes.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  return [
    `CPU-bound scenario on ${compute === 'ec2' ? 'EC2' : 'Fargate'}: plateau figures from minute ${CPU_BOUND_PHASES[0].minutes + SETTLE_MINUTES} to ${CPU_BOUND_PHASES[0].minutes + CPU_BOUND_PHASES[1].minutes} (CPU target ${CPU_TARGET_PERCENT} %)`,
    line(head),
    ...rows.map(line),
  ].join('\n');
}

const COMPUTES: readonly ComputeKind[] = ['fargate', 'ec2'];

/** The command's arguments: `--compute fargate|ec2` (default both) and seeds (default 1). */
export function parseCpuBoundArgs(args: readonly string[]): { computes: ComputeKind[]; seeds: number[] } {
  const computes: ComputeKind[] = [];
  const seeds: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--compute') {
      const value = args[++i];
      if (!COMPUTES.includes(value as ComputeKind)) throw new Error(`--compute must be one of ${COMPUTES.join(', ')}; got ${value === undefined ? 'nothing' : `"${value}"`}`);
      computes.push(value as ComputeKind);
    } else if (/^\d+$/.test(arg)) {
      if (Number(arg) > MAX_SEED) throw new Error(`a seed must be 0-${MAX_SEED}; got ${arg}`);
      seeds.push(Number(arg));
    } else {
      throw new Error(`unknown argument "${arg}": expected --compute fargate|ec2 and whole-number seeds`);
    }
  }
  return { computes: computes.length > 0 ? computes : [...COMPUTES], seeds: seeds.length > 0 ? seeds : [1] };
}

if (require.main === module) {
  try {
    const { computes, seeds } = parseCpuBoundArgs(process.argv.slice(2));
    for (const seed of seeds) {
      for (const compute of computes) process.stdout.write(`seed ${seed}\n${formatCpuBound(runCpuBound(seed, compute), compute)}\n\n`);
    }
  } catch (error) {
    process.stderr.write(`simulate:cpu-bound: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
