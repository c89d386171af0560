import { resolveConfig } from '../../lib/simulation/config';
import { Random } from '../../lib/simulation/random';
import { materialize, parseTraceCsv, scenarioTrace, traceToCsv } from '../../lib/simulation/trace';

describe('traces', () => {
  test('CSV: header optional, each row lasts until the next, the last as long as the one before', () => {
    const t = parseTraceCsv('time,arrivals\n0,5\n60,0\n\n120,3\n', 'mine');
    expect(t).toMatchObject({ name: 'mine', durationSeconds: 180, points: [{ time: 0, arrivals: 5 }, { time: 60, arrivals: 0 }, { time: 120, arrivals: 3 }] });
    expect(parseTraceCsv(traceToCsv(t), 'mine').points).toEqual(t.points);
  });

  test('CSV errors name the line', () => {
    expect(() => parseTraceCsv('0,5\n30,-1\n0,1\n')).toThrow(/line 2: expected "time,arrivals"[\s\S]*line 3: time 0 must be after the previous row's 0/);
    expect(() => parseTraceCsv('time,arrivals\n')).toThrow(/no rows/);
    // Only the first row may be a header: a later row that is not numbers is not skipped.
    expect(() => parseTraceCsv('time,arrivals\n0,abc\n60,5\n')).toThrow(/line 2: expected "time,arrivals" .*got "0,abc"/);
    expect(parseTraceCsv('# a load\ntime,arrivals\n0,5\n').points).toEqual([{ time: 0, arrivals: 5 }]);
  });

  test('materialize keeps exact counts inside each interval, in order, with seeded processing times', () => {
    const config = resolveConfig({ worker: { processingTime: { distribution: 'lognormal', meanSeconds: 6, cv: 0.5 } } });
    const m = materialize(parseTraceCsv('0,100\n60,50\n'), config.params);
    expect(m.count).toBe(150);
    const first = Array.from(m.sentAt.slice(0, 100));
    expect(first.every((t) => t >= 0 && t < 60)).toBe(true);
    expect(Array.from(m.sentAt.slice(100)).every((t) => t >= 60 && t < 120)).toBe(true);
    expect(first).toEqual([...first].sort((a, b) => a - b));
    const mean = m.processingSeconds.reduce((a, b) => a + b, 0) / m.count;
    expect(mean).toBeGreaterThan(4.5);
    expect(mean).toBeLessThan(7.5);
    expect(materialize(parseTraceCsv('0,100\n60,50\n'), config.params)).toEqual(m);
  });

  test('the viral burst reaches 30x its base rate', () => {
    const t = scenarioTrace('viral-burst', { baseRatePerSecond: 1, seed: 1 });
    const before = t.points.filter((p) => p.time < 3600).reduce((n, p) => n + p.arrivals, 0) / 60;
    const peak = t.points.filter((p) => p.time >= 3720 && p.time < 4800).reduce((n, p) => n + p.arrivals, 0) / 18;
    expect(peak / before).toBeGreaterThan(27);
    expect(peak / before).toBeLessThan(33);
  });
});

describe('Random', () => {
  test('seeded: same sequence for the same seed', () => {
    const a = new Random(42);
    const b = new Random(42);
    expect(Array.from({ length: 5 }, () => a.next())).toEqual(Array.from({ length: 5 }, () => b.next()));
  });

  test('poisson and exponential means', () => {
    const r = new Random(7);
    const n = 20_000;
    let p = 0;
    let e = 0;
    for (let i = 0; i < n; i++) {
      p += r.poisson(3);
      e += r.exponential(2);
    }
    expect(p / n).toBeCloseTo(3, 1);
    expect(e / n).toBeCloseTo(2, 1);
  });
});

describe('config', () => {
  test('EC2 compute gets the EC2 start-up delays; unknown keys and bad values are listed together', () => {
    expect(resolveConfig({ worker: { compute: 'ec2' } }).params.worker.startupSeconds).toEqual({ min: 60, max: 180 });
    expect(() => resolveConfig({ bogus: 1, worker: { concurrency: 0 }, latencyGoalSeconds: -1 } as never)).toThrow(
      /unknown key "bogus"[\s\S]*worker\.concurrency must be an integer 1-1000, got 0[\s\S]*latencyGoalSeconds must be > 0, got -1/,
    );
    // The fleet's problems, as the construct states them, in the same error.
    expect(() => resolveConfig({ bogus: 1, fleet: { maxWorkers: -3 } } as never)).toThrow(
      'invalid simulation config:\n  unknown key "bogus" (allowed: fleet, worker, cloudWatch, seed, latencyGoalSeconds, tailSeconds, delayedFraction, delaySeconds, fixedFleets)\n'
      + '  fleet.maxWorkers must be an integer 1-10000, got -3\n  fleet.minWorkers must be <= maxWorkers (-3), got 0',
    );
  });

  test.each([-1, 2 ** 32, 1.5])('seed %p, which the 32-bit random source would alias or round, is an error', (seed) => {
    expect(() => resolveConfig({ seed })).toThrow(`seed must be an integer 0-4294967295, got ${seed}`);
  });
});
