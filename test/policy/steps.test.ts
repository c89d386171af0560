import { AdjustmentType, applyAdjustment, describeSteps, findStep, validateSteps } from '../../lib/policy/steps';
import { defaultBurstSteps } from '../../lib/policy/scaling-policy';

describe('findStep: bounds relative to the threshold, lower inclusive, upper exclusive', () => {
  const steps = [{ lower: 0, upper: 50, change: 1 }, { lower: 50, upper: 200, change: 2 }, { lower: 200, change: 3 }];

  test.each([
    [0, 1], [49.9, 1], [50, 2], [199, 2], [200, 3], [10_000, 3],
  ])('excess %p -> +%p', (metric, change) => {
    expect(findStep(steps, 0, metric)?.change).toBe(change);
  });

  test('below every step: none applies', () => {
    expect(findStep(steps, 0, -1)).toBeUndefined();
  });

  test('the threshold shifts the bounds', () => {
    expect(findStep(steps, 100, 149)?.change).toBe(1);
    expect(findStep(steps, 100, 150)?.change).toBe(2);
  });
});

describe('applyAdjustment', () => {
  const bounds = { min: 0, max: 20 };

  test('change in capacity adds and clamps', () => {
    expect(applyAdjustment(3, 2, AdjustmentType.CHANGE_IN_CAPACITY, bounds)).toBe(5);
    expect(applyAdjustment(19, 3, AdjustmentType.CHANGE_IN_CAPACITY, bounds)).toBe(20);
    expect(applyAdjustment(1, -3, AdjustmentType.CHANGE_IN_CAPACITY, bounds)).toBe(0);
  });

  test('exact capacity sets, clamped', () => {
    expect(applyAdjustment(7, 0, AdjustmentType.EXACT_CAPACITY, bounds)).toBe(0);
    expect(applyAdjustment(7, 0, AdjustmentType.EXACT_CAPACITY, { min: 1, max: 20 })).toBe(1);
  });

  test('percentages truncate toward zero but move at least minAdjustmentMagnitude', () => {
    expect(applyAdjustment(10, 25, AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, bounds)).toBe(12); // 2.5 -> 2
    expect(applyAdjustment(10, -25, AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, bounds)).toBe(8); // -2.5 -> -2
    expect(applyAdjustment(2, 10, AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, bounds)).toBe(2); // 0.2 -> 0
    expect(applyAdjustment(2, 10, AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, { ...bounds, minAdjustmentMagnitude: 1 })).toBe(3);
    expect(applyAdjustment(0, 50, AdjustmentType.PERCENT_CHANGE_IN_CAPACITY, { ...bounds, minAdjustmentMagnitude: 1 })).toBe(1);
  });
});

describe('validateSteps', () => {
  test('the defaults are valid', () => {
    expect(validateSteps('burstSteps', defaultBurstSteps(20, 5))).toEqual([]);
  });

  test('no steps', () => {
    expect(validateSteps('s', [])).toEqual([{ prop: 's', allowed: '1-20 steps', value: '0 steps' }]);
  });

  test('more than 20 steps', () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ lower: i, upper: i + 1, change: 1 }));
    expect(validateSteps('s', many)).toEqual([{ prop: 's', allowed: '1-20 steps', value: '21 steps' }]);
  });

  test('a change that is not a finite number', () => {
    expect(validateSteps('s', [{ lower: 0, change: Number.NaN }])).toEqual([{ prop: 's[0].change', allowed: 'a finite number', value: 'NaN' }]);
  });

  test('upper not above lower', () => {
    expect(validateSteps('s', [{ lower: 5, upper: 5, change: 1 }])).toEqual([{ prop: 's[0].upper', allowed: '> lower (5)', value: '5' }]);
  });

  test('a gap or an overlap between steps', () => {
    expect(validateSteps('s', [{ lower: 0, upper: 10, change: 1 }, { lower: 12, change: 2 }])).toEqual([
      { prop: 's[1].lower', allowed: 'equal to s[0].upper (10), so steps increase without gap or overlap', value: '12' },
    ]);
    expect(validateSteps('s', [{ lower: 0, change: 1 }, { lower: 5, change: 2 }])[0].allowed).toContain('(unbounded)');
  });

  test('describeSteps renders open ends', () => {
    expect(describeSteps([{ upper: 0, change: -1 }, { lower: 0, change: 2 }])).toBe('[-inf, 0) -1, [0, +inf) +2');
  });
});
