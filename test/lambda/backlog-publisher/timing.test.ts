import { cycleOffsetsMs, decideCycle, DEFAULT_TIMING, gridTimestampMs, planCycles } from '../../../lambda/backlog-publisher/timing';

describe('cycleOffsetsMs', () => {
  test('covers the scheduled minute once per period', () => {
    expect(cycleOffsetsMs(10)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(cycleOffsetsMs(30)).toEqual([0, 30_000]);
    expect(cycleOffsetsMs(60)).toEqual([0]);
  });
});

describe('planCycles', () => {
  test('all six 10 s cycles fit in a 70 s timeout, and in a 60 s one', () => {
    expect(planCycles(10, 70_000)).toHaveLength(6);
    expect(planCycles(10, 60_000)).toHaveLength(6);
  });

  test('a short timeout drops the cycles that could not end before it', () => {
    // 30 s: the cycle at 30 s would start with no time left; the one at 20 s has 10 s - margin.
    expect(planCycles(10, 30_000)).toEqual([0, 10_000, 20_000]);
    // A cycle needs minCycleMs plus the safety margin.
    const least = DEFAULT_TIMING.minCycleMs + DEFAULT_TIMING.safetyMarginMs;
    expect(planCycles(10, 20_000 + least)).toEqual([0, 10_000, 20_000]);
    expect(planCycles(10, 20_000 + least - 1)).toEqual([0, 10_000]);
  });

  test('no time at all: no cycle', () => {
    expect(planCycles(10, 500)).toEqual([]);
  });
});

describe('decideCycle', () => {
  test('gives whole milliseconds from a fractional clock (AbortSignal.timeout takes integers only)', () => {
    const decision = decideCycle(0, 1.5, 10, 60_000.25);
    expect(decision.run).toBe(true);
    if (decision.run) {
      expect(Number.isInteger(decision.readMs)).toBe(true);
      expect(Number.isInteger(decision.totalMs)).toBe(true);
      expect(() => AbortSignal.timeout(decision.readMs)).not.toThrow();
    }
  });

  test('on time, the cycle may use its period; reads leave time for the put', () => {
    expect(decideCycle(10_000, 10_000, 10, 50_000)).toEqual({ run: true, totalMs: 10_000, readMs: 8_000 });
  });

  test('its calls are cut at the next cycle\'s start', () => {
    expect(decideCycle(10_000, 13_000, 10, 50_000)).toEqual({ run: true, totalMs: 7_000, readMs: 5_000 });
  });

  test('its calls end a safety margin before the timeout', () => {
    expect(decideCycle(50_000, 50_000, 10, 6_000)).toEqual({ run: true, totalMs: 5_000, readMs: 3_000 });
  });

  test('a short budget is shared: at most half goes to the put reserve', () => {
    expect(decideCycle(0, 0, 10, 4_000)).toEqual({ run: true, totalMs: 3_000, readMs: 1_500 });
  });

  test('too close to the timeout: stop', () => {
    expect(decideCycle(0, 0, 10, 2_999)).toEqual({ run: false, reason: 'timeout' });
  });

  test('past its slot: skip it, the next may still run', () => {
    expect(decideCycle(10_000, 18_500, 10, 40_000)).toEqual({ run: false, reason: 'late' });
  });

  test('a 60 s period gets the whole minute', () => {
    expect(decideCycle(0, 0, 60, 70_000)).toEqual({ run: true, totalMs: 60_000, readMs: 58_000 });
  });
});

describe('gridTimestampMs: datapoints stamped on a fixed grid, not with the wall clock', () => {
  const minute = Date.UTC(2026, 0, 1, 12, 0, 0);

  test('each cycle gets its own 10 s bucket of the scheduled minute, even when it runs late or the invocation starts late', () => {
    // The invocation starts 0.8 s into its minute; cycles planned every 10 s.
    const start = minute + 800;
    expect(cycleOffsetsMs(10).map((o) => gridTimestampMs(start, o, 10) - minute)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
    // Started 9.5 s late: the wall clock would stamp cycle k at 9.5 + 10k s, and a slow cycle in the next bucket.
    expect(cycleOffsetsMs(10).map((o) => gridTimestampMs(minute + 9_500, o, 10) - minute)).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000]);
  });

  test('30 and 60 s periods', () => {
    expect(cycleOffsetsMs(30).map((o) => gridTimestampMs(minute + 2_000, o, 30) - minute)).toEqual([0, 30_000]);
    expect(gridTimestampMs(minute + 59_000, 0, 60)).toBe(minute);
  });
});
