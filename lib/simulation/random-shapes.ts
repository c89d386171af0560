/**
 * Loads drawn from the run's seed (`--suite random`): shapes nobody chose, new on every seed, so
 * a default that only fits the named loads shows (docs/simulation.md, twenty-fifth round). Each
 * is a run of segments (holds and steps, ramps, waves, short spikes, idle gaps) at levels drawn
 * log-uniformly between 2 % and 80 % of the fleet's capacity, with optional per-minute noise,
 * periodic dumps and a task-time spread of its own.
 */
import { Random } from './random';

const MINUTE = 60;
const HOUR = 3600;

/** A drawn load, in the suite's terms (a fraction of the fleet's capacity per second). */
export interface RandomShape {
  readonly description: string;
  readonly durationSeconds: number;
  /** Coefficient of variation of the tasks' log-normal processing time (their mean is the scale's). */
  readonly taskCv: number;
  /** Amplitude of the multiplicative per-minute noise (0: none). */
  readonly noise: number;
  readonly dumps?: { readonly every: number; readonly capacitySeconds: number };
  /** The load before noise at `t`: a fraction of full capacity. */
  base(t: number): number;
}

/** One stretch of the load: from `start` for `seconds`, the level at `s` seconds into it. */
interface Segment {
  readonly start: number;
  readonly seconds: number;
  readonly text: string;
  level(s: number): number;
}

/** Segment kinds, idle gaps drawn half as often as each other kind. */
const KINDS = ['hold', 'hold', 'ramp', 'ramp', 'wave', 'wave', 'spike', 'spike', 'idle'] as const;
const TASK_CVS = [0.3, 0.5, 0.5, 1, 2];
const DUMP_EVERY_MINUTES = [10, 15, 20, 30];

const pct = (x: number) => `${x < 0.1 ? (x * 100).toFixed(1) : Math.round(x * 100)} %`;

/** The `index`th drawn load of a seed: a pure function of both. */
export function randomShape(index: number, seed: number): RandomShape {
  const rng = new Random(seed * 15_485_863 + index * 32_452_843);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng.next() * xs.length)];
  const minutes = (min: number, max: number) => MINUTE * Math.floor(rng.uniform(min, max + 1));
  const levelDraw = () => Math.exp(rng.uniform(Math.log(0.02), Math.log(0.8)));

  const durationSeconds = HOUR * Math.floor(rng.uniform(2, 5));
  const segments: Segment[] = [];
  let level = levelDraw();
  for (let start = 0; start < durationSeconds;) {
    const from = level;
    const kind = pick(KINDS);
    let segment: Omit<Segment, 'start'>;
    if (kind === 'hold') {
      const to = (level = levelDraw());
      const seconds = minutes(10, 40);
      segment = { seconds, text: `${pct(to)} for ${seconds / MINUTE} min`, level: () => to };
    } else if (kind === 'ramp') {
      const to = (level = levelDraw());
      const seconds = minutes(10, 40);
      segment = { seconds, text: `a ramp to ${pct(to)} over ${seconds / MINUTE} min`, level: (s) => from + ((to - from) * s) / seconds };
    } else if (kind === 'wave') {
      const seconds = minutes(20, 60);
      const amplitude = rng.uniform(0.3, 0.9) * from;
      const period = minutes(10, 60);
      segment = {
        seconds,
        text: `${pct(from)} ± ${pct(amplitude)} (a ${period / MINUTE}-min period) for ${seconds / MINUTE} min`,
        level: (s) => from + amplitude * Math.sin((2 * Math.PI * s) / period),
      };
    } else if (kind === 'spike') {
      const peak = rng.uniform(0.6, 1.2);
      const seconds = minutes(1, 5);
      segment = { seconds, text: `a ${seconds / MINUTE}-min spike to ${pct(peak)}`, level: () => peak };
    } else {
      const seconds = minutes(5, 30);
      segment = { seconds, text: `idle for ${seconds / MINUTE} min`, level: () => 0 };
    }
    segments.push({ ...segment, start });
    start += segment.seconds;
  }

  const taskCv = pick(TASK_CVS);
  const noise = rng.next() < 0.5 ? 0 : rng.uniform(0.1, 0.6);
  const dumps = rng.next() < 0.25 ? { every: MINUTE * pick(DUMP_EVERY_MINUTES), capacitySeconds: Math.round(rng.uniform(15, 60)) } : undefined;
  const description = [
    `${durationSeconds / HOUR} h from ${pct(segments[0].level(0))}: ${segments.map((s) => s.text).join(', ')}`,
    ...(noise > 0 ? [`±${pct(noise)} noise per minute`] : []),
    ...(dumps ? [`a dump of ${dumps.capacitySeconds} s of full capacity every ${dumps.every / MINUTE} min`] : []),
    `task times' cv ${taskCv}`,
  ].join('; ');
  return {
    description, durationSeconds, taskCv, noise, dumps,
    base: (t) => {
      let i = 0;
      while (i + 1 < segments.length && segments[i + 1].start <= t) i++;
      return Math.max(0, segments[i].level(t - segments[i].start));
    },
  };
}
