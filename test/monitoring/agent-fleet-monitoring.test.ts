import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AgentFleetMonitoring, AgentQueue, BacklogScaling, BacklogTarget, FargateAgentFleet } from '../../lib';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

function monitored(options: { latencyGoal?: Duration; topic?: boolean } = {}) {
  const stack = testStack();
  const queue = new AgentQueue(stack, 'Tasks');
  const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, maxWorkers: 12 });
  const scaling = new BacklogScaling(stack, 'Scaling', {
    fleet, queue, target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(2), processingTime: Duration.seconds(4) }),
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
    expect(alarms).toHaveLength(4);
    for (const [, alarm] of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^Ops/) }]);
    }
  });

  test('the dashboard: backlog, backlog per worker against the target, workers, age, dead letters, throughput, alarms', () => {
    const { template } = monitored();
    const widgets = dashboardBody(template).widgets;
    expect(widgets.map((w) => w.properties.title)).toEqual([
      'Backlog (messages)', 'Backlog per worker', 'Workers',
      'Age of the oldest task (seconds)', 'Dead-letter queue (messages)', 'Throughput (tasks per minute)',
      'CPU utilization (%)', 'Memory utilization (%)',
      'Alarms',
    ]);
    const perWorker = widgets[1].properties;
    expect(perWorker.annotations.horizontal).toEqual([expect.objectContaining({ value: 30, label: 'Target 30' })]);
    expect(JSON.stringify(perWorker.metrics)).toContain('visible / IF(FILL(running, 0) > 1, FILL(running, 0), 1)');
    expect(widgets[2].properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 12 })]);
    expect(widgets[3].properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 120, label: 'Latency goal' })]);
    expect(JSON.stringify(widgets[5].properties.metrics)).toMatch(/"AgentFleet","MessagesProcessed","Fleet","TestStackFleet/);
    expect(widgets[8].properties.alarms).toHaveLength(7);
  });

  test('a latency goal under a minute is an error naming the path, prop, range and value', () => {
    expect(() => monitored({ latencyGoal: Duration.seconds(20) }))
      .toThrow(/^TestStack\/Monitoring: invalid configuration[\s\S]*latencyGoal: must be >= 60 seconds \(SQS ages are per minute\), got 20 seconds/);
  });
});
