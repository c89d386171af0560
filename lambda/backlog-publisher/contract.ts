/**
 * The contract between the backlog publisher's handler and the construct that deploys it: the
 * environment variables the handler reads, the metrics it puts, their dimension, the periods it
 * accepts and the IAM actions it needs. Both sides import this module; it has no dependencies
 * (no AWS SDK, no aws-cdk-lib), so importing it from `lib/` loads nothing else.
 */

/** Environment variables the handler reads at cold start. */
export const PUBLISHER_ENV = {
  /** Required. URL of the queue whose backlog is measured (`https://sqs.<region>.amazonaws.com/<account>/<name>`). */
  queueUrl: 'QUEUE_URL',
  /** Required. Value of the `Fleet` dimension on every metric; unique per fleet in an account and region. */
  fleetName: 'FLEET_NAME',
  /** Optional. CloudWatch namespace of the metrics; default {@link DEFAULT_METRIC_NAMESPACE}. */
  metricNamespace: 'METRIC_NAMESPACE',
  /** Optional. Seconds between samples: one of {@link ALLOWED_PERIODS_SECONDS}; default {@link DEFAULT_PERIOD_SECONDS}. */
  periodSeconds: 'PERIOD_SECONDS',
  /** ECS fleets: the cluster (name or ARN) of the workers' service. Set with `ECS_SERVICE`. */
  ecsCluster: 'ECS_CLUSTER',
  /** ECS fleets: the workers' service (name or ARN); its `runningCount` is the running workers. Set with `ECS_CLUSTER`. */
  ecsService: 'ECS_SERVICE',
  /** EC2 fleets: the Auto Scaling group's name; its `InService` instances are the running workers. */
  autoScalingGroupName: 'AUTO_SCALING_GROUP_NAME',
} as const;

/** Metric names the handler puts, one datapoint each per period. */
export const PUBLISHER_METRICS = {
  /** ApproximateNumberOfMessages ÷ max(RunningWorkers, 1): the target-tracking signal. Unit `None`. */
  backlogPerWorker: 'BacklogPerWorker',
  /** The queue's ApproximateNumberOfMessages (visible, waiting to be received). Unit `Count`. */
  visibleMessages: 'VisibleMessages',
  /** The queue's ApproximateNumberOfMessagesNotVisible (received, not yet deleted). Unit `Count`. */
  inFlightMessages: 'InFlightMessages',
  /** The queue's ApproximateNumberOfMessagesDelayed (sent with a delay, not yet receivable). Unit `Count`. */
  delayedMessages: 'DelayedMessages',
  /** ECS service `runningCount`, or the group's instances in `InService`. Unit `Count`. */
  runningWorkers: 'RunningWorkers',
  /** ECS service `desiredCount`, or the group's `DesiredCapacity`: running plus still starting. Unit `Count`. */
  desiredWorkers: 'DesiredWorkers',
} as const;

export type PublisherMetricName = (typeof PUBLISHER_METRICS)[keyof typeof PUBLISHER_METRICS];

/** CloudWatch units of the metrics: a metric in a scaling policy or alarm that names a unit must match. */
export const PUBLISHER_METRIC_UNITS: Readonly<Record<PublisherMetricName, 'Count' | 'None'>> = {
  BacklogPerWorker: 'None',
  VisibleMessages: 'Count',
  InFlightMessages: 'Count',
  DelayedMessages: 'Count',
  RunningWorkers: 'Count',
  DesiredWorkers: 'Count',
};

/** The one dimension on every metric; its value is `FLEET_NAME`. */
export const FLEET_DIMENSION = 'Fleet';

/** Namespace used when `METRIC_NAMESPACE` is unset. */
export const DEFAULT_METRIC_NAMESPACE = 'AgentFleet';

/**
 * Periods the handler accepts, in seconds: those a target-tracking policy can use with a
 * high-resolution metric (EC2 Auto Scaling User Guide, "Create a target tracking policy using
 * high-resolution metrics": 10, 30 or 60 s).
 */
export const ALLOWED_PERIODS_SECONDS = [10, 30, 60] as const;
export type PublisherPeriodSeconds = (typeof ALLOWED_PERIODS_SECONDS)[number];

export const DEFAULT_PERIOD_SECONDS: PublisherPeriodSeconds = 10;

/** The schedule the handler expects: one invocation a minute, which samples for that minute. */
export const SCHEDULE_SECONDS = 60;

/**
 * The Lambda timeout the construct should give the function: the minute it samples, plus room
 * for the last cycle. The handler stops sampling in time for any timeout; with less than this it
 * leaves the rest of the minute unsampled.
 */
export const RECOMMENDED_TIMEOUT_SECONDS = 70;

/**
 * IAM actions the handler calls, by what it reads. Every function needs `queue` and `metrics`,
 * and one of `ecs` or `autoScaling`.
 */
export const PUBLISHER_IAM_ACTIONS = {
  /** Resource: the queue's ARN. */
  queue: ['sqs:GetQueueAttributes'],
  /** Resource: the service's ARN (`arn:aws:ecs:<region>:<account>:service/<cluster>/<service>`). */
  ecs: ['ecs:DescribeServices'],
  /**
   * Resource: `*` only. EC2 Auto Scaling's Describe* actions support no resource-level
   * permissions and no condition key that names a group (Service Authorization Reference,
   * "Actions, resources, and condition keys for Amazon EC2 Auto Scaling"). The action is read-only.
   */
  autoScaling: ['autoscaling:DescribeAutoScalingGroups'],
  /** Resource: `*` only; limit it with the condition `StringEquals: { 'cloudwatch:namespace': <namespace> }`. */
  metrics: ['cloudwatch:PutMetricData'],
} as const;

/** The condition key that limits `cloudwatch:PutMetricData` to one namespace. */
export const PUT_METRIC_DATA_NAMESPACE_CONDITION_KEY = 'cloudwatch:namespace';
