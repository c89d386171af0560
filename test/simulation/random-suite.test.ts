import { randomShape } from '../../lib/simulation/random-shapes';
import { RANDOM_SHAPE_NAMES, runSuite, SUITE_NAMES, suiteShape, suiteTrace, SCALES } from '../../lib/simulation/suite';

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8];

describe('the random suite: loads drawn from the seed (`--suite random`)', () => {
  test('a drawn load is a pure function of its index and the seed, and another seed draws another', () => {
    expect(randomShape(3, 7).description).toBe(randomShape(3, 7).description);
    expect(suiteTrace('random-3', SCALES.mid, 7)).toEqual(suiteTrace('random-3', SCALES.mid, 7));
    const descriptions = SEEDS.flatMap((seed) => RANDOM_SHAPE_NAMES.map((name) => suiteShape(name, seed).description));
    expect(new Set(descriptions).size).toBe(descriptions.length);
  });

  test('each load lasts 2-4 h, stays between idle and 120 % of capacity, and its description says what it holds', () => {
    for (const seed of SEEDS) {
      for (let index = 1; index <= RANDOM_SHAPE_NAMES.length; index++) {
        const shape = randomShape(index, seed);
        expect([7200, 10800, 14400]).toContain(shape.durationSeconds);
        const levels = Array.from({ length: shape.durationSeconds / 10 }, (_, i) => shape.base(i * 10));
        expect(Math.min(...levels)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...levels)).toBeLessThanOrEqual(1.2);
        expect(shape.description).toMatch(/^\d h from [\d.]+ %: .+; task times' cv [\d.]+$/);
        expect(shape.noise).toBeLessThanOrEqual(0.6);
      }
    }
  });

  test('the draws vary what the named suites hold fixed: idle gaps, spikes, noise, dumps and the tasks\' spread', () => {
    const shapes = SEEDS.flatMap((seed) => RANDOM_SHAPE_NAMES.map((_, i) => randomShape(i + 1, seed)));
    for (const part of ['idle for', 'spike to', 'a ramp to', '(a ', 'noise per minute', 'a dump of']) {
      expect(shapes.filter((s) => s.description.includes(part)).length).toBeGreaterThan(4);
    }
    expect(new Set(shapes.map((s) => s.taskCv)).size).toBeGreaterThan(3);
  });

  test('the trace follows the drawn load: arrivals scale with the fleet\'s capacity and pause in its idle gaps', () => {
    // The first drawn load with an idle gap and neither noise nor dumps, whose mean the arrivals follow.
    const drawn = SEEDS.flatMap((seed) => RANDOM_SHAPE_NAMES.map((name, i) => ({ seed, name, shape: randomShape(i + 1, seed) })))
      .find(({ shape }) => shape.description.includes('idle for') && shape.noise === 0 && !shape.dumps);
    expect(drawn).toBeDefined();
    const { seed, name, shape } = drawn!;
    const { maxWorkers, concurrency, taskSeconds } = SCALES.medium;
    const capacity = (maxWorkers * concurrency) / taskSeconds;
    const trace = suiteTrace(name, SCALES.medium, seed);
    const expected = trace.points.reduce((a, p) => a + shape.base(p.time + 5) * capacity * 10, 0);
    expect(trace.points.reduce((a, p) => a + p.arrivals, 0) / expected).toBeCloseTo(1, 1);
    const idle = trace.points.filter((p) => shape.base(p.time) === 0 && shape.base(p.time + 9.9) === 0);
    expect(idle.length).toBeGreaterThan(30);
    expect(idle.filter((p) => p.arrivals > 0)).toEqual([]);
  });

  test('a selection of its own: six drawn loads on the full and held-out suites\' five fleets', () => {
    expect(SUITE_NAMES.random).toMatchObject({ shapes: RANDOM_SHAPE_NAMES, scales: ['tiny', 'small', 'mid', 'medium', 'large'] });
  });

  test('with the publisher\'s metrics, every load seed 1 draws passes on 5 and 20 Fargate workers', () => {
    const cells = runSuite({ ...SUITE_NAMES.random, scales: ['tiny', 'small'], sources: ['publisher'], computes: ['fargate'] });
    expect(cells).toHaveLength(12);
    expect(cells.filter((c) => c.failures.length > 0).map((c) => `${c.shape} ${c.scale}: ${c.failures.join('; ')}`)).toEqual([]);
  });
});
