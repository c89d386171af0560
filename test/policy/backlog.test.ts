import { backlogPerWorker, clampCapacity, targetFromLatency, targetTrackingCapacity } from '../../lib/policy/backlog';
import { buildScalingModel, defaultScaleOutCooldownSeconds, signalParams, validateScalingModel, WORKER_START_SECONDS, type BacklogScalingInput } from '../../lib/policy/scaling-policy';
import {
  BACKLOG_PER_WORKER, EXCESS_BACKLOG, QUEUED_MESSAGES, remainingWorkers, signalInputs, SPARE_WORKERS, TASK_TIME_MARGIN, taskTimeFactor, WORKERS_ABOVE_KEEP, WORKERS_TO_KEEP,
} from '../../lib/policy/signals';

describe('backlog per worker (AWS "Scaling policy based on Amazon SQS")', () => {
  test('AWS worked example: 1,500 visible, 10 workers, target 100 -> 15 workers', () => {
    // GIVEN the example's queue and fleet
    const metric = backlogPerWorker(1500, 10);
    // WHEN target tracking computes the new capacity
    const capacity = targetTrackingCapacity(10, metric, 100);
    // THEN
    expect(metric).toBe(150);
    expect(capacity).toBe(15);
  });

  test('10 s latency / 0.1 s processing -> target 100; concurrency multiplies it', () => {
    expect(targetFromLatency(10, 0.1)).toBeCloseTo(100, 9);
    expect(targetFromLatency(60, 6)).toBe(10);
    expect(targetFromLatency(60, 6, 4)).toBe(40);
  });

  test('no running workers counts as one', () => {
    expect(backlogPerWorker(42, 0)).toBe(42);
    expect(backlogPerWorker(42, 2)).toBe(21);
  });

  test('target tracking rounds up when scaling out and down when scaling in', () => {
    expect(targetTrackingCapacity(10, 101, 100)).toBe(11); // 10.1 -> 11
    expect(targetTrackingCapacity(10, 99, 100)).toBe(9); // 9.9 -> 9
    expect(targetTrackingCapacity(10, 110, 100)).toBe(11); // 10 x 1.1 is not 11.000000000000002 -> 12
    expect(targetTrackingCapacity(0, 500, 100)).toBe(0); // cannot leave 0
  });

  test('clampCapacity keeps capacity inside the bounds', () => {
    expect(clampCapacity(25, 0, 20)).toBe(20);
    expect(clampCapacity(-1, 1, 20)).toBe(1);
    expect(clampCapacity(7, 1, 20)).toBe(7);
  });
});

describe('signals: the expression CloudFormation gets and the function the simulator runs', () => {
  const sample = { visible: 300, inFlight: 50, delayed: 7, running: 4, desired: 4 };
  const params = { target: 10, concurrency: 1 };

  test('backlog per requested worker: visible / max(desired, 1)', () => {
    expect(BACKLOG_PER_WORKER.evaluate(sample, params)).toBe(75);
    // Workers still starting count: 300 visible for 4 running and 6 starting is 30 per worker, not 75.
    expect(BACKLOG_PER_WORKER.evaluate({ ...sample, desired: 10 }, params)).toBe(30);
    expect(BACKLOG_PER_WORKER.expression(params)).toBe('visible / IF(FILL(desired, REPEAT) > 1, FILL(desired, REPEAT), 1)');
  });

  test('excess backlog: visible - target x desired, so workers already requested are not asked for again', () => {
    expect(EXCESS_BACKLOG.evaluate(sample, params)).toBe(260);
    // 26 workers requested and starting: the 300 visible messages are what they will hold, nothing in excess.
    expect(EXCESS_BACKLOG.evaluate({ ...sample, running: 4, desired: 30 }, params)).toBe(0);
    expect(EXCESS_BACKLOG.evaluate({ ...sample, visible: 1, running: 0, desired: 0 }, params)).toBe(1);
    expect(EXCESS_BACKLOG.expression(params)).toBe('visible - 10 * FILL(desired, REPEAT)');
  });

  test('excess backlog projects the backlog\'s growth over a worker\'s start-up: + growthPeriods x max(DIFF(visible), 0)', () => {
    const projecting = { ...params, growthPeriods: 3 };
    // 40 more visible than a period before, for 3 periods until new workers take messages: 120 more in excess.
    expect(EXCESS_BACKLOG.evaluate({ ...sample, visibleGrowth: 40 }, projecting)).toBe(380);
    // A shrinking backlog, or none measured before, projects nothing.
    expect(EXCESS_BACKLOG.evaluate({ ...sample, visibleGrowth: -40 }, projecting)).toBe(260);
    expect(EXCESS_BACKLOG.evaluate(sample, projecting)).toBe(260);
    expect(EXCESS_BACKLOG.expression(projecting))
      .toBe('visible + 3 * IF(FILL(DIFF(visible), 0) > 0, FILL(DIFF(visible), 0), 0) - 10 * FILL(desired, REPEAT)');
    // The model's: a worker's start-up in periods, no further than the burst's next look at a count
    // that includes its workers (the scale-out cooldown's two periods, at least 60 s).
    const growthPeriods = (input: Partial<BacklogScalingInput>) =>
      signalParams(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, ...input })).growthPeriods;
    // Fargate's 60 s (the default) on one-minute metrics: 1 period; on the publisher's 10 s: 6.
    expect(growthPeriods({})).toBe(WORKER_START_SECONDS.fargate / 60);
    expect(growthPeriods({ metricPeriodSeconds: 10 })).toBe(6);
    // EC2's 180 s: cut to 120 s on one-minute metrics (2 periods) and to 60 s on 10 s ones (6, not 18).
    expect(defaultScaleOutCooldownSeconds(60)).toBeLessThan(WORKER_START_SECONDS.ec2);
    expect(growthPeriods({ workerStartSeconds: WORKER_START_SECONDS.ec2 })).toBe(2);
    expect(growthPeriods({ workerStartSeconds: WORKER_START_SECONDS.ec2, metricPeriodSeconds: 10 })).toBe(6);
    // A start-up shorter than that is the horizon.
    expect(growthPeriods({ workerStartSeconds: 30, metricPeriodSeconds: 10 })).toBe(3);
  });

  test('a fleet input that lags the queue\'s is filled with its previous value, never 0; inputs that arrive together get no FILL', () => {
    for (const signal of [BACKLOG_PER_WORKER, EXCESS_BACKLOG, SPARE_WORKERS]) {
      expect(signal.expression(params)).not.toMatch(/FILL\([a-z]+, 0\)/);
      expect(signal.expression(params)).toMatch(/FILL\((running|desired), REPEAT\)/);
      expect(signal.expression({ ...params, inputsArriveTogether: true })).not.toMatch(/FILL/);
    }
    expect(EXCESS_BACKLOG.expression({ ...params, inputsArriveTogether: true })).toBe('visible - 10 * desired');
  });

  test('spare workers: min(running, desired) - max(visible / target + (inFlight + sqrt(inFlight)) / concurrency, 1)', () => {
    // 300 / 10 = 30 workers for the waiting messages + 50 / 1 = 50 busy ones + sqrt(50) headroom.
    expect(SPARE_WORKERS.evaluate(sample, params)).toBeCloseTo(4 - 80 - Math.sqrt(50), 9);
    expect(SPARE_WORKERS.evaluate(sample, { target: 10, concurrency: 5 })).toBeCloseTo(4 - 30 - (50 + Math.sqrt(50)) / 5, 9);
    // Never below one needed worker: going to 0 is the idle rule's job.
    expect(SPARE_WORKERS.evaluate({ visible: 0, inFlight: 0, delayed: 0, running: 5, desired: 5 }, params)).toBe(4);
    expect(SPARE_WORKERS.expression({ target: 10, concurrency: 4 }))
      .toBe('IF(FILL(running, REPEAT) < FILL(desired, REPEAT), FILL(running, REPEAT), FILL(desired, REPEAT))'
        + ' - IF((visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 4) > 1, (visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 4), 1)');
  });

  describe('weighed by the measured task time over the declared one (`taskTimeFactor`)', () => {
    const declared = { ...params, declaredProcessingTimeMs: 6000 };
    // The margin time: 1.25 x the declared 6 s.
    const factor = 'IF(FILL(FILL(processingTime, REPEAT), 7500) > 7500, FILL(FILL(processingTime, REPEAT), 7500) / 7500, 1)';

    test('the factor: measured / (1.25 x declared), never below 1; 1 when nothing was measured or nothing declared', () => {
      expect(TASK_TIME_MARGIN).toBe(1.25);
      expect(taskTimeFactor({ ...sample, processingTimeMs: 12_000 }, declared)).toBe(1.6);
      // Within the margin, a minute's mean is taken for noise.
      expect(taskTimeFactor({ ...sample, processingTimeMs: 7_000 }, declared)).toBe(1);
      // Tasks faster than declared: the declared time stands (a per-minute mean of heavy-tailed times reads low).
      expect(taskTimeFactor({ ...sample, processingTimeMs: 3_000 }, declared)).toBe(1);
      expect(taskTimeFactor({ ...sample, processingTimeMs: NaN }, declared)).toBe(1);
      expect(taskTimeFactor(sample, declared)).toBe(1);
      expect(taskTimeFactor({ ...sample, processingTimeMs: 12_000 }, params)).toBe(1);
    });

    test('tasks twice as long as declared: each visible message counts 1.6 times, in every signal', () => {
      const slow = { ...sample, processingTimeMs: 12_000, visibleGrowth: 40 };
      expect(BACKLOG_PER_WORKER.evaluate(slow, declared)).toBeCloseTo(120, 9);
      expect(EXCESS_BACKLOG.evaluate(slow, { ...declared, growthPeriods: 3 })).toBeCloseTo(1.6 * (300 + 3 * 40) - 10 * 4, 9);
      expect(SPARE_WORKERS.evaluate(slow, declared)).toBeCloseTo(4 - 48 - 50 - Math.sqrt(50), 9);
      expect(WORKERS_TO_KEEP.evaluate({ ...slow, running: 400, desired: 400 }, { ...declared, keep: { headroom: 0.75, ratio: 1.235, none: 401 } }))
        .toBeCloseTo(48 + 50 + Math.sqrt(50) + 0.75 * Math.sqrt(48 + 50 + Math.sqrt(50)), 9);
    });

    test('the expressions multiply the visible count by the factor, which reads the workers\' ProcessingTime', () => {
      expect(BACKLOG_PER_WORKER.expression(declared)).toBe(`${factor} * visible / IF(FILL(desired, REPEAT) > 1, FILL(desired, REPEAT), 1)`);
      expect(EXCESS_BACKLOG.expression(declared)).toBe(`${factor} * visible - 10 * FILL(desired, REPEAT)`);
      expect(EXCESS_BACKLOG.expression({ ...declared, growthPeriods: 3 }))
        .toBe(`${factor} * (visible + 3 * IF(FILL(DIFF(visible), 0) > 0, FILL(DIFF(visible), 0), 0)) - 10 * FILL(desired, REPEAT)`);
      expect(SPARE_WORKERS.expression(declared)).toContain(`IF((${factor} * visible / 10 + (inFlight`);
      for (const signal of [BACKLOG_PER_WORKER, EXCESS_BACKLOG, SPARE_WORKERS, WORKERS_TO_KEEP, WORKERS_ABOVE_KEEP]) {
        expect(signalInputs(signal, declared)).toContain('processingTime');
        expect(signalInputs(signal, params)).not.toContain('processingTime');
        expect(signal.expression({ ...params, keep: { headroom: 0.75, ratio: 1.235, none: 401 } })).not.toContain('processingTime');
      }
      expect(signalInputs(QUEUED_MESSAGES, declared)).not.toContain('processingTime');
    });

    test('the model passes the declared time, in ms, to the signals', () => {
      const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, processingTimeSeconds: 6 });
      expect(signalParams(model).declaredProcessingTimeMs).toBe(6000);
      expect(signalParams(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10 })).declaredProcessingTimeMs).toBeUndefined();
      expect(validateScalingModel(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, processingTimeSeconds: 0 })))
        .toEqual([{ prop: 'processingTime', allowed: '> 0 seconds', value: '0 seconds' }]);
    });
  });

  test('spare workers: a worker a scale-in removed is running until it has drained, but not spare again', () => {
    // 2,000 running, 1,488 desired after a scale-in, 1,400 busy at concurrency 16: 88 - sqrt headroom spare, not 600.
    const draining = { visible: 0, inFlight: 22_400, delayed: 0, running: 2_000, desired: 1_488 };
    const p16 = { target: 8, concurrency: 16 };
    expect(SPARE_WORKERS.evaluate(draining, p16)).toBeCloseTo(1_488 - (22_400 + Math.sqrt(22_400)) / 16, 9);
    // Workers still starting are desired but not running: not spare either.
    expect(SPARE_WORKERS.evaluate({ ...draining, running: 1_300, desired: 2_000 }, p16)).toBeCloseTo(1_300 - (22_400 + Math.sqrt(22_400)) / 16, 9);
    expect(remainingWorkers(draining)).toBe(1_488);
  });

  test('spare workers: a busy worker is never spare (20 workers, 14 busy, nothing visible -> about 2 spare, not 19)', () => {
    // 135 msgs/min of 6 s tasks keep about 14 of 20 workers busy: 14 messages in flight at concurrency 1.
    const busy14 = { visible: 0, inFlight: 14, delayed: 0, running: 20, desired: 20 };
    // 14 busy + sqrt(14) = 3.7 workers of headroom for the snapshot's noise.
    expect(SPARE_WORKERS.evaluate(busy14, params)).toBeCloseTo(20 - 14 - Math.sqrt(14), 9);
    // The old formula, running - max((visible + inFlight) / target, 1), said 20 - 1.4 = 18.6, i.e. ~19 spare.
    expect(SPARE_WORKERS.evaluate(busy14, params)).not.toBeCloseTo(20 - 14 / 10, 5);
    // The same work at concurrency 2 is 7 busy workers (and half the headroom in workers).
    expect(SPARE_WORKERS.evaluate({ ...busy14 }, { target: 10, concurrency: 2 })).toBeCloseTo(20 - (14 + Math.sqrt(14)) / 2, 9);
  });

  test('spare workers: the headroom is one standard deviation of a Poisson in-flight count, so a low snapshot does not remove needed workers', () => {
    // 10 busy on average; a snapshot reading 7 (one sigma low) leaves 12 running with at most 2 spare, not 5.
    expect(SPARE_WORKERS.evaluate({ visible: 0, inFlight: 7, delayed: 0, running: 12, desired: 12 }, params)).toBeLessThan(3);
    // The headroom grows with the square root: 1 % of a 10,000-message load, not 10 %.
    const big = { visible: 0, inFlight: 10_000, delayed: 0, running: 1_000, desired: 1_000 };
    expect(SPARE_WORKERS.evaluate(big, { target: 10, concurrency: 16 })).toBeCloseTo(1_000 - 10_100 / 16, 9);
  });

  test('spare workers: every worker busy -> none spare, so scale-in (>= 1 spare) removes nothing', () => {
    for (const concurrency of [1, 4]) {
      const allBusy = { visible: 0, inFlight: 20 * concurrency, delayed: 0, running: 20, desired: 20 };
      expect(SPARE_WORKERS.evaluate(allBusy, { target: 10, concurrency })).toBeLessThanOrEqual(0);
      // With messages waiting as well, even fewer are spare.
      expect(SPARE_WORKERS.evaluate({ ...allBusy, visible: 35 }, { target: 10, concurrency })).toBeLessThan(0);
    }
  });

  test('workers to keep: the workers needed + 0.75 x their square root when the fleet runs ratio x that + 1 or more, else maxWorkers + 1', () => {
    const keep = { ...params, keep: { headroom: 0.75, ratio: 1.235, none: 101 } };
    // 14 busy + sqrt(14) headroom = 17.74 needed; + 0.75 x sqrt(17.74) = 20.90 kept; 1.235 x 20.90 + 1 = 26.81 running at least.
    const busy14 = { visible: 0, inFlight: 14, delayed: 0, running: 27, desired: 27 };
    const needed = 14 + Math.sqrt(14);
    const kept = needed + 0.75 * Math.sqrt(needed);
    expect(kept).toBeCloseTo(20.9, 1);
    expect(WORKERS_TO_KEEP.evaluate(busy14, keep)).toBeCloseTo(kept, 9);
    expect(WORKERS_TO_KEEP.evaluate({ ...busy14, running: 26 }, keep)).toBe(101);
    // The same need as the spare-workers signal's, at least one worker.
    const spareNeed = busy14.running - SPARE_WORKERS.evaluate(busy14, params);
    expect(WORKERS_TO_KEEP.evaluate(busy14, keep)).toBeCloseTo(spareNeed + 0.75 * Math.sqrt(spareNeed), 9);
    expect(WORKERS_TO_KEEP.evaluate({ visible: 0, inFlight: 0, delayed: 0, running: 5, desired: 5 }, keep)).toBeCloseTo(1.75, 9);
    // The margin grows with the square root of the need: 25 % of 9 workers (90 waiting at 10 each), 7.5 % of 100.
    const idle = { visible: 0, inFlight: 0, delayed: 0, running: 500, desired: 500 };
    const large = { ...params, keep: { ...keep.keep, none: 501 } };
    expect(WORKERS_TO_KEEP.evaluate({ ...idle, visible: 90 }, large)).toBeCloseTo(11.25, 9);
    expect(WORKERS_TO_KEEP.evaluate({ ...idle, visible: 1000 }, large)).toBeCloseTo(107.5, 9);
    const needs = 'IF((visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 1) > 1, (visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 1), 1)';
    const keeping = `(${needs} + 0.75 * (${needs} ^ 0.5))`;
    expect(WORKERS_TO_KEEP.expression(keep)).toBe(`IF(FILL(running, REPEAT) - 1.235 * ${keeping} >= 1, ${keeping}, 101)`);
    expect(() => WORKERS_TO_KEEP.evaluate(busy14, params)).toThrow(/SignalParams.keep/);
  });

  test('workers above those to keep: running - the workers to keep where the ladder has no capacity below the running count, else 0', () => {
    const keep = { ...params, keep: { headroom: 0.75, ratio: 1.235, none: 101 } };
    // 17.74 needed, 20.90 to keep: the ladder applies from 26.81 running on; below that, the workers above 20.90.
    const busy14 = { visible: 0, inFlight: 14, delayed: 0, running: 25, desired: 25 };
    const needed = 14 + Math.sqrt(14);
    const kept = needed + 0.75 * Math.sqrt(needed);
    expect(WORKERS_ABOVE_KEEP.evaluate(busy14, keep)).toBeCloseTo(25 - kept, 9);
    expect(WORKERS_ABOVE_KEEP.evaluate({ ...busy14, running: 27 }, keep)).toBe(0);
    expect(WORKERS_TO_KEEP.evaluate({ ...busy14, running: 27 }, keep)).toBeLessThan(101);
    // Below the workers to keep: negative, under the alarm's threshold of 1.
    expect(WORKERS_ABOVE_KEEP.evaluate({ ...busy14, running: 20 }, keep)).toBeLessThan(0);
    const needs = 'IF((visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 1) > 1, (visible / 10 + (inFlight + 1 * (inFlight ^ 0.5)) / 1), 1)';
    const keeping = `(${needs} + 0.75 * (${needs} ^ 0.5))`;
    expect(WORKERS_ABOVE_KEEP.expression(keep)).toBe(`IF(FILL(running, REPEAT) - 1.235 * ${keeping} >= 1, 0, FILL(running, REPEAT) - ${keeping})`);
    expect(() => WORKERS_ABOVE_KEEP.evaluate(busy14, params)).toThrow(/SignalParams.keep/);
  });

  test('queued messages: visible + in flight + delayed', () => {
    expect(QUEUED_MESSAGES.evaluate(sample, params)).toBe(357);
    expect(QUEUED_MESSAGES.expression(params)).toBe('visible + inFlight + delayed');
  });
});
