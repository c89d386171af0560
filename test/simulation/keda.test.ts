import { kedaQueueMetric } from '../../lib/policy/keda';
import { buildScalingModel } from '../../lib/policy/scaling-policy';
import { compare } from '../../lib/simulation/compare';
import { HpaAutoscaler, kedaDefaults, scaledObjectFromModel } from '../../lib/simulation/keda';
import { oursOnKedaPolicy } from '../../lib/simulation/policies';
import { cellInputs } from '../../lib/simulation/suite';

const sample = (visible: number, inFlight = 0) => ({ visible, inFlight, delayed: 3, running: 0, desired: 0, cpuUtilization: NaN });

describe('KEDA aws-sqs-queue + HPA defaults', () => {
  const spec = kedaDefaults(5, 100);

  test('documented defaults: 30 s polling, 300 s cooldown, min 0, 15 s sync, 10 % tolerance, up max(100 %, 4 pods), down after 300 s', () => {
    expect(spec).toMatchObject({ minReplicaCount: 0, pollingIntervalSeconds: 30, cooldownPeriodSeconds: 300, hpaSyncSeconds: 15, tolerance: 0.1 });
    expect(spec.trigger).toEqual({ queueLength: 5, activationQueueLength: 0, scaleOnInFlight: true, scaleOnDelayed: false });
    expect(spec.behavior.scaleDown.stabilizationWindowSeconds).toBe(300);
  });

  test('queue length = visible + in flight (delayed only with scaleOnDelayed)', () => {
    expect(kedaQueueMetric(sample(10, 4), spec.trigger)).toBe(14);
    expect(kedaQueueMetric(sample(10, 4), { ...spec.trigger, scaleOnDelayed: true })).toBe(17);
  });

  test('from 0: activation at the next polling interval, then the HPA at most doubles (or +4) every 15 s toward ceil(length / target)', () => {
    const hpa = new HpaAutoscaler(spec);
    expect(hpa.evaluate(29, 0, sample(200)).desired).toBe(0);
    expect(hpa.evaluate(30, 0, sample(200))).toMatchObject({ desired: 1, events: [{ rule: 'KEDA activation' }] });
    expect(hpa.evaluate(45, 1, sample(200)).desired).toBe(5); // +4 beats +100 %
    expect(hpa.evaluate(60, 5, sample(200)).desired).toBe(10);
    expect(hpa.evaluate(75, 10, sample(200)).desired).toBe(20);
    expect(hpa.evaluate(90, 20, sample(200)).desired).toBe(40); // ceil(200 / 5)
    expect(hpa.evaluate(105, 40, sample(200)).desired).toBe(40);
  });

  test('no change within the 10 % tolerance', () => {
    const hpa = new HpaAutoscaler(spec);
    expect(hpa.evaluate(15, 10, sample(54)).desired).toBe(10); // 5.4 per replica vs 5: 8 %
    expect(hpa.evaluate(30, 10, sample(56)).desired).toBe(12); // 12 %
  });

  test('scale-down acts on the highest recommendation of the last 300 s; to 0 after 300 s without messages', () => {
    const hpa = new HpaAutoscaler(spec);
    expect(hpa.evaluate(15, 20, sample(100)).desired).toBe(20);
    expect(hpa.evaluate(30, 20, sample(10)).desired).toBe(20);
    expect(hpa.evaluate(300, 20, sample(10)).desired).toBe(20);
    expect(hpa.evaluate(315, 20, sample(10)).desired).toBe(2);
    for (let t = 330; t < 615; t += 15) hpa.evaluate(t, 2, sample(0));
    expect(hpa.evaluate(630, 1, sample(0))).toMatchObject({ desired: 0, events: [{ rule: 'KEDA cooldown to zero' }] });
  });
});

describe('our model as KEDA executes it (the ScaledObject EksAgentFleet deploys)', () => {
  const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 40, concurrency: 4 });
  const spec = scaledObjectFromModel(model);

  test('the model\'s translation with the HPA controller\'s defaults around it', () => {
    expect(spec).toMatchObject({ hpaSyncSeconds: 15, tolerance: 0.1, pollingIntervalSeconds: 10, cooldownPeriodSeconds: 600 });
    // The held backlog (20) capped at the concurrency (4): a busy pod counts as one replica at least.
    expect(spec.trigger.queueLength).toBe(model.concurrency);
  });

  test('from 0: a first message activates the fleet at the next 10 s poll, not at the model\'s 60 s period', () => {
    const hpa = new HpaAutoscaler(spec);
    expect(hpa.evaluate(1, 0, sample(1)).desired).toBe(0);
    expect(hpa.evaluate(10, 0, sample(1))).toMatchObject({ desired: 1, events: [{ rule: 'KEDA activation' }] });
  });

  test('scale-up is bounded per period: the largest burst step (+64) or doubling within one 120 s scale-out cooldown', () => {
    const hpa = new HpaAutoscaler({ ...spec, maxReplicaCount: 500, behavior: { ...spec.behavior,
      scaleUp: { ...spec.behavior.scaleUp, policies: [{ ...spec.behavior.scaleUp.policies[0], value: 8 }, spec.behavior.scaleUp.policies[1]] } } });
    // 4,000 messages at queueLength 4 ask for 1,000 replicas; from 2: at most max(+8, +100 %) = 10 in the period.
    expect(hpa.evaluate(15, 2, sample(4000)).desired).toBe(10);
    // Within the same 120 s, nothing more (the period starts from 2 replicas).
    expect(hpa.evaluate(30, 10, sample(4000)).desired).toBe(10);
    expect(hpa.evaluate(120, 10, sample(4000)).desired).toBe(10);
    // Once the first change leaves the period: from 10, max(+8, +100 %) = 20.
    expect(hpa.evaluate(135, 10, sample(4000)).desired).toBe(20);
  });

  test('scale-down waits for the stabilization window, then at most the largest scale-in step (16) per 120 s', () => {
    const hpa = new HpaAutoscaler({ ...spec, maxReplicaCount: 100 });
    // 160 messages are queueLength (4) per replica for 40: no change.
    expect(hpa.evaluate(15, 40, sample(160)).desired).toBe(40);
    for (let t = 30; t < 15 + spec.behavior.scaleDown.stabilizationWindowSeconds; t += 15) expect(hpa.evaluate(t, 40, sample(0, 40)).desired).toBe(40);
    const after = 15 + spec.behavior.scaleDown.stabilizationWindowSeconds;
    expect(hpa.evaluate(after, 40, sample(0, 40)).desired).toBe(24);
    expect(hpa.evaluate(after + 15, 24, sample(0, 40)).desired).toBe(24);
  });
});

describe('our model on KEDA under a steady load (the suite\'s 20 workers at concurrency 1, held backlog 5)', () => {
  // At queueLength 5 a busy pod counted as a fifth of a replica: the fleet swung between 15-20 and 3-8 pods every six minutes, p95 43 s on Fargate and 84 s on EC2.
  test.each(['fargate', 'ec2'] as const)('on %s it keeps the pods its busy work needs (about 9) and waits seconds', (compute) => {
    const { config, trace, messages, start } = cellInputs({ shape: 'steady', scale: 'small', source: 'publisher', compute }, { seed: 1 });
    const policy = oursOnKedaPolicy(config.fleet, config.params, start);
    expect(policy.kind === 'scaled-object' && policy.scaledObject.trigger.queueLength).toBe(1);
    const { runs: [run], summaries: [summary] } = compare(trace, config, { policies: [policy], messages });
    const settled = run.timeline.slice(10, 110).map((m) => m.workers);
    expect(Math.min(...settled)).toBeGreaterThanOrEqual(8);
    expect(summary.waitP95).toBeLessThan(10);
  });
});
