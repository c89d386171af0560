import { Duration, Stack } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { AgentCompute, AgentQueue, BacklogMetricSource, BacklogScaling, BacklogTarget, ElasticAgentFleet, FargateAgentFleet, type IAgentFleet } from '../../lib';
import { UTILIZATION_DEFAULTS } from '../../lib/policy/utilization';
import { resourcesOf, synthTemplate, TEST_IMAGE, testStack } from '../support/cdk';

/** A fresh app's fleet with every extra signal: CPU, memory and tokens per worker (metric math). */
function allSignals(compute: AgentCompute, metricSource = BacklogMetricSource.METRIC_MATH, maxWorkers?: number) {
  const stack = testStack();
  const agents = new ElasticAgentFleet(stack, 'Agents', {
    image: TEST_IMAGE, compute, metricSource, maxWorkers, scaling: { cpuTargetPercent: 60, memoryTargetPercent: 75 }, businessMetrics: ['TokensUsed'],
  });
  agents.scaling.scaleOnMetric('TokensPerWorker', { metric: tokensPerWorker(agents.fleet, agents.scaling), targetValue: 20_000 });
  return { stack, agents, template: synthTemplate(stack) };
}

/** Tokens per minute per running worker, with the running-workers metric the scaling itself reads. */
function tokensPerWorker(fleet: IAgentFleet, scaling: BacklogScaling): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: 'tokens / IF(FILL(running, 0) > 1, FILL(running, 0), 1)',
    usingMetrics: {
      tokens: new cloudwatch.Metric({ namespace: fleet.metricsNamespace, metricName: 'TokensUsed', dimensionsMap: { Fleet: fleet.fleetName }, statistic: 'Sum' }),
      running: scaling.metrics.input('running'),
    },
  });
}

function scaleInAlarm(template: Template, name = 'ScaleInAlarm'): Record<string, any> {
  const [[, alarm]] = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes(name));
  return alarm.Properties;
}

describe('BacklogScaling on CPU, memory and custom metrics', () => {
  test('Fargate: three scale-out-only target tracking policies next to the backlog one, on the service\'s AWS/ECS averages', () => {
    const { template } = allSignals(AgentCompute.fargate());
    const tracking = resourcesOf(template, 'AWS::ApplicationAutoScaling::ScalingPolicy')
      .filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
    expect(tracking).toHaveLength(4);
    for (const [, p] of tracking) expect(p.Properties.TargetTrackingScalingPolicyConfiguration.DisableScaleIn).toBe(true);
    for (const [metricName, target] of [['CPUUtilization', 60], ['MemoryUtilization', 75]] as const) {
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: target, DisableScaleIn: true, ScaleOutCooldown: UTILIZATION_DEFAULTS.scaleOutCooldownSeconds,
          CustomizedMetricSpecification: {
            Namespace: 'AWS/ECS', MetricName: metricName, Statistic: 'Average',
            Dimensions: [{ Name: 'ClusterName', Value: Match.anyValue() }, { Name: 'ServiceName', Value: Match.anyValue() }],
          },
        },
      });
    }
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: 20_000, DisableScaleIn: true,
        CustomizedMetricSpecification: { Metrics: Match.arrayWith([Match.objectLike({ Id: 'e1', Expression: 'tokens / IF(FILL(running, 0) > 1, FILL(running, 0), 1)', ReturnData: true })]) },
      },
    });
  });

  test('EC2: the group\'s CPU with detailed monitoring, memory from the CloudWatch agent with IAM scoped to its namespace', () => {
    const { template } = allSignals(AgentCompute.ec2());
    const tracking = resourcesOf(template, 'AWS::AutoScaling::ScalingPolicy').filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
    expect(tracking).toHaveLength(4);
    for (const [, p] of tracking) expect(p.Properties.TargetTrackingConfiguration.DisableScaleIn).toBe(true);
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: { TargetValue: 60, CustomizedMetricSpecification: { Namespace: 'AWS/EC2', MetricName: 'CPUUtilization', Dimensions: [{ Name: 'AutoScalingGroupName', Value: Match.anyValue() }] } },
    });
    template.hasResourceProperties('AWS::AutoScaling::ScalingPolicy', {
      TargetTrackingConfiguration: { TargetValue: 75, CustomizedMetricSpecification: { Namespace: 'CWAgent', MetricName: 'mem_used_percent', Dimensions: [{ Name: 'AutoScalingGroupName', Value: Match.anyValue() }] } },
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ Monitoring: { Enabled: true } }) });
    const [[, launchTemplate]] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
    const userData = JSON.stringify(launchTemplate.Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('dnf install -y amazon-cloudwatch-agent');
    expect(userData).toContain('mem_used_percent');
    expect(userData).toContain('${aws:AutoScalingGroupName}');
    expect(userData).toContain('amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s');
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([
        { Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'CWAgent' } } },
        { Effect: 'Allow', Action: 'ec2:DescribeTags', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': { Ref: 'AWS::Region' } } } },
      ]) },
    });
  });

  test.each([
    ['Fargate', AgentCompute.fargate(), undefined],
    ['EC2 with the publisher', AgentCompute.ec2(), BacklogMetricSource.PUBLISHER],
  ])('%s: the spare-workers alarm keeps the workers each signal needs (metric math across namespaces)', (_name, compute, source) => {
    const { template } = allSignals(compute, source);
    const alarm = scaleInAlarm(template);
    const ids = (alarm.Metrics as { Id: string }[]).map((m) => m.Id);
    expect(ids).toEqual(['visible', 'inFlight', 'running', 'desired', 'cpu', 'memory', 'tokens', 'metric_TokensPerWorker',
      'spare_backlog', 'spare_cpu', 'spare_memory', 'spare_metric_TokensPerWorker', 'spareWorkers']);
    const byId = Object.fromEntries((alarm.Metrics as { Id: string }[]).map((m) => [m.Id, m as Record<string, any>]));
    // 0.9 x target: a worker is spare only when the others carry its load under 90 % of the target.
    // The running count is filled as the backlog rule fills it: REPEAT unless the publisher puts every input at once.
    const [running, desired] = source === BacklogMetricSource.PUBLISHER ? ['running', 'desired'] : ['FILL(running, REPEAT)', 'FILL(desired, REPEAT)'];
    // Spare among the workers that stay (a removed worker runs until it has drained): min(running, desired).
    const remaining = `IF(${running} < ${desired}, ${running}, ${desired})`;
    expect(byId.spare_cpu.Expression).toBe(`${remaining} - ${running} * FILL(cpu, REPEAT) / 54`);
    expect(byId.spare_memory.Expression).toBe(`${remaining} - ${running} * FILL(memory, REPEAT) / 67.5`);
    expect(byId.spare_metric_TokensPerWorker.Expression).toBe(`${remaining} - ${running} * FILL(metric_TokensPerWorker, 0) / 18000`);
    expect(byId.spareWorkers).toMatchObject({ Expression: 'MIN([spare_backlog, spare_cpu, spare_memory, spare_metric_TokensPerWorker])', ReturnData: true });
    expect((alarm.Metrics as { ReturnData: boolean }[]).filter((m) => m.ReturnData)).toHaveLength(1);
    // Every input has the alarm's period (60 s, or the publisher's 10 s).
    const periods = new Set((alarm.Metrics as { MetricStat?: { Period: number } }[]).flatMap((m) => (m.MetricStat ? [m.MetricStat.Period] : [])));
    expect([...periods]).toEqual([source === BacklogMetricSource.PUBLISHER ? 10 : 60]);
  });

  test('EC2 with one-minute metrics: the exact scale-in keeps the workers the signals need + 0.75 x their square root, min(running, desired) - spareWorkers', () => {
    const { agents, template } = allSignals(AgentCompute.ec2());
    const alarm = scaleInAlarm(template);
    const max = agents.scaling.model.maxWorkers;
    expect(alarm).toMatchObject({ ComparisonOperator: 'LessThanThreshold', Threshold: max });
    const metrics = alarm.Metrics as { Id: string; Expression?: string; ReturnData?: boolean }[];
    expect(metrics.map((m) => m.Id).slice(-2)).toEqual(['spareWorkers', 'workersToKeep']);
    expect(metrics.filter((m) => m.ReturnData).map((m) => m.Id)).toEqual(['workersToKeep']);
    const { ratio } = agents.scaling.model.scaleIn.keep!;
    const needed = '(IF(FILL(running, REPEAT) < FILL(desired, REPEAT), FILL(running, REPEAT), FILL(desired, REPEAT)) - spareWorkers)';
    const keeping = `(${needed} + 0.75 * (${needed} ^ 0.5))`;
    expect(metrics.at(-1)!.Expression).toBe(`IF(FILL(running, REPEAT) - ${ratio} * ${keeping} >= 1, ${keeping}, ${max + 1})`);
  });

  test('EC2 above 20 workers: the trim reads the same need, min(running, desired) - spareWorkers, with every signal', () => {
    const { agents, template } = allSignals(AgentCompute.ec2(), undefined, 100);
    const alarm = scaleInAlarm(template, 'ScaleInTrimAlarm');
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 1 });
    const metrics = alarm.Metrics as { Id: string; Expression?: string; ReturnData?: boolean }[];
    expect(metrics.map((m) => m.Id).slice(-2)).toEqual(['spareWorkers', 'workersAboveKeep']);
    expect(metrics.filter((m) => m.ReturnData).map((m) => m.Id)).toEqual(['workersAboveKeep']);
    expect(metrics.map((m) => m.Id)).toEqual(scaleInAlarm(template).Metrics.map((m: { Id: string }) => m.Id.replace('workersToKeep', 'workersAboveKeep')));
    const { ratio } = agents.scaling.model.scaleIn.keep!;
    const needed = '(IF(FILL(running, REPEAT) < FILL(desired, REPEAT), FILL(running, REPEAT), FILL(desired, REPEAT)) - spareWorkers)';
    const keeping = `(${needed} + 0.75 * (${needed} ^ 0.5))`;
    expect(metrics.at(-1)!.Expression).toBe(`IF(FILL(running, REPEAT) - ${ratio} * ${keeping} >= 1, 0, FILL(running, REPEAT) - ${keeping})`);
    // Its evaluation periods follow the scale-in's, longer with extra signals.
    expect(alarm.EvaluationPeriods).toBe(scaleInAlarm(template).EvaluationPeriods);
  });

  test('with extra signals the scale-in cooldown is 240 s and the alarm waits 8 minutes (also when scaleOnMetric adds the first one after construction)', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    const scaling = new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5) });
    expect(scaling.model.scaleIn.cooldownSeconds).toBe(180);
    scaling.scaleOnMetric('ToolCalls', { metric: new cloudwatch.Metric({ namespace: 'AgentFleet', metricName: 'ToolCalls', statistic: 'Average' }), targetValue: 3 });
    expect(scaling.model.scaleIn.cooldownSeconds).toBe(UTILIZATION_DEFAULTS.scaleInCooldownSeconds);
    const template = synthTemplate(stack);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyName: Match.stringLikeRegexp('ScaleInPolicy'), StepScalingPolicyConfiguration: Match.objectLike({ Cooldown: 240 }),
    });
    expect((scaleInAlarm(template).Metrics as { Id: string }[]).map((m) => m.Id)).toContain('spare_metric_ToolCalls');
    // 8 one-minute periods, all but one breaching (UTILIZATION_DEFAULTS.scaleInAfterSeconds).
    expect(scaleInAlarm(template)).toMatchObject({ EvaluationPeriods: 8, DatapointsToAlarm: 7 });
  });

  test('without extra signals nothing changes: no utilization policy, the spare-workers alarm as before', () => {
    const stack = testStack();
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE });
    const template = synthTemplate(stack);
    const tracking = resourcesOf(template, 'AWS::ApplicationAutoScaling::ScalingPolicy').filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
    expect(tracking).toHaveLength(1);
    expect((scaleInAlarm(template).Metrics as { Id: string }[]).map((m) => m.Id)).not.toContain('cpu');
  });

  test('bad targets are one error naming the path, the prop and the value', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    expect(() => new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5), cpuTargetPercent: 0, memoryTargetPercent: 120 }))
      .toThrow(/TestStack\/Scaling: invalid configuration \(2 problems\):\n {2}- cpuTargetPercent: must be 1-100 \(percent\), got 0\n {2}- memoryTargetPercent: must be 1-100 \(percent\), got 120/);
    const scaling = new BacklogScaling(stack, 'Scaling2', { fleet, queue, target: BacklogTarget.perWorker(5) });
    const metric = new cloudwatch.Metric({ namespace: 'AgentFleet', metricName: 'ToolCalls' });
    expect(() => scaling.scaleOnMetric('ToolCalls', { metric, targetValue: -1 }))
      .toThrow(/TestStack\/Scaling2: .*\n {2}- scaleOnMetric\(ToolCalls\)\.targetValue: must be > 0 \(a per-worker quantity\), got -1/);
    scaling.scaleOnMetric('ToolCalls', { metric, targetValue: 1 });
    expect(() => scaling.scaleOnMetric('ToolCalls', { metric, targetValue: 1 })).toThrow(/scaleOnMetric\(ToolCalls\)\.targetValue: must be a signal not added twice/);
  });

  test('an input id of a signal\'s metric math that names another metric of the alarm is an error', () => {
    const stack = testStack();
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, metricSource: BacklogMetricSource.PUBLISHER });
    const metric = new cloudwatch.MathExpression({ expression: 'running * 2', usingMetrics: { running: agents.fleet.metricRunningWorkers() } });
    expect(() => agents.scaling.scaleOnMetric('Twice', { metric, targetValue: 1 })).toThrow(/metric id "running" .* already used by another metric/);
  });

  test('more metrics than one CloudWatch alarm can read is an error when the signal is added', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    const scaling = new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5), cpuTargetPercent: 50, memoryTargetPercent: 50 });
    const metric = (name: string) => new cloudwatch.Metric({ namespace: 'AgentFleet', metricName: name });
    for (const name of ['A', 'B', 'C', 'D']) scaling.scaleOnMetric(name, { metric: metric(name), targetValue: 1 });
    expect(() => scaling.scaleOnMetric('E', { metric: metric('E'), targetValue: 1 })).toThrow(/scaleOnMetric: must be at most 6 extra signals/);
  });

  test('scaleOutCooldown applies to the signals too', () => {
    const stack = testStack();
    new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, scaling: { cpuTargetPercent: 50, scaleOutCooldown: Duration.seconds(90) } });
    synthTemplate(stack).hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 50, ScaleOutCooldown: 90 }),
    });
  });

  test('the model carries the signals for the simulator and the dashboard', () => {
    const { agents } = allSignals(AgentCompute.fargate());
    expect(agents.scaling.model.utilization?.map((u) => [u.id, u.target])).toEqual([['cpu', 60], ['memory', 75], ['metric_TokensPerWorker', 20_000]]);
    expect(Stack.of(agents).resolve(agents.scaling.model.scaleIn.cooldownSeconds)).toBe(240);
  });
});
