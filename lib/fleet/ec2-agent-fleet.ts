import { ArnFormat, Aws, Duration, Names, Resource, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { PUBLISHER_ENV, PUBLISHER_IAM_ACTIONS } from '../../lambda/backlog-publisher/contract';
import { metricDataQueries } from '../scaling/metric-queries';
import { AGENT_ENV, type WorkerTimings } from '../worker/contract';
import { acknowledgeGranteeWildcard, acknowledgeRule, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { knownSeconds, throwIfInvalid } from '../validation';
import {
  addSteps, FLEET_DEFAULTS, metricTrackingProps, resolveWorkerSettings, workerCountMetric, workerEnvironment,
  type AgentFleetProps, type FleetStepScalingOptions, type IAgentFleet, type MathTargetTrackingOptions, type MetricTargetTrackingOptions,
} from './agent-fleet';
import { enableInstanceUtilizationMetrics, instanceUtilizationMetric } from './instance-utilization';
import type { AgentImageConfig } from './agent-image';
import { checkSubnetCapacity, createFleetVpc } from './fleet-vpc';

/** The EC2-specific choices, for `Ec2AgentFleet` and `AgentCompute.ec2`. */
export interface Ec2ComputeOptions {
  /**
   * The instance type; each instance runs one agent container.
   * @default t3.medium
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * The AMI: Amazon Linux 2023 (user data installs Docker with dnf and runs a systemd unit).
   * @default - the latest Amazon Linux 2023 for the instance type's architecture (an SSM parameter resolved at deploy)
   */
  readonly machineImage?: ec2.IMachineImage;
  /**
   * Time between SIGTERM and SIGKILL when the agent container stops (`docker stop --time`).
   * @default Duration.seconds(120)
   */
  readonly stopTimeout?: Duration;
  /**
   * How long the termination lifecycle hook holds a terminating instance for the worker to drain
   * (30 s to 2 h); the worker completes the hook when done.
   * @default - the stop timeout plus 60 seconds
   */
  readonly lifecycleHookTimeout?: Duration;
  /**
   * Protect new instances from scale-in: only workers (or you) remove them.
   * @default false
   */
  readonly newInstancesProtectedFromScaleIn?: boolean;
  /**
   * Run on Spot instances (capacity rebalancing on; interruptions drain through the lifecycle hook).
   * @default false
   */
  readonly spot?: boolean;
  /**
   * Instance types Spot may choose from.
   * @default - `instanceType` only
   */
  readonly spotInstanceTypes?: ec2.InstanceType[];
  /**
   * Where the group sends launch, terminate and error notifications.
   * @default - no notifications
   */
  readonly notificationsTopic?: sns.ITopic;
  /**
   * Time from launch until an instance's worker counts in the group's metrics.
   * @default Duration.seconds(180)
   */
  readonly instanceWarmup?: Duration;
}

/** Properties of an `Ec2AgentFleet`. */
export interface Ec2AgentFleetProps extends AgentFleetProps, Ec2ComputeOptions {}

/** Name of the termination lifecycle hook (hook names are per group, so a fixed name is safe). */
export const DRAIN_HOOK_NAME = 'agent-drain';
const UNIT = 'agent-worker';

/**
 * A fleet of agent workers as an EC2 Auto Scaling group: each instance (Amazon Linux 2023,
 * IMDSv2 only, encrypted root volume, no public IP) runs the agent container under systemd; group
 * metrics are on, and a termination lifecycle hook lets the worker drain before the instance goes.
 */
export class Ec2AgentFleet extends Resource implements IAgentFleet {
  public readonly minWorkers: number;
  public readonly maxWorkers: number;
  public readonly concurrency: number;
  public readonly fleetName: string;
  public readonly timings: WorkerTimings;
  public readonly metricsNamespace: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly role: iam.Role;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;
  private readonly warmup: Duration;
  private utilizationMetricsEnabled = false;

  constructor(scope: Construct, id: string, props: Ec2AgentFleetProps) {
    super(scope, id);
    const stopTimeout = props.stopTimeout ?? Duration.seconds(120);
    const hookTimeout = props.lifecycleHookTimeout ?? Duration.seconds((knownSeconds(stopTimeout) ?? 120) + 60);
    const { settings, violations } = resolveWorkerSettings(this, { ...props, stopTimeout }, {
      lifecycleHeartbeatSeconds: knownSeconds(hookTimeout),
    });
    throwIfInvalid(this, violations);
    this.minWorkers = settings.minWorkers;
    this.maxWorkers = settings.maxWorkers;
    this.concurrency = settings.concurrency;
    this.fleetName = settings.fleetName;
    this.timings = settings.timings;
    this.metricsNamespace = settings.metricsNamespace;
    this.warmup = props.instanceWarmup ?? Duration.seconds(180);

    const vpc = props.vpc ?? createFleetVpc(this);
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    throwIfInvalid(this, checkSubnetCapacity(vpc, vpcSubnets, settings.maxWorkers));
    const instanceType = props.instanceType ?? ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM);
    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Agent workers of ${this.node.path}`,
    });
    this.grantPrincipal = this.role;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? FLEET_DEFAULTS.logRetention });
    this.logGroup.grantWrite(this.role);
    props.queue.grantConsume(this.role);
    const image = props.image.bind(this, this.role);

    // An explicit group name breaks the cycle group -> launch template -> user data -> group name.
    const groupName = Names.uniqueResourceName(this, { maxLength: 255 });
    const env = workerEnvironment(props, settings, {
      [AGENT_ENV.lifecycleHookName]: DRAIN_HOOK_NAME,
      [AGENT_ENV.autoScalingGroupName]: groupName,
      AWS_REGION: Aws.REGION,
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Agent workers: no inbound traffic, outbound to AWS APIs and the image registry',
      allowAllOutbound: true,
    });
    this.launchTemplate = new ec2.LaunchTemplate(this, 'LaunchTemplate', {
      instanceType,
      machineImage: props.machineImage ?? ec2.MachineImage.latestAmazonLinux2023({ cpuType: cpuTypeOf(instanceType) }),
      role: this.role,
      securityGroup: this.securityGroup,
      requireImdsv2: true,
      // Two hops: the container (one hop behind the host's bridge) reads its lifecycle state from IMDS.
      httpPutResponseHopLimit: 2,
      associatePublicIpAddress: false,
      blockDevices: [{
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
      }],
      userData: agentUserData(image, env, this.logGroup.logGroupName, settings.timings.stopTimeoutSeconds),
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Resource', {
      vpc,
      vpcSubnets,
      autoScalingGroupName: groupName,
      minCapacity: settings.minWorkers,
      maxCapacity: settings.maxWorkers,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      newInstancesProtectedFromScaleIn: props.newInstancesProtectedFromScaleIn ?? false,
      defaultInstanceWarmup: this.warmup,
      notifications: props.notificationsTopic ? [{ topic: props.notificationsTopic }] : undefined,
      ...(props.spot
        ? {
          capacityRebalance: true,
          mixedInstancesPolicy: {
            launchTemplate: this.launchTemplate,
            launchTemplateOverrides: (props.spotInstanceTypes ?? [instanceType]).map((t) => ({ instanceType: t })),
            instancesDistribution: {
              onDemandPercentageAboveBaseCapacity: 0,
              spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
            },
          },
        }
        : { launchTemplate: this.launchTemplate }),
    });

    if (props.spot) {
      acknowledgeRule(this.autoScalingGroup, 'EC26',
        'cdk-nag cannot follow a launch template referenced from a mixed instances policy; that launch template encrypts the root volume.');
    }

    this.autoScalingGroup.addLifecycleHook('DrainHook', {
      lifecycleHookName: DRAIN_HOOK_NAME,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: hookTimeout,
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });
    // The worker completes the hook of its own instance when it has drained.
    const groupArn = Stack.of(this).formatArn({
      service: 'autoscaling',
      resource: 'autoScalingGroup',
      resourceName: `*:autoScalingGroupName/${groupName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['autoscaling:CompleteLifecycleAction'], resources: [groupArn] }));
    acknowledgeWildcardResource(this, groupArn,
      'The group\'s ARN holds an ID that exists only after creation; the wildcard stands for that ID alone, and the name pins the one group.');
    if (!props.notificationsTopic) {
      acknowledgeRule(this, 'AS3',
        'Scaling events are in the group\'s activity history and group metrics; set notificationsTopic (ElasticAgentFleet: alarmTopic) to be notified.');
    }
  }

  /** AWS/AutoScaling GroupInServiceInstances (the group's metrics are enabled). */
  public metricRunningWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('GroupInServiceInstances', props);
  }

  /** AWS/AutoScaling GroupDesiredCapacity. */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.groupMetric('GroupDesiredCapacity', props);
  }

  /**
   * The publisher counts the group's InService instances. `autoscaling:DescribeAutoScalingGroups`
   * supports no resource-level permission, so it is granted on `*`, limited to this region.
   */
  public bindWorkerCounter(grantee: iam.IGrantable): Record<string, string> {
    grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [...PUBLISHER_IAM_ACTIONS.autoScaling],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:RequestedRegion': Aws.REGION } },
    }));
    acknowledgeGranteeWildcard(grantee, '*',
      'autoscaling:DescribeAutoScalingGroups (read-only) supports no resource-level permission; it is limited to this region.');
    return { [PUBLISHER_ENV.autoScalingGroupName]: this.autoScalingGroup.autoScalingGroupName };
  }

  public addMathTargetTracking(scope: Construct, id: string, options: MathTargetTrackingOptions): void {
    const highResolution = Object.values(options.metric.usingMetrics)
      .some((m) => (m.toMetricConfig().metricStat?.period.toSeconds() ?? 60) < 60);
    new autoscaling.CfnScalingPolicy(scope, id, {
      autoScalingGroupName: this.autoScalingGroup.autoScalingGroupName,
      policyType: 'TargetTrackingScaling',
      estimatedInstanceWarmup: this.warmup.toSeconds(),
      targetTrackingConfiguration: {
        targetValue: options.targetValue,
        disableScaleIn: options.disableScaleIn,
        customizedMetricSpecification: { metrics: metricDataQueries(options.metric, highResolution) },
      },
    });
  }

  public addStepScaling(scope: Construct, id: string, options: FleetStepScalingOptions): cloudwatch.IAlarmAction {
    // EC2 Auto Scaling step policies take a warm-up, not a cooldown.
    const action = new autoscaling.StepScalingAction(scope, id, {
      autoScalingGroup: this.autoScalingGroup,
      adjustmentType: options.adjustmentType as string as autoscaling.AdjustmentType,
      estimatedInstanceWarmup: options.cooldown,
      minAdjustmentMagnitude: options.minAdjustmentMagnitude,
    });
    addSteps(action, options.steps);
    return new cwActions.AutoScalingAction(action);
  }

  /** AWS/EC2 CPUUtilization of the group's instances (one-minute datapoints with `enableUtilizationMetrics`). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceUtilizationMetric('cpu', this.autoScalingGroup.autoScalingGroupName, props);
  }

  /** CWAgent mem_used_percent of the group's instances, from the CloudWatch agent that `enableUtilizationMetrics` installs. */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return instanceUtilizationMetric('memory', this.autoScalingGroup.autoScalingGroupName, props);
  }

  /**
   * Detailed monitoring (CPU each minute rather than each 5) and the CloudWatch agent, which puts
   * the instances' memory use by group name (EC2 publishes no memory metric).
   */
  public enableUtilizationMetrics(): void {
    if (this.utilizationMetricsEnabled) return;
    this.utilizationMetricsEnabled = true;
    enableInstanceUtilizationMetrics(this.launchTemplate, this.role);
  }

  public addMetricTargetTracking(scope: Construct, id: string, options: MetricTargetTrackingOptions): void {
    // EC2 Auto Scaling target tracking has no cooldowns: the instance warm-up holds further scale-out.
    new autoscaling.TargetTrackingScalingPolicy(scope, id, {
      ...metricTrackingProps(options),
      autoScalingGroup: this.autoScalingGroup,
      estimatedInstanceWarmup: this.warmup,
    });
  }

  private groupMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('AWS/AutoScaling', metricName, { AutoScalingGroupName: this.autoScalingGroup.autoScalingGroupName }, props);
  }
}

function cpuTypeOf(instanceType: ec2.InstanceType): ec2.AmazonLinuxCpuType {
  return instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}

/**
 * User data for Amazon Linux 2023: Docker from dnf, and a systemd unit that logs in to ECR (when
 * the image lives there), pulls and runs the image, restarts it forever (so a registry or network
 * hiccup at boot heals itself, and the 12-hour ECR token is renewed on each start), and stops it
 * with the stop timeout.
 */
function agentUserData(image: AgentImageConfig, env: Record<string, string>, logGroupName: string, stopTimeoutSeconds: number): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  const envFile = Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n');
  userData.addCommands(
    'set -euo pipefail',
    'dnf install -y docker',
    'systemctl enable --now docker',
    'install -d -m 0700 /etc/agent-fleet',
    `cat > /etc/agent-fleet/agent.env <<'AGENT_ENV'\n${envFile}\nAGENT_ENV`,
    'chmod 0600 /etc/agent-fleet/agent.env',
    `cat > /etc/systemd/system/${UNIT}.service <<'UNIT'`,
    '[Unit]',
    'Description=Agent fleet worker',
    'After=docker.service network-online.target',
    'Requires=docker.service',
    'StartLimitIntervalSec=0',
    '[Service]',
    'Restart=always',
    'RestartSec=5',
    `ExecStartPre=-/usr/bin/docker rm -f ${UNIT}`,
    ...(image.ecrRegistry
      ? [`ExecStartPre=/bin/sh -c 'aws ecr get-login-password --region ${Aws.REGION} | docker login --username AWS --password-stdin ${image.ecrRegistry}'`]
      : []),
    `ExecStartPre=/usr/bin/docker pull ${image.imageUri}`,
    `ExecStart=/usr/bin/docker run --rm --name ${UNIT} --env-file /etc/agent-fleet/agent.env `
      + `--log-driver awslogs --log-opt awslogs-region=${Aws.REGION} --log-opt awslogs-group=${logGroupName} ${image.imageUri}`,
    `ExecStop=/usr/bin/docker stop --time ${stopTimeoutSeconds} ${UNIT}`,
    `TimeoutStopSec=${stopTimeoutSeconds + 30}`,
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    `systemctl enable --now ${UNIT}.service`,
  );
  return userData;
}
