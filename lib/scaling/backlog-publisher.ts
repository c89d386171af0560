import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  ALLOWED_PERIODS_SECONDS, DEFAULT_METRIC_NAMESPACE, DEFAULT_PERIOD_SECONDS, FLEET_DIMENSION, PUBLISHER_ENV,
  PUBLISHER_IAM_ACTIONS, PUBLISHER_METRICS, PUBLISHER_METRIC_UNITS, PUT_METRIC_DATA_NAMESPACE_CONDITION_KEY,
  RECOMMENDED_TIMEOUT_SECONDS, SCHEDULE_SECONDS, type PublisherMetricName,
} from '../../lambda/backlog-publisher/contract';
import type { IAgentFleet } from '../fleet/agent-fleet';
import type { SignalInput } from '../policy/signals';
import { check } from '../policy/violation';
import type { IAgentQueue } from '../queue/agent-queue';
import { acknowledgeWildcardResource } from '../nag-acknowledgements';
import { knownNumber, knownSeconds, throwIfInvalid } from '../validation';
import { FLEET_DEFAULTS } from '../fleet/agent-fleet';

/** Properties of a `BacklogPublisher`. */
export interface BacklogPublisherProps {
  readonly queue: IAgentQueue;
  readonly fleet: IAgentFleet;
  /**
   * Time between datapoints (10, 30 or 60 s); below 60 s the metrics are high resolution.
   * @default Duration.seconds(10)
   */
  readonly period?: Duration;
  /**
   * CloudWatch namespace of the metrics (the function may put data in this namespace only).
   * @default 'AgentFleet'
   */
  readonly namespace?: string;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrency reserved for the function. Unset by default: Lambda keeps at least 100 units of
   * the account's concurrency unreserved, so on an account with a low quota (new accounts often
   * have 10) a reservation makes the deployment fail; and overlapping runs are harmless, since
   * every reader of the metrics takes their Maximum.
   * @default - none (the function draws on the account's unreserved concurrency)
   */
  readonly reservedConcurrency?: number;
}

/** The inputs of the scaling signals that the publisher puts: all but the workers' processing time, which they write themselves. */
export type PublishedInput = Exclude<SignalInput, 'processingTime'>;

/** The publisher's metric for each input of the scaling signals it puts. */
const SIGNAL_INPUTS: Record<PublishedInput, PublisherMetricName> = {
  visible: PUBLISHER_METRICS.visibleMessages,
  inFlight: PUBLISHER_METRICS.inFlightMessages,
  delayed: PUBLISHER_METRICS.delayedMessages,
  running: PUBLISHER_METRICS.runningWorkers,
  desired: PUBLISHER_METRICS.desiredWorkers,
};

/**
 * A scheduled Lambda function that reads the queue's counters and the fleet's running workers
 * and puts `BacklogPerWorker` (and the raw figures) as high-resolution metrics: for fleets whose
 * divisor metric is missing (Fargate without Container Insights) or that should react faster
 * than SQS's one-minute metrics allow.
 */
export class BacklogPublisher extends Construct {
  public readonly function: lambda.Function;
  public readonly period: Duration;
  public readonly namespace: string;
  private readonly fleetName: string;

  constructor(scope: Construct, id: string, props: BacklogPublisherProps) {
    super(scope, id);
    this.period = props.period ?? Duration.seconds(DEFAULT_PERIOD_SECONDS);
    this.namespace = props.namespace ?? DEFAULT_METRIC_NAMESPACE;
    this.fleetName = props.fleet.fleetName;
    const periodSeconds = knownSeconds(this.period);
    throwIfInvalid(this, [
      ...check(periodSeconds === undefined || (ALLOWED_PERIODS_SECONDS as readonly number[]).includes(periodSeconds),
        'period', 'one of 10, 30, 60 seconds', `${periodSeconds} seconds`),
      ...check(!this.namespace.startsWith('AWS/'), 'namespace', 'a namespace not starting with AWS/', this.namespace),
      ...check(knownNumber(props.reservedConcurrency) === undefined || (Number.isInteger(props.reservedConcurrency) && props.reservedConcurrency! >= 1),
        'reservedConcurrency', 'an integer >= 1', props.reservedConcurrency),
    ]);

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Backlog publisher of ${props.fleet.node.path}`,
    });
    const logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? FLEET_DEFAULTS.logRetention });
    logGroup.grantWrite(role);
    props.queue.queue.grant(role, ...PUBLISHER_IAM_ACTIONS.queue);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      // PutMetricData has no resource-level permission: it is limited to our namespace instead.
      actions: [...PUBLISHER_IAM_ACTIONS.metrics],
      resources: ['*'],
      conditions: { StringEquals: { [PUT_METRIC_DATA_NAMESPACE_CONDITION_KEY]: this.namespace } },
    }));
    acknowledgeWildcardResource(role, '*',
      'cloudwatch:PutMetricData supports no resource-level permission; it is limited to this namespace by the cloudwatch:namespace condition.');
    const fleetEnv = props.fleet.bindWorkerCounter(role);

    this.function = new lambda.Function(this, 'Function', {
      description: `Puts backlog per worker of ${props.fleet.node.path} every ${periodSeconds} s`,
      runtime: lambda.Runtime.NODEJS_LATEST,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(publisherBundleDir(), { exclude: ['*', '!index.js'] }),
      role,
      logGroup,
      timeout: Duration.seconds(RECOMMENDED_TIMEOUT_SECONDS),
      memorySize: 256,
      // No reservation by default: "Lambda requires at least 100 units of unreserved concurrency"
      // (AWS Lambda Developer Guide, "Configuring reserved concurrency for a function"), so a
      // reservation fails the deployment on an account whose quota is low. An overlapping run
      // puts a datapoint twice, which the readers' Maximum absorbs.
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        [PUBLISHER_ENV.queueUrl]: props.queue.queue.queueUrl,
        [PUBLISHER_ENV.fleetName]: this.fleetName,
        [PUBLISHER_ENV.metricNamespace]: this.namespace,
        [PUBLISHER_ENV.periodSeconds]: String(periodSeconds),
        ...fleetEnv,
      },
    });
    // EventBridge invokes the function asynchronously, and Lambda then retries a failed run twice
    // and keeps an event up to 6 hours on its own, whatever the rule's target retry policy says
    // (AWS Lambda Developer Guide, "Configuring error handling for asynchronous invocation"): turn
    // both off, so a late or retried run never repeats a minute the next run covers. 60 s is the
    // least maximum event age Lambda accepts.
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.seconds(SCHEDULE_SECONDS) });
    new events.Rule(this, 'Schedule', {
      description: `Runs the backlog publisher of ${props.fleet.node.path} once a minute`,
      schedule: events.Schedule.rate(Duration.seconds(SCHEDULE_SECONDS)),
      // A late or retried run would repeat a minute the next run covers.
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: Duration.seconds(SCHEDULE_SECONDS) })],
    });
  }

  /** One of the publisher's metrics, at its period. */
  public metric(metricName: PublisherMetricName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { [FLEET_DIMENSION]: this.fleetName },
      unit: PUBLISHER_METRIC_UNITS[metricName] === 'Count' ? cloudwatch.Unit.COUNT : cloudwatch.Unit.NONE,
      statistic: cloudwatch.Stats.MAXIMUM,
      period: this.period,
      ...props,
    });
  }

  /** BacklogPerWorker: visible messages / max(running workers, 1). */
  public metricBacklogPerWorker(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(PUBLISHER_METRICS.backlogPerWorker, props);
  }

  /** The publisher's metric for an input of the scaling signals. */
  public metricInput(input: PublishedInput, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SIGNAL_INPUTS[input], props);
  }
}

/**
 * The bundled handler: dist/lambda/backlog-publisher, made by `npm run build` (and on `npm ci`).
 * From the compiled package this file is in dist/lib/scaling; from the sources, in lib/scaling.
 */
function publisherBundleDir(): string {
  const candidates = [
    path.join(__dirname, '..', '..', 'lambda', 'backlog-publisher'),
    path.join(__dirname, '..', '..', 'dist', 'lambda', 'backlog-publisher'),
  ];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'index.js')));
  if (!found) {
    throw new Error(`The backlog publisher's bundle is missing (looked in ${candidates.join(', ')}): run \`npm run build\``);
  }
  return found;
}
