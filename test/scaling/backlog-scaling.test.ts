import { Duration, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  AdjustmentType, AgentQueue, BacklogPublisher, BacklogScaling, BacklogTarget, Ec2AgentFleet, FargateAgentFleet,
  type BacklogScalingOptions, type IAgentFleet, type LatencyTargetOptions,
} from '../../lib';
import { buildScalingModel, growthHorizonSeconds, trimSteps, WORKER_START_SECONDS } from '../../lib/policy';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

type FleetKind = 'fargate' | 'ec2';

/** The burst signal's growth term, escaped for a RegExp: max(DIFF(visible), 0), a missing DIFF as 0. */
const GROWTH = 'IF\\(FILL\\(DIFF\\(visible\\), 0\\) > 0, FILL\\(DIFF\\(visible\\), 0\\), 0\\)';

function scaled(kind: FleetKind, options: BacklogScalingOptions & { minWorkers?: number; maxWorkers?: number; concurrency?: number; publisherPeriod?: Duration; target?: BacklogTarget } = {}, stack: Stack = testStack()) {
  const queue = new AgentQueue(stack, 'Tasks');
  const { minWorkers, maxWorkers, concurrency, publisherPeriod, target, ...tuning } = options;
  const fleetProps = { queue, image: TEST_IMAGE, minWorkers: minWorkers ?? 0, maxWorkers: maxWorkers ?? 20, concurrency };
  const fleet: IAgentFleet = kind === 'fargate' ? new FargateAgentFleet(stack, 'Fleet', fleetProps) : new Ec2AgentFleet(stack, 'Fleet', fleetProps);
  const publisher = publisherPeriod ? new BacklogPublisher(stack, 'Publisher', { queue, fleet, period: publisherPeriod }) : undefined;
  const scaling = new BacklogScaling(stack, 'Scaling', {
    fleet, queue, target: target ?? BacklogTarget.perWorker(40), publisher, ...tuning,
  });
  return { stack, scaling, fleet, template: synthTemplate(stack) };
}

/** A worker's start-up on each fleet as deployed by default: the EC2 fleet starts its instances from a warm pool. */
const DEFAULT_START_SECONDS = { fargate: WORKER_START_SECONDS.fargate, ec2: WORKER_START_SECONDS.ec2WarmPool } as const;

const POLICY = { fargate: 'AWS::ApplicationAutoScaling::ScalingPolicy', ec2: 'AWS::AutoScaling::ScalingPolicy' } as const;
const DIVISOR = {
  fargate: { Namespace: 'ECS/ContainerInsights', MetricName: 'DesiredTaskCount' },
  ec2: { Namespace: 'AWS/AutoScaling', MetricName: 'GroupDesiredCapacity' },
} as const;

function targetTracking(kind: FleetKind, template: Template) {
  const [[, policy]] = resourcesOf(template, POLICY[kind]).filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
  return kind === 'fargate'
    ? policy.Properties.TargetTrackingScalingPolicyConfiguration
    : policy.Properties.TargetTrackingConfiguration;
}

function stepPolicies(kind: FleetKind, template: Template) {
  return resourcesOf(template, POLICY[kind])
    .filter(([, p]) => p.Properties.PolicyType === 'StepScaling')
    .map(([, p]) => (kind === 'fargate' ? p.Properties.StepScalingPolicyConfiguration : p.Properties));
}

function alarmByExpression(template: Template, pattern: RegExp) {
  return resourcesOf(template, 'AWS::CloudWatch::Alarm').find(([, a]) =>
    (a.Properties.Metrics ?? []).some((m: { Expression?: string }) => m.Expression && pattern.test(m.Expression)))?.[1].Properties;
}

describe.each<FleetKind>(['fargate', 'ec2'])('BacklogScaling on a %s fleet', (kind) => {
  test('target tracking divides visible messages by requested workers through metric math, holds half the acceptable backlog, scale-out only', () => {
    const { template } = scaled(kind);
    const config = targetTracking(kind, template);
    expect(config.TargetValue).toBe(20);
    expect(config.DisableScaleIn).toBe(true);
    const metrics = config.CustomizedMetricSpecification.Metrics;
    expect(metrics).toEqual([
      { Id: 'visible', ReturnData: false, MetricStat: { Stat: 'Maximum', Metric: expect.objectContaining({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' }) } },
      { Id: 'desired', ReturnData: false, MetricStat: { Stat: 'Average', Metric: expect.objectContaining(DIVISOR[kind]) } },
      { Id: 'e1', ReturnData: true, Label: expect.any(String), Expression: 'visible / IF(FILL(desired, REPEAT) > 1, FILL(desired, REPEAT), 1)' },
    ]);
  });

  test('a latency target: every backlog signal weighs the visible count by the workers\' measured ProcessingTime over the declared time; not when turned off', () => {
    const latency = (options: Partial<LatencyTargetOptions> = {}) => BacklogTarget.fromLatency({ acceptableLatency: Duration.seconds(60), processingTime: Duration.seconds(6), ...options });
    const factor = 'IF(FILL(FILL(processingTime, REPEAT), 7500) > 7500, FILL(FILL(processingTime, REPEAT), 7500) / 7500, 1)';
    const { template, fleet } = scaled(kind, { target: latency() });
    const processingTime = {
      Id: 'processingTime', ReturnData: false,
      MetricStat: { Stat: 'Average', Metric: { Namespace: 'AgentFleet', MetricName: 'ProcessingTime', Dimensions: [{ Name: 'Fleet', Value: fleet.fleetName }] } },
    };
    const tracked = targetTracking(kind, template).CustomizedMetricSpecification.Metrics;
    expect(tracked).toContainEqual(processingTime);
    expect(tracked.at(-1).Expression).toBe(`${factor} * visible / IF(FILL(desired, REPEAT) > 1, FILL(desired, REPEAT), 1)`);
    // The burst's and the scale-in's alarms read it too.
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties.Metrics as { Id: string; Expression?: string }[]);
    const weighed = alarms.filter((metrics) => metrics.some((m) => m.Expression?.includes(`${factor} * `)));
    // The burst and the scale-in (spare workers on ECS, workers to keep on EC2); the idle rule counts messages.
    expect(weighed).toHaveLength(2);
    for (const metrics of weighed) expect(metrics).toContainEqual(expect.objectContaining({ Id: 'processingTime', MetricStat: expect.objectContaining({ Stat: 'Average' }) }));
    // Turned off, or a fixed target: no signal reads the workers' processing time.
    for (const target of [latency({ weighByMeasuredTime: false }), BacklogTarget.perWorker(40)]) {
      expect(JSON.stringify(scaled(kind, { target }, testStack()).template.toJSON())).not.toContain('ProcessingTime');
    }
  });

  test('burst steps: an alarm on visible, its growth over a worker\'s start-up, beyond held backlog x requested workers; steps in powers of two up to maxWorkers, which also leave 0', () => {
    const { template } = scaled(kind);
    // The growth of the last minute, projected over the start-up (60 s on Fargate, 60 s from the EC2
    // group's warm pool), at most two periods: 1 period on both.
    const periods = growthHorizonSeconds(DEFAULT_START_SECONDS[kind], 60) / 60;
    expect(periods).toBe(1);
    const alarm = alarmByExpression(template, new RegExp(`^visible \\+ ${periods} \\* ${GROWTH} - 20 \\* FILL\\(desired, REPEAT\\)$`));
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching' });
    expect(stepPolicies(kind, template)).toContainEqual(expect.objectContaining({
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 20, ScalingAdjustment: 1 },
        { MetricIntervalLowerBound: 20, MetricIntervalUpperBound: 40, ScalingAdjustment: 2 },
        { MetricIntervalLowerBound: 40, MetricIntervalUpperBound: 80, ScalingAdjustment: 4 },
        { MetricIntervalLowerBound: 80, MetricIntervalUpperBound: 160, ScalingAdjustment: 8 },
        { MetricIntervalLowerBound: 160, MetricIntervalUpperBound: 320, ScalingAdjustment: 16 },
        { MetricIntervalLowerBound: 320, ScalingAdjustment: 32 },
      ],
    }));
  });

  test('scale-in counts each in-flight message as a busy worker\'s (concurrency 1) and alarms on 1 of 2 periods (slack for a late newest one)', () => {
    const { template } = scaled(kind);
    // Busy workers: in-flight messages plus one standard deviation of their noise, at concurrency 1.
    const busy = 'inFlight \\+ 1 \\* \\(inFlight \\^ 0\\.5\\)';
    const needed = `IF\\(\\(visible \\/ 20 \\+ \\(${busy}\\) \\/ 1\\) > 1, \\(visible \\/ 20 \\+ \\(${busy}\\) \\/ 1\\), 1\\)`;
    if (kind === 'fargate') {
      // Spare among the workers that stay: a worker a scale-in removed runs until it has drained.
      const remaining = 'IF\\(FILL\\(running, REPEAT\\) < FILL\\(desired, REPEAT\\), FILL\\(running, REPEAT\\), FILL\\(desired, REPEAT\\)\\)';
      const alarm = alarmByExpression(template, new RegExp(`^${remaining} - ${needed}$`));
      expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 1 });
      expect(alarm!.Metrics.map((m: { Id: string }) => m.Id).sort()).toEqual(['expr_1', 'inFlight', 'running', 'desired', 'visible'].sort());
      expect(stepPolicies(kind, template)).toContainEqual(expect.objectContaining({
        StepAdjustments: [
          { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 1, ScalingAdjustment: -1 },
          { MetricIntervalLowerBound: 1, MetricIntervalUpperBound: 3, ScalingAdjustment: -1 },
          { MetricIntervalLowerBound: 3, MetricIntervalUpperBound: 7, ScalingAdjustment: -2 },
          { MetricIntervalLowerBound: 7, MetricIntervalUpperBound: 15, ScalingAdjustment: -8 },
          { MetricIntervalLowerBound: 15, ScalingAdjustment: -16 },
        ],
      }));
      return;
    }
    // EC2 Auto Scaling's step policies take no cooldown and up to three minutely actions read one
    // one-minute count: the scale-in sets the workers needed + 0.75 x their square root (the next
    // whole number) once the fleet runs at least that + 1, the same on every read; 21 (maxWorkers + 1)
    // asks for nothing.
    const keeping = `\\(${needed} \\+ 0\\.75 \\* \\(${needed} \\^ 0\\.5\\)\\)`;
    const alarm = alarmByExpression(template, new RegExp(`^IF\\(FILL\\(running, REPEAT\\) - 1 \\* ${keeping} >= 1, ${keeping}, 21\\)$`));
    expect(alarm).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: 20, EvaluationPeriods: 2, DatapointsToAlarm: 1 });
    expect(alarm!.Metrics.map((m: { Id: string }) => m.Id).sort()).toEqual(['expr_1', 'inFlight', 'running', 'visible'].sort());
    const [exact] = stepPolicies(kind, template).filter((p) => p.AdjustmentType === 'ExactCapacity' && p.StepAdjustments.length > 1);
    expect(exact.StepAdjustments).toHaveLength(20);
    expect(exact.StepAdjustments.slice(0, 2)).toEqual([
      { MetricIntervalUpperBound: -19, ScalingAdjustment: 1 },
      { MetricIntervalLowerBound: -19, MetricIntervalUpperBound: -18, ScalingAdjustment: 2 },
    ]);
    expect(exact.StepAdjustments.at(-1)).toEqual({ MetricIntervalLowerBound: -1, MetricIntervalUpperBound: 0, ScalingAdjustment: 20 });
  });

  test('above 20 workers, EC2\'s exact scale-in is trimmed where its ladder has no capacity below the running count: a third of the workers above those to keep', () => {
    const { template, scaling } = scaled(kind, { maxWorkers: 100 });
    const trim = alarmByExpression(template, /^IF\(FILL\(running, REPEAT\) - 1\.235 \* \(.* >= 1, 0, FILL\(running, REPEAT\) - \(.* \+ 0\.75 \* \(.* \^ 0\.5\)\)\)$/);
    if (kind === 'fargate') {
      // ECS's cooldowns pace the spare-worker steps: each count is removed once, nothing to trim.
      expect(scaling.trimAlarm).toBeUndefined();
      expect(trim).toBeUndefined();
      return;
    }
    expect(trim).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 1 });
    expect(trim!.AlarmActions).toHaveLength(1);
    expect(stepPolicies(kind, template)).toContainEqual(expect.objectContaining({
      AdjustmentType: 'ChangeInCapacity',
      StepAdjustments: trimSteps(100, 3).map((st) => ({
        MetricIntervalLowerBound: st.lower,
        ...(st.upper === undefined ? {} : { MetricIntervalUpperBound: st.upper }),
        ScalingAdjustment: st.change,
      })),
    }));
    // The ladder's own alarm is unchanged: exact capacities once the fleet runs 1.235 x the workers to keep + 1.
    expect(alarmByExpression(template, /^IF\(FILL\(running, REPEAT\) - 1\.235 \* \(.* >= 1, \(.*\), 101\)$/)).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: 100 });
  });

  test('every alarm expression fits CloudWatch\'s 2,048 characters (MetricDataQuery Expression), the exact scale-in\'s included', () => {
    // A latency target: the signals weigh the backlog by the measured task time (the longest expressions).
    const target = BacklogTarget.fromLatency({ acceptableLatency: Duration.seconds(60), processingTime: Duration.seconds(6) });
    const { template } = scaled(kind, { maxWorkers: 5_000, concurrency: 64, target });
    const expressions = resourcesOf(template, 'AWS::CloudWatch::Alarm')
      .flatMap(([, alarm]) => (alarm.Properties.Metrics ?? []) as { Expression?: string }[])
      .flatMap((m) => (m.Expression ? [m.Expression] : []));
    // Burst, idle, and the spare workers (ECS) or the exact scale-in and its trim (EC2), which write the need four times.
    expect(expressions).toHaveLength(kind === 'ec2' ? 4 : 3);
    expect(expressions.filter((e) => e.includes(' + 0.75 * ('))).toHaveLength(kind === 'ec2' ? 2 : 0);
    for (const expression of expressions) expect(expression.length).toBeLessThanOrEqual(2048);
    expect(expressions.filter((e) => e.includes('processingTime'))).toHaveLength(kind === 'ec2' ? 3 : 2);
  });

  test('scale-in divides in-flight messages by the fleet\'s concurrency', () => {
    const { template, scaling } = scaled(kind, { concurrency: 4 });
    expect(scaling.model.concurrency).toBe(4);
    const comparison = kind === 'fargate' ? 'GreaterThanOrEqualToThreshold' : 'LessThanThreshold';
    expect(alarmByExpression(template, /inFlight \^ 0\.5\)\) \/ 4\)/)).toMatchObject({ ComparisonOperator: comparison });
    expect(alarmByExpression(template, /\) \/ 1\)/)).toBeUndefined();
  });

  test('with minWorkers 0, goes to 0 only after visible + in-flight + delayed stay 0 for the idle time', () => {
    const { template } = scaled(kind, { scaleToZeroAfter: Duration.minutes(30) });
    const alarm = alarmByExpression(template, /^visible \+ inFlight \+ delayed$/);
    expect(alarm).toMatchObject({ ComparisonOperator: 'LessThanOrEqualToThreshold', Threshold: 0, EvaluationPeriods: 30, DatapointsToAlarm: 29 });
    expect(stepPolicies(kind, template)).toContainEqual(expect.objectContaining({
      AdjustmentType: 'ExactCapacity',
      StepAdjustments: [{ MetricIntervalUpperBound: 0, ScalingAdjustment: 0 }],
    }));
  });

  test('with minWorkers above 0 there is no idle rule', () => {
    const { template, scaling } = scaled(kind, { minWorkers: 2 });
    expect(scaling.idleAlarm).toBeUndefined();
    expect(alarmByExpression(template, /delayed/)).toBeUndefined();
  });

  test('custom burst steps and percentages reach the template', () => {
    const { template } = scaled(kind, {
      burstAdjustmentType: AdjustmentType.PERCENT_CHANGE_IN_CAPACITY,
      burstSteps: [{ lower: 0, upper: 100, change: 50 }, { lower: 100, change: 200 }],
    });
    expect(stepPolicies(kind, template)).toContainEqual(expect.objectContaining({
      AdjustmentType: 'PercentChangeInCapacity',
      MinAdjustmentMagnitude: 1,
      StepAdjustments: [
        { MetricIntervalLowerBound: 0, MetricIntervalUpperBound: 100, ScalingAdjustment: 50 },
        { MetricIntervalLowerBound: 100, ScalingAdjustment: 200 },
      ],
    }));
  });

  test('its model is the policy model built from the same inputs: what the simulator replays', () => {
    const { scaling } = scaled(kind);
    expect(scaling.model).toEqual(buildScalingModel({ minWorkers: 0, maxWorkers: 20, targetBacklogPerWorker: 40, concurrency: 1, workerStartSeconds: DEFAULT_START_SECONDS[kind], stepCooldowns: kind === 'fargate' }));
  });
});

describe('BacklogScaling', () => {
  test('default cooldowns: two periods scale-out (target tracking and burst: 120 s on one-minute metrics), 180 s scale-in and idle', () => {
    const { template } = scaled('fargate');
    expect(targetTracking('fargate', template).ScaleOutCooldown).toBe(120);
    expect(stepPolicies('fargate', template).map((p) => p.Cooldown).sort()).toEqual([120, 180, 180]);
  });

  test('default cooldowns with the publisher\'s 10 s metrics: 60 s scale-out, 80 s scale-in and idle (two periods plus 60 s)', () => {
    const { template } = scaled('fargate', { publisherPeriod: Duration.seconds(10) });
    expect(targetTracking('fargate', template).ScaleOutCooldown).toBe(60);
    // Burst and surge 60 s; scale-in and idle 80 s.
    expect(stepPolicies('fargate', template).map((p) => p.Cooldown).sort()).toEqual([60, 60, 80, 80]);
    const { template: perMinute } = scaled('fargate', { publisherPeriod: Duration.seconds(60) });
    expect(stepPolicies('fargate', perMinute).map((p) => p.Cooldown).sort()).toEqual([120, 180, 180]);
  });

  test('cooldowns: scale-out on target tracking (ECS) and burst, scale-in on the spare-worker steps', () => {
    const { template } = scaled('fargate', { scaleOutCooldown: Duration.seconds(90), scaleInCooldown: Duration.minutes(10) });
    expect(targetTracking('fargate', template).ScaleOutCooldown).toBe(90);
    const cooldowns = stepPolicies('fargate', template).map((p) => p.Cooldown).sort();
    expect(cooldowns).toEqual([600, 600, 90]);
  });

  test.each<FleetKind>(['fargate', 'ec2'])('with the publisher (%s), every signal reads its high-resolution metrics', (kind) => {
    const { template, stack } = scaled(kind, { publisherPeriod: Duration.seconds(10) });
    const metrics = targetTracking(kind, template).CustomizedMetricSpecification.Metrics;
    const fleetDimension = [{ Name: 'Fleet', Value: expect.stringMatching(/^TestStackFleet/) }];
    expect(metrics.slice(0, 2).map((m: { MetricStat: unknown }) => m.MetricStat)).toEqual([
      { Stat: 'Maximum', Unit: 'Count', Metric: { Namespace: 'AgentFleet', MetricName: 'VisibleMessages', Dimensions: fleetDimension }, ...(kind === 'ec2' ? { Period: 10 } : {}) },
      { Stat: 'Maximum', Unit: 'Count', Metric: { Namespace: 'AgentFleet', MetricName: 'DesiredWorkers', Dimensions: fleetDimension }, ...(kind === 'ec2' ? { Period: 10 } : {}) },
    ]);
    // The publisher's inputs arrive in one put: no fleet input is filled.
    expect(metrics[2].Expression).toBe('visible / IF(desired > 1, desired, 1)');
    // The alarms evaluate 10 s datapoints: the burst projects the growth of 10 s over the start-up,
    // at most the 60 s cooldown (6 periods, not EC2's 18); scale-in still reads 2 minutes, 6 of 12.
    const burst = alarmByExpression(template, new RegExp(`^visible \\+ 6 \\* ${GROWTH} - 20 \\* desired$`));
    expect(burst!.Metrics.find((m: { Id: string }) => m.Id === 'visible').MetricStat.Period).toBe(10);
    expect(alarmByExpression(template, /\) \/ 1\)/)).toMatchObject({ EvaluationPeriods: 12, DatapointsToAlarm: 6 });
    expect(resourcesOf(template, 'AWS::CloudWatch::Alarm').every(([, a]) => !JSON.stringify(a.Properties.Metrics).includes('REPEAT'))).toBe(true);
    expect(stack).toBeDefined();
  });

  test.each<FleetKind>(['fargate', 'ec2'])('with the publisher (%s), the burst\'s last band has its own alarm and policy (surge); on one-minute metrics none', (kind) => {
    const { template, scaling } = scaled(kind, { publisherPeriod: Duration.seconds(10) });
    const model = scaling.model;
    expect(model.surge).toBeDefined();
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const burstExpression = new RegExp(`^visible \\+ 6 \\* ${GROWTH} - 20 \\* desired$`);
    const onExcess = alarms.filter((a) => (a.Metrics ?? []).some((m: { Expression?: string }) => m.Expression && burstExpression.test(m.Expression)));
    // maxWorkers 20 at a held backlog of 20: the last band starts at 16 workers lacking, 320 messages.
    expect(onExcess.map((a) => [a.Threshold, a.ComparisonOperator]).sort()).toEqual([[0, 'GreaterThanThreshold'], [320, 'GreaterThanThreshold']]);
    expect(onExcess[0].Metrics).toEqual(onExcess[1].Metrics);
    const surge = stepPolicies(kind, template).find((p) => p.StepAdjustments.length === 1 && p.StepAdjustments[0].ScalingAdjustment === 32);
    expect(surge.StepAdjustments).toEqual([{ MetricIntervalLowerBound: 0, ScalingAdjustment: 32 }]);
    expect(scaling.surgeAlarm).toBeDefined();
    const { scaling: perMinute } = scaled(kind);
    expect(perMinute.surgeAlarm).toBeUndefined();
  });

  test('a Fargate fleet\'s declared start-up sets the burst\'s growth horizon, up to its next look', () => {
    const burstWith = (workerStartTime: Duration | undefined, publisherPeriod?: Duration) => {
      const stack = testStack();
      const queue = new AgentQueue(stack, 'Tasks');
      const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, maxWorkers: 20, workerStartTime });
      const publisher = publisherPeriod ? new BacklogPublisher(stack, 'Publisher', { queue, fleet, period: publisherPeriod }) : undefined;
      new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(40), publisher });
      return { fleet, template: synthTemplate(stack) };
    };
    const desired = '20 \\* FILL\\(desired, REPEAT\\)';
    const byDefault = burstWith(undefined);
    expect(byDefault.fleet.workerStartTime.toSeconds()).toBe(WORKER_START_SECONDS.fargate);
    expect(alarmByExpression(byDefault.template, new RegExp(`^visible \\+ 1 \\* ${GROWTH} - ${desired}$`))).toBeDefined();
    // 150 s on one-minute metrics: two periods, the scale-out cooldown after which the burst reads its own workers.
    const slow = burstWith(Duration.seconds(150));
    expect(slow.fleet.workerStartTime.toSeconds()).toBe(150);
    expect(alarmByExpression(slow.template, new RegExp(`^visible \\+ 2 \\* ${GROWTH} - ${desired}$`))).toBeDefined();
    // 90 s: one and a half periods.
    expect(alarmByExpression(burstWith(Duration.seconds(90)).template, new RegExp(`^visible \\+ 1\\.5 \\* ${GROWTH} - ${desired}$`))).toBeDefined();
    // With the publisher's 10 s metrics the next look is 60 s away whatever the start-up.
    expect(alarmByExpression(burstWith(Duration.seconds(150), Duration.seconds(10)).template, new RegExp(`^visible \\+ 6 \\* ${GROWTH} - 20 \\* desired$`))).toBeDefined();
  });

  describe('validation', () => {
    test.each([
      ['a target of 0', { target: BacklogTarget.perWorker(0) }, /target: must be > 0 messages per worker, got 0/],
      ['a zero processing time', { target: BacklogTarget.fromLatency({ acceptableLatency: Duration.seconds(10), processingTime: Duration.seconds(0) }) }, /target: must be > 0 messages per worker, got Infinity/],
      ['overlapping burst steps', { burstSteps: [{ lower: 0, upper: 100, change: 1 }, { lower: 50, change: 2 }] }, /burstSteps\[1\]\.lower: must be equal to burstSteps\[0\]\.upper \(100\).*got 50/],
      ['a gap between burst steps', { burstSteps: [{ lower: 0, upper: 10, change: 1 }, { lower: 20, change: 2 }] }, /burstSteps\[1\]\.lower: must be equal to burstSteps\[0\]\.upper \(10\)/],
      ['decreasing bounds', { burstSteps: [{ lower: 10, upper: 5, change: 1 }] }, /burstSteps\[0\]\.upper: must be > lower \(10\), got 5/],
      ['a burst step that removes workers', { burstSteps: [{ lower: 0, change: -1 }] }, /burstSteps\[0\]\.change: must be > 0 \(burst steps add workers\), got -1/],
      ['no burst steps', { burstSteps: [] }, /burstSteps: must be 1-20 steps, got 0 steps/],
      ['a scale-in step that removes busy workers', { scaleInSteps: [{ lower: 0, upper: 3, change: -2 }, { lower: 3, change: -3 }] }, /scaleInSteps\[0\]\.change: must be between -1 and -1 .*got -2/],
      ['a scale-to-zero idle time over a day', { scaleToZeroAfter: Duration.days(2) }, /scaleToZeroAfter: must be 60-86400 seconds, got 172800 seconds/],
      ['scale-in evaluation periods of 0', { scaleInEvaluationPeriods: 0 }, /scaleInEvaluationPeriods: must be an integer 1-1440, got 0/],
    ])('%s is an error naming the path, prop, range and value', (_name, props, message) => {
      const stack = testStack();
      const queue = new AgentQueue(stack, 'Tasks');
      const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
      expect(() => new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(40), ...props }))
        .toThrow(message);
    });

    test('the error names the construct path', () => {
      const stack = testStack();
      const queue = new AgentQueue(stack, 'Tasks');
      const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
      expect(() => new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(-5) }))
        .toThrow(/^TestStack\/Scaling: invalid configuration \(1 problem\):\n {2}- target: must be > 0 messages per worker, got -5$/);
    });
  });
});

