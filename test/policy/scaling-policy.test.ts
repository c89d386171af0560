import {
  buildScalingModel, BURST_LOWER_BOUND_MAX_PERIOD_SECONDS, defaultBurstSteps, defaultScaleInSteps, trimSteps, defaultScaleOutCooldownSeconds, defaultScaleInCooldownSeconds, DEFAULTS, growthHorizonSeconds, HELD_BACKLOG_RATIO, keepCapacities, keepSteps, periodsFor,
  scaleInActionsPerCount, signalParams, surgePolicy, validateScalingModel, AWS_SCALING_FACTS,
  type BacklogScalingInput, type BacklogScalingModel,
} from '../../lib/policy/scaling-policy';
import { KEEP_HEADROOM } from '../../lib/policy/signals';
import { AdjustmentType, findStep, MAX_STEPS, validateSteps } from '../../lib/policy/steps';
import { formatViolations } from '../../lib/policy/violation';
import { utilizationSignals } from '../../lib/policy/utilization';

const input: BacklogScalingInput = { minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10 };

/** The message a construct would throw for a model changed by `patch`. */
function messageFor(patch: (m: BacklogScalingModel) => BacklogScalingModel): string {
  return formatViolations('Stack/Agents/Scaling', validateScalingModel(patch(buildScalingModel(input))));
}

describe('buildScalingModel', () => {
  test('defaults: one-minute datapoints, burst and scale-in steps, scale to zero with minWorkers 0', () => {
    const model = buildScalingModel(input);
    expect(model.metricPeriodSeconds).toBe(60);
    expect(model.targetTracking).toEqual({ scaleOutCooldownSeconds: 120, disableScaleIn: true });
    expect(model.heldBacklogPerWorker).toBe(10 * HELD_BACKLOG_RATIO);
    expect(model.inputsArriveTogether).toBe(false);
    expect(model.burst).toMatchObject({ threshold: 0, evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: defaultBurstSteps(20, 5) });
    expect(model.concurrency).toBe(1);
    expect(model.scaleIn).toMatchObject({ threshold: 1, evaluationPeriods: 2, steps: defaultScaleInSteps(20), cooldownSeconds: 180 });
    expect(model.scaleToZero).toMatchObject({ idleSeconds: DEFAULTS.scaleToZeroAfterSeconds, threshold: 0, evaluationPeriods: 10, adjustmentType: AdjustmentType.EXACT_CAPACITY });
    expect(validateScalingModel(model)).toEqual([]);
  });

  test('no scale to zero when minWorkers > 0; choices override defaults', () => {
    const model = buildScalingModel({ ...input, minWorkers: 2, concurrency: 8, metricPeriodSeconds: 10, scaleOutCooldownSeconds: 30, scaleInCooldownSeconds: 90, scaleInEvaluationPeriods: 4 });
    expect(model.scaleToZero).toBeUndefined();
    expect(model.concurrency).toBe(8);
    expect(model.metricPeriodSeconds).toBe(10);
    expect(model.burst.cooldownSeconds).toBe(30);
    expect(model.scaleIn).toMatchObject({ cooldownSeconds: 90, evaluationPeriods: 4 });
  });

  test('the idle run has one datapoint of slack (M = N - 1); the backlog\'s scale-in alarms on half of its window, extra signals on all but one', () => {
    const model = buildScalingModel(input);
    expect(model.scaleIn).toMatchObject({ evaluationPeriods: 2, datapointsToAlarm: 1 });
    expect(model.scaleToZero).toMatchObject({ evaluationPeriods: 10, datapointsToAlarm: 9 });
    const fine = buildScalingModel({ ...input, metricPeriodSeconds: 10 });
    expect(fine.scaleIn).toMatchObject({ evaluationPeriods: 12, datapointsToAlarm: 6 });
    expect(fine.scaleToZero).toMatchObject({ evaluationPeriods: 60, datapointsToAlarm: 59 });
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 30 }).scaleIn).toMatchObject({ evaluationPeriods: 4, datapointsToAlarm: 2 });
    expect(buildScalingModel({ ...input, scaleInEvaluationPeriods: 1 }).scaleIn.datapointsToAlarm).toBe(1);
    expect(buildScalingModel({ ...input, scaleInEvaluationPeriods: 5 }).scaleIn.datapointsToAlarm).toBe(3);
    const cpu = buildScalingModel({ ...input, utilization: utilizationSignals({ cpuTargetPercent: 60, scaleOutCooldownSeconds: 180 }) });
    expect(cpu.scaleIn).toMatchObject({ evaluationPeriods: 8, datapointsToAlarm: 7 });
  });

  test('default burst steps: bands of workers lacking in powers of two, each adding its upper bound, up to maxWorkers', () => {
    expect(defaultBurstSteps(20, 5)).toEqual([
      { lower: 0, upper: 5, change: 1 }, { lower: 5, upper: 10, change: 2 }, { lower: 10, upper: 20, change: 4 },
      { lower: 20, upper: 40, change: 8 }, { lower: 40, upper: 80, change: 16 }, { lower: 80, change: 32 },
    ]);
    for (const max of [1, 2, 3, 20, 100, 500, 10_000]) {
      const steps = defaultBurstSteps(max, 2.5);
      expect(steps.length).toBeLessThanOrEqual(20);
      expect(steps[steps.length - 1].change).toBeGreaterThanOrEqual(max);
      expect(validateScalingModel(buildScalingModel({ ...input, maxWorkers: max }))).toEqual([]);
    }
  });

  test('on 10 s metrics the burst bands add their lower bound (at most what is lacking), except the last, which reaches maxWorkers', () => {
    expect(defaultBurstSteps(20, 5, 10)).toEqual([
      { lower: 0, upper: 5, change: 1 }, { lower: 5, upper: 10, change: 1 }, { lower: 10, upper: 20, change: 2 },
      { lower: 20, upper: 40, change: 4 }, { lower: 40, upper: 80, change: 8 }, { lower: 80, change: 32 },
    ]);
    // 30 s and one-minute periods keep the upper bounds.
    expect(BURST_LOWER_BOUND_MAX_PERIOD_SECONDS).toBe(10);
    expect(defaultBurstSteps(20, 5, 30)).toEqual(defaultBurstSteps(20, 5));
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 10 }).burst.steps).toEqual(defaultBurstSteps(20, 5, 10));
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 30 }).burst.steps).toEqual(defaultBurstSteps(20, 5));
    for (const max of [1, 2, 3, 20, 100, 500, 10_000]) {
      const steps = defaultBurstSteps(max, 2.5, 10);
      expect(steps[steps.length - 1].change).toBeGreaterThanOrEqual(max);
      expect(validateScalingModel(buildScalingModel({ ...input, maxWorkers: max, metricPeriodSeconds: 10 }))).toEqual([]);
    }
  });

  test('on metrics under a minute the burst\'s last band has an alarm of its own (surge): to maxWorkers as soon as half of it is lacking', () => {
    const fine = buildScalingModel({ ...input, metricPeriodSeconds: 10 });
    // The last band of defaultBurstSteps(20, 5, 10) starts at 80 messages lacking and adds 32 (clamped to maxWorkers).
    expect(fine.surge).toEqual({ ...fine.burst, threshold: 80, steps: [{ lower: 0, change: 32 }] });
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 30 }).surge).toMatchObject({ threshold: 80, steps: [{ lower: 0, change: 32 }] });
    expect(findStep(fine.surge!.steps, fine.surge!.threshold, 81)).toEqual({ lower: 0, change: 32 });
    // One-minute metrics: every evaluation re-invokes the burst alarm's action, so no surge.
    expect(AWS_SCALING_FACTS.alarmReinvokeSeconds).toBe(60);
    expect(buildScalingModel(input).surge).toBeUndefined();
    // A user's own burst steps are deployed as written; a single band has nothing above it.
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 10, burstSteps: [{ lower: 0, upper: 5, change: 1 }, { lower: 5, change: 4 }] }).surge).toBeUndefined();
    expect(buildScalingModel({ ...input, maxWorkers: 1, metricPeriodSeconds: 10 }).surge).toBeUndefined();
    expect(surgePolicy({ ...fine.burst, steps: [{ upper: 0, change: 1 }, { change: 2 }] }, 10)).toBeUndefined();
    for (const max of [2, 3, 20, 100, 500, 10_000]) {
      const model = buildScalingModel({ ...input, maxWorkers: max, metricPeriodSeconds: 10 });
      const last = model.burst.steps[model.burst.steps.length - 1];
      expect(model.surge).toMatchObject({ threshold: last.lower, steps: [{ lower: 0, change: last.change }], cooldownSeconds: model.burst.cooldownSeconds });
      expect(validateScalingModel(model)).toEqual([]);
    }
  });

  test('default scale-in steps: half of a few spare workers, the band\'s lower bound from 8 spare on, never more than spare', () => {
    // Bounds are spare - 1 (threshold 1).
    expect(defaultScaleInSteps(20)).toEqual([
      { lower: 0, upper: 1, change: -1 }, { lower: 1, upper: 3, change: -1 }, { lower: 3, upper: 7, change: -2 },
      { lower: 7, upper: 15, change: -8 }, { lower: 15, change: -16 },
    ]);
    expect(defaultScaleInSteps(1)).toEqual([{ lower: 0, change: -1 }]);
  });

  test('with step cooldowns, from 16 spare on each power of two has two bands (two thirds to all of the spare count)', () => {
    expect(defaultScaleInSteps(100).slice(3)).toEqual([
      { lower: 7, upper: 15, change: -8 },
      { lower: 15, upper: 23, change: -16 }, { lower: 23, upper: 31, change: -24 },
      { lower: 31, upper: 47, change: -32 }, { lower: 47, upper: 63, change: -48 },
      { lower: 63, upper: 95, change: -64 }, { lower: 95, change: -96 },
    ]);
    // 400 spare of 500: -384, then -8 of the 16 left, then -4: three actions.
    expect(defaultScaleInSteps(500).slice(-2)).toEqual([{ lower: 255, upper: 383, change: -256 }, { lower: 383, change: -384 }]);
    // No band no fleet can reach: 20 workers are never 24 spare.
    expect(defaultScaleInSteps(20).at(-1)).toEqual({ lower: 15, change: -16 });
    for (const max of [1, 20, 100, 500, 1024, 4095, 4096, 10_000]) {
      const steps = defaultScaleInSteps(max);
      expect(steps.length).toBeLessThanOrEqual(MAX_STEPS);
      expect(validateScalingModel(buildScalingModel({ ...input, maxWorkers: max }))).toEqual([]);
    }
    // Beyond AWS's 20 steps only the largest octaves are split.
    expect(defaultScaleInSteps(10_000).map((s) => s.lower)).toEqual([0, 1, 3, 7, 15, 31, 63, 127, 191, 255, 383, 511, 767, 1023, 1535, 2047, 3071, 4095, 6143, 8191]);
  });

  test('without step cooldowns (EC2), on one-minute metrics the scale-in sets exact capacities; on 10 s ones it keeps full steps', () => {
    // One-minute metrics: a count is read for two minutes, by up to three minutely actions; 10 s ones by one.
    expect([60, 30, 10].map(scaleInActionsPerCount)).toEqual([3, 2, 1]);
    const ec2 = buildScalingModel({ ...input, stepCooldowns: false });
    expect(ec2.scaleIn).toMatchObject({
      threshold: 20, evaluationPeriods: 2, datapointsToAlarm: 1, adjustmentType: AdjustmentType.EXACT_CAPACITY,
      steps: keepSteps(20), keep: { headroom: KEEP_HEADROOM, ratio: 1, none: 21 },
    });
    expect(signalParams(ec2).keep).toEqual(ec2.scaleIn.keep);
    expect(validateScalingModel(ec2)).toEqual([]);
    expect(buildScalingModel({ ...input, stepCooldowns: false, metricPeriodSeconds: 30 }).scaleIn.keep).toBeDefined();
    // Read once (10 s metrics), or paced by a cooldown (ECS), a count is removed once: full steps, as before.
    expect(buildScalingModel({ ...input, maxWorkers: 100, stepCooldowns: false, metricPeriodSeconds: 10 }).scaleIn.steps.map((s) => s.change))
      .toEqual([-1, -1, -2, -8, -16, -32, -64]);
    expect(buildScalingModel({ ...input, maxWorkers: 100 }).scaleIn.steps).toEqual(defaultScaleInSteps(100));
    expect(buildScalingModel({ ...input, maxWorkers: 100 }).scaleIn.keep).toBeUndefined();
    // Steps the user gives are kept, with the spare-workers signal: the previous EC2 default is one call away.
    const chosen = buildScalingModel({ ...input, stepCooldowns: false, scaleInSteps: defaultScaleInSteps(20, 3) });
    expect(chosen.scaleIn).toMatchObject({ threshold: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: defaultScaleInSteps(20, 3) });
    expect(chosen.scaleIn.keep).toBeUndefined();
    // Those divided steps: three actions on one count of 400 spare remove 3 x 85 = 255 at most, never more than is spare.
    expect(defaultScaleInSteps(20, 3).map((s) => s.change)).toEqual([-1, -1, -1, -2, -5]);
    expect(defaultScaleInSteps(500, 3).at(-1)).toEqual({ lower: 255, change: -85 });
  });

  test('where the exact scale-in\'s ladder is coarser than whole numbers (above 20 workers), trim steps remove a third of the workers above those to keep', () => {
    const ec2 = buildScalingModel({ ...input, maxWorkers: 100, stepCooldowns: false });
    expect(ec2.trim).toEqual({
      threshold: 1, evaluationPeriods: 2, datapointsToAlarm: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
      steps: trimSteps(100, 3), cooldownSeconds: ec2.scaleIn.cooldownSeconds,
    });
    // Three actions on one count remove no more than it showed above the workers to keep.
    expect(trimSteps(100, 3).map((s) => s.change)).toEqual([-1, -1, -1, -2, -5, -10, -21]);
    expect(validateScalingModel(ec2)).toEqual([]);
    // Every whole number is a capacity up to 20 workers: nothing for a trim to do.
    expect(buildScalingModel({ ...input, maxWorkers: 20, stepCooldowns: false }).trim).toBeUndefined();
    // No exact scale-in, no trim: ECS, the publisher's 10 s metrics, steps the user chose.
    expect(buildScalingModel({ ...input, maxWorkers: 100 }).trim).toBeUndefined();
    expect(buildScalingModel({ ...input, maxWorkers: 100, stepCooldowns: false, metricPeriodSeconds: 10 }).trim).toBeUndefined();
    expect(buildScalingModel({ ...input, maxWorkers: 100, stepCooldowns: false, scaleInSteps: defaultScaleInSteps(100, 3) }).trim).toBeUndefined();
  });

  test('the exact scale-in\'s capacities: every whole number up to 20 workers, then 1-8 and a geometric ladder, within AWS\'s 20 steps', () => {
    expect(keepCapacities(20)).toEqual({ capacities: Array.from({ length: 20 }, (_, i) => i + 1), ratio: 1 });
    expect(keepCapacities(1)).toEqual({ capacities: [1], ratio: 1 });
    expect(keepCapacities(100)).toEqual({ capacities: [1, 2, 3, 4, 5, 6, 7, 8, 10, 13, 16, 19, 23, 29, 36, 44, 54, 67, 82, 100], ratio: 1.235 });
    expect(keepCapacities(500).ratio).toBe(1.412);
    expect(keepSteps(20).slice(0, 2)).toEqual([{ upper: -19, change: 1 }, { lower: -19, upper: -18, change: 2 }]);
    expect(keepSteps(20).at(-1)).toEqual({ lower: -1, upper: 0, change: 20 });
    for (const max of [1, 7, 20, 21, 33, 100, 257, 500, 1000, 4096, 10_000]) {
      const { capacities, ratio } = keepCapacities(max);
      const steps = keepSteps(max);
      expect(steps.length).toBeLessThanOrEqual(MAX_STEPS);
      expect(validateSteps('scaleInSteps', steps)).toEqual([]);
      expect(capacities.at(-1)).toBe(max);
      capacities.forEach((c, j) => {
        if (j > 0) expect(c).toBeGreaterThan(capacities[j - 1]);
        // Any value in (c[j-1], c[j]] gets c[j], which is below ratio x value + 1: the running count the
        // signal asks for before it lets the alarm fire (so an exact capacity never adds workers).
        const justAbove = j === 0 ? 0 : capacities[j - 1] + 1e-9;
        expect(c).toBeLessThan(ratio * justAbove + 1 + 1e-9);
        expect(findStep(steps, max, c, true)?.change).toBe(c);
        if (j > 0) expect(findStep(steps, max, justAbove, true)?.change).toBe(c);
      });
      // maxWorkers + 1 (no scale-in) is above the threshold: no step applies.
      expect(findStep(steps, max, max + 1, true)).toBeUndefined();
    }
  });

  test('default scale-out cooldown: two periods, at least a minute', () => {
    expect(defaultScaleOutCooldownSeconds(60)).toBe(120);
    expect(defaultScaleOutCooldownSeconds(10)).toBe(60);
    expect(DEFAULTS).toMatchObject({ scaleInAfterSeconds: 120 });
  });

  test('default scale-in cooldown: two periods plus a minute of publication delay, as the model gets it', () => {
    expect(defaultScaleInCooldownSeconds(60)).toBe(180);
    expect(defaultScaleInCooldownSeconds(30)).toBe(120);
    expect(defaultScaleInCooldownSeconds(10)).toBe(80);
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 10 }).scaleIn.cooldownSeconds).toBe(80);
    expect(buildScalingModel({ ...input, metricPeriodSeconds: 10, scaleInCooldownSeconds: 240 }).scaleIn.cooldownSeconds).toBe(240);
  });

  test('growth horizon: the start-up, no further than the burst\'s next look at a count with its workers (the scale-out cooldown)', () => {
    // Fargate's 60 s start-up on both sources; EC2's 180 s cut to 120 s on one-minute metrics, 60 s on 10 s ones.
    expect([[60, 60], [60, 10], [180, 60], [180, 10], [30, 60]].map(([start, period]) => growthHorizonSeconds(start, period)))
      .toEqual([60, 60, 120, 60, 30]);
  });

  test('periodsFor rounds up and gives at least one', () => {
    expect(periodsFor(900, 60)).toBe(15);
    expect(periodsFor(61, 60)).toBe(2);
    expect(periodsFor(0, 60)).toBe(1);
  });
});

describe('validateScalingModel: each rule and its message', () => {
  test.each<[string, (m: BacklogScalingModel) => BacklogScalingModel, string | RegExp]>([
    ['minWorkers range', (m) => ({ ...m, minWorkers: -1 }), 'minWorkers: must be an integer 0-10000, got -1'],
    ['minWorkers integer', (m) => ({ ...m, minWorkers: 1.5 }), 'minWorkers: must be an integer 0-10000, got 1.5'],
    ['maxWorkers range', (m) => ({ ...m, maxWorkers: 0 }), 'maxWorkers: must be an integer 1-10000, got 0'],
    ['minWorkers <= maxWorkers', (m) => ({ ...m, minWorkers: 30 }), 'minWorkers: must be <= maxWorkers (20), got 30'],
    ['target > 0', (m) => ({ ...m, targetBacklogPerWorker: 0 }), 'target: must be > 0 messages per worker, got 0'],
    ['concurrency range', (m) => ({ ...m, concurrency: 0 }), 'concurrency: must be an integer 1-1000, got 0'],
    ['concurrency integer', (m) => ({ ...m, concurrency: 2.5 }), 'concurrency: must be an integer 1-1000, got 2.5'],
    ['concurrency at most 1000', (m) => ({ ...m, concurrency: 1001 }), 'concurrency: must be an integer 1-1000, got 1001'],
    ['target finite', (m) => ({ ...m, targetBacklogPerWorker: Infinity }), 'target: must be > 0 messages per worker, got Infinity'],
    ['metric period', (m) => ({ ...m, metricPeriodSeconds: 120 }), 'metricPeriod: must be one of 10, 30, 60 seconds, got 120 seconds'],
    ['worker start-up', (m) => ({ ...m, workerStartSeconds: 7200 }), 'workerStartTime: must be 0-3600 seconds, got 7200 seconds'],
    ['scale-out cooldown', (m) => ({ ...m, targetTracking: { ...m.targetTracking, scaleOutCooldownSeconds: -5 } }), 'scaleOutCooldown: must be 0-86400 seconds, got -5 seconds'],
    ['scale-in cooldown', (m) => ({ ...m, scaleIn: { ...m.scaleIn, cooldownSeconds: 90_000 } }), 'scaleInCooldown: must be 0-86400 seconds, got 90000 seconds'],
    ['scale-in evaluation periods', (m) => ({ ...m, scaleIn: { ...m.scaleIn, evaluationPeriods: 0 } }), /scaleInEvaluationPeriods: must be an integer 1-\d+, got 0/],
    ['burst steps contiguous', (m) => ({ ...m, burst: { ...m.burst, steps: [{ lower: 0, upper: 50, change: 1 }, { lower: 60, change: 2 }] } }),
      'burstSteps[1].lower: must be equal to burstSteps[0].upper (50), so steps increase without gap or overlap, got 60'],
    ['burst steps add workers', (m) => ({ ...m, burst: { ...m.burst, steps: [{ lower: 0, change: -1 }] } }), 'burstSteps[0].change: must be > 0 (burst steps add workers), got -1'],
    ['scale-in steps exist', (m) => ({ ...m, scaleIn: { ...m.scaleIn, steps: [] } }), 'scaleInSteps: must be 1-20 steps, got 0 steps'],
    ['scale-in steps remove no more than the spare workers', (m) => ({ ...m, scaleIn: { ...m.scaleIn, steps: [{ lower: 0, upper: 3, change: -2 }, { lower: 3, change: -3 }] } }),
      'scaleInSteps[0].change: must be between -1 and -1 (no more than the spare workers at the step\'s lower bound), got -2'],
    ['scale-in steps remove workers', (m) => ({ ...m, scaleIn: { ...m.scaleIn, steps: [{ lower: 0, change: 1 }] } }),
      'scaleInSteps[0].change: must be between -1 and -1 (no more than the spare workers at the step\'s lower bound), got 1'],
    ['scale to zero after at least one period', (m) => ({ ...m, scaleToZero: { ...m.scaleToZero!, idleSeconds: 30 } }), 'scaleToZeroAfter: must be 60-86400 seconds, got 30 seconds'],
    ['scale to zero within a day', (m) => ({ ...m, scaleToZero: { ...m.scaleToZero!, idleSeconds: 100_000 } }), 'scaleToZeroAfter: must be 60-86400 seconds, got 100000 seconds'],
  ])('%s', (_rule, patch, message) => {
    const text = messageFor(patch);
    expect(text).toContain('Stack/Agents/Scaling: invalid configuration (1 problem):');
    if (typeof message === 'string') expect(text).toContain(`  - ${message}`);
    else expect(text).toMatch(message);
  });

  test('all failures are reported together', () => {
    const text = messageFor((m) => ({ ...m, minWorkers: -1, maxWorkers: 0, targetBacklogPerWorker: -3 }));
    expect(text).toMatch(/invalid configuration \(3 problems\)/);
    expect(text.split('\n')).toHaveLength(4);
  });
});
