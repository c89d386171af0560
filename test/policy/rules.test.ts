import { buildScalingModel } from '../../lib/policy/scaling-policy';
import {
  breaches, Comparison, CPU_UTILIZATION, findRuleStep, NO_SIGNAL_PARAMS, isScaleOutStep, rulesFromModel, Statistic, targetTrackingDecision, VISIBLE_MESSAGES,
  type StepRule, type TargetTrackingRule,
} from '../../lib/policy/rules';
import { AdjustmentType } from '../../lib/policy/steps';
import { BACKLOG_PER_WORKER, EXCESS_BACKLOG, QUEUED_MESSAGES, SPARE_WORKERS } from '../../lib/policy/signals';

const depth = { signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 300, statistic: Statistic.MAXIMUM };

describe('rulesFromModel: the rules BacklogScaling deploys, with the model\'s own objects', () => {
  test('minWorkers 0: target tracking, burst, scale-in and scale-to-zero on the four signals', () => {
    const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10 });
    const set = rulesFromModel(model);
    expect(set).toMatchObject({ minWorkers: 0, maxWorkers: 20 });
    const [tt, burst, scaleIn, zero] = set.rules;
    expect(tt).toMatchObject({ kind: 'target-tracking', target: model.heldBacklogPerWorker, disableScaleIn: true, scaleOutDatapoints: 3 });
    expect(model.heldBacklogPerWorker).toBe(5);
    expect(tt.metric.signal).toBe(BACKLOG_PER_WORKER);
    expect(burst).toMatchObject({ kind: 'step', comparison: Comparison.GREATER_THAN, threshold: 0, steps: model.burst.steps });
    expect(burst.metric.signal).toBe(EXCESS_BACKLOG);
    expect(scaleIn).toMatchObject({ comparison: Comparison.GREATER_THAN_OR_EQUAL, threshold: 1, evaluationPeriods: model.scaleIn.evaluationPeriods,
      datapointsToAlarm: model.scaleIn.datapointsToAlarm, treatMissingAsBreaching: false });
    expect(scaleIn.metric.signal).toBe(SPARE_WORKERS);
    expect(zero).toMatchObject({ comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0, evaluationPeriods: 10, adjustmentType: AdjustmentType.EXACT_CAPACITY });
    expect(zero.metric.signal).toBe(QUEUED_MESSAGES);
    expect(set.rules.every((r) => r.metric.periodSeconds === 60 && r.metric.statistic === Statistic.MAXIMUM)).toBe(true);
  });

  test('on 10 s metrics the surge step follows the burst, on the same signal above the last band\'s lower bound', () => {
    const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, metricPeriodSeconds: 10 });
    const [, burst, surge] = rulesFromModel(model).rules as StepRule[];
    expect(burst.name).toBe('burst steps on excess backlog');
    expect(surge).toMatchObject({ kind: 'step', name: 'surge step on excess backlog', comparison: Comparison.GREATER_THAN, threshold: model.surge!.threshold, steps: model.surge!.steps });
    expect(surge.metric).toEqual(burst.metric);
    expect(findRuleStep(surge, model.surge!.threshold - 1)).toBeUndefined();
    expect(findRuleStep(surge, model.surge!.threshold + 1)?.change).toBe(32);
  });

  test('minWorkers > 0: no scale-to-zero rule', () => {
    expect(rulesFromModel(buildScalingModel({ minWorkers: 1, maxWorkers: 5, targetBacklogPerWorker: 10 })).rules).toHaveLength(3);
  });
});

describe('findRuleStep: the side of the threshold decides which bound is inclusive', () => {
  const upper: StepRule = {
    kind: 'step', name: 'u', metric: depth, comparison: Comparison.GREATER_THAN_OR_EQUAL, threshold: 100, evaluationPeriods: 1, datapointsToAlarm: 1,
    adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: [{ lower: 0, upper: 400, change: 1 }, { lower: 400, change: 5 }], cooldownSeconds: 300,
  };
  const lower: StepRule = { ...upper, comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0, steps: [{ upper: 0, change: -1 }] };

  test('above: QueueProcessingFargateService\'s >=100 +1, >=500 +5', () => {
    expect(findRuleStep(upper, 100)?.change).toBe(1);
    expect(findRuleStep(upper, 499)?.change).toBe(1);
    expect(findRuleStep(upper, 500)?.change).toBe(5);
    expect(isScaleOutStep(upper, upper.steps[0], 3)).toBe(true);
  });

  test('below: upper bound 0 is inclusive, so an empty queue matches <=0 -1', () => {
    expect(findRuleStep(lower, 0)?.change).toBe(-1);
    expect(findRuleStep(lower, 1)).toBeUndefined();
    expect(isScaleOutStep(lower, lower.steps[0], 3)).toBe(false);
  });

  test('an ExactCapacity step adds workers when its capacity is above the desired count, and removes them otherwise', () => {
    const exact: StepRule = { ...lower, adjustmentType: AdjustmentType.EXACT_CAPACITY, steps: [{ upper: 0, change: 8 }] };
    expect(isScaleOutStep(exact, exact.steps[0], 5)).toBe(true);
    expect(isScaleOutStep(exact, exact.steps[0], 8)).toBe(false);
    expect(isScaleOutStep(exact, exact.steps[0], 20)).toBe(false);
  });
});

describe('targetTrackingDecision', () => {
  const rule: TargetTrackingRule = {
    kind: 'target-tracking', name: 'cpu', metric: { signal: CPU_UTILIZATION, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE },
    target: 50, scaleOutCooldownSeconds: 300, scaleInCooldownSeconds: 300, disableScaleIn: false, scaleOutDatapoints: 3, scaleInDatapoints: 15, scaleInRatio: 0.9,
  };

  test('scale-out: ceil(capacity x metric / target); none when it would not add', () => {
    expect(targetTrackingDecision(rule, 4, 100, 'out')).toBe(8);
    expect(targetTrackingDecision(rule, 4, 51, 'out')).toBe(5);
    expect(targetTrackingDecision(rule, 4, 50, 'out')).toBeUndefined();
  });

  test('scale-in: floor, and never with disableScaleIn', () => {
    expect(targetTrackingDecision(rule, 10, 20, 'in')).toBe(4);
    expect(targetTrackingDecision({ ...rule, disableScaleIn: true }, 10, 20, 'in')).toBeUndefined();
  });

  test('breaches follows the comparison operator', () => {
    expect(breaches(Comparison.GREATER_THAN, 1, 1)).toBe(false);
    expect(breaches(Comparison.GREATER_THAN_OR_EQUAL, 1, 1)).toBe(true);
    expect(breaches(Comparison.LESS_THAN, 1, 1)).toBe(false);
    expect(breaches(Comparison.LESS_THAN_OR_EQUAL, 1, 1)).toBe(true);
  });
});
