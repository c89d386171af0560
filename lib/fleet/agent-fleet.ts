import { Duration, Names, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct, IConstruct } from 'constructs';
import type { AdjustmentType, ScalingStep } from '../policy/steps';
import { check, checkIntegerRange, type Violation } from '../policy/violation';
import type { IAgentQueue } from '../queue/agent-queue';
import { AGENT_ENV, defaultDrainDeadline, validateWorkerTimings, WORKER_DEFAULTS, WORKER_METRICS, type WorkerTimings } from '../worker/contract';
import { checkWholeSeconds, isToken, knownNumber, knownSeconds, refuseTokens } from '../validation';
import { DEFAULT_METRIC_NAMESPACE } from '../../lambda/backlog-publisher/contract';
import type { AgentImage } from './agent-image';

/** A target tracking policy on a metric math expression (what the L2s can't do). */
export interface MathTargetTrackingOptions {
  /** The expression; its `usingMetrics` are the inputs. */
  readonly metric: cloudwatch.MathExpression;
  readonly targetValue: number;
  readonly scaleOutCooldown: Duration;
  /** Leave scale-in to other policies. */
  readonly disableScaleIn: boolean;
}

/** A target tracking policy on one plain CloudWatch metric (CPU, memory, a per-worker metric of the agents). */
export interface MetricTargetTrackingOptions {
  readonly metric: cloudwatch.IMetric;
  readonly targetValue: number;
  readonly scaleOutCooldown: Duration;
  /** Leave scale-in to other policies. */
  readonly disableScaleIn: boolean;
}

/** The props of a target tracking policy on a plain metric that both Auto Scaling L2s share. */
export function metricTrackingProps(options: MetricTargetTrackingOptions) {
  return { customMetric: options.metric, targetValue: options.targetValue, disableScaleIn: options.disableScaleIn };
}

/** A step scaling action that an alarm triggers. */
export interface FleetStepScalingOptions {
  readonly adjustmentType: AdjustmentType;
  readonly steps: readonly ScalingStep[];
  readonly cooldown: Duration;
  /** With percentages: the least number of workers a step moves. @default - none */
  readonly minAdjustmentMagnitude?: number;
}

/**
 * What both fleets share: their workers' bounds and timing, the running-workers metric, the
 * grant principal of the workers, and how scaling policies attach to them.
 */
export interface IAgentFleet extends IConstruct, iam.IGrantable {
  /** The fewest workers (0 allowed). */
  readonly minWorkers: number;
  /** The most workers. */
  readonly maxWorkers: number;
  /** Messages each worker processes at once. */
  readonly concurrency: number;
  /**
   * How long a requested worker takes to start taking messages, at worst: the burst signal
   * projects the backlog's growth over it, or until its next look when sooner (`growthHorizonSeconds`).
   * @default - 60 s, a Fargate task's (`WORKER_START_SECONDS`)
   */
  readonly workerStartTime?: Duration;
  /**
   * Whether the fleet's step scaling policies honour a cooldown: Application Auto Scaling's (ECS)
   * do; EC2 Auto Scaling's take none, so the default scale-in steps are smaller.
   * @default true
   */
  readonly stepCooldowns?: boolean;
  /** A name unique in the account and region, used as the `Fleet` dimension of the fleet's metrics. */
  readonly fleetName: string;
  /** The workers' timing: handler timeout, drain deadline, stop timeout. */
  readonly timings: WorkerTimings;
  /** CloudWatch namespace of the workers' embedded metrics. */
  readonly metricsNamespace: string;
  /**
   * Running workers, the divisor of backlog per worker. What it needs enabled depends on the
   * fleet (Container Insights on ECS, group metrics on EC2 Auto Scaling).
   */
  metricRunningWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Workers the fleet is asked to run. */
  metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /**
   * Lets the backlog publisher count this fleet's running workers: grants `grantee` the read it
   * needs, and returns the publisher's environment that names the fleet.
   */
  bindWorkerCounter(grantee: iam.IGrantable): Record<string, string>;
  /** Adds, under `scope`, a target tracking policy on a metric math expression. */
  addMathTargetTracking(scope: Construct, id: string, options: MathTargetTrackingOptions): void;
  /** Adds, under `scope`, a step scaling action for an alarm to trigger. */
  addStepScaling(scope: Construct, id: string, options: FleetStepScalingOptions): cloudwatch.IAlarmAction;
  /** Average CPU utilization of the running workers (%), one datapoint a minute (after `enableUtilizationMetrics`). */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Average memory utilization of the running workers (%), one datapoint a minute (after `enableUtilizationMetrics`). */
  metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /**
   * Makes the workers publish CPU and memory utilization each minute: nothing to add on Fargate
   * (ECS publishes both per service); on EC2, detailed monitoring and the CloudWatch agent.
   * Calling it again does nothing more.
   */
  enableUtilizationMetrics(): void;
  /** Adds, under `scope`, a target tracking policy on a plain metric. */
  addMetricTargetTracking(scope: Construct, id: string, options: MetricTargetTrackingOptions): void;
}

/** Settings of the workers that every fleet takes. */
export interface AgentWorkerOptions {
  /**
   * The fewest workers; 0 lets the fleet scale to zero when the queue is idle.
   * @default 0
   */
  readonly minWorkers?: number;
  /**
   * The most workers (>= 1).
   * @default 10
   */
  readonly maxWorkers?: number;
  /**
   * Messages each worker processes at once: passed as AGENT_CONCURRENCY (which wins over the
   * worker's own option), and what scaling counts busy workers and a latency target with.
   * @default 1
   */
  readonly concurrency?: number;
  /**
   * How long a handler may take with one message before it is aborted and the message retried.
   * The queue's visibility timeout must be at least this.
   * @default Duration.minutes(5)
   */
  readonly handlerTimeout?: Duration;
  /**
   * How long a stopping worker lets in-flight handlers finish before releasing their messages
   * to other workers. Must be below the stop timeout.
   * @default - the stop timeout less 10 seconds
   */
  readonly drainDeadline?: Duration;
  /**
   * Extra environment variables for the agent container.
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * The VPC to run in.
   * @default - a new VPC with two AZs, private subnets behind one NAT gateway, and flow logs
   */
  readonly vpc?: ec2.IVpc;
  /**
   * The subnets for the workers.
   * @default - the VPC's private subnets with egress
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long the workers' logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * CloudWatch namespace of the workers' embedded metrics (AGENT_METRICS_NAMESPACE).
   * @default 'AgentFleet'
   */
  readonly metricsNamespace?: string;
  /**
   * The command of the agent container (the image's CMD otherwise), e.g. `['node', 'agent.js']`
   * to run a script on a stock image.
   * @default - the image's CMD
   */
  readonly command?: string[];
  /**
   * The entry point of the agent container (the image's ENTRYPOINT otherwise).
   * @default - the image's ENTRYPOINT
   */
  readonly entryPoint?: string[];
  /**
   * Security groups of the workers, e.g. one a database allows. The fleet's `connections` manage
   * them too.
   * @default - a new security group with no inbound rule and all outbound traffic allowed
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** Properties both fleets take. */
export interface AgentFleetProps extends AgentWorkerOptions {
  /** The queue the workers consume. */
  readonly queue: IAgentQueue;
  /** The agent's container image. */
  readonly image: AgentImage;
}

/** Defaults of `AgentWorkerOptions`. */
export const FLEET_DEFAULTS = {
  minWorkers: 0,
  maxWorkers: 10,
  metricsNamespace: DEFAULT_METRIC_NAMESPACE,
  logRetention: logs.RetentionDays.ONE_MONTH,
} as const;

const RESERVED_ENV = new Set<string>(Object.values(AGENT_ENV));

/** The resolved settings of a fleet's workers, shared by both fleets. */
export interface WorkerSettings {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly concurrency: number;
  readonly timings: WorkerTimings;
  readonly fleetName: string;
  readonly metricsNamespace: string;
  /** Contract variables whose values are tokens (a CfnParameter...), resolved by CloudFormation. */
  readonly tokenEnv: Record<string, string>;
}

/** Resolves defaults, and lists what breaks the rules. */
export function resolveWorkerSettings(
  scope: IConstruct,
  props: AgentFleetProps & { readonly stopTimeout?: Duration },
  extra: Partial<WorkerTimings> = {},
): { settings: WorkerSettings; violations: Violation[] } {
  const minWorkers = props.minWorkers ?? FLEET_DEFAULTS.minWorkers;
  const maxWorkers = props.maxWorkers ?? FLEET_DEFAULTS.maxWorkers;
  const concurrency = props.concurrency ?? WORKER_DEFAULTS.concurrency;
  const stopTimeoutSeconds = knownSeconds(props.stopTimeout) ?? WORKER_DEFAULTS.stopTimeoutSeconds;
  // Timings that are tokens pass through to the container's environment; their checks are skipped.
  const tokenEnv: Record<string, string> = {};
  for (const [name, duration] of [
    [AGENT_ENV.visibilityTimeoutSeconds, props.queue.visibilityTimeout],
    [AGENT_ENV.handlerTimeoutSeconds, props.handlerTimeout],
    [AGENT_ENV.drainDeadlineSeconds, props.drainDeadline],
  ] as const) {
    if (duration !== undefined && isToken(duration)) tokenEnv[name] = Tokenization.stringifyNumber(duration.toSeconds());
  }
  const timings: WorkerTimings = {
    visibilityTimeoutSeconds: knownSeconds(props.queue.visibilityTimeout)!,
    handlerTimeoutSeconds: knownSeconds(props.handlerTimeout ?? Duration.seconds(WORKER_DEFAULTS.handlerTimeoutSeconds))!,
    stopTimeoutSeconds,
    drainDeadlineSeconds: props.drainDeadline ? knownSeconds(props.drainDeadline)! : defaultDrainDeadline(stopTimeoutSeconds),
    ...extra,
  };
  const violations = [
    ...checkIntegerRange('minWorkers', knownNumber(minWorkers), 0, 10_000),
    ...checkIntegerRange('maxWorkers', knownNumber(maxWorkers), 1, 10_000),
    ...(knownNumber(minWorkers) !== undefined && knownNumber(maxWorkers) !== undefined && minWorkers > maxWorkers
      ? [{ prop: 'minWorkers', allowed: `<= maxWorkers (${maxWorkers})`, value: String(minWorkers) }]
      : []),
    ...checkIntegerRange('concurrency', knownNumber(concurrency), 1, 1000),
    ...validateWorkerTimings(timings),
    ...checkWholeSeconds({ handlerTimeout: props.handlerTimeout, drainDeadline: props.drainDeadline, stopTimeout: props.stopTimeout }),
    ...refuseTokens({ concurrency: props.concurrency }, 'scaling divides in-flight messages by it in metric math'),
    ...refuseTokens({ stopTimeout: props.stopTimeout }, 'the drain deadline and the stop of the container are computed from it'),
    // CloudWatch reserves namespaces beginning with AWS/ for AWS services: PutMetricData refuses them.
    ...check(!(props.metricsNamespace ?? '').startsWith('AWS/'), 'metricsNamespace', 'a namespace not starting with AWS/', props.metricsNamespace),
    // The contract's variables come from the fleet's own props; a second source would contradict them.
    ...Object.keys(props.environment ?? {}).filter((name) => RESERVED_ENV.has(name)).map((name) => ({
      prop: `environment.${name}`, allowed: 'unset: the fleet sets it from its props', value: String(props.environment![name]),
    })),
  ];
  return {
    settings: {
      minWorkers,
      maxWorkers,
      concurrency,
      timings,
      fleetName: Names.uniqueResourceName(scope, { maxLength: 64 }),
      metricsNamespace: props.metricsNamespace ?? FLEET_DEFAULTS.metricsNamespace,
      tokenEnv,
    },
    violations,
  };
}

/**
 * Checks the on-demand base of a Spot fleet: it needs `spot`, and fits in `maxWorkers`.
 */
export function checkOnDemandBase(spot: boolean, onDemandBaseWorkers: number | undefined, maxWorkers: number): Violation[] {
  const base = knownNumber(onDemandBaseWorkers);
  if (base === undefined || base === 0) return [];
  if (!spot) return check(false, 'onDemandBaseWorkers', '0 unless spot is true', base);
  return check(Number.isInteger(base) && base >= 0 && base <= maxWorkers, 'onDemandBaseWorkers', `an integer 0-${maxWorkers} (maxWorkers)`, base);
}

/** The environment every agent container gets: the contract with the worker runtime, then the user's. */
export function workerEnvironment(
  props: AgentFleetProps,
  settings: WorkerSettings,
  extra: Record<string, string> = {},
): Record<string, string> {
  const t = settings.timings;
  const env: Record<string, string> = {
    [AGENT_ENV.queueUrl]: props.queue.queue.queueUrl,
    [AGENT_ENV.concurrency]: String(settings.concurrency),
    [AGENT_ENV.handlerTimeoutSeconds]: String(t.handlerTimeoutSeconds),
    [AGENT_ENV.drainDeadlineSeconds]: String(t.drainDeadlineSeconds),
    [AGENT_ENV.stopTimeoutSeconds]: String(t.stopTimeoutSeconds),
    [AGENT_ENV.metricsNamespace]: settings.metricsNamespace,
    [AGENT_ENV.fleetName]: settings.fleetName,
    ...extra,
  };
  if (t.visibilityTimeoutSeconds !== undefined) {
    env[AGENT_ENV.visibilityTimeoutSeconds] = String(t.visibilityTimeoutSeconds);
  }
  return { ...props.environment, ...env, ...settings.tokenEnv };
}

/**
 * A secret becomes a variable of the agent container, so its name must be one nothing else sets:
 * neither the fleet (`fleetEnv`: the contract's variables and any the fleet adds) nor `environment`
 * (one variable, two values; ECS refuses such a task definition at deploy: "The secret name must
 * be unique and not shared with any new or existing environment variables set on the container").
 */
export function checkSecretNames(secrets: Record<string, unknown>, fleetEnv: ReadonlySet<string>, environment: Record<string, string>): Violation[] {
  const named = [...fleetEnv].filter((name) => !name.startsWith('AGENT_')).join(', ');
  return Object.keys(secrets).flatMap((name) => [
    ...check(!fleetEnv.has(name), `secrets.${name}`, `a name the fleet does not set itself (it sets ${named} and AGENT_* from its props)`, JSON.stringify(name)),
    ...check(!(name in environment), `secrets.${name}`, 'a name not also in environment (one variable, two values)', JSON.stringify(name)),
  ]);
}

/** A worker-count metric of a fleet (running or desired): Average over one minute. */
export function workerCountMetric(
  namespace: string,
  metricName: string,
  dimensionsMap: Record<string, string>,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace, metricName, dimensionsMap, statistic: cloudwatch.Stats.AVERAGE, period: Duration.minutes(1), ...props,
  });
}

/**
 * A metric the fleet's workers write (`AgentWorker`'s embedded metrics: the fleet's namespace,
 * dimension `Fleet`): Sum over one minute unless the options say otherwise.
 */
export function workerMetric(fleet: IAgentFleet, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: fleet.metricsNamespace,
    metricName,
    dimensionsMap: { [WORKER_METRICS.fleetDimension]: fleet.fleetName },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(1),
    ...props,
  });
}

/** Adds the model's steps to a step scaling action (Application or EC2 Auto Scaling: same shape). */
export function addSteps(
  action: { addAdjustment(adjustment: { adjustment: number; lowerBound?: number; upperBound?: number }): void },
  steps: readonly ScalingStep[],
): void {
  for (const step of steps) {
    action.addAdjustment({ adjustment: step.change, lowerBound: step.lower, upperBound: step.upper });
  }
}
