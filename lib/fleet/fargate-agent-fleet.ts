import { Annotations, Duration, Names, Resource, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { PUBLISHER_ENV, PUBLISHER_IAM_ACTIONS } from '../../lambda/backlog-publisher/contract';
import { metricDataQueries } from '../scaling/metric-queries';
import { check, type Violation } from '../policy/violation';
import { AGENT_ENV, WORKER_DEFAULTS, type WorkerTimings } from '../worker/contract';
import { acknowledgeRule, acknowledgeWildcardResource } from '../nag-acknowledgements';
import { knownNumber, knownSeconds, throwIfInvalid } from '../validation';
import {
  addSteps, FLEET_DEFAULTS, metricTrackingProps, resolveWorkerSettings, workerCountMetric, workerEnvironment,
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
   * @default 512
   */
  readonly cpu?: number;
  /**
   * Memory of each worker task, MiB; must be a size Fargate offers for `cpu`.
   * @default 1024
   */
  readonly memoryLimitMiB?: number;
  /**
   * The CPU architecture of the image.
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
   * Run on Fargate Spot (needs the cluster's Fargate capacity providers; a new cluster has them).
   * @default false
   */
  readonly spot?: boolean;
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
    throwIfInvalid(this, [...violations, ...validateTaskSize(knownNumber(cpu), knownNumber(memoryLimitMiB))]);
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

    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu,
      memoryLimitMiB,
      runtimePlatform: { cpuArchitecture: props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    this.grantPrincipal = this.taskDefinition.taskRole;
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? FLEET_DEFAULTS.logRetention });
    const image = props.image.bind(this, this.taskDefinition.obtainExecutionRole());

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
      capacityProviderStrategies: props.spot
        ? [{ capacityProvider: 'FARGATE_SPOT', weight: 1 }]
        : undefined,
    });

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

  /** AWS/ECS CPUUtilization of the service: the average over its tasks (Maximum: the busiest task). */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.serviceMetric('CPUUtilization', props);
  }

  /** AWS/ECS MemoryUtilization of the service: the average over its tasks (Maximum: the fullest task). */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.serviceMetric('MemoryUtilization', props);
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

  private serviceMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('AWS/ECS', metricName, { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName }, props);
  }

  private containerInsightsMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('ECS/ContainerInsights', metricName,
      { ClusterName: this.cluster.clusterName, ServiceName: this.service.serviceName }, props);
  }
}
