import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AgentFleetMonitoring, AgentQueue, BacklogPublisher, BacklogScaling, BacklogTarget, Ec2AgentFleet, FargateAgentFleet, type IAgentFleet } from '../../lib';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

function monitored(options: { latencyGoal?: Duration; topic?: boolean; ec2?: boolean; publisher?: boolean } = {}) {
  const stack = testStack();
  const queue = new AgentQueue(stack, 'Tasks');
  const fleet: IAgentFleet = options.ec2
    ? new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, maxWorkers: 12 })
    : new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, maxWorkers: 12 });
  const publisher = options.publisher ? new BacklogPublisher(stack, 'Publisher', { queue, fleet }) : undefined;
  const scaling = new BacklogScaling(stack, 'Scaling', {
    fleet, queue, publisher, target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(2), processingTime: Duration.seconds(4) }),
  });
  const alarmTopic = options.topic ? new sns.Topic(stack, 'Ops') : undefined;
  const monitoring = new AgentFleetMonitoring(stack, 'Monitoring', { queue, fleet, scaling, latencyGoal: options.latencyGoal, alarmTopic });
  return { stack, monitoring, template: synthTemplate(stack) };
}

/** The dashboard body with tokens resolved to placeholders, parsed. */
function dashboardBody(template: Template): { widgets: { properties: Record<string, any> }[] } {
  const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
}

describe('AgentFleetMonitoring', () => {
  test('alarms: dead letters, tasks older than the latency goal, a saturated fleet', () => {
    const { template } = monitored();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('TasksDeadLetterQueue'), 'QueueName'] } }],
      Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 120, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 3,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(FILL(running, 0) >= 12 AND DIFF(visible) > 0, 1, 0)' })]),
      Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 3,
    });
  });

  test.each([
    ['Fargate', false, 'ECS/ContainerInsights', ['DesiredTaskCount', 'RunningTaskCount']],
    ['EC2', true, 'AWS/AutoScaling', ['GroupDesiredCapacity', 'GroupInServiceInstances']],
  ])('%s: an alarm when desired workers stay above running ones and none starts, for 10 minutes', (_name, ec2, namespace, names) => {
    const { template, monitoring } = monitored({ ec2 });
    expect(monitoring.workersNotStartingAlarm).toBeDefined();
    const [[, alarm]] = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('MonitoringWorkersNotStarting'));
    expect(alarm.Properties).toMatchObject({
      EvaluationPeriods: 10, DatapointsToAlarm: 10, Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching',
    });
    const metrics = alarm.Properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string } } }[];
    expect(metrics.find((m) => m.Expression)!.Expression).toBe('IF(desired - running >= 1 AND DIFF(running) <= 0, 1, 0)');
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric.Namespace)).toEqual([namespace, namespace]);
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric.MetricName).sort()).toEqual(names);
  });

  test('an alarm when tasks take over 1.5x the processing time the target was derived from, for an hour; none for a target of so many messages', () => {
    const { template, monitoring } = monitored();
    expect(monitoring.processingTimeAlarm).toBeDefined();
    const [[, alarm]] = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('MonitoringProcessingTime'));
    expect(alarm.Properties).toMatchObject({
      Metrics: [{
        MetricStat: { Metric: { Namespace: 'AgentFleet', MetricName: 'ProcessingTime', Dimensions: [{ Name: 'Fleet', Value: expect.stringMatching(/^TestStackFleet/) }] }, Period: 900, Stat: 'Average' },
      }],
      Threshold: 6000, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 4, TreatMissingData: 'notBreaching',
    });
    expect(alarm.Properties.AlarmDescription).toContain('over 1.5x the processingTime its scaling target was derived from (4 s) for an hour');
    // Scaling weighs the backlog by the measured time: what the drift still costs is the first minute of an onset.
    expect(alarm.Properties.AlarmDescription).toContain('scaling weighs the backlog by the measured time');
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    const scaling = new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5) });
    expect(new AgentFleetMonitoring(stack, 'Monitoring', { queue, fleet, scaling }).processingTimeAlarm).toBeUndefined();
  });

  test('with the publisher, an alarm when it has put no datapoint for 3 minutes (missing data breaches); none without it', () => {
    const { template, monitoring } = monitored({ publisher: true });
    expect(monitoring.publisherSilentAlarm).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AgentFleet', MetricName: 'VisibleMessages', Statistic: 'SampleCount', Period: 60,
      Threshold: 1, ComparisonOperator: 'LessThanThreshold', EvaluationPeriods: 3, TreatMissingData: 'breaching',
      AlarmDescription: Match.stringLikeRegexp('backlog publisher of .*/Fleet has put no datapoint for 3 minutes'),
    });
    expect(monitored().monitoring.publisherSilentAlarm).toBeUndefined();
  });

  test('the latency goal can be set; without a latency target it defaults to 15 minutes', () => {
    expect(monitored({ latencyGoal: Duration.minutes(5) }).monitoring.latencyGoal.toSeconds()).toBe(300);
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    const scaling = new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5) });
    expect(new AgentFleetMonitoring(stack, 'Monitoring', { queue, fleet, scaling }).latencyGoal.toMinutes()).toBe(15);
  });

  test('with a topic, every alarm notifies on ALARM and OK', () => {
    const { template } = monitored({ topic: true });
    const alarms = resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.startsWith('Monitoring'));
    expect(alarms).toHaveLength(6); // dead letters, oldest task, saturated, workers not starting, memory, processing time
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
    }
  });

  test('the dashboard: backlog, backlog per worker against the target, workers, age, dead letters, throughput, processing time, alarms', () => {
    const { template } = monitored();
    const widgets = dashboardBody(template).widgets;
    expect(widgets.map((w) => w.properties.title)).toEqual([
      'Backlog (messages)', 'Backlog per worker', 'Workers',
      'Age of the oldest task (seconds)', 'Dead-letter queue (messages)', 'Throughput (tasks per minute)',
      'CPU utilization (%)', 'Memory utilization (%)', 'Processing time per task (ms)',
      'Alarms',
    ]);
    const processing = widgets[8].properties;
    expect(processing.annotations.horizontal).toEqual([
      expect.objectContaining({ value: 4000, label: 'Declared (scaling target)' }), expect.objectContaining({ value: 6000, label: 'Alarm 1.5x' }),
    ]);
    expect(JSON.stringify(processing.metrics)).toMatch(/"AgentFleet","ProcessingTime","Fleet","TestStackFleet.*"stat":"p90"/);
    const perWorker = widgets[1].properties;
    expect(perWorker.annotations.horizontal).toEqual([expect.objectContaining({ value: 30, label: 'Target 30' })]);
    expect(JSON.stringify(perWorker.metrics)).toContain('visible / IF(FILL(desired, REPEAT) > 1, FILL(desired, REPEAT), 1)');
    expect(widgets[2].properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 12 })]);
    expect(widgets[3].properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 120, label: 'Latency goal' })]);
    expect(JSON.stringify(widgets[5].properties.metrics)).toMatch(/"AgentFleet","MessagesProcessed","Fleet","TestStackFleet/);
    expect(widgets[9].properties.alarms).toHaveLength(9);
  });

  test('a latency goal under a minute works (SQS reports ages in seconds); zero is an error naming the path, prop, range and value', () => {
    expect(monitored({ latencyGoal: Duration.seconds(20) }).monitoring.oldestMessageAlarm).toBeDefined();
    expect(() => monitored({ latencyGoal: Duration.seconds(0) }))
      .toThrow(/^TestStack\/Monitoring: invalid configuration[\s\S]*latencyGoal: must be > 0 seconds, got 0 seconds/);
  });
});
