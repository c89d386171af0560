import { Match } from 'aws-cdk-lib/assertions';
import { AgentCompute, AgentFleetMonitoring, AgentQueue, BacklogScaling, BacklogTarget, ElasticAgentFleet, FargateAgentFleet } from '../../lib';
import { resourcesOf, synthTemplate, TEST_IMAGE, testStack } from '../support/cdk';

function dashboardText(compute: AgentCompute, scaling = {}): { text: string; template: ReturnType<typeof synthTemplate> } {
  const stack = testStack();
  new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute, scaling, businessMetrics: ['TokensUsed', 'ToolCalls'] });
  const template = synthTemplate(stack);
  const [[, dashboard]] = resourcesOf(template, 'AWS::CloudWatch::Dashboard');
  const parts = dashboard.Properties.DashboardBody['Fn::Join'][1] as unknown[];
  return { text: parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''), template };
}

describe('AgentFleetMonitoring: CPU, memory and business metrics', () => {
  test.each([
    ['Fargate', AgentCompute.fargate(), '"AWS/ECS","CPUUtilization"', '"AWS/ECS","MemoryUtilization"'],
    ['EC2', AgentCompute.ec2(), '"AWS/EC2","CPUUtilization"', '"CWAgent","mem_used_percent"'],
  ])('%s: CPU and memory panels (average and busiest worker), the scaling targets, the business metrics', (_name, compute, cpu, memory) => {
    const { text } = dashboardText(compute, { cpuTargetPercent: 65 });
    const widgets = (JSON.parse(text) as { widgets: { properties: Record<string, any> }[] }).widgets;
    const byTitle = Object.fromEntries(widgets.map((w) => [w.properties.title, w.properties]));
    expect(JSON.stringify(byTitle['CPU utilization (%)'].metrics)).toContain(cpu);
    expect(JSON.stringify(byTitle['Memory utilization (%)'].metrics)).toContain(memory);
    expect(JSON.stringify(byTitle['CPU utilization (%)'].metrics)).toContain('"stat":"Maximum"');
    expect(byTitle['CPU utilization (%)'].annotations.horizontal).toEqual([expect.objectContaining({ value: 65, label: 'Scaling target 65 %' })]);
    expect(byTitle['Memory utilization (%)'].annotations.horizontal).toEqual([expect.objectContaining({ value: 90, label: 'Alarm 90 %' })]);
    const business = JSON.stringify(byTitle['Business metrics (per minute)'].metrics);
    expect(business).toContain('"AgentFleet","TokensUsed","Fleet"');
    expect(business).toContain('"AgentFleet","ToolCalls","Fleet"');
  });

  test.each([
    ['Fargate', AgentCompute.fargate(), 'AWS/ECS', 'MemoryUtilization'],
    ['EC2', AgentCompute.ec2(), 'CWAgent', 'mem_used_percent'],
  ])('%s: an alarm when the fullest worker is near its memory limit', (_name, compute, namespace, metricName) => {
    const { template } = dashboardText(compute);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: namespace, MetricName: metricName, Statistic: 'Maximum', Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 2,
    });
    if (namespace === 'CWAgent') {
      // The EC2 fleet's memory comes from the CloudWatch agent, which monitoring turns on.
      template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: Match.objectLike({ Monitoring: { Enabled: true } }) });
    }
  });

  test('memoryAlarmPercent and businessMetrics are validated: one error naming the path, props and values', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    const scaling = new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(5) });
    expect(() => new AgentFleetMonitoring(stack, 'Monitoring', { queue, fleet, scaling, memoryAlarmPercent: 101, businessMetrics: [''] }))
      .toThrow(/TestStack\/Monitoring: invalid configuration \(2 problems\):\n {2}- memoryAlarmPercent: must be 1-100 %, got 101 %\n {2}- businessMetrics\[0\]: must be a metric name of 1-255 characters, got ""/);
  });
});
