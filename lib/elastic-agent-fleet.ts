import { CfnOutput, Duration, type RemovalPolicy } from 'aws-cdk-lib';
import { Construct, type IConstruct } from 'constructs';
import { AgentCompute } from './fleet/agent-compute';
import { Ec2AgentFleet } from './fleet/ec2-agent-fleet';
import { FargateAgentFleet } from './fleet/fargate-agent-fleet';
import { isModelScaledFleet } from './fleet/model-scaled-fleet';
import type { AgentWorkerOptions, IAgentFleet } from './fleet/agent-fleet';
import type { AgentImage } from './fleet/agent-image';
import { AgentQueue, type AgentQueueProps, type IAgentQueue } from './queue/agent-queue';
import { BacklogScaling, type BacklogScalingOptions } from './scaling/backlog-scaling';
import { BacklogTarget } from './scaling/backlog-target';
import { BacklogPublisher } from './scaling/backlog-publisher';
import { AgentFleetMonitoring } from './monitoring/agent-fleet-monitoring';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { check } from './policy/violation';
import { knownSeconds, ViolationCollector } from './validation';

/** Properties of an `ElasticAgentFleet`. */
export interface ElasticAgentFleetProps extends AgentWorkerOptions {
  /** The agent's container image. */
  readonly image: AgentImage;
  /**
   * Where the workers run.
   * @default AgentCompute.fargate()
   */
  readonly compute?: AgentCompute;
  /**
   * Backlog per worker to hold.
   * @default BacklogTarget.perWorker(10)
   */
  readonly target?: BacklogTarget;
  /**
   * An existing queue to consume, instead of a new one.
   * @default - a new AgentQueue
   */
  readonly queue?: IAgentQueue;
  /**
   * Settings of the new queue (not with `queue`).
   * @default - AgentQueue's defaults (a 30 s visibility timeout: heartbeats keep messages of longer handlers)
   */
  readonly queueProps?: AgentQueueProps;
  /**
   * Tuning of the scaling policies.
   * @default - BacklogScaling's defaults
   */
  readonly scaling?: BacklogScalingOptions;
  /**
   * Where scaling reads the backlog and the running workers. The publisher's 10 s datapoints
   * hold the latency goal on loads that change within a minute or two, which one-minute metric
   * math shows a minute or two late: on the simulator's random suite (seeds 1-3) it passes 179 of
   * 180 cells against metric math's 80, and still 177 with its own cost (about $8.70 a month)
   * counted as workers' time. Metric math has nothing to run, for a few dollars less.
   * @default BacklogMetricSource.PUBLISHER on Fargate and EC2; on EKS, KEDA reads the queue itself (METRIC_MATH)
   */
  readonly metricSource?: BacklogMetricSource;
  /**
   * With the publisher: the time between its datapoints (10, 30 or 60 s).
   * @default Duration.seconds(10)
   */
  readonly publisherPeriod?: Duration;
  /**
   * Create the dashboard and alarms.
   * @default true
   */
  readonly monitoring?: boolean;
  /**
   * Where the alarms notify (with `monitoring`).
   * @default - no notification
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Business metrics the agents publish with `context.metrics.put`, graphed on the dashboard.
   * @default - none
   */
  readonly businessMetrics?: string[];
  /**
   * Add stack outputs a user needs after deploy: the queue's URL and ARN, the dead-letter
   * queue's URL, the dashboard's name.
   * @default false
   */
  readonly outputs?: boolean;
}

/**
 * The worker options, which `ElasticAgentFleet` takes at its top level (every other prop of its
 * fleet comes from `compute`). A `Record` over all keys, so a new option cannot be forgotten here.
 */
const WORKER_OPTION_NAMES: Record<keyof AgentWorkerOptions, true> = {
  minWorkers: true, maxWorkers: true, concurrency: true, handlerTimeout: true, drainDeadline: true, environment: true,
  vpc: true, vpcSubnets: true, logRetention: true, metricsNamespace: true, command: true, entryPoint: true, securityGroups: true,
};

/** Where backlog scaling reads its inputs. */
export enum BacklogMetricSource {
  /**
   * Metric math over SQS's metrics and the fleet's running-workers metric (ECS Container
   * Insights' RunningTaskCount, or the group's GroupInServiceInstances): nothing to run, one
   * datapoint a minute.
   */
  METRIC_MATH = 'METRIC_MATH',
  /**
   * The backlog publisher's high-resolution metrics (a Lambda function that samples the queue and
   * the fleet every 10 s): reacts faster and needs no Container Insights, for a few dollars a month.
   */
  PUBLISHER = 'PUBLISHER',
}

/**
 * The whole pattern in one construct: a task queue with its dead-letter queue, a fleet of agent
 * workers (Fargate or EC2) that consume it, and backlog-per-worker scaling with burst steps,
 * scale-in that spares busy workers, and scale to zero.
 */
export class ElasticAgentFleet extends Construct {
  public readonly queue: IAgentQueue;
  public readonly fleet: IAgentFleet;
  /** The fleet, when the compute is Fargate. */
  public readonly fargateFleet?: FargateAgentFleet;
  /** The fleet, when the compute is EC2. */
  public readonly ec2Fleet?: Ec2AgentFleet;
  public readonly scaling: BacklogScaling;
  /** The backlog publisher, with `BacklogMetricSource.PUBLISHER`. */
  public readonly publisher?: BacklogPublisher;
  /** The dashboard and alarms, unless `monitoring` is false. */
  public readonly monitoring?: AgentFleetMonitoring;

  constructor(scope: Construct, id: string, props: ElasticAgentFleetProps) {
    super(scope, id);
    // Every part reports its problems here, under the names of these props: one error for all.
    const collector = new ViolationCollector(this, (child, prop) => this.placeOf(child, prop, props));
    const monitoring = props.monitoring ?? true;
    collector.add(this, [
      ...(props.queue && props.queueProps
        ? [{ prop: 'queueProps', allowed: 'unset when `queue` is given (configure the existing queue where it is defined)', value: 'set' }]
        : []),
      ...(props.alarmTopic && !monitoring ? check(false, 'alarmTopic', 'unset when monitoring is false (there are no alarms)', props.alarmTopic.node.path) : []),
      ...(props.businessMetrics && !monitoring
        ? check(false, 'businessMetrics', 'unset when monitoring is false (there is no dashboard)', props.businessMetrics.join(', '))
        : []),
    ]);

    // The queue's visibility timeout is independent of the handler timeout: heartbeats keep a
    // message while its handler runs, so the short default bounds how long a crashed worker's
    // messages wait (see WORKER_DEFAULTS.visibilityTimeoutSeconds).
    this.queue = props.queue ?? collector.build(() => new AgentQueue(this, 'Queue', props.queueProps));
    const {
      image, compute, target, scaling, metricSource, publisherPeriod, monitoring: _monitoring, alarmTopic, businessMetrics, outputs,
      queue: _queue, queueProps: _queueProps, ...workerOptions
    } = props;
    this.fleet = collector.build(() => (compute ?? AgentCompute.fargate()).createFleet(this, 'Fleet', { ...workerOptions, queue: this.queue, image }));
    this.fargateFleet = this.fleet instanceof FargateAgentFleet ? this.fleet : undefined;
    this.ec2Fleet = this.fleet instanceof Ec2AgentFleet ? this.fleet : undefined;
    // The publisher where it can count the workers; on EKS, KEDA reads the queue itself.
    const source = metricSource ?? (isModelScaledFleet(this.fleet) ? BacklogMetricSource.METRIC_MATH : BacklogMetricSource.PUBLISHER);
    if (publisherPeriod && source !== BacklogMetricSource.PUBLISHER) {
      collector.add(this, check(false, 'publisherPeriod', 'unset unless the backlog publisher runs (metricSource PUBLISHER, the default on Fargate and EC2)',
        `${knownSeconds(publisherPeriod)} seconds`));
    }
    if (source === BacklogMetricSource.PUBLISHER) {
      this.publisher = collector.build(() => new BacklogPublisher(this, 'Publisher', {
        queue: this.queue, fleet: this.fleet, period: publisherPeriod, namespace: this.fleet.metricsNamespace, logRetention: props.logRetention,
      }));
    }
    this.scaling = collector.build(() => new BacklogScaling(this, 'Scaling', {
      ...scaling,
      fleet: this.fleet,
      queue: this.queue,
      target: target ?? BacklogTarget.perWorker(10),
      publisher: this.publisher,
    }));
    if (monitoring) {
      this.monitoring = collector.build(() => new AgentFleetMonitoring(this, 'Monitoring', {
        queue: this.queue, fleet: this.fleet, scaling: this.scaling, alarmTopic, businessMetrics,
      }));
    }
    collector.throwIfAny();
    if (outputs) this.addOutputs();
  }

  /** The queues (when this construct created them) and the fleet's logs go with `policy`. */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    if (this.queue instanceof AgentQueue && this.queue.node.scope === this) this.queue.applyRemovalPolicy(policy);
    if (this.fleet instanceof FargateAgentFleet || this.fleet instanceof Ec2AgentFleet) this.fleet.applyRemovalPolicy(policy);
  }

  private addOutputs(): void {
    new CfnOutput(this, 'QueueUrl', { value: this.queue.queue.queueUrl, description: `Task queue of ${this.node.path}` });
    new CfnOutput(this, 'QueueArn', { value: this.queue.queue.queueArn, description: `Task queue of ${this.node.path}` });
    if (this.queue.deadLetterQueue) {
      new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queue.deadLetterQueue.queueUrl, description: `Dead-letter queue of ${this.node.path}` });
    }
    if (this.monitoring) {
      new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName, description: `Dashboard of ${this.node.path}` });
    }
  }

  /** The name, as a user of this construct wrote it, of a part's prop: `stopTimeout` of the fleet is `compute.stopTimeout`. */
  private placeOf(child: IConstruct, prop: string, props: ElasticAgentFleetProps): string | undefined {
    const part = child === this ? undefined : child.node.scopes[this.node.scopes.length]?.node.id;
    const base = prop.split(/[.[ ]/)[0];
    const queueVisibility = props.queue ? 'queue (its visibilityTimeout)' : 'queueProps.visibilityTimeout';
    // A visibility this construct derived from handlerTimeout fails only where handlerTimeout does (reported on it).
    const derivedVisibility = !props.queue && props.queueProps?.visibilityTimeout === undefined;
    switch (part) {
      case 'Queue': return `queueProps.${prop}`;
      case 'Fleet':
        if (base === 'visibilityTimeout') return derivedVisibility ? undefined : queueVisibility;
        return base in WORKER_OPTION_NAMES ? prop : `compute.${prop}`;
      case 'Publisher': return ({ period: 'publisherPeriod', namespace: 'metricsNamespace' } as Record<string, string>)[base] ?? prop;
      case 'Scaling':
        if (base === 'metricPeriod') return 'publisherPeriod';
        return ['minWorkers', 'maxWorkers', 'concurrency', 'target'].includes(base) ? prop : `scaling.${prop}`;
      case 'Monitoring': return base === 'latencyGoal' ? 'target (its acceptableLatency)' : prop;
      default: return prop;
    }
  }
}
