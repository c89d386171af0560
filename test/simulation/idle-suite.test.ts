import { IDLE_SHAPE_NAMES, SUITE_NAMES, SUITE_SCALES, SUITE_SHAPE_NAMES, suiteTrace, type SuiteShapeName } from '../../lib/simulation/suite';

const sent = (shape: SuiteShapeName, scale: keyof typeof SUITE_SCALES) => suiteTrace(shape, SUITE_SCALES[scale], 1).points.reduce((n, p) => n + p.arrivals, 0);

describe('the idle suite: loads with idle gaps, for the scale-to-zero rule (`--suite idle`)', () => {
  test('a selection of its own, not part of the full suite', () => {
    expect(SUITE_NAMES.idle).toMatchObject({ shapes: IDLE_SHAPE_NAMES, scales: ['small', 'medium'] });
    expect(SUITE_NAMES.full.shapes).toEqual(SUITE_SHAPE_NAMES);
    expect(IDLE_SHAPE_NAMES.filter((s) => SUITE_SHAPE_NAMES.includes(s))).toEqual([]);
  });

  test('single messages come at their absolute rate whatever the fleet; runs of work send nothing between them', () => {
    // One message every 5 minutes for 4 hours: 48 expected (Poisson, sd 7), on 20 or 100 workers.
    for (const scale of ['small', 'medium'] as const) {
      expect(sent('sparse-5m', scale)).toBeGreaterThan(30);
      expect(sent('sparse-5m', scale)).toBeLessThan(66);
    }
    const cron = suiteTrace('cron-10m', SUITE_SCALES.small, 1).points;
    expect(cron.filter((p) => p.time % 600 >= 120).every((p) => p.arrivals === 0)).toBe(true);
    expect(cron.filter((p) => p.time % 600 < 120).every((p) => p.arrivals > 0)).toBe(true);
  });
});
