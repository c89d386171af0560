import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { AgentCompute } from './fleet/agent-compute';
import type { AgentWorkerOptions, IAgentFleet } from './fleet/agent-fleet';
import type { AgentImage } from './fleet/agent-image';
import { AgentQueue, type AgentQueueProps, type IAgentQueue } from './queue/agent-queue';
import { BacklogScaling, type BacklogScalingOptions } from './scaling/backlog-scaling';
import { BacklogTarget } from './scaling/backlog-target';
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
    const { image, compute, target, queue: _queue, queueProps: _queueProps, scaling, ...workerOptions } = props;
    this.fleet = (compute ?? AgentCompute.fargate()).createFleet(this, 'Fleet', { ...workerOptions, queue: this.queue, image });
    this.scaling = new BacklogScaling(this, 'Scaling', {
      ...scaling,
      fleet: this.fleet,
      queue: this.queue,
      target: target ?? BacklogTarget.perWorker(10),
    });
  }
}
