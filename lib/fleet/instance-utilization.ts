import { Aws } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { acknowledgeWildcardResource } from '../nag-acknowledgements';
import { workerCountMetric } from './agent-fleet';

/** Namespace the CloudWatch agent puts its metrics in by default; the agent's IAM is limited to it. */
export const CLOUDWATCH_AGENT_NAMESPACE = 'CWAgent';

const CONFIG_FILE = '/opt/aws/amazon-cloudwatch-agent/etc/agent-fleet.json';

/**
 * The CloudWatch agent's configuration: memory use every minute, with the group's name as the
 * only dimension (`omit_hostname`, and `${aws:AutoScalingGroupName}` appended), so the group has
 * one metric whose Average is the fleet's and whose Maximum is its fullest instance
 * ("Manually create or edit the CloudWatch agent configuration file", CloudWatch User Guide).
 */
export const CLOUDWATCH_AGENT_CONFIG = {
  agent: { metrics_collection_interval: 60, omit_hostname: true },
  metrics: {
    namespace: CLOUDWATCH_AGENT_NAMESPACE,
    append_dimensions: { AutoScalingGroupName: '${aws:AutoScalingGroupName}' },
    aggregation_dimensions: [['AutoScalingGroupName']],
    metrics_collected: { mem: { measurement: ['mem_used_percent'] } },
  },
} as const;

/** The group's CPU (AWS/EC2 CPUUtilization) or memory (the agent's mem_used_percent), Average over a minute. */
export function instanceUtilizationMetric(kind: 'cpu' | 'memory', groupName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  const [namespace, metricName] = kind === 'cpu' ? ['AWS/EC2', 'CPUUtilization'] : [CLOUDWATCH_AGENT_NAMESPACE, 'mem_used_percent'];
  return workerCountMetric(namespace, metricName, { AutoScalingGroupName: groupName }, props);
}

/**
 * Makes a fleet's instances publish CPU and memory each minute: detailed monitoring on the launch
 * template, and the CloudWatch agent from Amazon Linux 2023's repository, configured by user data.
 * The agent's permissions are scoped rather than AWS's CloudWatchAgentServerPolicy (which also
 * grants logs, SSM parameters and any namespace): PutMetricData in its namespace only, and
 * DescribeTags, which it calls to resolve `${aws:AutoScalingGroupName}`.
 */
export function enableInstanceUtilizationMetrics(launchTemplate: ec2.LaunchTemplate, role: iam.IRole): void {
  (launchTemplate.node.defaultChild as ec2.CfnLaunchTemplate).addPropertyOverride('LaunchTemplateData.Monitoring.Enabled', true);
  launchTemplate.userData!.addCommands(
    'dnf install -y amazon-cloudwatch-agent',
    `cat > ${CONFIG_FILE} <<'CWAGENT'\n${JSON.stringify(CLOUDWATCH_AGENT_CONFIG)}\nCWAGENT`,
    `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${CONFIG_FILE}`,
  );
  // Neither action supports resource-level permissions (Service Authorization Reference).
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': CLOUDWATCH_AGENT_NAMESPACE } },
  }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['ec2:DescribeTags'],
    resources: ['*'],
    conditions: { StringEquals: { 'aws:RequestedRegion': Aws.REGION } },
  }));
  acknowledgeWildcardResource(role, '*',
    'cloudwatch:PutMetricData (limited to the CWAgent namespace) and ec2:DescribeTags (read-only, this region) support no resource-level permission; the CloudWatch agent needs them for the memory metric.');
}
