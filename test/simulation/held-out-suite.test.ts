import {
  HELD_OUT_SCALES, HELD_OUT_SHAPE_NAMES, IDLE_SHAPE_NAMES, runSuite, SCALES, SUITE_NAMES, SUITE_SCALE_NAMES, SUITE_SHAPE_NAMES, suiteTrace,
  type SuiteShapeName,
} from '../../lib/simulation/suite';

/** Arrivals of a held-out load on the 50-worker fleet, per minute, and that fleet's capacity per minute. */
function perMinute(shape: SuiteShapeName): { arrivals: number[]; capacity: number } {
  const arrivals: number[] = [];
  for (const p of suiteTrace(shape, HELD_OUT_SCALES.mid, 1).points) {
    const minute = Math.floor(p.time / 60);
    arrivals[minute] = (arrivals[minute] ?? 0) + p.arrivals;
  }
  const { maxWorkers, concurrency, taskSeconds } = HELD_OUT_SCALES.mid;
  return { arrivals, capacity: (maxWorkers * concurrency * 60) / taskSeconds };
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('the held-out suite: loads and fleets no default was chosen on (`--suite held-out`)', () => {
  test('a selection of its own: shapes outside the full and idle suites, fleets outside the full suite', () => {
    expect(SUITE_NAMES['held-out']).toMatchObject({ shapes: HELD_OUT_SHAPE_NAMES, scales: ['tiny', 'mid'] });
    expect(HELD_OUT_SHAPE_NAMES.filter((s) => SUITE_SHAPE_NAMES.includes(s) || IDLE_SHAPE_NAMES.includes(s))).toEqual([]);
    expect(Object.keys(HELD_OUT_SCALES).filter((s) => (SUITE_SCALE_NAMES as string[]).includes(s))).toEqual([]);
    expect(SCALES.huge).toEqual({ maxWorkers: 2000, concurrency: 16, taskSeconds: 60 });
  });

  test('the loads are what their descriptions say', () => {
    const square = perMinute('square-wave');
    // 5 % for the first 20 minutes, 70 % for the next 20: about 14 times as many messages.
    expect(sum(square.arrivals.slice(20, 40)) / sum(square.arrivals.slice(0, 20))).toBeGreaterThan(10);
    const flash = perMinute('flash-crowd');
    // Doubling every 5 minutes until it reaches capacity (about 33 minutes in), then 1 % from 45 minutes on.
    expect(sum(flash.arrivals.slice(10, 15)) / sum(flash.arrivals.slice(5, 10))).toBeGreaterThan(1.6);
    expect(sum(flash.arrivals.slice(35, 45)) / (10 * flash.capacity)).toBeCloseTo(1, 1);
    expect(sum(flash.arrivals.slice(50, 120)) / (70 * flash.capacity)).toBeLessThan(0.02);
    const overload = perMinute('overload');
    expect(sum(overload.arrivals.slice(30, 60)) / (30 * overload.capacity)).toBeGreaterThan(1.25);
  });

  test('with the publisher\'s metrics, every held-out load with work passes on 5 Fargate workers (seed 1); the trickle fails on cost only', () => {
    const cells = runSuite({ ...SUITE_NAMES['held-out'], scales: ['tiny'], sources: ['publisher'], computes: ['fargate'] });
    expect(cells.filter((c) => c.shape !== 'trickle' && c.failures.length > 0).map((c) => `${c.shape} ${c.scale}: ${c.failures.join('; ')}`)).toEqual([]);
    // Each message of the trickle (one every 17 minutes) starts a worker that the idle rule keeps for 10 minutes.
    const trickle = cells.filter((c) => c.shape === 'trickle' && c.failures.length > 0);
    expect(trickle.map((c) => c.failures.every((f) => f.startsWith('cost')))).toEqual([true]);
  });
});
