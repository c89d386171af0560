import { buildScalingModel, defaultScaleInCooldownSeconds, validateScalingModel } from '../../lib/policy/scaling-policy';
import { rulesFromModel, type RuleSample, type TargetTrackingRule } from '../../lib/policy/rules';
import { SPARE_WORKERS } from '../../lib/policy/signals';
import {
  metricSignal, spareWorkersExpressions, spareWorkersWithUtilization, UTILIZATION_DEFAULTS, utilizationSignals, workersNeeded,
} from '../../lib/policy/utilization';

const cpu60 = utilizationSignals({ cpuTargetPercent: 60, scaleOutCooldownSeconds: 180 });
const sample = (s: Partial<RuleSample>): RuleSample => ({ visible: 0, inFlight: 0, delayed: 0, running: 10, desired: 10, cpuUtilization: 0, ...s });
const params = { target: 10, concurrency: 4 };

describe('the extra signals in the policy model', () => {
  test('a signal needs the workers that keep it at 90 % of its target: 10 workers at 50 % CPU need 9.26', () => {
    expect(workersNeeded(cpu60[0], 10, 50)).toBeCloseTo(500 / 54, 9);
  });

  test('a worker is spare only when no signal needs it: the least of the backlog\'s and each signal\'s spare workers', () => {
    // Backlog alone: 10 running, 8 in flight at concurrency 4 need 2, and sqrt(8) / 4 of headroom -> 7.29 spare.
    const backlogSpare = 10 - (8 + Math.sqrt(8)) / 4;
    expect(SPARE_WORKERS.evaluate(sample({ inFlight: 8 }), params)).toBeCloseTo(backlogSpare, 9);
    // CPU at 50 % (target 60): 10 - 9.26 = 0.74 spare, below the step threshold of 1.
    expect(spareWorkersWithUtilization(sample({ inFlight: 8, cpuUtilization: 50 }), params, cpu60)).toBeCloseTo(10 - 500 / 54, 9);
    // CPU at 40 %: 10 - 7.41 = 2.59 spare; after removing one, 9 workers at 44.4 % stay under 54 %.
    expect(spareWorkersWithUtilization(sample({ inFlight: 8, cpuUtilization: 40 }), params, cpu60)).toBeCloseTo(10 - 400 / 54, 9);
    // A missing datapoint counts as 0, as FILL(x, 0) does: a business metric is silent while idle.
    const tokens = [metricSignal('Tokens', 1000, 180)];
    expect(spareWorkersWithUtilization(sample({ inFlight: 8 }), params, tokens)).toBeCloseTo(backlogSpare, 9);
    expect(spareWorkersWithUtilization(sample({ inFlight: 8, metrics: { metric_Tokens: 900 } }), params, tokens)).toBe(0);
  });

  test('the same formula as CloudWatch metric math', () => {
    const remaining = 'IF(FILL(running, REPEAT) < FILL(desired, REPEAT), FILL(running, REPEAT), FILL(desired, REPEAT))';
    const exprs = spareWorkersExpressions(params, [...cpu60, metricSignal('Tokens', 1000, 180)]);
    expect(exprs).toEqual([
      { id: 'spare_backlog', expression: SPARE_WORKERS.expression(params) },
      // Fleet inputs repeat their last value (a late datapoint is not an idle fleet); a silent business metric is 0.
      // The load is the running workers'; the spare ones are among those that stay, min(running, desired).
      { id: 'spare_cpu', expression: `${remaining} - FILL(running, REPEAT) * FILL(cpu, REPEAT) / 54` },
      { id: 'spare_metric_Tokens', expression: `${remaining} - FILL(running, REPEAT) * FILL(metric_Tokens, 0) / 900` },
      { id: 'spareWorkers', expression: 'MIN([spare_backlog, spare_cpu, spare_metric_Tokens])' },
    ]);
  });

  test('rules: one scale-out-only target tracking rule per signal, and the spare-workers rule reads them', () => {
    const model = buildScalingModel({ minWorkers: 1, maxWorkers: 20, targetBacklogPerWorker: 10, concurrency: 4, utilization: cpu60 });
    const { rules } = rulesFromModel(model);
    const cpuRule = rules.find((r) => r.name.startsWith('CPU')) as TargetTrackingRule;
    expect(cpuRule).toMatchObject({ kind: 'target-tracking', target: 60, disableScaleIn: true, scaleOutCooldownSeconds: 180 });
    expect(cpuRule.metric.periodSeconds).toBe(60);
    const scaleIn = rules.find((r) => r.name === 'scale-in steps on spare workers')!;
    expect(scaleIn.metric.signal.evaluate(sample({ inFlight: 8, cpuUtilization: 50 }), scaleIn.metric.signalParams)).toBeCloseTo(10 - 500 / 54, 9);
    expect(model.scaleIn.cooldownSeconds).toBe(UTILIZATION_DEFAULTS.scaleInCooldownSeconds);
    expect(buildScalingModel({ minWorkers: 1, maxWorkers: 20, targetBacklogPerWorker: 10 }).scaleIn.cooldownSeconds).toBe(defaultScaleInCooldownSeconds(60));
  });

  test('validation: percentages 1-100, targets > 0, each once', () => {
    const model = buildScalingModel({
      minWorkers: 1, maxWorkers: 20, targetBacklogPerWorker: 10,
      utilization: [
        ...utilizationSignals({ cpuTargetPercent: 0.5, memoryTargetPercent: 100, scaleOutCooldownSeconds: 180 }),
        metricSignal('Tokens', 0, 180), metricSignal('Tokens', 5, 180),
      ],
    });
    expect(validateScalingModel(model)).toEqual([
      { prop: 'cpuTargetPercent', allowed: '1-100 (percent)', value: '0.5' },
      { prop: 'scaleOnMetric(Tokens).targetValue', allowed: '> 0 (a per-worker quantity)', value: '0' },
      { prop: 'scaleOnMetric(Tokens).targetValue', allowed: 'a signal not added twice', value: '"metric_Tokens"' },
    ]);
  });
});
