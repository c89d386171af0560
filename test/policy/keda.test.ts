import { kedaMessagesPerReplica, kedaQueueLength, kedaQueueMetric, kedaScalingFromModel, KEDA_FACTS, KEDA_POLLING_INTERVAL_SECONDS, scaledObjectManifest } from '../../lib/policy/keda';
import { buildScalingModel } from '../../lib/policy/scaling-policy';
import { AdjustmentType } from '../../lib/policy/steps';

describe('kedaScalingFromModel: the model as a ScaledObject and HPA behavior', () => {
  const model = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 40, concurrency: 4 });
  const keda = kedaScalingFromModel(model);

  test('bounds, queueLength = the backlog per worker the model holds at most the concurrency, in-flight and delayed counted, activation at any message', () => {
    expect(keda).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 20 });
    expect(model.heldBacklogPerWorker).toBe(20);
    expect(keda.trigger).toEqual({ queueLength: 4, activationQueueLength: 0, scaleOnInFlight: true, scaleOnDelayed: true });
  });

  test('a busy pod counts as one replica at least: the held backlog is capped at the concurrency', () => {
    expect(kedaMessagesPerReplica(model)).toBe(4);
    // Held backlog below the concurrency: kept (8 busy pods' 64 in-flight messages still ask for 32 replicas).
    const wide = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 4, concurrency: 8 });
    expect(kedaMessagesPerReplica(wide)).toBe(2);
    expect(kedaScalingFromModel(wide).trigger.queueLength).toBe(2);
    // The cap: 10 busy pods at concurrency 1 hold 10 messages, which ask for 10 replicas, not ceil(10 / 5) = 2.
    const narrow = buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 10, concurrency: 1 });
    expect(narrow.heldBacklogPerWorker).toBe(5);
    const derived = kedaScalingFromModel(narrow);
    expect(derived.trigger.queueLength).toBe(1);
    // A fleet's own choice replaces it, and nothing else.
    expect(kedaScalingFromModel(narrow, 5)).toEqual({ ...derived, trigger: { ...derived.trigger, queueLength: 5 } });
  });

  test('scale to zero after the idle rule\'s time; polling every 10 s whatever the period', () => {
    expect(keda.cooldownPeriodSeconds).toBe(model.scaleToZero!.idleSeconds);
    expect(keda.cooldownPeriodSeconds).toBe(600);
    // KEDA reads the queue itself: a first message waits at most 10 s for a pod, not the model's 60 s period.
    expect(model.metricPeriodSeconds).toBe(60);
    expect(keda.pollingIntervalSeconds).toBe(KEDA_POLLING_INTERVAL_SECONDS);
    expect(KEDA_POLLING_INTERVAL_SECONDS).toBe(10);
    const fast = kedaScalingFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 5, targetBacklogPerWorker: 10, metricPeriodSeconds: 30, scaleToZeroAfterSeconds: 120 }));
    expect(fast).toMatchObject({ pollingIntervalSeconds: 10, cooldownPeriodSeconds: 120 });
  });

  test('minWorkers > 0: no idle rule, KEDA never goes below it, its default cooldown stays', () => {
    const kept = kedaScalingFromModel(buildScalingModel({ minWorkers: 2, maxWorkers: 5, targetBacklogPerWorker: 10 }));
    expect(kept).toMatchObject({ minReplicaCount: 2, cooldownPeriodSeconds: KEDA_FACTS.cooldownPeriodSeconds });
  });

  test('scale-up: at once, the largest burst step per scale-out cooldown, or doubling', () => {
    expect(keda.behavior.scaleUp).toEqual({
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      // The fleet-derived burst steps' largest (+32 for 20 workers), per the 120 s scale-out cooldown of one-minute metrics.
      policies: [{ type: 'Pods', value: 32, periodSeconds: 120 }, { type: 'Percent', value: 100, periodSeconds: 120 }],
    });
    expect(Math.max(...model.burst.steps.map((st) => st.change))).toBe(32);
    const custom = kedaScalingFromModel(buildScalingModel({
      minWorkers: 0, maxWorkers: 50, targetBacklogPerWorker: 10, scaleOutCooldownSeconds: 30,
      burstSteps: [{ lower: 0, upper: 10, change: 2 }, { lower: 10, change: 7 }],
    }));
    expect(custom.behavior.scaleUp.policies).toEqual([{ type: 'Pods', value: 7, periodSeconds: 30 }, { type: 'Percent', value: 100, periodSeconds: 30 }]);
  });

  test('percent burst steps become a Percent policy', () => {
    const pct = kedaScalingFromModel(buildScalingModel({
      minWorkers: 0, maxWorkers: 50, targetBacklogPerWorker: 10, burstAdjustmentType: AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
      burstSteps: [{ lower: 0, change: 300 }],
    }));
    expect(pct.behavior.scaleUp.policies).toEqual([{ type: 'Percent', value: 300, periodSeconds: 120 }]);
  });

  test('scale-down: stabilized over the scale-in alarm\'s evaluation time, the largest scale-in step per scale-in cooldown', () => {
    expect(keda.behavior.scaleDown).toEqual({
      stabilizationWindowSeconds: model.scaleIn.evaluationPeriods * 60,
      selectPolicy: 'Max',
      // The fleet-derived scale-in steps' largest (-16 for 20 workers), per the 180 s scale-in cooldown.
      policies: [{ type: 'Pods', value: 16, periodSeconds: 180 }],
    });
    expect(keda.behavior.scaleDown.stabilizationWindowSeconds).toBe(120);
    const tenSeconds = kedaScalingFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 5, targetBacklogPerWorker: 10, metricPeriodSeconds: 10 }));
    expect(tenSeconds.behavior.scaleDown.stabilizationWindowSeconds).toBe(120);
  });

  test('a fractional target rounds down (more replicas, never fewer), to at least 1', () => {
    expect(kedaQueueLength(8.57)).toBe(8);
    expect(kedaQueueLength(0.5)).toBe(1);
    expect(kedaQueueLength(40)).toBe(40);
  });
});

describe('kedaQueueMetric: what the aws-sqs-queue scaler counts', () => {
  const sample = { visible: 10, inFlight: 4, delayed: 2, running: 1, desired: 1 };
  test('visible, plus in flight and delayed when asked', () => {
    const trigger = { queueLength: 5, activationQueueLength: 0, scaleOnInFlight: true, scaleOnDelayed: true };
    expect(kedaQueueMetric(sample, trigger)).toBe(16);
    expect(kedaQueueMetric(sample, { ...trigger, scaleOnDelayed: false })).toBe(14);
    expect(kedaQueueMetric(sample, { ...trigger, scaleOnInFlight: false, scaleOnDelayed: false })).toBe(10);
  });
});

describe('scaledObjectManifest', () => {
  test('an aws-sqs-queue trigger with string metadata and the HPA behavior', () => {
    const keda = kedaScalingFromModel(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 40 }));
    const manifest = scaledObjectManifest(keda, {
      name: 'agents', namespace: 'ns', deploymentName: 'agent', queueUrl: 'https://q', awsRegion: 'eu-west-1', triggerAuthenticationName: 'sqs',
    });
    expect(manifest).toMatchObject({
      apiVersion: 'keda.sh/v1alpha1',
      kind: 'ScaledObject',
      metadata: { name: 'agents', namespace: 'ns' },
      spec: {
        scaleTargetRef: { kind: 'Deployment', name: 'agent' },
        minReplicaCount: 0,
        maxReplicaCount: 20,
        pollingInterval: 10,
        cooldownPeriod: 600,
        advanced: { horizontalPodAutoscalerConfig: { behavior: keda.behavior } },
        triggers: [{
          type: 'aws-sqs-queue',
          authenticationRef: { name: 'sqs' },
          metadata: { queueURL: 'https://q', awsRegion: 'eu-west-1', queueLength: '1', activationQueueLength: '0', scaleOnInFlight: 'true', scaleOnDelayed: 'true' },
        }],
      },
    });
  });
});
