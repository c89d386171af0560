import { buildScalingModel } from '../../lib/policy/scaling-policy';
import { Comparison, NO_SIGNAL_PARAMS, rulesFromModel, Statistic, VISIBLE_MESSAGES, type ScalingRuleSet, type StepRule } from '../../lib/policy/rules';
import { AdjustmentType } from '../../lib/policy/steps';
import { RuleAutoscaler, transitionOf } from '../../lib/simulation/autoscaler';
import { Datapoints, SampleLog } from '../../lib/simulation/cloudwatch';
import { DEFAULT_CLOUDWATCH } from '../../lib/simulation/params';

type Sample = { visible: number; inFlight?: number; running: number; desired?: number };

/** Datapoints whose every second, minute by minute, is `minutes[i]`. */
function datapoints(minutes: Sample[]): Datapoints {
  const log = new SampleLog(minutes.length * 60);
  minutes.forEach((m, i) => {
    for (let s = 0; s < 60; s++) log.record(i * 60 + s, { visible: m.visible, inFlight: m.inFlight ?? 0, delayed: 0, running: m.running, desired: m.desired ?? m.running, cpuUtilization: 50 }, true);
  });
  return new Datapoints(log, { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 0 });
}

const options = { alarmReinvokeSeconds: 60 };

describe('our policy under the autoscaler', () => {
  // AWS's SQS example steps, so the hand-worked numbers do not move with our defaults.
  const burstSteps = [{ lower: 0, upper: 50, change: 1 }, { lower: 50, upper: 200, change: 2 }, { lower: 200, change: 3 }];
  // An acceptable backlog of 200 per worker: the policies hold half of it, 100 (HELD_BACKLOG_RATIO).
  const ours = rulesFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 100, targetBacklogPerWorker: 200, burstSteps }));

  test('AWS worked example: 1,500 visible on 10 workers for 3 minutes -> target tracking asks for 15', () => {
    // First reading at 3 datapoints: burst steps say +3 (excess 500), target tracking ceil(10 x 150 / 100) = 15; the larger wins.
    const scaler = new RuleAutoscaler(ours, datapoints(Array(3).fill({ visible: 1500, running: 10 })), options);
    expect(scaler.evaluate(180, 10)).toMatchObject({ desired: 15, events: [{ rule: 'backlog-per-worker target tracking', from: 10, to: 15 }] });
  });

  test('burst steps act on the first datapoint, not again on the same stale excess within the cooldown (two periods), again after it', () => {
    const scaler = new RuleAutoscaler(ours, datapoints(Array(3).fill({ visible: 1500, running: 10 })), options);
    expect(scaler.evaluate(60, 10)).toMatchObject({ desired: 13, events: [{ rule: 'burst steps on excess backlog', from: 10, to: 13 }] });
    expect(scaler.evaluate(120, 13).desired).toBe(13);
    // After it, burst steps say 16 and target tracking (3 datapoints now) ceil(13 x 150 / 100) = 20; the larger wins.
    expect(scaler.evaluate(180, 13)).toMatchObject({ desired: 20, events: [{ rule: 'backlog-per-worker target tracking' }] });
  });

  test('the burst counts workers already requested: 10 running and 10 starting hold 2,000 at the held backlog, so 1,500 visible is no excess', () => {
    const scaler = new RuleAutoscaler(ours, datapoints([{ visible: 1500, running: 10, desired: 20 }]), options);
    expect(scaler.evaluate(60, 20).desired).toBe(20);
  });

  test('from zero: one visible message makes the burst policy add a worker', () => {
    const scaler = new RuleAutoscaler(ours, datapoints([{ visible: 1, running: 0 }]), options);
    expect(scaler.evaluate(60, 0).desired).toBe(1);
  });

  test('scale-in acts on 1 of the 2 newest datapoints (the newest may lag) and never counts a busy worker as spare', () => {
    // 10 workers, all busy (one in-flight message each at concurrency 1), nothing visible: none spare.
    const busy = new RuleAutoscaler(ours, datapoints(Array(15).fill({ visible: 0, inFlight: 10, running: 10 })), options);
    expect(busy.evaluate(900, 10).desired).toBe(10);
    // 4 of 10 busy, + sqrt(4) headroom: 4 spare (3 above the threshold of 1 -> the -2 step for 4-7 spare).
    const idle = new RuleAutoscaler(ours, datapoints(Array(3).fill({ visible: 0, inFlight: 4, running: 10 })), options);
    expect(idle.evaluate(60, 10)).toMatchObject({ desired: 8, events: [{ rule: 'scale-in steps on spare workers', from: 10, to: 8 }] });
    // 7 of 10 busy: 10 - 7 - 2.6 = 0.4 spare, below the threshold: the headroom keeps them.
    const nearlyBusy = new RuleAutoscaler(ours, datapoints(Array(3).fill({ visible: 0, inFlight: 7, running: 10 })), options);
    expect(nearlyBusy.evaluate(120, 10).desired).toBe(10);
  });

  test('scale-in divides in-flight messages by the model\'s concurrency', () => {
    const c4 = rulesFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 100, targetBacklogPerWorker: 200, concurrency: 4, burstSteps }));
    // 40 in flight at concurrency 4: all 10 workers busy.
    const allBusy = new RuleAutoscaler(c4, datapoints(Array(3).fill({ visible: 0, inFlight: 40, running: 10 })), options);
    expect(allBusy.evaluate(180, 10).desired).toBe(10);
    // 4 in flight at concurrency 4: (4 + 2) / 4 = 1.5 busy with headroom, 8.5 spare (7.5 above the threshold -> the -8 step for 8-15 spare).
    const oneBusy = new RuleAutoscaler(c4, datapoints(Array(3).fill({ visible: 0, inFlight: 4, running: 10 })), options);
    expect(oneBusy.evaluate(180, 10).desired).toBe(2);
  });

  test('on 10 s metrics an overload that begins while the burst alarm is in ALARM gets maxWorkers at once from the surge alarm, not a minute later', () => {
    // 2 workers hold 10 at the held backlog (5): 20 visible is an excess of 10 from 0 s, 500 one of 490 from 20 s.
    const log = new SampleLog(120);
    for (let s = 0; s < 120; s++) log.record(s, { visible: s < 20 ? 20 : 500, inFlight: 0, delayed: 0, running: 2, desired: 2, cpuUtilization: 50 }, true);
    const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, metricPeriodSeconds: 10, inputsArriveTogether: true });
    const steps = (m: typeof model) => {
      const set = rulesFromModel(m);
      return { ...set, rules: set.rules.filter((r) => r.name.endsWith('on excess backlog')) };
    };
    const run = (set: ScalingRuleSet) => {
      const scaler = new RuleAutoscaler(set, new Datapoints(log, { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 0 }), options);
      let desired = 2;
      const changes: string[] = [];
      for (let now = 10; now <= 90; now += 10) {
        const next = scaler.evaluate(now, desired);
        if (next.desired !== desired) changes.push(`${now} s: ${next.events[0].rule} ${desired} -> ${next.desired}`);
        desired = next.desired;
      }
      return changes;
    };
    expect(run(steps(model))).toEqual([
      '10 s: burst steps on excess backlog 2 -> 4',
      '30 s: surge step on excess backlog 4 -> 20',
    ]);
    // Without it the burst alarm, in ALARM since 10 s, invokes its last band when it re-invokes, a minute on.
    expect(run(steps({ ...model, surge: undefined }))).toEqual([
      '10 s: burst steps on excess backlog 2 -> 4',
      '70 s: burst steps on excess backlog 4 -> 20',
    ]);
  });
});

describe('cooldowns (Application Auto Scaling), and what EC2 Auto Scaling has instead', () => {
  const step = (steps: StepRule['steps'], comparison: Comparison, threshold: number, name: string): StepRule => ({
    kind: 'step', name, metric: { signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE },
    comparison, threshold, evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps, cooldownSeconds: 300,
  });
  const set: ScalingRuleSet = {
    minWorkers: 0,
    maxWorkers: 50,
    rules: [
      step([{ lower: 0, upper: 100, change: 2 }, { lower: 100, change: 3 }], Comparison.GREATER_THAN_OR_EQUAL, 10, 'out'),
      step([{ upper: 0, change: -1 }], Comparison.LESS_THAN_OR_EQUAL, 5, 'in'),
    ],
  };

  test('a larger step during a scale-out cooldown adds only the difference (AWS\'s +2 then +3 example)', () => {
    const scaler = new RuleAutoscaler(set, datapoints([{ visible: 20, running: 5 }, { visible: 500, running: 5 }, { visible: 500, running: 5 }]), options);
    expect(scaler.evaluate(60, 5).desired).toBe(7); // +2
    expect(scaler.evaluate(120, 7).desired).toBe(8); // +3 on the base 5: only 1 more
    expect(scaler.evaluate(180, 8).desired).toBe(8); // same step again inside the cooldown: nothing
  });

  test('scale-in cooldown blocks scale-in; a scale-out ends it', () => {
    const scaler = new RuleAutoscaler(set, datapoints([{ visible: 0, running: 5 }, { visible: 0, running: 5 }, { visible: 50, running: 5 }, { visible: 0, running: 5 }]), options);
    expect(scaler.evaluate(60, 5).desired).toBe(4);
    expect(scaler.evaluate(120, 4).desired).toBe(4); // blocked by the 300 s scale-in cooldown
    expect(scaler.evaluate(180, 4).desired).toBe(6); // scale-out...
    expect(scaler.evaluate(240, 6).desired).toBe(5); // ...cancelled the scale-in cooldown
  });

  test('EC2: scale-in waits while instances warm up (pending ones included)', () => {
    const scaler = new RuleAutoscaler(set, datapoints(Array(2).fill({ visible: 0, running: 5 })), { ...options, ec2: true });
    expect(scaler.evaluate(60, 6, { warming: 1, terminating: 0 }).desired).toBe(6);
    expect(scaler.evaluate(120, 6, { warming: 0, terminating: 0 }).desired).toBe(5);
  });

  test('ECS: the workers in transition are no EC2 group\'s, so they change nothing', () => {
    const scaler = new RuleAutoscaler(set, datapoints(Array(2).fill({ visible: 0, running: 5 })), options);
    expect(scaler.evaluate(60, 6, { warming: 1, terminating: 1 }).desired).toBe(5);
  });

  test('transitionOf: draining is terminating; starting, or ready for less than the warm-up, is warming', () => {
    expect(transitionOf('draining', 10, 60)).toBe('terminating');
    expect(transitionOf('starting', -30, 60)).toBe('warming');
    expect(transitionOf('running', 59, 60)).toBe('warming');
    expect(transitionOf('running', 60, 60)).toBeUndefined();
  });

  test('EC2: warming instances are not current capacity, so the same step again launches nothing; a larger one adds the difference', () => {
    const scaler = new RuleAutoscaler(set, datapoints([{ visible: 20, running: 5 }, { visible: 20, running: 5 }, { visible: 500, running: 5 }]), { ...options, ec2: true });
    expect(scaler.evaluate(60, 5).desired).toBe(7); // +2
    expect(scaler.evaluate(120, 7, { warming: 2, terminating: 0 }).desired).toBe(7); // +2 on the 5 warm: nothing
    expect(scaler.evaluate(180, 7, { warming: 2, terminating: 0 }).desired).toBe(8); // +3 on the 5 warm: 1 more
  });

  test('EC2: no scale-in cooldown, but terminating instances are current capacity, so a repeated breach removes no more than necessary', () => {
    const scaler = new RuleAutoscaler(set, datapoints(Array(3).fill({ visible: 0, running: 5 })), { ...options, ec2: true });
    expect(scaler.evaluate(60, 5).desired).toBe(4);
    // A minute later, the one removed still terminating: -1 from 4 + 1 leaves 4.
    expect(scaler.evaluate(120, 4, { warming: 0, terminating: 1 }).desired).toBe(4);
    // Once it has gone, the alarm (still in ALARM on its datapoint) removes another: EC2 has no cooldown to stop it.
    expect(scaler.evaluate(180, 4).desired).toBe(3);
  });

  test('EC2 with one-minute metrics: the scale-in sets the workers to keep, the same on every read of a stale count; an exact capacity above the fleet adds', () => {
    // The model EC2 fleets get (no step cooldowns): 20 workers, 4 busy, nothing visible.
    const ec2 = rulesFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, stepCooldowns: false }));
    const scaler = new RuleAutoscaler(ec2, datapoints(Array(4).fill({ visible: 0, inFlight: 4, running: 20 })), { ...options, ec2: true });
    // 4 busy + sqrt(4) = 6 needed, 6 + 0.75 x sqrt(6) = 7.8 kept: capacity 8, at once.
    expect(scaler.evaluate(60, 20)).toMatchObject({ desired: 8, events: [{ rule: 'scale-in to the workers to keep', from: 20, to: 8 }] });
    // The same datapoint read again sets 8 again: nothing more is removed (the step that removes a count removed it twice).
    expect(scaler.evaluate(120, 8)).toMatchObject({ desired: 8, events: [] });
    expect(scaler.evaluate(180, 8).desired).toBe(8);
    // AWS applies an exact capacity both ways: above the current one, it adds.
    const exact: StepRule = {
      kind: 'step', name: 'exact', metric: { signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.MAXIMUM },
      comparison: Comparison.LESS_THAN, threshold: 100, evaluationPeriods: 1, datapointsToAlarm: 1, treatMissingAsBreaching: false,
      adjustmentType: AdjustmentType.EXACT_CAPACITY, steps: [{ upper: 0, change: 6 }], cooldownSeconds: 0,
    };
    const both = (desired: number) => new RuleAutoscaler({ minWorkers: 0, maxWorkers: 20, rules: [exact] }, datapoints([{ visible: 0, running: desired }]), { ...options, ec2: true }).evaluate(60, desired).desired;
    expect([3, 6, 9].map(both)).toEqual([6, 6, 6]);
  });

  test('EC2 above 20 workers: between two capacities of the ladder the trim removes a third of the workers above those to keep a read, never past them', () => {
    // 100 workers: the ladder (..., 36, 44, 54, ...) is 1.235 apart. 30 busy + sqrt(30) = 35.5 needed,
    // 35.5 + 0.75 x sqrt(35.5) = 39.9 kept; the ladder needs 1.235 x 39.9 + 1 = 50.3 running, so at 50
    // it can't act, and the trim sees 50 - 39.9 = 10.1 above.
    const ec2 = rulesFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 100, targetBacklogPerWorker: 10, stepCooldowns: false }));
    const scaler = new RuleAutoscaler(ec2, datapoints(Array(4).fill({ visible: 0, inFlight: 30, running: 50 })), { ...options, ec2: true });
    // 10.1 is in the band 7-15 above the threshold of 1: -8 / 3 = -2 a read.
    expect(scaler.evaluate(60, 50)).toMatchObject({ desired: 48, events: [{ rule: 'scale-in trim above the workers to keep', from: 50, to: 48 }] });
    expect(scaler.evaluate(120, 48).desired).toBe(46);
    // Three reads of the same count remove 6, within the 10.1 it showed: the fleet stays above the 39.9 kept.
    expect(scaler.evaluate(180, 46).desired).toBe(44);
    // One more worker running and the ladder acts instead: the smallest capacity at or above 39.9.
    const ladder = new RuleAutoscaler(ec2, datapoints(Array(4).fill({ visible: 0, inFlight: 30, running: 51 })), { ...options, ec2: true });
    expect(ladder.evaluate(60, 51)).toMatchObject({ desired: 44, events: [{ rule: 'scale-in to the workers to keep', from: 51, to: 44 }] });
  });
});
