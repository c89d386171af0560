import { Duration, type RemovalPolicy, Resource } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct, IConstruct } from 'constructs';
import { checkIntegerRange, checkRange } from '../policy/violation';
import { AWS_LIMITS, MIN_VISIBILITY_TIMEOUT_SECONDS, WORKER_DEFAULTS } from '../worker/contract';
import { checkWholeSeconds, knownNumber, knownSeconds, throwIfInvalid } from '../validation';

/** A queue of agent tasks with its dead-letter queue. */
export interface IAgentQueue extends IConstruct {
  /** The queue producers send tasks to and workers consume. */
  readonly queue: sqs.IQueue;
  /** Where a task goes after `maxReceiveCount` failed receives. Undefined for an adopted queue without one. */
  readonly deadLetterQueue?: sqs.IQueue;
  /** The queue's visibility timeout, when known at synth: fleets pass it to their workers and check their heartbeat against it. */
  readonly visibilityTimeout?: Duration;

  /**
   * Grants a worker what it needs to consume tasks: `sqs:ReceiveMessage`,
   * `sqs:ChangeMessageVisibility`, `sqs:GetQueueUrl`, `sqs:DeleteMessage`,
   * `sqs:GetQueueAttributes`, and `kms:Decrypt` on the queue's key when it has one.
   */
  grantConsume(grantee: iam.IGrantable): iam.Grant;
  /**
   * Grants a producer what it needs to send tasks: `sqs:SendMessage`, `sqs:GetQueueAttributes`,
   * `sqs:GetQueueUrl`, and `kms:Encrypt`, `kms:ReEncrypt*`, `kms:GenerateDataKey*`, `kms:Decrypt` on the key.
   */
  grantSend(grantee: iam.IGrantable): iam.Grant;
  /** ApproximateNumberOfMessagesVisible: tasks waiting to be received. Maximum over 1 minute. */
  metricVisible(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** ApproximateNumberOfMessagesNotVisible: tasks received by a worker and not yet deleted. */
  metricInFlight(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** ApproximateNumberOfMessagesDelayed: tasks sent with a delay, not yet receivable. */
  metricDelayed(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** ApproximateAgeOfOldestMessage, seconds. */
  metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** ApproximateNumberOfMessagesVisible of the dead-letter queue: tasks that failed for good. */
  metricDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** How the queues are encrypted at rest. */
export enum AgentQueueEncryption {
  /** SSE-SQS: SQS-owned keys, no cost, no key policy to manage. */
  SQS_MANAGED = 'SQS_MANAGED',
  /** SSE-KMS with a customer-managed key: `encryptionKey`, or a new key with rotation. */
  KMS = 'KMS',
}

/** Properties of an `AgentQueue`. */
export interface AgentQueueProps {
  /**
   * How long a received task stays hidden from other workers (2 s-12 h). Independent of the
   * fleet's handler timeout: the worker extends it by heartbeats while the handler runs, so it
   * only bounds how long a crashed worker's tasks wait before another worker takes them.
   * @default Duration.seconds(30) - a crash stalls tasks for at most 30 s; heartbeats tolerate a 20 s outage
   */
  readonly visibilityTimeout?: Duration;
  /**
   * Receives after which a task goes to the dead-letter queue (1-1000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long an unprocessed task is kept (1 minute to 14 days).
   * @default Duration.days(4) - SQS's default
   */
  readonly retentionPeriod?: Duration;
  /**
   * How long a dead-lettered task is kept for inspection and redrive (1 minute to 14 days).
   * @default Duration.days(14)
   */
  readonly deadLetterRetentionPeriod?: Duration;
  /**
   * Encryption at rest of both queues.
   * @default AgentQueueEncryption.SQS_MANAGED, or KMS when `encryptionKey` is given
   */
  readonly encryption?: AgentQueueEncryption;
  /**
   * The KMS key, with `AgentQueueEncryption.KMS`.
   * @default - a new key with rotation enabled, when encryption is KMS
   */
  readonly encryptionKey?: kms.IKey;
}

/** An existing queue to adopt. */
export interface AgentQueueAttributes {
  readonly queue: sqs.IQueue;
  /** @default - none: failed tasks are not dead-lettered by us, and `metricDeadLetters` throws */
  readonly deadLetterQueue?: sqs.IQueue;
  /**
   * The queue's visibility timeout, if you know it: fleets then pass it to their workers and check it.
   * @default - unknown: each worker reads it from the queue at start (GetQueueAttributes)
   */
  readonly visibilityTimeout?: Duration;
}

const SQS_RETENTION = { min: 60, max: 14 * 24 * 3600 };

/** Grants and metrics that created and adopted queues share. */
abstract class AgentQueueBase extends Resource implements IAgentQueue {
  public abstract readonly queue: sqs.IQueue;
  public abstract readonly deadLetterQueue?: sqs.IQueue;
  public abstract readonly visibilityTimeout?: Duration;

  public grantConsume(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }

  public grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  public metricVisible(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible(props);
  }

  public metricInFlight(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesNotVisible(props);
  }

  public metricDelayed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metric('ApproximateNumberOfMessagesDelayed', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  public metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage(props);
  }

  public metricDeadLetters(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    if (!this.deadLetterQueue) {
      throw new Error(`${this.node.path}: metricDeadLetters needs a dead-letter queue; this adopted queue has none (pass deadLetterQueue to AgentQueue.fromQueues)`);
    }
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible(props);
  }
}

/**
 * The task queue of an agent fleet: an SQS queue and its dead-letter queue, encrypted at rest,
 * reachable only over TLS, with long polling on and a redrive after `maxReceiveCount` receives.
 */
export class AgentQueue extends AgentQueueBase {
  /** Adopts existing queues (created elsewhere or in another stack). */
  public static fromQueues(scope: Construct, id: string, attrs: AgentQueueAttributes): IAgentQueue {
    class Imported extends AgentQueueBase {
      public readonly queue = attrs.queue;
      public readonly deadLetterQueue = attrs.deadLetterQueue;
      public readonly visibilityTimeout = attrs.visibilityTimeout;
    }
    return new Imported(scope, id);
  }

  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly visibilityTimeout: Duration;
  /** The receives after which a task is dead-lettered. */
  public readonly maxReceiveCount: number;
  /** The KMS key, when encryption is KMS. */
  public readonly encryptionKey?: kms.IKey;

  constructor(scope: Construct, id: string, props: AgentQueueProps = {}) {
    super(scope, id);
    this.visibilityTimeout = props.visibilityTimeout ?? Duration.seconds(WORKER_DEFAULTS.visibilityTimeoutSeconds);
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    const retention = props.retentionPeriod ?? Duration.days(4);
    const dlqRetention = props.deadLetterRetentionPeriod ?? Duration.days(14);

    const violations = [
      ...checkIntegerRange('maxReceiveCount', knownNumber(this.maxReceiveCount), 1, 1000),
      ...checkRange('visibilityTimeout', knownSeconds(this.visibilityTimeout), MIN_VISIBILITY_TIMEOUT_SECONDS, AWS_LIMITS.maxVisibilityTimeoutSeconds, ' seconds'),
      ...checkRange('retentionPeriod', knownSeconds(retention), SQS_RETENTION.min, SQS_RETENTION.max, ' seconds'),
      ...checkRange('deadLetterRetentionPeriod', knownSeconds(dlqRetention), SQS_RETENTION.min, SQS_RETENTION.max, ' seconds'),
      ...checkWholeSeconds({ visibilityTimeout: this.visibilityTimeout, retentionPeriod: retention, deadLetterRetentionPeriod: dlqRetention }),
      ...(props.encryption === AgentQueueEncryption.SQS_MANAGED && props.encryptionKey
        ? [{ prop: 'encryptionKey', allowed: 'unset with encryption SQS_MANAGED (or set encryption to KMS)', value: 'a KMS key' }]
        : []),
    ];
    throwIfInvalid(this, violations);
    // Reached with problems only under a scope that collects them (ElasticAgentFleet): the queues
    // are then made with SQS's defaults, so that scope's other parts can still be checked.
    const valid = violations.length === 0;

    const useKms = props.encryption === AgentQueueEncryption.KMS || (props.encryption === undefined && props.encryptionKey !== undefined);
    this.encryptionKey = useKms
      ? props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: `Encrypts the agent task queues of ${this.node.path}` })
      : undefined;
    const encryption = useKms
      ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: this.encryptionKey }
      : { encryption: sqs.QueueEncryption.SQS_MANAGED };

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...encryption,
      enforceSSL: true,
      retentionPeriod: valid ? dlqRetention : undefined,
    });
    this.queue = new sqs.Queue(this, 'Resource', {
      ...encryption,
      enforceSSL: true,
      visibilityTimeout: valid ? this.visibilityTimeout : undefined,
      retentionPeriod: valid ? retention : undefined,
      // Long polling by default: fewer empty receives, what SQS bills.
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: valid ? this.maxReceiveCount : 5 },
    });
  }

  /** Both queues, and the key this construct created, go with `policy`. */
  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.queue.applyRemovalPolicy(policy);
    this.deadLetterQueue.applyRemovalPolicy(policy);
    if (this.encryptionKey && this.encryptionKey.node.scope === this) this.encryptionKey.applyRemovalPolicy(policy);
  }
}
