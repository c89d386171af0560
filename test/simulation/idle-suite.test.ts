import { compare } from '../../lib/simulation/compare';
import { oursPolicy } from '../../lib/simulation/policies';
import { cellInputs, IDLE_SHAPE_NAMES, SUITE_NAMES, SUITE_SCALES, SUITE_SHAPE_NAMES, suiteTrace, type SuiteShapeName } from '../../lib/simulation/suite';
import { DEFAULTS } from '../../lib/policy/scaling-policy';

const sent = (shape: SuiteShapeName, scale: keyof typeof SUITE_SCALES) => suiteTrace(shape, SUITE_SCALES[scale], 1).points.reduce((n, p) => n + p.arrivals, 0);

/** Ours' paid workers, minute by minute, on an idle-suite load (20 workers, publisher, Fargate). */
function workersPerMinute(shape: SuiteShapeName): number[] {
  const { config, trace, messages, start } = cellInputs({ shape, scale: 'small', source: 'publisher', compute: 'fargate' }, { seed: 1 });
  const ours = oursPolicy(config.fleet, config.params, start);
  return compare(trace, config, { policies: [ours], messages }).runs[0].timeline.map((m) => m.workers);
}

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

  test('the idle rule keeps the fleet through an 8-minute gap and takes it to 0 in a 25-minute one', () => {
    expect(DEFAULTS.scaleToZeroAfterSeconds).toBe(600);
    // Between the first run's end (minute 2) and the last run's start (minute 170): never 0.
    expect(Math.min(...workersPerMinute('cron-10m').slice(3, 170))).toBeGreaterThanOrEqual(1);
    // Each 25-minute gap of cron-30m ends with the fleet at 0 (10 min idle, then the alarm's lag).
    const every30 = workersPerMinute('cron-30m');
    for (const gapEnd of [29, 59, 89, 119]) expect(every30[gapEnd]).toBe(0);
  });
});
