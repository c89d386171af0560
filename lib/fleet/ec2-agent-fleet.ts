import { ArnFormat, Aws, Duration, Names, type RemovalPolicy, Resource, Stack, Token } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import { PUBLISHER_ENV, PUBLISHER_IAM_ACTIONS } from '../../lambda/backlog-publisher/contract';
import { metricDataQueries } from '../scaling/metric-queries';
import { check, checkIntegerRange, type Violation } from '../policy/violation';
import { EC2_INSTANCE_WARMUP_SECONDS, EC2_ROOT_VOLUME_GIB, WORKER_START_SECONDS } from '../policy/scaling-policy';
import { AGENT_ENV, type WorkerTimings } from '../worker/contract';
import { acknowledgeGranteeWildcard, acknowledgeRule, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { checkWholeSeconds, knownNumber, knownSeconds, refuseTokens, throwIfInvalid } from '../validation';
import {
  addSteps, checkOnDemandBase, FLEET_DEFAULTS, metricTrackingProps, resolveWorkerSettings, workerCountMetric, workerEnvironment,
  type AgentFleetProps, type FleetStepScalingOptions, type IAgentFleet, type MathTargetTrackingOptions, type MetricTargetTrackingOptions,
} from './agent-fleet';
import { enableInstanceUtilizationMetrics, instanceUtilizationMetric } from './instance-utilization';
import type { AgentImageConfig } from './agent-image';
import { launchWithSecrets, validateSecrets, type SecretsLaunch } from './ec2-secrets';
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
   * Size of each instance's root volume (gp3, encrypted), in GiB: the OS, Docker and the agent
   * image's layers (a pull needs room for both the compressed and the extracted layers). A
   * stopped instance in the warm pool bills only this volume, so its size sets the pool's price
   * ($0.08 per GiB-month in us-east-1). 8 to 16,384 with the default AMI (Amazon Linux 2023's
   * snapshot is 8 GiB); with your own `machineImage`, at least its snapshot's size (EC2 refuses
   * a smaller volume at launch).
   * @default 30 (`EC2_ROOT_VOLUME_GIB`)
   */
  readonly rootVolumeGiB?: number;
  /**
   * Secrets for the container (from Secrets Manager, optionally a JSON key or a version, or SSM
   * Parameter Store, SecureString included), as on Fargate. Each start of the container reads
   * them with the instance role (which is granted read on each one and its KMS key) and passes
   * them to `docker run` in its environment: the values are in no template, user data, log or
   * file on the instance.
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
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
   * How long a new instance may take to run its worker (Docker installed, image pulled, the
   * container up for 30 s) before the group gives up on it and launches another (30 s to 2 h).
   * Until then it is not InService: it counts in no running-workers metric.
   * @default Duration.minutes(10)
   */
  readonly workerStartTimeout?: Duration;
  /**
   * Let each worker protect its own instance from scale-in while it holds messages
   * (`autoscaling:SetInstanceProtection` on this group), as ECS task protection does on Fargate,
   * so scale-in never picks a busy instance.
   * @default true
   */
  readonly instanceProtection?: boolean;
  /**
   * Launch instances protected from scale-in; an idle worker drops the protection within 5
   * minutes of its instance going InService (and whenever it goes idle). Needs
   * `instanceProtection`, or nothing would ever drop it and the group could never scale in.
   * @default false
   */
  readonly newInstancesProtectedFromScaleIn?: boolean;
  /**
   * Keep a warm pool beside the group: instances launched ahead of need, prepared (Docker
   * installed, the image pulled) and stopped, up to maxWorkers with those in service. A scale-out
   * starts them in about 30-60 s instead of 60-180 s for a new instance; scale-in drains an
   * instance and stops it back into the pool (reuse on scale-in). A stopped instance costs only
   * its root volume (`rootVolumeGiB`, 30 GiB by default). Not with `spot` (EC2 Auto Scaling takes no
   * warm pool on a group that launches Spot instances). With it, a deployment replaces instances
   * by an instance refresh, which replaces those in the pool too (a rolling update would leave
   * them on the old launch template). On the suite's 60 EC2 cells it took the cells passing from 47, 46 and 45 to 52,
   * 51 and 50 (seeds 1-3), for 1.37x perfect foresight's worker-minutes against 1.24x, the
   * stopped instances' volumes counted (docs/simulation.md, seventh round).
   * @default - true, unless `spot`
   */
  readonly warmPool?: boolean;
  /**
   * Run on Spot instances (capacity rebalancing on; interruptions drain through the lifecycle hook).
   * @default false
   */
  readonly spot?: boolean;
  /**
   * Instance types Spot may choose from (with `spot`): they must include `instanceType` and share
   * its architecture, the AMI's.
   * @default - `instanceType` only
   */
  readonly spotInstanceTypes?: ec2.InstanceType[];
  /**
   * With `spot`: how many instances are on-demand before any is Spot, so an interruption never
   * takes the whole fleet.
   * @default 0
   */
  readonly onDemandBaseWorkers?: number;
  /**
   * Where the group sends launch, terminate and error notifications.
   * @default - no notifications
   */
  readonly notificationsTopic?: sns.ITopic;
  /**
   * The group's instance warm-up (DefaultInstanceWarmup): after an instance goes InService, how
   * long it is not yet current capacity (a scale-out adds to the capacity without it) and holds
   * scale-in off. EC2 Auto Scaling step policies take no cooldown, so on this fleet it is also
   * what paces repeated step scale-outs; BacklogScaling's cooldowns do not apply here (its
   * default scale-in sets exact capacities instead on one-minute metrics, `WORKERS_TO_KEEP`).
   * @default Duration.seconds(60) (`EC2_INSTANCE_WARMUP_SECONDS`)
   */
  readonly instanceWarmup?: Duration;
}

/** Properties of an `Ec2AgentFleet`. */
export interface Ec2AgentFleetProps extends AgentFleetProps, Ec2ComputeOptions {}

/** Defaults of `Ec2ComputeOptions`. */
export const EC2_DEFAULTS = {
  instanceType: 't3.medium',
  rootVolumeGiB: EC2_ROOT_VOLUME_GIB,
  stopTimeout: Duration.seconds(120),
  instanceWarmup: Duration.seconds(EC2_INSTANCE_WARMUP_SECONDS),
} as const;

/** The root volume snapshot of the default AMI, Amazon Linux 2023 (GiB): the smallest root volume it launches with. */
const AL2023_SNAPSHOT_GIB = 8;

/** Name of the termination lifecycle hook (hook names are per group, so a fixed name is safe). */
export const DRAIN_HOOK_NAME = 'agent-drain';
/** Name of the launch lifecycle hook that the instance completes once its worker runs. */
export const LAUNCH_HOOK_NAME = 'agent-launch';
/**
 * Default time for a new instance's worker to start: over 3 times the slowest start we know of
 * (InService after 60-180 s, plus Docker's install and the image pull).
 */
const DEFAULT_WORKER_START_SECONDS = 600;
const UNIT = 'agent-worker';

/**
 * A fleet of agent workers as an EC2 Auto Scaling group: each instance (Amazon Linux 2023,
 * IMDSv2 only, encrypted root volume, no public IP) runs the agent container under systemd; group
 * metrics are on, and a termination lifecycle hook lets the worker drain before the instance goes.
 */
export class Ec2AgentFleet extends Resource implements IAgentFleet, ec2.IConnectable {
  public readonly minWorkers: number;
  public readonly maxWorkers: number;
  public readonly concurrency: number;
  /** An instance's start to taking messages: 30-60 s from the warm pool, 60-180 s for a new instance. */
  public readonly workerStartTime: Duration;
  /** The group's warm pool (`warmPool`), if it has one. */
  public readonly warmPool?: autoscaling.WarmPool;
  /** EC2 Auto Scaling step policies take no cooldown ("Step and simple scaling policies"). */
  public readonly stepCooldowns = false;
  public readonly fleetName: string;
  public readonly timings: WorkerTimings;
  public readonly metricsNamespace: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly role: iam.Role;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  public readonly launchTemplate: ec2.LaunchTemplate;
  public readonly securityGroup: ec2.SecurityGroup;
  public readonly logGroup: logs.LogGroup;
  /** The workers' network connections: allow them to reach a database with `connections.allowTo(...)`. */
  public readonly connections: ec2.Connections;
  private readonly warmup: Duration;
  private utilizationMetricsEnabled = false;

  constructor(scope: Construct, id: string, props: Ec2AgentFleetProps) {
    super(scope, id);
    const stopTimeout = props.stopTimeout ?? EC2_DEFAULTS.stopTimeout;
    const hookTimeout = props.lifecycleHookTimeout ?? Duration.seconds((knownSeconds(stopTimeout) ?? 120) + 60);
    const { settings, violations } = resolveWorkerSettings(this, { ...props, stopTimeout }, {
      lifecycleHeartbeatSeconds: knownSeconds(hookTimeout),
    });
    throwIfInvalid(this, [
      ...violations,
      ...checkWholeSeconds({ lifecycleHookTimeout: props.lifecycleHookTimeout, instanceWarmup: props.instanceWarmup }),
      ...refuseTokens({ command: props.command, entryPoint: props.entryPoint }, 'they are written into the instance\'s systemd unit'),
      ...validateEnvFile(props.environment ?? {}),
      ...validateArgs({ command: props.command, entryPoint: props.entryPoint }),
    ]);
    this.minWorkers = settings.minWorkers;
    this.maxWorkers = settings.maxWorkers;
    this.concurrency = settings.concurrency;
    this.fleetName = settings.fleetName;
    this.timings = settings.timings;
    this.metricsNamespace = settings.metricsNamespace;
    this.warmup = props.instanceWarmup ?? EC2_DEFAULTS.instanceWarmup;

    const vpc = props.vpc ?? createFleetVpc(this, props.logRetention ?? FLEET_DEFAULTS.logRetention);
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    throwIfInvalid(this, checkSubnetCapacity(vpc, vpcSubnets, settings.maxWorkers));
    const instanceType = props.instanceType ?? new ec2.InstanceType(EC2_DEFAULTS.instanceType);
    const instanceProtection = props.instanceProtection ?? true;
    const workerStartSeconds = knownSeconds(props.workerStartTimeout) ?? DEFAULT_WORKER_START_SECONDS;
    const warmPool = props.warmPool ?? !props.spot;
    this.workerStartTime = Duration.seconds(warmPool ? WORKER_START_SECONDS.ec2WarmPool : WORKER_START_SECONDS.ec2);
    throwIfInvalid(this, [
      ...check(!(warmPool && props.spot), 'warmPool', 'false or unset with spot (EC2 Auto Scaling takes no warm pool on a group that launches Spot instances)', props.warmPool),
      ...checkIntegerRange('workerStartTimeout', knownSeconds(props.workerStartTimeout), 30, 7200),
      // gp3's range; the default AMI's snapshot sets the floor (a custom AMI's is not known at synth).
      ...checkIntegerRange('rootVolumeGiB', knownNumber(props.rootVolumeGiB), props.machineImage ? 1 : AL2023_SNAPSHOT_GIB, 16_384),
      ...check(instanceProtection || !props.newInstancesProtectedFromScaleIn, 'newInstancesProtectedFromScaleIn',
        'false when instanceProtection is false (nothing would ever drop the protection)', props.newInstancesProtectedFromScaleIn),
      ...validateSpotTypes(props.spot ?? false, instanceType, props.spotInstanceTypes),
      ...checkOnDemandBase(props.spot ?? false, props.onDemandBaseWorkers, settings.maxWorkers),
    ]);
    this.role = new iam.Role(this, 'InstanceRole', {
      assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com'),
      description: `Agent workers of ${this.node.path}`,
    });
    this.grantPrincipal = this.role;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? FLEET_DEFAULTS.logRetention });
    this.logGroup.grantWrite(this.role);
    props.queue.grantConsume(this.role);
    const image = props.image.bind(this, this.role, {
      platform: platformOfInstanceType(instanceType), platformSource: `instanceType ${instanceType}`,
    });

    // An explicit group name breaks the cycle group -> launch template -> user data -> group name.
    const groupName = Names.uniqueResourceName(this, { maxLength: 255 });
    const env = workerEnvironment(props, settings, {
      [AGENT_ENV.lifecycleHookName]: DRAIN_HOOK_NAME,
      [AGENT_ENV.autoScalingGroupName]: groupName,
      ...(instanceProtection ? { [AGENT_ENV.instanceProtection]: 'true' } : {}),
      AWS_REGION: Aws.REGION,
    });

    const userEnv = props.environment ?? {};
    const fleetEnv = new Set([...Object.values(AGENT_ENV), ...Object.keys(env).filter((name) => !(name in userEnv))]);
    throwIfInvalid(this, validateSecrets(props.secrets ?? {}, ENV_NAME, fleetEnv, userEnv));
    const secrets = launchWithSecrets(props.secrets ?? {}, this.role);

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Agent workers: no inbound traffic, outbound to AWS APIs and the image registry',
      allowAllOutbound: true,
    });
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup, ...props.securityGroups ?? []] });
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
        volume: ec2.BlockDeviceVolume.ebs(props.rootVolumeGiB ?? EC2_DEFAULTS.rootVolumeGiB, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
      }],
      userData: agentUserData(image, env, secrets, this.logGroup.logGroupName, settings.timings.stopTimeoutSeconds, groupName, props),
    });
    for (const group of props.securityGroups ?? []) this.launchTemplate.addSecurityGroup(group);

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'Resource', {
      vpc,
      vpcSubnets,
      autoScalingGroupName: groupName,
      minCapacity: settings.minWorkers,
      maxCapacity: settings.maxWorkers,
      groupMetrics: [autoscaling.GroupMetrics.all()],
      newInstancesProtectedFromScaleIn: props.newInstancesProtectedFromScaleIn ?? false,
      defaultInstanceWarmup: this.warmup,
      updatePolicy: warmPool ? instanceRefresh() : rollingUpdate(settings.minWorkers, settings.maxWorkers),
      notifications: props.notificationsTopic ? [{ topic: props.notificationsTopic }] : undefined,
      ...(props.spot
        ? {
          capacityRebalance: true,
          mixedInstancesPolicy: {
            launchTemplate: this.launchTemplate,
            launchTemplateOverrides: (props.spotInstanceTypes ?? [instanceType]).map((t) => ({ instanceType: t })),
            instancesDistribution: {
              onDemandBaseCapacity: props.onDemandBaseWorkers,
              onDemandPercentageAboveBaseCapacity: 0,
              spotAllocationStrategy: autoscaling.SpotAllocationStrategy.PRICE_CAPACITY_OPTIMIZED,
            },
          },
        }
        : { launchTemplate: this.launchTemplate }),
    });

    if (warmPool) {
      // Stopped, not hibernated: hibernation needs an instance type and AMI that support it, and the
      // agent keeps nothing in memory worth restoring. Reused on scale-in: the termination hook
      // still drains the instance (it holds it in Warmed:Pending:Wait), then it stops.
      this.warmPool = this.autoScalingGroup.addWarmPool({ poolState: autoscaling.PoolState.STOPPED, reuseOnScaleIn: true });
    }

    if (props.spot) {
      acknowledgeRule(this.autoScalingGroup, 'EC26',
        'cdk-nag cannot follow a launch template referenced from a mixed instances policy; that launch template encrypts the root volume.');
    }

    // An instance counts (InService, in GroupInServiceInstances and the publisher's count) only
    // once its worker runs: the launch hook holds it in Pending:Wait until user data completes the
    // hook, after the container has run for 30 s; an instance whose worker never starts is
    // abandoned at the timeout and replaced (EC2 Auto Scaling User Guide, "Amazon EC2 Auto
    // Scaling lifecycle hooks"). On the group itself, not a separate resource, so it also holds
    // the instances launched with the group ("LifecycleHookSpecificationList", AWS CloudFormation).
    (this.autoScalingGroup.node.defaultChild as autoscaling.CfnAutoScalingGroup).lifecycleHookSpecificationList = [{
      lifecycleHookName: LAUNCH_HOOK_NAME,
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_LAUNCHING,
      heartbeatTimeout: workerStartSeconds,
      defaultResult: autoscaling.DefaultResult.ABANDON,
    }];

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
    // And a worker that keeps failing marks its own instance unhealthy, so the group replaces it;
    // a busy one protects its instance from scale-in. The group's ARN pins all three to this group.
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: [
        'autoscaling:CompleteLifecycleAction', 'autoscaling:SetInstanceHealth',
        ...(instanceProtection ? ['autoscaling:SetInstanceProtection'] : []),
      ],
      resources: [groupArn],
    }));
    acknowledgeWildcardResource(this.role, groupArn,
      'The group\'s ARN holds an ID that exists only after creation; the wildcard stands for that ID alone, and the name pins the one group.');
    if (!props.notificationsTopic) {
      acknowledgeRule(this.autoScalingGroup, 'AS3',
        'Scaling events are in the group\'s activity history and group metrics; set notificationsTopic (in ElasticAgentFleet: AgentCompute.ec2({ notificationsTopic })) to be notified.');
    }
  }

  /** The fleet's log group goes with `policy` (the group and its instances hold no data). */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.logGroup.applyRemovalPolicy(policy);
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

  /**
   * EC2 Auto Scaling step policies support no cooldown, only an instance warm-up ("Step and
   * simple scaling policies for Amazon EC2 Auto Scaling": cooldowns apply to simple scaling), so
   * `options.cooldown` does not apply: the policy takes the group's instance warm-up.
   */
  public addStepScaling(scope: Construct, id: string, options: FleetStepScalingOptions): cloudwatch.IAlarmAction {
    const action = new autoscaling.StepScalingAction(scope, id, {
      autoScalingGroup: this.autoScalingGroup,
      adjustmentType: options.adjustmentType as string as autoscaling.AdjustmentType,
      estimatedInstanceWarmup: this.warmup,
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

/**
 * With a warm pool: an instance refresh, which replaces the instances in the pool as well as
 * those in service (a rolling update replaces InService instances only; AWS CloudFormation,
 * "AWS::AutoScaling::WarmPool"). Instances that a busy worker protects are waited for, and each
 * replaced instance drains through the termination hook.
 */
function instanceRefresh(): autoscaling.UpdatePolicy {
  return autoscaling.UpdatePolicy.instanceRefresh({
    strategy: autoscaling.InstanceRefreshStrategy.ROLLING,
    scaleInProtectedInstances: autoscaling.ScaleInProtectedInstances.WAIT,
  });
}

/**
 * A launch template change (a new image URI, user data or AMI) replaces the instances: without an
 * update policy they would run the old code until scaled in. CloudFormation replaces them a
 * quarter of `maxWorkers` at a time (4 batches, whatever the size), keeping `minWorkers` in
 * service (it must stay below MaxSize); the termination hook drains each replaced instance. The
 * suspended processes are the ones AWS recommends suspending during a rolling update, so scaling
 * policies, health replacement and rebalancing do not fight the roll (AWS CloudFormation User
 * Guide, "UpdatePolicy attribute", AutoScalingRollingUpdate: SuspendProcesses).
 */
function rollingUpdate(minWorkers: number, maxWorkers: number): autoscaling.UpdatePolicy {
  return autoscaling.UpdatePolicy.rollingUpdate({
    maxBatchSize: Math.max(1, Math.ceil(maxWorkers / 4)),
    minInstancesInService: Math.min(minWorkers, maxWorkers - 1),
    suspendProcesses: [
      autoscaling.ScalingProcess.HEALTH_CHECK, autoscaling.ScalingProcess.REPLACE_UNHEALTHY, autoscaling.ScalingProcess.AZ_REBALANCE,
      autoscaling.ScalingProcess.ALARM_NOTIFICATION, autoscaling.ScalingProcess.SCHEDULED_ACTIONS,
    ],
    waitOnResourceSignals: false,
  });
}

/**
 * Spot types: only with `spot`; the launch template's own type among them; all of its
 * architecture, since every override launches the template's AMI ("Instance type requirements
 * for mixed instances groups": the AMI must suit every type, EC2 Auto Scaling User Guide).
 */
function validateSpotTypes(spot: boolean, instanceType: ec2.InstanceType, spotTypes: ec2.InstanceType[] | undefined): Violation[] {
  if (spotTypes === undefined) return [];
  const names = spotTypes.map(String).join(', ');
  if (!spot) return check(false, 'spotInstanceTypes', 'unset unless spot is true', names);
  const otherArchitecture = spotTypes.filter((t) => t.architecture !== instanceType.architecture);
  return [
    ...check(spotTypes.some((t) => String(t) === String(instanceType)), 'spotInstanceTypes', `a list that includes instanceType (${instanceType})`, names),
    ...check(otherArchitecture.length === 0, 'spotInstanceTypes', `instance types of instanceType's architecture (${instanceType.architecture}), the AMI's`,
      otherArchitecture.map((t) => `${t} (${t.architecture})`).join(', ')),
  ];
}

/** The image platform of an instance type. */
function platformOfInstanceType(instanceType: ec2.InstanceType): ecrAssets.Platform {
  return instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ecrAssets.Platform.LINUX_ARM64 : ecrAssets.Platform.LINUX_AMD64;
}

function cpuTypeOf(instanceType: ec2.InstanceType): ec2.AmazonLinuxCpuType {
  return instanceType.architecture === ec2.InstanceArchitecture.ARM_64 ? ec2.AmazonLinuxCpuType.ARM_64 : ec2.AmazonLinuxCpuType.X86_64;
}

/**
 * User data for Amazon Linux 2023: Docker from dnf, and a systemd unit that logs in to ECR (when
 * the image lives there), pulls and runs the image, restarts it forever (so a registry or network
 * hiccup at boot heals itself, and the 12-hour ECR token is renewed on each start), and stops it
 * with the stop timeout. With secrets, each start reads them afresh (a rotated secret reaches the
 * next start, as a new ECS task gets it). A second unit runs at every boot: it starts the worker
 * when the instance goes into service, only pulls the image when it goes into the warm pool, and
 * completes the launch hook.
 */
function agentUserData(
  image: AgentImageConfig, env: Record<string, string>, secrets: SecretsLaunch, logGroupName: string, stopTimeoutSeconds: number, groupName: string,
  args: { readonly command?: string[]; readonly entryPoint?: string[] },
): ec2.UserData {
  const userData = ec2.UserData.forLinux();
  const envFile = Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n');
  const awsCli = `/usr/bin/aws autoscaling`;
  // Logs in to ECR (when the image lives there; the token lasts 12 hours, so on each use) and pulls the image.
  const pull = [
    ...(image.ecrRegistry ? [`aws ecr get-login-password --region ${Aws.REGION} | docker login --username AWS --password-stdin ${image.ecrRegistry}`] : []),
    `docker pull ${image.imageUri}`,
  ];
  userData.addCommands(
    'set -euo pipefail',
    'IMDS_TOKEN=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300")',
    'INSTANCE_ID=$(curl -sf -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" http://169.254.169.254/latest/meta-data/instance-id)',
    'dnf install -y docker',
    'systemctl enable --now docker',
    'install -d -m 0700 /etc/agent-fleet',
    `cat > /etc/agent-fleet/agent.env <<'AGENT_ENV'\n${envFile}\nAGENT_ENV`,
    'chmod 0600 /etc/agent-fleet/agent.env',
    'echo "INSTANCE_ID=$INSTANCE_ID" > /etc/agent-fleet/instance.env',
    ...secrets.commands,
    // A worker that fails 20 times in 10 minutes (a crash at start, an image that cannot be
    // pulled) marks the instance unhealthy: the group's EC2 health check alone would keep it.
    `cat > /etc/systemd/system/${UNIT}-unhealthy.service <<'UNIT'`,
    '[Unit]',
    'Description=Marks the instance unhealthy when the agent worker cannot run',
    '[Service]',
    'Type=oneshot',
    'EnvironmentFile=/etc/agent-fleet/instance.env',
    `ExecStart=${awsCli} set-instance-health --region ${Aws.REGION} --instance-id \${INSTANCE_ID} --health-status Unhealthy`,
    'UNIT',
    `cat > /etc/systemd/system/${UNIT}.service <<'UNIT'`,
    '[Unit]',
    'Description=Agent fleet worker',
    'After=docker.service network-online.target',
    'Requires=docker.service',
    'StartLimitIntervalSec=600',
    'StartLimitBurst=20',
    `OnFailure=${UNIT}-unhealthy.service`,
    '[Service]',
    'Restart=always',
    'RestartSec=5',
    `ExecStartPre=-/usr/bin/docker rm -f ${UNIT}`,
    ...pull.map((command) => `ExecStartPre=/bin/sh -c '${command}'`),
    `ExecStart=${secrets.execStartPrefix}/usr/bin/docker run --rm --name ${UNIT} --env-file /etc/agent-fleet/agent.env ${secrets.dockerOptions}`
      + `--log-driver awslogs --log-opt awslogs-region=${Aws.REGION} --log-opt awslogs-group=${logGroupName} `
      + dockerRunImageArgs(image.imageUri, args),
    `ExecStop=/usr/bin/docker stop --time ${stopTimeoutSeconds} ${UNIT}`,
    `TimeoutStopSec=${stopTimeoutSeconds + 30}`,
    'UNIT',
    // On every boot, where the group sends the instance decides: into the warm pool, it pulls the
    // image and lets the group stop it (the worker must not take messages there); into service, it
    // runs the worker, which may go InService once its container has stayed up, the same start,
    // for 30 s. Either way it completes the launch hook, which holds the instance until then
    // (Warmed:Pending:Wait, Pending:Wait); if it never does, the hook times out and abandons it.
    // The target state is read from IMDS ("Retrieve the target lifecycle state through instance
    // metadata", EC2 Auto Scaling User Guide); unreadable for two minutes, the worker runs.
    `cat > /usr/local/bin/${UNIT}-launch <<'SCRIPT'`,
    '#!/bin/bash',
    'set -uo pipefail',
    'imds() {',
    '  local token',
    '  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token -H "X-aws-ec2-metadata-token-ttl-seconds: 300") &&',
    '    curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"',
    '}',
    'state=""',
    'for _ in $(seq 60); do',
    '  state=$(imds autoscaling/target-lifecycle-state) && [ -n "$state" ] && break',
    '  sleep 2',
    'done',
    'INSTANCE_ID=$(imds instance-id) || exit 1',
    'case "$state" in',
    '  Warmed:*)',
    ...pull.map((command) => `    ${command} || exit 1`),
    // The group stops the instance once the hook completes, and user data does not run again:
    // let it finish first (EC2 Auto Scaling User Guide, "Use lifecycle hooks with a warm pool").
    '    cloud-init status --wait > /dev/null',
    '    ;;',
    '  *)',
    `    systemctl start ${UNIT}.service`,
    '    prev=""; stable=0',
    '    until [ "$stable" -ge 6 ]; do',
    '      sleep 5',
    `      now=$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' ${UNIT} 2>/dev/null || echo down)`,
    '      if [ "${now%% *}" = true ] && [ "$now" = "$prev" ]; then stable=$((stable + 1)); else stable=0; fi',
    '      prev=$now',
    '    done',
    '    ;;',
    'esac',
    `exec aws autoscaling complete-lifecycle-action --region ${Aws.REGION} --lifecycle-hook-name ${LAUNCH_HOOK_NAME} `
      + `--auto-scaling-group-name ${groupName} --instance-id "$INSTANCE_ID" --lifecycle-action-result CONTINUE`,
    'SCRIPT',
    `chmod 0755 /usr/local/bin/${UNIT}-launch`,
    `cat > /etc/systemd/system/${UNIT}-launch.service <<'UNIT'`,
    '[Unit]',
    'Description=Agent fleet worker: started on each boot into service, or its image pulled for the warm pool',
    'After=docker.service network-online.target',
    'Wants=network-online.target',
    'Requires=docker.service',
    '[Service]',
    // Not oneshot: boot must not wait for it (it waits for cloud-init, which may wait for boot).
    'Type=simple',
    `ExecStart=/usr/local/bin/${UNIT}-launch`,
    '[Install]',
    'WantedBy=multi-user.target',
    'UNIT',
    'systemctl daemon-reload',
    `systemctl enable ${UNIT}-launch.service`,
    `systemctl start --no-block ${UNIT}-launch.service`,
  );
  return userData;
}

// docker's --env-file takes NAME=VALUE lines literally (no quoting), so a name must be a shell
// variable name and a value one line.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LINE_BREAK = /[\r\n\0]/;

/** The rules that keep the user's environment intact in the instance's env file. */
function validateEnvFile(environment: Record<string, string>): Violation[] {
  return Object.entries(environment).flatMap(([name, value]) => [
    ...check(ENV_NAME.test(name), `environment.${name}`, 'a name of letters, digits and _ that does not start with a digit', JSON.stringify(name)),
    ...check(Token.isUnresolved(value) || !LINE_BREAK.test(value), `environment.${name}`, 'a value without line breaks (docker --env-file reads one line)',
      JSON.stringify(value)),
    // The fleet sets AWS_REGION for the worker's SDK; a second value would silently lose.
    ...check(name !== 'AWS_REGION', 'environment.AWS_REGION', 'unset: the EC2 fleet sets it to the stack\'s region', value),
  ]);
}

/** Command and entry point arguments go into a systemd unit line: one line each. */
function validateArgs(args: Record<string, string[] | undefined>): Violation[] {
  return Object.entries(args).flatMap(([prop, list]) => (list ?? []).flatMap((arg, i) =>
    check(!LINE_BREAK.test(arg), `${prop}[${i}]`, 'an argument without line breaks', JSON.stringify(arg))));
}

/**
 * The image and its arguments for `docker run` in a systemd `ExecStart`: `--entrypoint` takes the
 * entry point's first word, the rest and the command follow the image. Each argument is quoted
 * for systemd (which expands `%` specifiers and `$` variables, so those are doubled).
 */
function dockerRunImageArgs(imageUri: string, args: { readonly command?: string[]; readonly entryPoint?: string[] }): string {
  const quote = (arg: string) => `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
  const [entry, ...entryArgs] = args.entryPoint ?? [];
  return [
    ...(entry === undefined ? [] : [`--entrypoint ${quote(entry)}`]),
    imageUri,
    ...[...entryArgs, ...args.command ?? []].map(quote),
  ].join(' ');
}
