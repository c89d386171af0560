/**
 * The scenario suite: load shapes x fleet scales x metric sources x computes, every cell a
 * comparison of ours with the baselines (QueueProcessingFargateService's defaults, plain steps,
 * KEDA) and the perfect-foresight bound, judged by one pass rule. See docs/simulation.md.
 */
import { compare, initialWorkers, type Comparison } from './compare';
import { resolveConfig, type ConfigFile, type SimulationConfig } from './config';
import { DEFAULT_PARAMS, type ComputeKind, type ProcessingTimeParams, type StartupRange } from './params';
import {
  foresightPolicy, kedaPolicy, oursOnKedaPolicy, oursPolicy, plainStepsPolicy, qpfsPolicy, reactiveBoundPolicy, type ReactiveBoundVariant,
} from './policies';
import { Random } from './random';
import { randomShape } from './random-shapes';
import type { RunSummary } from './stats';
import { materialize, type Trace, type TracePoint } from './trace';

const MINUTE = 60;
const HOUR = 3600;

/**
 * A load shape: arrivals as a fraction of the fleet's full capacity (maxWorkers x concurrency /
 * mean processing time, messages per second), so that one shape fits every scale.
 */
interface SuiteShape {
  readonly description: string;
  readonly durationSeconds: number;
  /** Processing time of this shape's tasks, as multiples of the scale's task time (`meanSeconds` in seconds when `absolute`). */
  readonly processingTime?: ProcessingTimeParams & { readonly absolute?: boolean };
  /**
   * Fraction of full capacity arriving per second at `t`; `noise` is a seeded N(0, 1) draw per
   * interval; `capacity` (messages per second) turns an absolute rate into that fraction.
   */
  load(t: number, noise: number, capacity: number): number;
  /** Messages dumped at once, as seconds of full capacity, at these times. */
  readonly dumps?: { readonly every: number; readonly capacitySeconds: number };
  /** Tells the trace's random draws apart from other shapes' (default: the name's length). */
  readonly traceSalt?: number;
}

/** The processing time of a shape's tasks at a scale. */
function processingTime(shape: SuiteShape, scale: SuiteScale): ProcessingTimeParams {
  const own = shape.processingTime;
  if (!own) return { distribution: 'lognormal', meanSeconds: scale.taskSeconds, cv: 0.5 };
  const { absolute, ...p } = own;
  return absolute ? p : { ...p, meanSeconds: p.meanSeconds * scale.taskSeconds };
}

/** Viral burst of the `viral-burst` scenario, relative to capacity: 0.024 -> 0.72 of the fleet (the 20-worker fleet's 0.08 -> 2.4 msg/s). */
function viral(t: number, start: number, base: number, peak: number, hold: number, decay: number): number {
  const s = t - start;
  if (s < 0) return base;
  if (s < 2 * MINUTE) return base + ((peak - base) * s) / (2 * MINUTE);
  if (s < 2 * MINUTE + hold) return peak;
  return base + (peak - base) * Math.exp(-(s - 2 * MINUTE - hold) / decay);
}

export const SUITE_SHAPES = {
  'steady': { description: '2 h at 45 % of capacity', durationSeconds: 2 * HOUR, load: () => 0.45 },
  'daily-wave': {
    description: 'a day compressed to 6 h: 3 % of capacity at night to 60 % at noon (cosine)',
    durationSeconds: 6 * HOUR,
    load: (t) => 0.03 + 0.57 * (1 - Math.cos((2 * Math.PI * t) / (6 * HOUR))) / 2,
  },
  'viral-burst': {
    description: '3 h: 2.4 %; at 1 h a 2-min ramp to 72 %, held 20 min, decaying (15 min)',
    durationSeconds: 3 * HOUR,
    load: (t) => viral(t, HOUR, 0.024, 0.72, 20 * MINUTE, 15 * MINUTE),
  },
  'spiky': {
    description: '2 h at 10 % with 2-minute spikes to 65 % every 15 minutes, offset',
    durationSeconds: 2 * HOUR,
    load: (t) => ((t + 7 * MINUTE) % (15 * MINUTE) < 2 * MINUTE ? 0.65 : 0.1),
  },
  'batch': {
    description: '2 h at 2 %, plus every 15 min a dump of 45 s of full capacity within 10 s',
    durationSeconds: 2 * HOUR,
    load: () => 0.02,
    dumps: { every: 15 * MINUTE, capacitySeconds: 45 },
  },
  'ramp-cliff': {
    description: '2 h: 60-minute ramp from 2 % to 85 %, then a cliff back to 2 %',
    durationSeconds: 2 * HOUR,
    load: (t) => (t < HOUR ? 0.02 + (0.83 * t) / HOUR : 0.02),
  },
  'burst-aftershock': {
    description: '2 h at 3 %: at 20 min a burst to 90 % for 10 min, at 45 min an aftershock to 50 % for 5 min',
    durationSeconds: 2 * HOUR,
    load: (t) => (t >= 20 * MINUTE && t < 30 * MINUTE ? 0.9 : t >= 45 * MINUTE && t < 50 * MINUTE ? 0.5 : 0.03),
  },
  'noisy-sinusoid': {
    description: '3 h: 30 % +- 20 % with a 60-minute period, +-30 % noise per minute',
    durationSeconds: 3 * HOUR,
    load: (t, noise) => Math.max(0, (0.3 + 0.2 * Math.sin((2 * Math.PI * t) / HOUR)) * (1 + 0.3 * noise)),
  },
  'long-tasks': {
    description: '3 h of 3-minute tasks: 10 %, 60 % from 45 to 105 min, then 10 %',
    durationSeconds: 3 * HOUR,
    processingTime: { distribution: 'lognormal', meanSeconds: 180, cv: 0.5, absolute: true },
    load: (t) => (t >= 45 * MINUTE && t < 105 * MINUTE ? 0.6 : 0.1),
  },
  'heavy-tail': {
    description: '2 h of heavy-tailed tasks (log-normal cv 3, the scale\'s mean): 25 %, a 15-minute burst to 70 % at 40 min',
    durationSeconds: 2 * HOUR,
    processingTime: { distribution: 'lognormal', meanSeconds: 1, cv: 3 },
    load: (t) => (t >= 40 * MINUTE && t < 55 * MINUTE ? 0.7 : 0.25),
  },
} satisfies Record<string, SuiteShape>;

/**
 * Loads with idle gaps, for the idle rule (scale to zero): runs of work at fixed intervals, and
 * single messages minutes apart whatever the fleet (absolute rates). Not in the full suite, whose
 * loads never pause: `--suite idle` (docs/simulation.md, ninth round).
 */
export const IDLE_SHAPES = {
  'cron-10m': { description: '3 h: every 10 min, 2 min at 40 % of capacity, nothing between', durationSeconds: 3 * HOUR, load: (t) => (t % (10 * MINUTE) < 2 * MINUTE ? 0.4 : 0) },
  'cron-30m': { description: '4 h: every 30 min, 5 min at 40 %, nothing between', durationSeconds: 4 * HOUR, load: (t) => (t % (30 * MINUTE) < 5 * MINUTE ? 0.4 : 0) },
  'cron-60m': { description: '5 h: every hour, 10 min at 40 %, nothing between', durationSeconds: 5 * HOUR, load: (t) => (t % HOUR < 10 * MINUTE ? 0.4 : 0) },
  'office': {
    description: '5 h: idle 1 h, 30 % for 2 h, idle 1 h, 30 % for 1 h',
    durationSeconds: 5 * HOUR,
    load: (t) => ((t >= HOUR && t < 3 * HOUR) || t >= 4 * HOUR ? 0.3 : 0),
  },
  'sparse-5m': { description: '4 h: one message every 5 minutes on average', durationSeconds: 4 * HOUR, load: (_t, _noise, capacity) => 1 / (5 * MINUTE) / capacity },
  'sparse-20m': { description: '6 h: one message every 20 minutes on average', durationSeconds: 6 * HOUR, load: (_t, _noise, capacity) => 1 / (20 * MINUTE) / capacity },
} satisfies Record<string, SuiteShape>;

/**
 * Loads no default was chosen on (`--suite held-out`), the ninth round's loads outside the suite:
 * a user's check rather than a tuning set, so a change that only fits the full suite shows here.
 */
export const HELD_OUT_SHAPES = {
  'square-wave': { description: '2 h: 20 min at 5 % of capacity, 20 min at 70 %, repeated', durationSeconds: 2 * HOUR, load: (t) => (t % (40 * MINUTE) < 20 * MINUTE ? 0.05 : 0.7) },
  'sawtooth': { description: '2 h: 0 to 80 % over 30 min, repeated', durationSeconds: 2 * HOUR, load: (t) => (0.8 * (t % (30 * MINUTE))) / (30 * MINUTE) },
  'twin-spikes': {
    description: '3 h at 5 %: every hour two 3-minute spikes to 90 %, starting 6 minutes apart',
    durationSeconds: 3 * HOUR,
    load: (t) => [20, 26].some((m) => t % HOUR >= m * MINUTE && t % HOUR < (m + 3) * MINUTE) ? 0.9 : 0.05,
  },
  'step-up': { description: '2 h: 5 %, then 80 % from 30 min on', durationSeconds: 2 * HOUR, load: (t) => (t < 30 * MINUTE ? 0.05 : 0.8) },
  'flash-crowd': {
    description: '2 h: 1 % doubling every 5 min up to 100 % until 45 min, then 1 %',
    durationSeconds: 2 * HOUR,
    load: (t) => (t < 45 * MINUTE ? Math.min(1, 0.01 * 2 ** (t / (5 * MINUTE))) : 0.01),
  },
  'fast-noise': { description: '2 h at 40 % +- 80 % noise per minute', durationSeconds: 2 * HOUR, load: (_t, noise) => Math.max(0, 0.4 * (1 + 0.8 * noise)) },
  'overload': { description: '2 h at 10 %: from 30 to 60 min 130 % of capacity', durationSeconds: 2 * HOUR, load: (t) => (t >= 30 * MINUTE && t < HOUR ? 1.3 : 0.1) },
  'trickle': { description: '2 h at 0.4 %', durationSeconds: 2 * HOUR, load: () => 0.004 },
} satisfies Record<string, SuiteShape>;

/**
 * Loads drawn from the run's seed (`--suite random`, `randomShape`): each seed draws six new
 * ones, so the defaults meet loads nobody has looked at.
 */
export const RANDOM_SHAPE_NAMES = ['random-1', 'random-2', 'random-3', 'random-4', 'random-5', 'random-6'] as const;
type RandomShapeName = (typeof RANDOM_SHAPE_NAMES)[number];

const SHAPES: Record<Exclude<SuiteShapeName, RandomShapeName>, SuiteShape> = { ...SUITE_SHAPES, ...IDLE_SHAPES, ...HELD_OUT_SHAPES };

/** A shape by name; a drawn one (`random-<n>`) from the run's seed. */
export function suiteShape(name: SuiteShapeName, seed: number): SuiteShape {
  const index = (RANDOM_SHAPE_NAMES as readonly string[]).indexOf(name) + 1;
  if (index === 0) return SHAPES[name as Exclude<SuiteShapeName, RandomShapeName>];
  const drawn = randomShape(index, seed);
  return {
    description: drawn.description,
    durationSeconds: drawn.durationSeconds,
    processingTime: { distribution: 'lognormal', meanSeconds: 1, cv: drawn.taskCv },
    load: (t, noise) => Math.max(0, drawn.base(t) * (1 + drawn.noise * noise)),
    dumps: drawn.dumps,
    traceSalt: 1000 + index,
  };
}

export type SuiteShapeName = keyof typeof SUITE_SHAPES | keyof typeof IDLE_SHAPES | keyof typeof HELD_OUT_SHAPES | RandomShapeName;
/** The full suite's shapes. */
export const SUITE_SHAPE_NAMES = Object.keys(SUITE_SHAPES) as SuiteShapeName[];
export const IDLE_SHAPE_NAMES = Object.keys(IDLE_SHAPES) as SuiteShapeName[];
export const HELD_OUT_SHAPE_NAMES = Object.keys(HELD_OUT_SHAPES) as SuiteShapeName[];
/** Every shape `--shapes` takes. */
export const ALL_SHAPE_NAMES: SuiteShapeName[] = [...SUITE_SHAPE_NAMES, ...IDLE_SHAPE_NAMES, ...HELD_OUT_SHAPE_NAMES, ...RANDOM_SHAPE_NAMES];

/** A fleet scale: its size, its workers' concurrency and the tasks' default processing time. */
export interface SuiteScale {
  readonly maxWorkers: number;
  readonly concurrency: number;
  /** Mean processing time of the tasks (log-normal, cv 0.5) unless the shape sets its own. */
  readonly taskSeconds: number;
}

export const SUITE_SCALES = {
  /** The README's example fleet. */
  small: { maxWorkers: 20, concurrency: 1, taskSeconds: 6 },
  /** The issue's new user: 100 workers of concurrency 8. */
  medium: { maxWorkers: 100, concurrency: 8, taskSeconds: 6 },
  /**
   * A large fleet of high-concurrency agents whose tasks wait on model calls (30 s). 6 s tasks
   * would make 2,700 messages a second at full load, minutes of CPU per cell for no new behaviour:
   * scaling sees the same backlog per worker.
   */
  large: { maxWorkers: 500, concurrency: 32, taskSeconds: 30 },
} satisfies Record<string, SuiteScale>;

/** Fleets no default was chosen on (`--suite held-out`; `huge` only when named, as `--scales huge`). */
export const HELD_OUT_SCALES = {
  tiny: { maxWorkers: 5, concurrency: 1, taskSeconds: 20 },
  mid: { maxWorkers: 50, concurrency: 4, taskSeconds: 15 },
  huge: { maxWorkers: 2000, concurrency: 16, taskSeconds: 60 },
} satisfies Record<string, SuiteScale>;

export type SuiteScaleName = keyof typeof SUITE_SCALES | keyof typeof HELD_OUT_SCALES;
/** Every scale, by name. */
export const SCALES: Record<SuiteScaleName, SuiteScale> = { ...SUITE_SCALES, ...HELD_OUT_SCALES };
/** The full suite's scales. */
export const SUITE_SCALE_NAMES = Object.keys(SUITE_SCALES) as SuiteScaleName[];
/** Every scale `--scales` takes. */
export const ALL_SCALE_NAMES = Object.keys(SCALES) as SuiteScaleName[];

/** Where the scaling policies read their inputs, and whether those arrive in one put. */
export interface SuiteSource {
  readonly metricPeriodSeconds: number;
  readonly countSampleSeconds: number;
  readonly publicationDelaySeconds: number;
  readonly inputsArriveTogether: boolean;
}

/** The full suite's metric sources. */
export const SUITE_SOURCES = {
  /** SQS's and the fleet's own one-minute metrics through metric math (`BacklogScaling`'s default without a publisher). */
  'metric-math': { metricPeriodSeconds: 60, countSampleSeconds: 60, publicationDelaySeconds: 60, inputsArriveTogether: false },
  /**
   * The backlog publisher's 10 s high-resolution metrics (`ElasticAgentFleet`'s default on Fargate
   * and EC2): counts taken every 10 s; readable about 10 s after the period ends (chosen:
   * PutMetricData is immediate, CloudWatch's ingestion adds seconds).
   */
  'publisher': { metricPeriodSeconds: 10, countSampleSeconds: 10, publicationDelaySeconds: 10, inputsArriveTogether: true },
} satisfies Record<string, SuiteSource>;

/**
 * The publisher at its other periods (`publisherPeriod` 30 or 60 s, a third and a quarter of the
 * 10 s period's cost): sources no default was chosen on, run only when named (`--sources publisher-30s`).
 */
export const OTHER_SOURCES = {
  'publisher-30s': { metricPeriodSeconds: 30, countSampleSeconds: 30, publicationDelaySeconds: 10, inputsArriveTogether: true },
  'publisher-60s': { metricPeriodSeconds: 60, countSampleSeconds: 60, publicationDelaySeconds: 10, inputsArriveTogether: true },
} satisfies Record<string, SuiteSource>;

export type SuiteSourceName = keyof typeof SUITE_SOURCES | keyof typeof OTHER_SOURCES;
/** Every source, by name. */
export const SOURCES: Record<SuiteSourceName, SuiteSource> = { ...SUITE_SOURCES, ...OTHER_SOURCES };
/** The full suite's sources. */
export const SUITE_SOURCE_NAMES = Object.keys(SUITE_SOURCES) as SuiteSourceName[];
/** Every source `--sources` takes. */
export const ALL_SOURCE_NAMES = Object.keys(SOURCES) as SuiteSourceName[];
export const SUITE_COMPUTES: readonly ComputeKind[] = ['fargate', 'ec2'];

/** A source as the config file's sections: the period the fleet's alarms read, and how its datapoints arrive. */
export function sourceConfig(src: SuiteSource, publicationDelaySeconds = src.publicationDelaySeconds): Required<Pick<ConfigFile, 'fleet' | 'cloudWatch'>> {
  return {
    fleet: { metricPeriodSeconds: src.metricPeriodSeconds, inputsArriveTogether: src.inputsArriveTogether },
    cloudWatch: { countSampleSeconds: src.countSampleSeconds, publicationDelaySeconds },
  };
}

/** What every cell of a run shares: the seed, the latency goal, and how late the datapoints are. */
export interface SuiteRun {
  readonly seed: number;
  /**
   * The latency goal every cell's fleet derives its target from (`BacklogTarget.fromLatency`) and
   * the pass rule's first bound. @default 60 (`DEFAULT_PARAMS.latencyGoalSeconds`)
   */
  readonly latencyGoalSeconds?: number;
  /**
   * Seconds after its period ends that a datapoint becomes readable by the alarms, for every
   * source: the world the policies run in, not a policy setting (a deployed fleet's cooldowns do
   * not know it). KEDA reads the queue itself and is not delayed. @default - each source's own
   */
  readonly publicationDelaySeconds?: number;
  /**
   * How long a Fargate task takes to start taking messages, drawn uniformly in [min, max], for
   * every policy on a Fargate cell; our fleet declares max as its `workerStartTime`, as a user
   * with a slow image would. EC2 cells keep their own. @default - `STARTUP_SECONDS.fargate`, 25-60 s
   */
  readonly fargateStartSeconds?: StartupRange;
  /**
   * false: our fleet on an EC2 cell has no warm pool (a Spot group, or `warmPool: false`), so its
   * instances start new, as the baselines' do. @default true
   */
  readonly ec2WarmPool?: boolean;
  /**
   * The processing time our fleet and KEDA derive their targets from (`BacklogTarget.fromLatency`,
   * KEDA's `queueLength`), as a multiple of the tasks' real mean: a user who misjudged it (0.5:
   * the tasks take twice what was declared). The pass rule keeps the real latency goal.
   * @default 1
   */
  readonly taskTimeEstimate?: number;
  /**
   * Every policy's workers hold ahead what their slots start within this long (`AgentWorker`
   * `prefetchSeconds`; 0: no prefetch, the model before the thirtieth round).
   * @default - `WORKER_DEFAULTS.prefetchSeconds`
   */
  readonly prefetchSeconds?: number;
}

/** Which cells to run. */
export interface SuiteSelection extends SuiteRun {
  readonly shapes: readonly SuiteShapeName[];
  readonly scales: readonly SuiteScaleName[];
  readonly sources: readonly SuiteSourceName[];
  readonly computes: readonly ComputeKind[];
}

/** The full suite: every shape, scale, source and compute. */
export const FULL_SUITE: SuiteSelection = {
  shapes: SUITE_SHAPE_NAMES, scales: SUITE_SCALE_NAMES, sources: SUITE_SOURCE_NAMES, computes: SUITE_COMPUTES, seed: 1,
};

/**
 * The reduced suite the tests run: every shape at the small and medium scales on both sources,
 * Fargate only, which keeps the run within seconds while covering each shape and both metric paths.
 */
export const QUICK_SUITE: SuiteSelection = { ...FULL_SUITE, scales: ['small', 'medium'], computes: ['fargate'] };

/** The idle rule's loads (`IDLE_SHAPES`) on the small and medium fleets, every source and compute. */
export const IDLE_SUITE: SuiteSelection = { ...FULL_SUITE, shapes: IDLE_SHAPE_NAMES, scales: ['small', 'medium'] };

/** The held-out loads on the 5- and 50-worker fleets, every source and compute. */
export const HELD_OUT_SUITE: SuiteSelection = { ...FULL_SUITE, shapes: HELD_OUT_SHAPE_NAMES, scales: ['tiny', 'mid'] };

/** Six loads drawn from the seed on the full and held-out suites' five fleets, every source and compute. */
export const RANDOM_SUITE: SuiteSelection = { ...FULL_SUITE, shapes: RANDOM_SHAPE_NAMES, scales: ['tiny', 'small', 'mid', 'medium', 'large'] };

export const SUITE_NAMES = { 'full': FULL_SUITE, 'quick': QUICK_SUITE, 'idle': IDLE_SUITE, 'held-out': HELD_OUT_SUITE, 'random': RANDOM_SUITE } as const;

/** One cell's figures. */
export interface SuiteCell {
  readonly shape: SuiteShapeName;
  readonly scale: SuiteScaleName;
  readonly source: SuiteSourceName;
  readonly compute: ComputeKind;
  readonly latencyGoalSeconds: number;
  /** The publication delay the run set for every source (`SuiteRun`); unset when each source had its own. */
  readonly publicationDelaySeconds?: number;
  /** On a Fargate cell, the tasks' start-up the run set (`SuiteRun`); unset for the default. */
  readonly fargateStartSeconds?: StartupRange;
  /** On an EC2 cell, false when the run took our fleet's warm pool away (`SuiteRun`); unset for the default. */
  readonly ec2WarmPool?: false;
  /** The declared processing time's ratio to the real mean (`SuiteRun`); unset for the default. */
  readonly taskTimeEstimate?: number;
  /** The workers' prefetch window the run set (`SuiteRun`); unset for the default. */
  readonly prefetchSeconds?: number;
  readonly summaries: Readonly<Record<string, RunSummary>>;
  /** ours' p95 wait must be at most this: max(latency goal, foresight p95 + 60 s, QPFS p95 / 3). */
  readonly waitBound: number;
  /** ours' worker-minutes / perfect foresight's. */
  readonly costRatio: number;
  /** Why the cell fails; empty when it passes. */
  readonly failures: readonly string[];
  /**
   * On a failing cell, the first reactive-bound variant that passes its rule, or null when none
   * does (no reactive policy on the cell's metric source is known to pass it). Unset on a cell
   * that passes, or when not tried.
   */
  readonly reactiveBound?: ReactiveBoundVariant | null;
}

/**
 * The reactive bound's variants tried on a failing cell (`reactiveBoundPolicy`), in order: the
 * exact need; the same held 3 minutes (capacity kept for a load that comes back); a fleet sized
 * to do the work in 5 s (as fast as capacity can come). On the 21 cells the full suite failed
 * (seed 1, fifth round), these three reached the same 11 cells as all six tried (windows of
 * 60 s held 0, 60, 180 or 300 s; 15 s and 5 s held 0; docs/simulation.md, sixth round).
 */
export const REACTIVE_BOUND_VARIANTS: readonly ReactiveBoundVariant[] = [
  { windowSeconds: 60, holdSeconds: 0 },
  { windowSeconds: 60, holdSeconds: 180 },
  { windowSeconds: 5, holdSeconds: 0 },
];

export const BASELINES = ['qpfs-defaults', 'plain-steps', 'keda'] as const;
/** A cell's worker-minutes may be at most this many times perfect foresight's... */
export const MAX_COST_RATIO = 3;
/** ...and their geometric mean over the suite at most this. */
export const MAX_GEOMEAN_COST_RATIO = 1.6;

/** The arrivals of a shape at a scale: Poisson counts per 10 s (seeded), dumps inside one interval. */
export function suiteTrace(name: SuiteShapeName, scale: SuiteScale, seed: number): Trace {
  const shape = suiteShape(name, seed);
  const capacity = (scale.maxWorkers * scale.concurrency) / processingTime(shape, scale).meanSeconds;
  const rng = new Random(seed * 7919 + (shape.traceSalt ?? name.length) * 104_729 + scale.maxWorkers);
  const step = 10;
  const points: TracePoint[] = [];
  let noise = 0;
  for (let t = 0; t < shape.durationSeconds; t += step) {
    if (t % MINUTE === 0) noise = rng.normal();
    let mean = shape.load(t + step / 2, noise, capacity) * capacity * step;
    if (shape.dumps && t % shape.dumps.every === shape.dumps.every / 2) mean += shape.dumps.capacitySeconds * capacity;
    points.push({ time: t, arrivals: rng.poisson(mean) });
  }
  return { name, description: shape.description, points, durationSeconds: shape.durationSeconds };
}

/** The latency goal of a run: its own, or the simulator's default. */
function latencyGoal(run: SuiteRun): number {
  return run.latencyGoalSeconds ?? DEFAULT_PARAMS.latencyGoalSeconds;
}

/** A cell's config file: what `--config` would take to replay the cell (`--cell`). */
export function suiteConfigFile(key: SuiteCellKey, run: SuiteRun): ConfigFile {
  const s = SCALES[key.scale];
  const { fargateStartSeconds: start, ec2WarmPool, taskTimeEstimate: estimate, prefetchSeconds } = cellRunOptions(key, run);
  const tasks = processingTime(suiteShape(key.shape, run.seed), s);
  const source = sourceConfig(SOURCES[key.source], run.publicationDelaySeconds);
  return {
    seed: run.seed,
    latencyGoalSeconds: latencyGoal(run),
    fleet: {
      minWorkers: 0, maxWorkers: s.maxWorkers, ...source.fleet,
      ...(start ? { workerStartSeconds: start.max } : {}),
      ...(ec2WarmPool === false ? { warmPool: false } : {}),
      // A misjudged processing time: the fleet (and KEDA, from the same figure) derives its target from it.
      ...(estimate ? { processingTimeSeconds: tasks.meanSeconds * estimate } : {}),
    },
    worker: {
      compute: key.compute, concurrency: s.concurrency, processingTime: tasks,
      ...(start ? { startupSeconds: start } : {}), ...(prefetchSeconds !== undefined ? { prefetchSeconds } : {}),
    },
    cloudWatch: source.cloudWatch,
  };
}

type CellRunOptions = Pick<SuiteCell, 'publicationDelaySeconds' | 'fargateStartSeconds' | 'ec2WarmPool' | 'taskTimeEstimate' | 'prefetchSeconds'>;

/**
 * The run's options that apply to a cell, those it set only: the publication delay, the declared
 * task time and the prefetch window on every cell, the Fargate start-up on Fargate, no warm pool
 * on EC2.
 */
function cellRunOptions(key: SuiteCellKey, run: SuiteRun): CellRunOptions {
  const { publicationDelaySeconds, taskTimeEstimate, prefetchSeconds, fargateStartSeconds, ec2WarmPool } = run;
  return {
    ...(publicationDelaySeconds !== undefined ? { publicationDelaySeconds } : {}),
    ...(taskTimeEstimate !== undefined ? { taskTimeEstimate } : {}),
    ...(prefetchSeconds !== undefined ? { prefetchSeconds } : {}),
    ...(key.compute === 'fargate' && fargateStartSeconds ? { fargateStartSeconds } : {}),
    ...(key.compute === 'ec2' && ec2WarmPool === false ? { ec2WarmPool: false as const } : {}),
  };
}

/** The simulation config of a cell. */
export function suiteConfig(key: SuiteCellKey, run: SuiteRun): SimulationConfig {
  return resolveConfig(suiteConfigFile(key, run));
}

/** What every policy of a cell runs on: its config, trace and messages, and the workers it starts with. */
export function cellInputs(key: SuiteCellKey, run: SuiteRun) {
  const config = suiteConfig(key, run);
  const trace = suiteTrace(key.shape, SCALES[key.scale], run.seed);
  const messages = materialize(trace, config.params);
  return { config, trace, messages, start: initialWorkers(messages, config) };
}

/** Runs one cell and judges it. */
export function runCell(key: SuiteCellKey, run: SuiteRun): SuiteCell {
  const { config, trace, messages, start } = cellInputs(key, run);
  const max = config.fleet.maxWorkers;
  const ours = oursPolicy(config.fleet, config.params, start);
  const policies = [
    ours,
    qpfsPolicy(max, start),
    plainStepsPolicy(config.fleet, start),
    kedaPolicy(config.fleet, config.params, start),
    oursOnKedaPolicy(config.fleet, config.params, start),
    foresightPolicy(max, start),
  ];
  const result = compare(trace, config, { policies, messages });
  const cell = judgeComparison(key, run, result);
  if (cell.failures.length === 0) return cell;
  // Would any policy reading the same datapoints have passed? The bound, judged in ours' place.
  const reactiveBound = REACTIVE_BOUND_VARIANTS.find((variant) => {
    const policy = reactiveBoundPolicy(max, start, SOURCES[key.source].metricPeriodSeconds, variant, ours.warmPool);
    const [bound] = compare(trace, config, { policies: [policy], messages }).summaries;
    return judge({ ...cell, summaries: { ...cell.summaries, ours: bound } }).failures.length === 0;
  }) ?? null;
  return { ...cell, reactiveBound };
}

/** Applies the pass rule to a comparison that ran a cell's policies (ours, the baselines, foresight). */
export function judgeComparison(key: SuiteCellKey, run: SuiteRun, result: Comparison): SuiteCell {
  const summaries = Object.fromEntries(result.summaries.map((s) => [s.policy, s]));
  return judge({ ...key, latencyGoalSeconds: latencyGoal(run), ...cellRunOptions(key, run), summaries });
}

/** A cell's result in one line: its name, pass or why not, its wait bound and cost ratio. */
export function describeCell(cell: SuiteCell): string {
  return `${cellName(cell)}: ${resultText(cell)} (p95 bound ${cell.waitBound.toFixed(0)} s; worker-minutes ${cell.costRatio.toFixed(2)}x perfect foresight's)`;
}

/** Applies the pass rule to a cell's summaries. */
export function judge(cell: Omit<SuiteCell, 'waitBound' | 'costRatio' | 'failures' | 'reactiveBound'>): SuiteCell {
  const s = cell.summaries;
  const ours = s.ours;
  const foresight = s['perfect-foresight'];
  const waitBound = Math.max(cell.latencyGoalSeconds, foresight.waitP95 + 60, s['qpfs-defaults'].waitP95 / 3);
  const costRatio = ours.workerMinutes / foresight.workerMinutes;
  const failures: string[] = [];
  for (const b of BASELINES) {
    const base = s[b];
    if (base.waitP95 < ours.waitP95 && base.workerMinutes < ours.workerMinutes) failures.push(`dominated by ${b}`);
  }
  if (ours.waitP95 > waitBound) failures.push(`p95 ${ours.waitP95.toFixed(0)} s > ${waitBound.toFixed(0)} s`);
  if (costRatio > MAX_COST_RATIO) failures.push(`cost ${costRatio.toFixed(2)}x > ${MAX_COST_RATIO}x`);
  return { ...cell, waitBound, costRatio, failures };
}

/** What names one cell of the suite. */
export interface SuiteCellKey {
  readonly shape: SuiteShapeName;
  readonly scale: SuiteScaleName;
  readonly source: SuiteSourceName;
  readonly compute: ComputeKind;
}

/** A cell's name in messages: shape, scale, source and compute. */
export function cellName(k: SuiteCellKey): string {
  return `${k.shape} ${k.scale} ${k.source} ${k.compute}`;
}

/**
 * A cell named as the scorecard CSV's first four columns, `shape,scale,source,compute`, with one
 * clear error naming what each part takes.
 */
export function parseCellKey(value: string): SuiteCellKey {
  const [shape, scale, source, compute, ...rest] = value.split(',').map((p) => p.trim());
  const ok = rest.length === 0
    && ALL_SHAPE_NAMES.includes(shape as SuiteShapeName) && ALL_SCALE_NAMES.includes(scale as SuiteScaleName)
    && ALL_SOURCE_NAMES.includes(source as SuiteSourceName) && SUITE_COMPUTES.includes(compute as ComputeKind);
  if (!ok) {
    throw new Error(`--cell must be <shape>,<scale>,<source>,<compute> (shapes: ${ALL_SHAPE_NAMES.join(', ')}; scales: ${ALL_SCALE_NAMES.join(', ')}; `
      + `sources: ${ALL_SOURCE_NAMES.join(', ')}; computes: ${SUITE_COMPUTES.join(', ')}); got "${value}"`);
  }
  return { shape, scale, source, compute } as SuiteCellKey;
}

/** The cells of a selection, in the scorecard's fixed order. */
export function suiteCellKeys(selection: SuiteSelection): SuiteCellKey[] {
  return selection.shapes.flatMap((shape) => selection.scales.flatMap((scale) => selection.sources.flatMap((source) =>
    selection.computes.map((compute) => ({ shape, scale, source, compute })))));
}

/** Every cell of a selection, in a fixed order; `onCell` reports progress. */
export function runSuite(selection: SuiteSelection, onCell?: (cell: SuiteCell, done: number, total: number) => void): SuiteCell[] {
  const keys = suiteCellKeys(selection);
  return keys.map((k, i) => {
    const cell = runCell(k, selection);
    onCell?.(cell, i + 1, keys.length);
    return cell;
  });
}

/** The suite's verdict: every cell passes and the geometric mean of the cost ratios is within bounds. */
export interface SuiteVerdict {
  readonly cells: number;
  readonly passed: number;
  /** Failing cells that no reactive-bound variant passes either. */
  readonly beyondReactiveBound: number;
  readonly geomeanCostRatio: number;
  readonly pass: boolean;
}

export function verdict(cells: readonly SuiteCell[]): SuiteVerdict {
  const passed = cells.filter((c) => c.failures.length === 0).length;
  const geomean = Math.exp(cells.reduce((a, c) => a + Math.log(c.costRatio), 0) / Math.max(1, cells.length));
  const beyondReactiveBound = cells.filter((c) => c.reactiveBound === null).length;
  return { cells: cells.length, passed, beyondReactiveBound, geomeanCostRatio: geomean, pass: passed === cells.length && geomean <= MAX_GEOMEAN_COST_RATIO };
}

/** The scorecard's columns: ours, the baselines, our model on EKS (KEDA's translation; not judged), the bound. */
const POLICIES = ['ours', ...BASELINES, 'ours-keda', 'perfect-foresight'] as const;

function scorecardRows(cells: readonly SuiteCell[]): string[][] {
  return cells.map((c) => [
    c.shape, c.scale, c.source, c.compute,
    ...POLICIES.flatMap((p) => [c.summaries[p].waitP95.toFixed(0), c.summaries[p].workerMinutes.toFixed(0)]),
    (c.summaries.ours.waitP95 / Math.max(c.summaries['qpfs-defaults'].waitP95, 1e-9)).toFixed(2),
    c.costRatio.toFixed(2),
    c.waitBound.toFixed(0),
    resultText(c),
  ]);
}

/** Pass, or why not, with the reactive bound when it was tried. */
function resultText(c: SuiteCell): string {
  return c.failures.length === 0 ? 'pass' : `FAIL: ${c.failures.join('; ')}${reachNote(c)}`;
}

/** A failing cell's reactive bound, in words. */
function reachNote(c: SuiteCell): string {
  if (c.reactiveBound === undefined) return '';
  return c.reactiveBound === null ? ' (beyond the reactive bound)' : ` (the reactive bound passes: ${variantName(c.reactiveBound)})`;
}

function variantName(v: ReactiveBoundVariant): string {
  return `work / ${v.windowSeconds} s, held ${v.holdSeconds} s`;
}

const SHORT: Record<string, string> = { 'ours': 'ours', 'qpfs-defaults': 'qpfs', 'plain-steps': 'plain', 'keda': 'keda', 'ours-keda': 'ours-k8s', 'perfect-foresight': 'pf' };
const HEADER = ['shape', 'scale', 'source', 'compute', ...POLICIES.flatMap((p) => [`${SHORT[p]} p95`, `${SHORT[p]} w-min`]), 'p95/qpfs', 'w-min/pf', 'p95 bound', 'result'];

/** The scorecard as a text table (p95 in seconds) and its verdict line. */
export function formatScorecard(cells: readonly SuiteCell[]): string {
  const rows = [HEADER, ...scorecardRows(cells)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i < 4 || i === r.length - 1 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  const v = verdict(cells);
  const goals = [...new Set(cells.map((c) => c.latencyGoalSeconds))];
  const delays = [...new Set(cells.map((c) => c.publicationDelaySeconds))];
  const starts = [...new Set(cells.flatMap((c) => (c.fargateStartSeconds ? [`${c.fargateStartSeconds.min}-${c.fargateStartSeconds.max}`] : [])))];
  const estimates = [...new Set(cells.map((c) => c.taskTimeEstimate))];
  const prefetches = [...new Set(cells.map((c) => c.prefetchSeconds))];
  return [
    line(HEADER),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.slice(1).map(line),
    '',
    `verdict: ${v.pass ? 'PASS' : 'FAIL'}: ${v.passed}/${v.cells} cells pass; geometric mean of worker-minutes / perfect foresight ${v.geomeanCostRatio.toFixed(2)}x (at most ${MAX_GEOMEAN_COST_RATIO}x)`
      + (v.passed < v.cells ? `; ${v.beyondReactiveBound} of the ${v.cells - v.passed} failing cells are beyond the reactive bound` : '')
      + (goals.length === 1 && goals[0] !== DEFAULT_PARAMS.latencyGoalSeconds ? `; latency goal ${goals[0]} s` : '')
      + (delays.length === 1 && delays[0] !== undefined ? `; datapoints readable ${delays[0]} s after their period` : '')
      + (starts.length === 1 ? `; Fargate tasks start in ${starts[0]} s` : '')
      + (cells.some((c) => c.ec2WarmPool === false) ? '; EC2 fleets without the warm pool' : '')
      + (estimates.length === 1 && estimates[0] !== undefined ? `; targets from task times declared ${estimates[0]}x their mean` : '')
      + (prefetches.length === 1 && prefetches[0] !== undefined ? `; workers prefetch ${prefetches[0]} s ahead` : ''),
    ...bySource(cells),
  ].join('\n');
}

/**
 * With more than one metric source, each one's cells passing and geometric mean: a fleet deploys
 * one source (`ElasticAgentFleet`'s default is the publisher on Fargate and EC2).
 */
function bySource(cells: readonly SuiteCell[]): string[] {
  const sources = [...new Set(cells.map((c) => c.source))];
  if (sources.length < 2) return [];
  return [`by metric source: ${sources.map((source) => {
    const v = verdict(cells.filter((c) => c.source === source));
    return `${source} ${v.passed}/${v.cells} pass, ${v.geomeanCostRatio.toFixed(2)}x`;
  }).join('; ')}`];
}

/** The scorecard as CSV, one row per cell. */
export function scorecardToCsv(cells: readonly SuiteCell[]): string {
  const header = ['shape', 'scale', 'source', 'compute', ...POLICIES.flatMap((p) => [`${p}.waitP95`, `${p}.workerMinutes`]), 'waitP95VsQpfs', 'workerMinutesVsForesight', 'waitBound', 'pass', 'failures', 'reactiveBound'];
  const rows = cells.map((c) => [
    c.shape, c.scale, c.source, c.compute,
    ...POLICIES.flatMap((p) => [Number(c.summaries[p].waitP95.toFixed(3)), Number(c.summaries[p].workerMinutes.toFixed(3))]),
    Number((c.summaries.ours.waitP95 / Math.max(c.summaries['qpfs-defaults'].waitP95, 1e-9)).toFixed(4)),
    Number(c.costRatio.toFixed(4)),
    Number(c.waitBound.toFixed(3)),
    c.failures.length === 0,
    `"${c.failures.join('; ')}"`,
    c.reactiveBound === undefined ? '' : c.reactiveBound === null ? 'none' : `"${variantName(c.reactiveBound)}"`,
  ].join(','));
  return [header.join(','), ...rows].join('\n') + '\n';
}

/** Parses a comma-separated list of names, with one clear error for unknown ones. */
export function parseNames<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] | undefined {
  if (value === undefined) return undefined;
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((n) => !allowed.includes(n as T));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--${flag} must be a comma-separated list of ${allowed.join(', ')}; got "${value}"`);
  }
  return names as T[];
}
