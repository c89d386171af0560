import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AgentCompute } from './fleet/agent-compute';
import type { AgentWorkerOptions, IAgentFleet } from './fleet/agent-fleet';
import type { AgentImage } from './fleet/agent-image';
import { AgentQueue, type AgentQueueProps, type IAgentQueue } from './queue/agent-queue';
import { BacklogScaling, type BacklogScalingOptions } from './scaling/backlog-scaling';
import { BacklogTarget } from './scaling/backlog-target';
import { BacklogPublisher } from './scaling/backlog-publisher';
import { AgentFleetMonitoring } from './monitoring/agent-fleet-monitoring';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { WORKER_DEFAULTS } from './worker/contract';
import { knownSeconds, throwIfInvalid } from './validation';

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
   * @default - AgentQueue's defaults, with the visibility timeout a minute above the handler timeout
   */
  readonly queueProps?: AgentQueueProps;
  /**
   * Tuning of the scaling policies.
   * @default - BacklogScaling's defaults
   */
  readonly scaling?: BacklogScalingOptions;
  /**
   * Where scaling reads the backlog and the running workers.
   * @default BacklogMetricSource.METRIC_MATH
   */
  readonly metricSource?: BacklogMetricSource;
  /**
   * With `BacklogMetricSource.PUBLISHER`: the time between its datapoints (10, 30 or 60 s).
   * @default Duration.seconds(10)
   */
  readonly publisherPeriod?: Duration;
  /**
   * Create the dashboard and alarms.
   * @default true
   */
  readonly monitoring?: boolean;
  /**
   * Where the alarms notify.
   * @default - no notification
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Business metrics the agents publish with `context.metrics.put`, graphed on the dashboard.
   * @default - none
   */
  readonly businessMetrics?: string[];
}

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
  public readonly scaling: BacklogScaling;
  /** The backlog publisher, with `BacklogMetricSource.PUBLISHER`. */
  public readonly publisher?: BacklogPublisher;
  /** The dashboard and alarms, unless `monitoring` is false. */
  public readonly monitoring?: AgentFleetMonitoring;

  constructor(scope: Construct, id: string, props: ElasticAgentFleetProps) {
    super(scope, id);
    throwIfInvalid(this, props.queue && props.queueProps
      ? [{ prop: 'queueProps', allowed: 'unset when `queue` is given (configure the existing queue where it is defined)', value: 'set' }]
      : []);

    const handlerSeconds = knownSeconds(props.handlerTimeout) ?? WORKER_DEFAULTS.handlerTimeoutSeconds;
    this.queue = props.queue ?? new AgentQueue(this, 'Queue', {
      visibilityTimeout: Duration.seconds(handlerSeconds + 60),
      ...props.queueProps,
    });
    const {
      image, compute, target, scaling, metricSource, publisherPeriod, monitoring, alarmTopic, businessMetrics,
      queue: _queue, queueProps: _queueProps, ...workerOptions
    } = props;
    this.fleet = (compute ?? AgentCompute.fargate()).createFleet(this, 'Fleet', { ...workerOptions, queue: this.queue, image });
    if (metricSource === BacklogMetricSource.PUBLISHER) {
      this.publisher = new BacklogPublisher(this, 'Publisher', {
        queue: this.queue, fleet: this.fleet, period: publisherPeriod, namespace: this.fleet.metricsNamespace,
      });
    }
    this.scaling = new BacklogScaling(this, 'Scaling', {
      ...scaling,
      fleet: this.fleet,
      queue: this.queue,
      target: target ?? BacklogTarget.perWorker(10),
      publisher: this.publisher,
    });
    if (monitoring ?? true) {
      this.monitoring = new AgentFleetMonitoring(this, 'Monitoring', {
        queue: this.queue, fleet: this.fleet, scaling: this.scaling, alarmTopic, businessMetrics,
      });
    }
  }
}
