import { Annotations, Duration, Names, Resource, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PUBLISHER_ENV, PUBLISHER_IAM_ACTIONS } from '../../lambda/backlog-publisher/contract';
import { metricDataQueries } from '../scaling/metric-queries';
import { check, formatViolations, type Violation } from '../policy/violation';
import { AGENT_ENV, WORKER_DEFAULTS, type WorkerTimings } from '../worker/contract';
import { acknowledgeRule, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { knownNumber, knownSeconds, throwIfInvalid } from '../validation';
import {
  addSteps, checkOnDemandBase, FLEET_DEFAULTS, resolveWorkerSettings, workerCountMetric, workerEnvironment,
  type AgentFleetProps, type FleetStepScalingOptions, type IAgentFleet, type MathTargetTrackingOptions,
} from './agent-fleet';
import { checkSubnetCapacity, createFleetVpc } from './fleet-vpc';

/** The Fargate-specific choices, for `FargateAgentFleet` and `AgentCompute.fargate`. */
export interface FargateComputeOptions {
  /**
   * The cluster. Backlog-per-worker metric math divides by Container Insights'
   * `RunningTaskCount`: enable Container Insights on it, or use the backlog publisher.
   * @default - a new cluster with Container Insights, in `vpc`
   */
  readonly cluster?: ecs.ICluster;
  /**
   * vCPU units of each worker task (256, 512, 1024, 2048, 4096, 8192, 16384).
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Memory of each worker task, MiB; must be a size Fargate offers for `cpu`.
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
  /**
   * The CPU architecture of the tasks; an image from `AgentImage.fromAsset` is built for it.
   * @default ecs.CpuArchitecture.X86_64
   */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /**
   * Secrets for the container (from Secrets Manager or SSM Parameter Store).
   * @default - none
   */
  readonly secrets?: Record<string, ecs.Secret>;
  /**
   * Time between SIGTERM and SIGKILL when a task stops (at most 120 s on Fargate).
   * @default Duration.seconds(120)
   */
  readonly stopTimeout?: Duration;
  /**
   * Let workers hold ECS task scale-in protection while they process a message, so scale-in
   * never stops a busy task (grants `ecs:UpdateTaskProtection` and `ecs:GetTaskProtection`).
   * @default true
   */
  readonly taskProtection?: boolean;
  /**
   * Expiry of each protection claim the worker makes (1 minute to 48 hours); the worker renews it.
   * @default Duration.minutes(60)
   */
  readonly taskProtectionExpiry?: Duration;
  /**
   * Run on Fargate Spot (needs the cluster's FARGATE_SPOT capacity provider; a new cluster has it,
   * a given `ecs.Cluster` without it is a synth error).
   * @default false
   */
  readonly spot?: boolean;
  /**
   * With `spot`: how many workers run on regular Fargate before any runs on Fargate Spot, so an
   * interruption never takes the whole fleet.
   * @default 0
   */
  readonly onDemandBaseWorkers?: number;
  /**
   * Give tasks a public IP (only for public subnets without NAT).
   * @default false
   */
  readonly assignPublicIp?: boolean;
}

/** Properties of a `FargateAgentFleet`. */
export interface FargateAgentFleetProps extends AgentFleetProps, FargateComputeOptions {}

// Fargate's task sizes: memory (MiB) allowed for each cpu value (ECS Developer Guide, "Task size").
const FARGATE_MEMORY: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

const FARGATE_SIZES = '256 (512, 1024, 2048), 512 (1024-4096 by 1024), 1024 (2048-8192 by 1024), '
  + '2048 (4096-16384 by 1024), 4096 (8192-30720 by 1024), 8192 (16384-61440 by 4096), 16384 (32768-122880 by 8192)';

/** The image platform of a task's CPU architecture; undefined for one Fargate doesn't run. */
function platformOfCpuArchitecture(cpuArchitecture: ecs.CpuArchitecture): ecrAssets.Platform | undefined {
  const platforms: Record<string, ecrAssets.Platform> = { X86_64: ecrAssets.Platform.LINUX_AMD64, ARM64: ecrAssets.Platform.LINUX_ARM64 };
  return platforms[cpuArchitecture._cpuArchitecture];
}

/**
 * Fargate Spot above an optional on-demand base: `base` tasks go to FARGATE first, and its weight
 * 0 sends every task above the base to FARGATE_SPOT (Amazon ECS Developer Guide, "Amazon ECS
 * clusters for Fargate": base and weight of a capacity provider strategy).
 */
function spotStrategy(onDemandBase: number): ecs.CapacityProviderStrategy[] {
  return [
    ...(onDemandBase > 0 ? [{ capacityProvider: 'FARGATE', base: onDemandBase, weight: 0 }] : []),
    { capacityProvider: 'FARGATE_SPOT', weight: 1 },
  ];
}

function validateTaskSize(cpu: number | undefined, memory: number | undefined): Violation[] {
  if (cpu === undefined) return [];
  const fits = FARGATE_MEMORY[cpu];
  if (!fits) return check(false, 'cpu', 'one of 256, 512, 1024, 2048, 4096, 8192, 16384', cpu);
  if (memory === undefined) return [];
  return check(fits(memory), 'memoryLimitMiB', `a size Fargate offers for cpu ${cpu}: ${FARGATE_SIZES}`, memory);
}

/**
 * A fleet of agent workers as an ECS service on Fargate: no public IP, logs with retention,
 * deployment circuit breaker with rollback, a stop timeout for draining, and task scale-in
 * protection that busy workers hold.
 */
export class FargateAgentFleet extends Resource implements IAgentFleet {
  public readonly minWorkers: number;
  public readonly maxWorkers: number;
  public readonly concurrency: number;
  public readonly fleetName: string;
  public readonly timings: WorkerTimings;
  public readonly metricsNamespace: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly cluster: ecs.ICluster;
  public readonly service: ecs.FargateService;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;
  /** The Application Auto Scaling target of the service's desired count. */
  public readonly scalableTarget: appscaling.ScalableTarget;

  constructor(scope: Construct, id: string, props: FargateAgentFleetProps) {
    super(scope, id);
    const cpu = props.cpu ?? 512;
    const memoryLimitMiB = props.memoryLimitMiB ?? 1024;
    const taskProtection = props.taskProtection ?? true;
    const protectionMinutes = taskProtection
      ? knownSeconds(props.taskProtectionExpiry ?? Duration.minutes(WORKER_DEFAULTS.taskProtectionMinutes))
      : undefined;
    const { settings, violations } = resolveWorkerSettings(this, props, {
      fargate: true,
      taskProtectionMinutes: protectionMinutes === undefined ? undefined : protectionMinutes / 60,
    });
    const spot = props.spot ?? false;
    throwIfInvalid(this, [
      ...violations,
      ...validateTaskSize(knownNumber(cpu), knownNumber(memoryLimitMiB)),
      ...checkOnDemandBase(spot, props.onDemandBaseWorkers, settings.maxWorkers),
    ]);
    this.minWorkers = settings.minWorkers;
    this.maxWorkers = settings.maxWorkers;
    this.concurrency = settings.concurrency;
    this.fleetName = settings.fleetName;
    this.timings = settings.timings;
    this.metricsNamespace = settings.metricsNamespace;

    this.cluster = props.cluster ?? new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc ?? createFleetVpc(this),
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    throwIfInvalid(this, checkSubnetCapacity(this.cluster.vpc, vpcSubnets, settings.maxWorkers));
    if (props.cluster) {
      Annotations.of(this).addWarningV2('cdk-agent-fleet:containerInsights',
        'Backlog per worker divides by ECS/ContainerInsights RunningTaskCount: make sure Container Insights is enabled on this cluster, or use the backlog publisher.');
    }

    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.grantPrincipal = this.taskDefinition.taskRole;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? FLEET_DEFAULTS.logRetention });
    const image = props.image.bind(this, this.taskDefinition.obtainExecutionRole(), {
      platform: platformOfCpuArchitecture(cpuArchitecture),
      platformSource: `cpuArchitecture ${cpuArchitecture._cpuArchitecture}`,
    });

    const protectionEnv: Record<string, string> = taskProtection
      ? { [AGENT_ENV.taskProtection]: 'true', [AGENT_ENV.taskProtectionMinutes]: String(settings.timings.taskProtectionMinutes) }
      : {};
    this.container = this.taskDefinition.addContainer('Agent', {
      image: image.containerImage,
      essential: true,
      environment: workerEnvironment(props, settings, protectionEnv),
      secrets: props.secrets,
      stopTimeout: Duration.seconds(settings.timings.stopTimeoutSeconds),
      logging: ecs.LogDrivers.awsLogs({ logGroup: this.logGroup, streamPrefix: 'agent' }),
      readonlyRootFilesystem: false,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      assignPublicIp: props.assignPublicIp ?? false,
      vpcSubnets,
      circuitBreaker: { rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      capacityProviderStrategies: spot ? spotStrategy(props.onDemandBaseWorkers ?? 0) : undefined,
    });
    if (spot) this.requireSpotCapacityProvider(props.cluster);

    props.queue.grantConsume(this.grantPrincipal);
    if (taskProtection) {
      // The ECS agent's task-protection endpoint acts with the task role, on this cluster's tasks only.
      const clusterTasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` });
      this.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
        resources: [clusterTasks],
      }));
      acknowledgeWildcardResource(this, clusterTasks,
        'Task IDs are assigned at run time, so task protection is granted on the tasks of this cluster only; a task can only protect itself through its ECS agent endpoint.');
    }
    acknowledgeRule(this, 'ECS2',
      'The environment holds only non-secret settings (queue URL, timings, fleet name); secrets go through the `secrets` prop (Secrets Manager or SSM).');

    this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: settings.minWorkers,
      maxCapacity: settings.maxWorkers,
    });
  }

  /**
   * A service's strategy may name only capacity providers already associated with its cluster
   * (Amazon ECS API Reference, CapacityProviderStrategyItem): the service is created after the
   * cluster's associations, and a given cluster must have FARGATE_SPOT. An `ecs.Cluster` says so
   * (checked at synth, as its providers can be enabled after this fleet is made); an imported one
   * cannot, so it gets a warning.
   */
  private requireSpotCapacityProvider(givenCluster: ecs.ICluster | undefined): void {
    if (givenCluster && !(givenCluster instanceof ecs.Cluster)) {
      Annotations.of(this).addWarningV2('cdk-agent-fleet:spotCapacityProvider',
        'spot: this imported cluster\'s capacity providers are unknown at synth; the deployment fails unless FARGATE and FARGATE_SPOT are associated with it.');
      return;
    }
    this.service.node.addDependency(this.cluster);
    if (givenCluster) {
      const cluster = givenCluster as ecs.Cluster;
      this.node.addValidation({
        validate: () => (cluster.capacityProviderNames.includes('FARGATE_SPOT') ? [] : [formatViolations(this.node.path,
          check(false, 'spot', 'false on a cluster without the FARGATE_SPOT capacity provider (enableFargateCapacityProviders)', true))]),
      });
    }
  }

  /** ECS/ContainerInsights RunningTaskCount of the service (needs Container Insights). */
  public metricRunningWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.containerInsightsMetric('RunningTaskCount', props);
  }

  /** ECS/ContainerInsights DesiredTaskCount of the service (needs Container Insights). */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.containerInsightsMetric('DesiredTaskCount', props);
  }

  /** The publisher reads the service's `runningCount` (`ecs:DescribeServices` on this service). */
  public bindWorkerCounter(grantee: iam.IGrantable): Record<string, string> {
    iam.Grant.addToPrincipal({ grantee, actions: [...PUBLISHER_IAM_ACTIONS.ecs], resourceArns: [this.service.serviceArn] });
    return { [PUBLISHER_ENV.ecsCluster]: this.cluster.clusterName, [PUBLISHER_ENV.ecsService]: this.service.serviceName };
  }

  public addMathTargetTracking(scope: Construct, id: string, options: MathTargetTrackingOptions): void {
    const policy = new appscaling.CfnScalingPolicy(scope, id, {
      policyName: Names.uniqueResourceName(scope, { maxLength: 200 }) + id,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: options.targetValue,
        customizedMetricSpecification: { metrics: metricDataQueries(options.metric) },
        scaleOutCooldown: options.scaleOutCooldown.toSeconds(),
        disableScaleIn: options.disableScaleIn,
      },
    });
    policy.node.addDependency(this.scalableTarget);
  }

  public addStepScaling(scope: Construct, id: string, options: FleetStepScalingOptions): cloudwatch.IAlarmAction {
    const action = new appscaling.StepScalingAction(scope, id, {
      scalingTarget: this.scalableTarget,
      adjustmentType: options.adjustmentType as string as appscaling.AdjustmentType,
      cooldown: options.cooldown,
      minAdjustmentMagnitude: options.minAdjustmentMagnitude,
    });
    addSteps(action, options.steps);
    return new cwActions.ApplicationScalingAction(action);
  }

  private containerInsightsMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('ECS/ContainerInsights', metricName,
      { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName }, props);
  }
}
