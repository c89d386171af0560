/**
 * Load: a trace of arrival counts over time (from a CSV, or a built-in scenario), and the
 * messages it turns into. Every policy of a comparison is run on the same messages.
 */
import type { ProcessingTimeParams, SimulationParams } from './params';
import { Random } from './random';

/** `arrivals` messages are sent during [time, next row's time), seconds from the start. */
export interface TracePoint {
  readonly time: number;
  readonly arrivals: number;
}

export interface Trace {
  readonly name: string;
  readonly description: string;
  readonly points: readonly TracePoint[];
  /** End of the last interval. */
  readonly durationSeconds: number;
}

/**
 * Parses `time,arrivals` rows (seconds, count; a header row and blank lines are allowed). Each
 * row's interval ends at the next row's time; the last one is as long as the one before it
 * (60 s when there is a single row).
 */
export function parseTraceCsv(text: string, name = 'trace'): Trace {
  const points: TracePoint[] = [];
  const errors: string[] = [];
  let firstRow = true;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const cells = line.split(',').map((c) => c.trim());
    const time = Number(cells[0]);
    const arrivals = Number(cells[1]);
    // Only the first row may be a header: a later row that is not numbers is an error, not skipped.
    const header = firstRow && (Number.isNaN(time) || Number.isNaN(arrivals));
    firstRow = false;
    if (header) return;
    if (cells.length < 2 || !Number.isFinite(time) || time < 0 || !Number.isInteger(arrivals) || arrivals < 0) {
      errors.push(`line ${i + 1}: expected "time,arrivals" with time >= 0 seconds and a whole arrival count >= 0, got "${line}"`);
    } else if (points.length > 0 && time <= points[points.length - 1].time) {
      errors.push(`line ${i + 1}: time ${time} must be after the previous row's ${points[points.length - 1].time}`);
    } else {
      points.push({ time, arrivals });
    }
  });
  if (points.length === 0 && errors.length === 0) errors.push('no rows of "time,arrivals"');
  if (errors.length > 0) throw new Error(`${name}: invalid trace:\n  ${errors.join('\n  ')}`);
  const last = points.length > 1 ? points[points.length - 1].time - points[points.length - 2].time : 60;
  return { name, description: `CSV trace, ${points.length} rows`, points, durationSeconds: points[points.length - 1].time + last };
}

/** Renders a trace as CSV (inverse of `parseTraceCsv`). */
export function traceToCsv(trace: Trace): string {
  return ['time,arrivals', ...trace.points.map((p) => `${p.time},${p.arrivals}`)].join('\n') + '\n';
}

export type ScenarioName = 'steady' | 'daily-wave' | 'viral-burst' | 'spiky';
export const SCENARIO_NAMES: readonly ScenarioName[] = ['steady', 'daily-wave', 'viral-burst', 'spiky'];

export interface ScenarioOptions {
  /** Baseline arrival rate, messages per second. */
  readonly baseRatePerSecond: number;
  readonly seed: number;
}

/**
 * 0.08 msg/s of 6 s tasks keeps half a worker busy; the viral burst's 30x (2.4 msg/s) needs about
 * 15 of the example fleet's 20 workers, leaving room to clear a backlog.
 */
export const DEFAULT_BASE_RATE = 0.08;

interface ScenarioShape {
  readonly description: string;
  readonly durationSeconds: number;
  rate(t: number, base: number, spikes: readonly number[]): number;
}

const MINUTE = 60;
const HOUR = 3600;

/** Viral burst: one hour at the base rate, a 2-minute ramp to 30x, 20 minutes at 30x, then decay (time constant 15 min). */
const VIRAL = { start: HOUR, ramp: 2 * MINUTE, hold: 20 * MINUTE, decay: 15 * MINUTE, factor: 30 };

const SHAPES: Record<ScenarioName, ScenarioShape> = {
  'steady': {
    description: '2 h at a constant 10x the base rate',
    durationSeconds: 2 * HOUR,
    rate: (_t, base) => 10 * base,
  },
  'daily-wave': {
    description: '24 h: a daily wave from the base rate at midnight to 15x at noon',
    durationSeconds: 24 * HOUR,
    rate: (t, base) => base * (1 + 14 * (1 - Math.cos((2 * Math.PI * t) / (24 * HOUR))) / 2),
  },
  'viral-burst': {
    description: '3 h: base rate, then at 1 h a 2-min ramp to 30x, held 20 min, decaying back (time constant 15 min)',
    durationSeconds: 3 * HOUR,
    rate: (t, base) => {
      const s = t - VIRAL.start;
      if (s < 0) return base;
      const peak = VIRAL.factor * base;
      if (s < VIRAL.ramp) return base + ((peak - base) * s) / VIRAL.ramp;
      if (s < VIRAL.ramp + VIRAL.hold) return peak;
      return base + (peak - base) * Math.exp(-(s - VIRAL.ramp - VIRAL.hold) / VIRAL.decay);
    },
  },
  'spiky': {
    description: '2 h at 3x the base rate with eight 2-minute spikes to 20x at seeded random times',
    durationSeconds: 2 * HOUR,
    rate: (t, base, spikes) => (spikes.some((s) => t >= s && t < s + 2 * MINUTE) ? 20 * base : 3 * base),
  },
};

/** A built-in scenario as a trace of per-minute Poisson counts (seeded). */
export function scenarioTrace(name: ScenarioName, options: ScenarioOptions): Trace {
  const shape = SHAPES[name];
  if (!shape) throw new Error(`unknown scenario "${String(name)}"; one of ${SCENARIO_NAMES.join(', ')}`);
  const rng = new Random(options.seed * 7919 + 17);
  const spikes = name === 'spiky' ? Array.from({ length: 8 }, () => Math.floor(rng.uniform(5, 115)) * MINUTE).sort((a, b) => a - b) : [];
  const points: TracePoint[] = [];
  for (let t = 0; t < shape.durationSeconds; t += MINUTE) {
    // Mean of the minute from its midpoint: close enough for shapes that change over minutes.
    const mean = shape.rate(t + MINUTE / 2, options.baseRatePerSecond, spikes) * MINUTE;
    points.push({ time: t, arrivals: rng.poisson(mean) });
  }
  return { name, description: shape.description, points, durationSeconds: shape.durationSeconds };
}

/** All messages of a run, by index, in order of arrival. */
export interface Messages {
  readonly count: number;
  /** When the producer sent it (s). */
  readonly sentAt: Float64Array;
  /** When it became receivable (s): `sentAt`, or later when sent with a delay. */
  readonly visibleAt: Float64Array;
  /** How long its processing takes (s). */
  readonly processingSeconds: Float64Array;
}

/** Draws one processing time. */
export function sampleProcessingTime(p: ProcessingTimeParams, rng: Random): number {
  switch (p.distribution) {
    case 'constant': return p.meanSeconds;
    case 'exponential': return rng.exponential(p.meanSeconds);
    case 'uniform': return rng.uniform(p.meanSeconds * (1 - p.cv), p.meanSeconds * (1 + p.cv));
    default: return p.cv === 0 ? p.meanSeconds : rng.lognormal(p.meanSeconds, p.cv);
  }
}

/**
 * Turns a trace into messages: each row's arrivals at seeded uniform times within its
 * interval (exact counts are kept), each with a sampled processing time and, for
 * `delayedFraction` of them, `delaySeconds` in the delayed state.
 */
export function materialize(trace: Trace, params: SimulationParams): Messages {
  const total = trace.points.reduce((n, p) => n + p.arrivals, 0);
  const sentAt = new Float64Array(total);
  const visibleAt = new Float64Array(total);
  const processingSeconds = new Float64Array(total);
  const arrivalRng = new Random(params.seed);
  const serviceRng = new Random(params.seed + 1_000_003);
  let i = 0;
  trace.points.forEach((p, k) => {
    const end = k + 1 < trace.points.length ? trace.points[k + 1].time : trace.durationSeconds;
    const times = Array.from({ length: p.arrivals }, () => arrivalRng.uniform(p.time, end)).sort((a, b) => a - b);
    for (const t of times) {
      sentAt[i] = t;
      const delayed = params.delayedFraction > 0 && arrivalRng.next() < params.delayedFraction;
      visibleAt[i] = delayed ? t + params.delaySeconds : t;
      processingSeconds[i] = sampleProcessingTime(params.worker.processingTime, serviceRng);
      i++;
    }
  });
  return { count: total, sentAt, visibleAt, processingSeconds };
}
