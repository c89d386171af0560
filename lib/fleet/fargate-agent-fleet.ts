import { Annotations, Duration, Names, type RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
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
import { WORKER_START_SECONDS } from '../policy/scaling-policy';
import { check, checkIntegerRange, checkRange, formatViolations, type Violation } from '../policy/violation';
import { AGENT_ENV, WORKER_DEFAULTS, type WorkerTimings } from '../worker/contract';
import { acknowledgeGranteeWildcard, acknowledgeRule } from '../nag-acknowledgements';
import { checkWholeSeconds, knownNumber, knownSeconds, refuseTokens, throwIfInvalid } from '../validation';
import {
  addSteps, checkOnDemandBase, checkSecretNames, FLEET_DEFAULTS, metricTrackingProps, resolveWorkerSettings, workerCountMetric, workerEnvironment,
  type AgentFleetProps, type FleetStepScalingOptions, type IAgentFleet, type MathTargetTrackingOptions, type MetricTargetTrackingOptions,
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
   * @default - 512, or with `memoryLimitMiB` alone the smallest cpu Fargate offers for it
   */
  readonly cpu?: number;
  /**
   * Memory of each worker task, MiB; must be a size Fargate offers for `cpu`.
   * @default - 1024, or with `cpu` alone the smallest memory Fargate offers for it
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
  /**
   * Allow `aws ecs execute-command` into the workers (ECS Exec; grants the SSM messages actions).
   * @default false
   */
  readonly enableExecuteCommand?: boolean;
  /**
   * A health check of the agent container; ECS replaces a task that fails it.
   * @default - none: the worker process exiting is what stops a task
   */
  readonly healthCheck?: ecs.HealthCheck;
  /**
   * The least share of the desired workers kept running during a deployment.
   * @default 100
   */
  readonly minHealthyPercent?: number;
  /**
   * Where the tasks' tags come from (for cost allocation).
   * @default ecs.PropagatedTagSource.SERVICE
   */
  readonly propagateTags?: ecs.PropagatedTagSource;
  /**
   * Ephemeral storage of each task, GiB (21-200).
   * @default - 20 GiB, Fargate's default
   */
  readonly ephemeralStorageGiB?: number;
  /**
   * The Fargate platform version.
   * @default ecs.FargatePlatformVersion.LATEST
   */
  readonly platformVersion?: ecs.FargatePlatformVersion;
  /**
   * How long a task takes from its launch to taking messages, at worst: the image pull and the
   * agent's own start (1-3600 s). The burst signal projects the backlog's growth over it, up to
   * its next look at the fleet (`growthHorizonSeconds`: two metric periods, at least 60 s), so a
   * slower start than the default changes only the one-minute metrics' burst. Declare it for a
   * large image: with tasks starting in 60-150 s, declaring 150 s passed 19 and 20 of the suite's
   * 30 Fargate metric-math cells on seeds 1 and 2 against 18 and 18, for 1.5-1.7 % more
   * worker-minutes (docs/simulation.md, twenty-second round).
   * @default Duration.seconds(60): tasks start in 25-60 s (`WORKER_START_SECONDS.fargate`)
   */
  readonly workerStartTime?: Duration;
}

/** Properties of a `FargateAgentFleet`. */
export interface FargateAgentFleetProps extends AgentFleetProps, FargateComputeOptions {}

/** Defaults of `FargateComputeOptions`. */
export const FARGATE_DEFAULTS = {
  cpu: 512,
  memoryLimitMiB: 1024,
  minHealthyPercent: 100,
} as const;

// Fargate's task sizes: memory (MiB) allowed for each cpu value (ECS Developer Guide, "Task size").
const FARGATE_MEMORY: Record<number, { readonly min: number; readonly max: number; readonly step: number; readonly list?: number[] }> = {
  256: { min: 512, max: 2048, step: 512, list: [512, 1024, 2048] },
  512: { min: 1024, max: 4096, step: 1024 },
  1024: { min: 2048, max: 8192, step: 1024 },
  2048: { min: 4096, max: 16384, step: 1024 },
  4096: { min: 8192, max: 30720, step: 1024 },
  8192: { min: 16384, max: 61440, step: 4096 },
  16384: { min: 32768, max: 122880, step: 8192 },
};
const FARGATE_CPUS = Object.keys(FARGATE_MEMORY).map(Number);

function memoryFits(cpu: number, memory: number): boolean {
  const m = FARGATE_MEMORY[cpu];
  return m.list ? m.list.includes(memory) : memory >= m.min && memory <= m.max && memory % m.step === 0;
}

function memorySizes(cpu: number): string {
  const m = FARGATE_MEMORY[cpu];
  return m.list ? m.list.join(', ') : `${m.min}-${m.max} by ${m.step}`;
}

/**
 * The task size: what the user gave, completed with the smallest valid partner when only one is
 * given (Fargate bills both, so the smallest is the cheapest that runs).
 */
function resolveTaskSize(cpu: number | undefined, memory: number | undefined): { cpu: number; memory: number; violations: Violation[] } {
  const tokens = refuseTokens({ cpu, memoryLimitMiB: memory }, 'Fargate sizes are checked and completed as a pair');
  if (tokens.length > 0) return { cpu: FARGATE_DEFAULTS.cpu, memory: FARGATE_DEFAULTS.memoryLimitMiB, violations: tokens };
  if (cpu === undefined && memory === undefined) return { cpu: FARGATE_DEFAULTS.cpu, memory: FARGATE_DEFAULTS.memoryLimitMiB, violations: [] };
  if (cpu !== undefined && !FARGATE_MEMORY[cpu]) {
    return { cpu, memory: memory ?? 0, violations: check(false, 'cpu', `one of ${FARGATE_CPUS.join(', ')}`, cpu) };
  }
  if (cpu === undefined) {
    const partner = FARGATE_CPUS.find((c) => memoryFits(c, memory!));
    return partner === undefined
      ? { cpu: 0, memory: memory!, violations: check(false, 'memoryLimitMiB', `a size Fargate offers: ${FARGATE_CPUS.map(memorySizes).join(', ')}`, memory) }
      : { cpu: partner, memory: memory!, violations: [] };
  }
  if (memory === undefined) return { cpu, memory: FARGATE_MEMORY[cpu].min, violations: [] };
  return { cpu, memory, violations: check(memoryFits(cpu, memory), 'memoryLimitMiB', `a size Fargate offers for cpu ${cpu}: ${memorySizes(cpu)}`, memory) };
}

/** The ECS service of a fleet, whose desired count the fleet's own scalable target owns. */
class AgentFargateService extends ecs.FargateService {
  /** A second scalable target on the same service conflicts at deploy: point to the fleet's. */
  public autoScaleTaskCount(): never {
    throw new Error(`${this.node.path}: the fleet already scales this service's task count; add your own policies to the fleet's `
      + '`scalableTarget` (scaleOnSchedule, scaleOnMetric, scaleToTrackMetric) instead of service.autoScaleTaskCount()');
  }
}

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

/**
 * A fleet of agent workers as an ECS service on Fargate: no public IP, logs with retention,
 * deployment circuit breaker with rollback, a stop timeout for draining, and task scale-in
 * protection that busy workers hold.
 */
export class FargateAgentFleet extends Resource implements IAgentFleet, ec2.IConnectable {
  public readonly minWorkers: number;
  public readonly maxWorkers: number;
  public readonly concurrency: number;
  /** A task's launch to taking messages, at worst (`workerStartTime`). */
  public readonly workerStartTime: Duration;
  public readonly fleetName: string;
  public readonly timings: WorkerTimings;
  public readonly metricsNamespace: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly cluster: ecs.ICluster;
  public readonly service: ecs.FargateService;
  public readonly taskDefinition: ecs.FargateTaskDefinition;
  public readonly container: ecs.ContainerDefinition;
  public readonly logGroup: logs.LogGroup;
  /**
   * The Application Auto Scaling target of the service's desired count: add your own policies
   * here (`scaleOnSchedule`, `scaleOnMetric`), not with `service.autoScaleTaskCount()`.
   */
  public readonly scalableTarget: appscaling.ScalableTarget;
  /** The workers' network connections: allow them to reach a database with `connections.allowTo(...)`. */
  public readonly connections: ec2.Connections;
  private readonly clusterGiven: boolean;
  private insightsWarned = false;

  constructor(scope: Construct, id: string, props: FargateAgentFleetProps) {
    super(scope, id);
    const { cpu, memory: memoryLimitMiB, violations: sizeViolations } = resolveTaskSize(props.cpu, props.memoryLimitMiB);
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
      ...sizeViolations,
      ...checkWholeSeconds({ taskProtectionExpiry: props.taskProtectionExpiry }),
      ...refuseTokens({ taskProtectionExpiry: props.taskProtectionExpiry }, 'the worker gets it in minutes'),
      ...checkWholeSeconds({ workerStartTime: props.workerStartTime }),
      ...refuseTokens({ workerStartTime: props.workerStartTime }, 'the burst signal\'s metric math is computed from it'),
      ...checkRange('workerStartTime', knownSeconds(props.workerStartTime), 1, 3600, ' seconds'),
      ...(props.cluster && props.vpc
        ? check(false, 'vpc', 'unset when `cluster` is given (the cluster\'s VPC is used)', props.vpc.node.path) : []),
      ...(props.ephemeralStorageGiB === undefined ? [] : checkIntegerRange('ephemeralStorageGiB', knownNumber(props.ephemeralStorageGiB), 21, 200)),
      ...checkIntegerRange('minHealthyPercent', knownNumber(props.minHealthyPercent), 0, 100),
      ...checkOnDemandBase(spot, props.onDemandBaseWorkers, settings.maxWorkers),
      ...checkSecretNames(props.secrets ?? {}, new Set(Object.values(AGENT_ENV)), props.environment ?? {}),
    ]);
    this.minWorkers = settings.minWorkers;
    this.maxWorkers = settings.maxWorkers;
    this.concurrency = settings.concurrency;
    this.fleetName = settings.fleetName;
    this.timings = settings.timings;
    this.metricsNamespace = settings.metricsNamespace;
    this.workerStartTime = props.workerStartTime ?? Duration.seconds(WORKER_START_SECONDS.fargate);

    this.cluster = props.cluster ?? new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc ?? createFleetVpc(this, props.logRetention ?? FLEET_DEFAULTS.logRetention),
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    throwIfInvalid(this, checkSubnetCapacity(this.cluster.vpc, vpcSubnets, settings.maxWorkers));
    this.clusterGiven = props.cluster !== undefined;

    const cpuArchitecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      runtimePlatform: { cpuArchitecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
      ephemeralStorageGiB: props.ephemeralStorageGiB,
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
      command: props.command,
      entryPoint: props.entryPoint,
      healthCheck: props.healthCheck,
    });

    this.service = new AgentFargateService(this, 'Service', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      assignPublicIp: props.assignPublicIp ?? false,
      vpcSubnets,
      circuitBreaker: { rollback: true },
      minHealthyPercent: props.minHealthyPercent ?? FARGATE_DEFAULTS.minHealthyPercent,
      maxHealthyPercent: 200,
      securityGroups: props.securityGroups,
      enableExecuteCommand: props.enableExecuteCommand,
      propagateTags: props.propagateTags ?? ecs.PropagatedTagSource.SERVICE,
      platformVersion: props.platformVersion,
      capacityProviderStrategies: spot ? spotStrategy(props.onDemandBaseWorkers ?? 0) : undefined,
    });
    if (spot) this.requireSpotCapacityProvider(props.cluster);

    this.connections = this.service.connections;
    props.queue.grantConsume(this.grantPrincipal);
    if (taskProtection) {
      // The ECS agent's task-protection endpoint acts with the task role, on this cluster's tasks only.
      const clusterTasks = Stack.of(this).formatArn({ service: 'ecs', resource: 'task', resourceName: `${this.cluster.clusterName}/*` });
      this.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({
        actions: ['ecs:UpdateTaskProtection', 'ecs:GetTaskProtection'],
        resources: [clusterTasks],
      }));
      acknowledgeGranteeWildcard(this, clusterTasks,
        'Task IDs are assigned at run time, so task protection is granted on the tasks of this cluster only; a task can only protect itself through its ECS agent endpoint.');
    }
    acknowledgeRule(this.taskDefinition, 'ECS2',
      'The environment holds only non-secret settings (queue URL, timings, fleet name); secrets go through the `secrets` prop (Secrets Manager or SSM).');

    this.scalableTarget = new appscaling.ScalableTarget(this, 'ScalableTarget', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${this.cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: settings.minWorkers,
      maxCapacity: settings.maxWorkers,
    });
  }

  /** The fleet's log group goes with `policy` (the service, its tasks and the cluster hold no data). */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.logGroup.applyRemovalPolicy(policy);
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

  /**
   * ECS/ContainerInsights RunningTaskCount of the service (needs Container Insights). On a
   * cluster you gave that is not known to have Container Insights, warns
   * (`cdk-agent-fleet:containerInsights`): without them, whatever reads it (scaling on metric
   * math, the workers-not-starting alarm, the dashboard) sees no running workers.
   */
  public metricRunningWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (this.clusterGiven && !this.insightsWarned && !hasContainerInsights(this.cluster)) {
      this.insightsWarned = true;
      Annotations.of(this).addWarningV2('cdk-agent-fleet:containerInsights',
        'ECS/ContainerInsights RunningTaskCount is read here (by backlog per worker on metric math, the workers-not-starting alarm or the dashboard): '
        + 'make sure Container Insights is enabled on this cluster; without it they see no running workers.');
    }
    return this.serviceMetric('ECS/ContainerInsights', 'RunningTaskCount', props);
  }

  /** ECS/ContainerInsights DesiredTaskCount of the service (needs Container Insights). */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.serviceMetric('ECS/ContainerInsights', 'DesiredTaskCount', props);
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

  /** AWS/ECS CPUUtilization of the service: the average over its tasks (Maximum: the busiest task). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.serviceMetric('AWS/ECS', 'CPUUtilization', props);
  }

  /** AWS/ECS MemoryUtilization of the service: the average over its tasks (Maximum: the fullest task). */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.serviceMetric('AWS/ECS', 'MemoryUtilization', props);
  }

  /** ECS publishes CPU and memory utilization of every service each minute: nothing to enable. */
  public enableUtilizationMetrics(): void {}

  public addMetricTargetTracking(scope: Construct, id: string, options: MetricTargetTrackingOptions): void {
    new appscaling.TargetTrackingScalingPolicy(scope, id, {
      ...metricTrackingProps(options),
      scalingTarget: this.scalableTarget,
      scaleOutCooldown: options.scaleOutCooldown,
    });
  }

  /** A metric of the service in `AWS/ECS` or `ECS/ContainerInsights` (ClusterName, ServiceName). */
  private serviceMetric(namespace: 'AWS/ECS' | 'ECS/ContainerInsights', metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric(namespace, metricName, { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName }, props);
  }
}

/** Whether a cluster is known (defined in this app) to have Container Insights on (the v1 or the v2 setting). */
function hasContainerInsights(cluster: ecs.ICluster): boolean {
  const cfn = cluster.node.defaultChild;
  if (!(cfn instanceof ecs.CfnCluster)) return false;
  const settings = (Array.isArray(cfn.clusterSettings) ? cfn.clusterSettings : []) as ecs.CfnCluster.ClusterSettingsProperty[];
  return settings.some((x) => x.name === 'containerInsights' && (x.value === 'enabled' || x.value === 'enhanced'));
}
