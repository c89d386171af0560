/**
 * The worker's options, their defaults (from the environment the fleets set, see `contract.ts`)
 * and their validation. All problems are reported together in one error.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { check, checkIntegerRange, checkRange, formatViolations, type Violation } from '../policy/violation';
import { AGENT_ENV, AWS_LIMITS, WORKER_DEFAULTS, defaultDrainDeadline, defaultHeartbeat, validateWorkerTimings } from './contract';
import { defaultPrefetch } from './prefetch';
import { AgentWorkerConfigError } from './errors';
import { LOG_LEVELS, jsonLogger, type LogLevel, type WorkerLogger } from './logger';

/** CloudWatch units a business metric may have (the EMF `Unit` values). */
export type MetricUnit =
  | 'Seconds' | 'Microseconds' | 'Milliseconds' | 'Bytes' | 'Kilobytes' | 'Megabytes' | 'Gigabytes' | 'Terabytes'
  | 'Bits' | 'Kilobits' | 'Megabits' | 'Gigabits' | 'Terabits' | 'Percent' | 'Count'
  | 'Bytes/Second' | 'Kilobytes/Second' | 'Megabytes/Second' | 'Gigabytes/Second' | 'Terabytes/Second'
  | 'Bits/Second' | 'Kilobits/Second' | 'Megabits/Second' | 'Gigabits/Second' | 'Terabits/Second' | 'Count/Second' | 'None';

/** Business metrics of the agent: tokens used, tool calls, cost per task. */
export interface HandlerMetrics {
  /**
   * Adds a value to a metric in the fleet's namespace with its `Fleet` dimension. Values are
   * written with the worker's own metrics (Embedded Metric Format, one record per interval),
   * so a put costs no request. An invalid name, value or unit is logged and dropped: a metric
   * never fails a task. Nothing is written when the worker has no metrics namespace.
   */
  put(name: string, value: number, unit?: MetricUnit): void;
}

/** What a handler gets besides the message. */
export interface HandlerContext {
  /** Aborts when the handler passes its deadline, or when a drain passes its deadline. */
  readonly signal: AbortSignal;
  /** Business metrics, e.g. `context.metrics.put('TokensUsed', 1234, 'Count')`. */
  readonly metrics: HandlerMetrics;
}

/**
 * Processes one message. Resolve to have it deleted; throw (or reject) to have it retried after a
 * backoff, and dead-lettered by the queue's redrive policy after `maxReceiveCount` receives.
 * Handlers must be idempotent: SQS delivers at least once.
 */
export type MessageHandler = (message: Message, context: HandlerContext) => unknown;

/** Extra environment variables the worker reads besides the fleets' contract. */
export const EXTRA_ENV = {
  /** Base URL of the ECS agent (set by ECS); task protection is a no-op without it. */
  ecsAgentUri: 'ECS_AGENT_URI',
  /** The SDK's IMDS endpoint override; also used by the worker's lifecycle watcher. */
  imdsEndpoint: 'AWS_EC2_METADATA_SERVICE_ENDPOINT',
} as const;

export const DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254';

export interface AgentWorkerOptions {
  /** The handler that processes each message. */
  readonly handler: MessageHandler;
  /**
   * URL of the queue to consume.
   * @default - `$QUEUE_URL`
   */
  readonly queueUrl?: string;
  /**
   * Messages processed at once (1-1000), for a worker outside a fleet. In a fleet,
   * `$AGENT_CONCURRENCY` (the fleet's `concurrency`, which its scaling computes with) wins, and a
   * different value here is logged as a warning.
   * @default - `$AGENT_CONCURRENCY`, else 1
   */
  readonly concurrency?: number;
  /**
   * The most messages received ahead of free slots, so a slot that frees starts its next message
   * without waiting for a receive (0-100). Prefetched messages are in flight (invisible to other
   * workers, kept alive by heartbeats) and are released at once on drain. The worker holds fewer
   * when its tasks are long: see `prefetchSeconds`.
   * @default - min(concurrency, 10)
   */
  readonly prefetch?: number;
  /**
   * The worker holds ahead only what its slots start within this long, at the task time it
   * measures (a running mean of its last tasks; nothing before its first task has finished):
   * concurrency x prefetchSeconds / mean task time, at most `prefetch`. A prefetched message waits
   * behind its own worker's busy slots while another worker may be free, and the fleet's scaling
   * counts it busy, not waiting; so tasks of seconds at low concurrency prefetch nothing, and fast
   * ones the whole `prefetch` (0-3600; 0: never prefetch).
   * @default 0.5 (`WORKER_DEFAULTS.prefetchSeconds`)
   */
  readonly prefetchSeconds?: number;
  /**
   * Most messages asked for in one receive (1-10).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Long-poll wait of each receive, seconds (0-20).
   * @default 20
   */
  readonly waitTimeSeconds?: number;
  /**
   * Visibility timeout set on each receive and on each heartbeat, seconds (an integer >= 2). It
   * bounds how long a crashed worker's messages stay invisible; heartbeats keep a message for as
   * long as its handler runs, so it needs no relation to the handler timeout.
   * @default - `$AGENT_VISIBILITY_TIMEOUT_SECONDS`, else the queue's own (read with GetQueueAttributes at start, and not overridden on receive)
   */
  readonly visibilityTimeoutSeconds?: number;
  /**
   * Longest time between two visibility extensions of a message, seconds (< visibility timeout).
   * A message is delivered twice while still processed only when no extension succeeds for
   * visibility − heartbeat seconds.
   * @default - a third of the visibility timeout
   */
  readonly heartbeatSeconds?: number;
  /**
   * How long a handler may run before its `signal` aborts and its message is released for retry.
   * @default - `$AGENT_HANDLER_TIMEOUT_SECONDS`, else 300
   */
  readonly handlerTimeoutSeconds?: number;
  /**
   * How long a drain lets in-flight handlers run before releasing their messages, seconds.
   * @default - `$AGENT_DRAIN_DEADLINE_SECONDS`, else stop timeout − 10 s
   */
  readonly drainDeadlineSeconds?: number;
  /**
   * SIGTERM to SIGKILL for this worker's container (only used to check the drain deadline).
   * @default - `$AGENT_STOP_TIMEOUT_SECONDS`, else 120 (Fargate's most)
   */
  readonly stopTimeoutSeconds?: number;
  /**
   * Visibility delay before the first retry of a failed message, seconds; doubles with each
   * further receive (`ApproximateReceiveCount`) up to `maxRetryDelaySeconds`.
   * @default 2
   */
  readonly retryDelaySeconds?: number;
  /**
   * Cap of the retry delay, seconds.
   * @default 300
   */
  readonly maxRetryDelaySeconds?: number;
  /**
   * Longest a finished message's delete (or a visibility change) waits to be batched, ms.
   * @default 50
   */
  readonly batchWindowMs?: number;
  /**
   * Backoff of failed SQS calls: transient errors wait `baseMs × 2^n` up to `maxMs`; credential
   * and other non-transient errors wait `slowMs`.
   * @default { baseMs: 100, maxMs: 20000, slowMs: 30000 }
   */
  readonly sqsRetry?: { readonly baseMs?: number; readonly maxMs?: number; readonly slowMs?: number };
  /**
   * The SQS client.
   * @default - `new SQSClient({})`: the SDK's defaults (`AWS_REGION`, `AWS_ENDPOINT_URL_SQS`, …); destroyed on stop
   */
  readonly sqsClient?: SQSClient;
  /**
   * Hold ECS task scale-in protection while any message is in flight.
   * @default - `$AGENT_TASK_PROTECTION === 'true'`
   */
  readonly taskProtection?: boolean;
  /**
   * Expiry of each task-protection claim, minutes (renewed while busy).
   * @default - `$AGENT_TASK_PROTECTION_MINUTES`, else 60
   */
  readonly taskProtectionMinutes?: number;
  /**
   * After holding task protection for `taskProtectionMinutes` in one busy spell, the worker takes
   * no new messages, finishes what it holds, drops protection and stays idle this long, so an ECS
   * deployment (or a scale-in) waiting on the task can stop it; then it resumes. Without this pause
   * a worker with a steady backlog would hold protection for ever and stall deployments.
   * @default 60
   */
  readonly taskProtectionPauseSeconds?: number;
  /**
   * Idle time before task protection is dropped, ms (avoids a call per message at high rates).
   * @default 2000
   */
  readonly taskProtectionIdleMs?: number;
  /**
   * Base URL of the ECS agent.
   * @default - `$ECS_AGENT_URI` (task protection is a no-op when unset)
   */
  readonly ecsAgentUri?: string;
  /**
   * EC2: the termination lifecycle hook to complete after a drain (with `autoScalingGroupName`).
   * @default - `$AGENT_LIFECYCLE_HOOK_NAME` (no lifecycle watch when unset)
   */
  readonly lifecycleHookName?: string;
  /**
   * EC2: the instance's Auto Scaling group.
   * @default - `$AGENT_AUTO_SCALING_GROUP_NAME`
   */
  readonly autoScalingGroupName?: string;
  /**
   * EC2: hold the instance's scale-in protection while any message is in flight (with
   * `autoScalingGroupName`; idle time as `taskProtectionIdleMs`).
   * @default - `$AGENT_INSTANCE_PROTECTION === 'true'`
   */
  readonly instanceProtection?: boolean;
  /**
   * Base URL of the instance metadata service (IMDSv2).
   * @default - `$AWS_EC2_METADATA_SERVICE_ENDPOINT`, else http://169.254.169.254
   */
  readonly imdsEndpoint?: string;
  /**
   * How often the target lifecycle state is read, ms.
   * @default 5000
   */
  readonly lifecyclePollMs?: number;
  /**
   * The Auto Scaling client that completes the lifecycle action.
   * @default - a client with the SDK's defaults (region from IMDS when `AWS_REGION` is unset)
   */
  readonly autoScalingClient?: AutoScalingClient;
  /**
   * CloudWatch namespace of the worker's EMF metrics; no metrics when unset.
   * @default - `$AGENT_METRICS_NAMESPACE`
   */
  readonly metricsNamespace?: string;
  /**
   * `Fleet` dimension of the metrics.
   * @default - `$AGENT_FLEET_NAME`, else no dimension
   */
  readonly fleetName?: string;
  /**
   * Seconds between EMF records (a record is also written every 100 processed messages).
   * @default 60
   */
  readonly metricsIntervalSeconds?: number;
  /**
   * Where EMF lines go.
   * @default - process.stdout
   */
  readonly metricsWriter?: (line: string) => void;
  /**
   * The logger.
   * @default - JSON lines at `logLevel`
   */
  readonly logger?: WorkerLogger;
  /**
   * Least severe level of the default logger.
   * @default 'info'
   */
  readonly logLevel?: LogLevel;
  /**
   * Install SIGTERM and SIGINT handlers that drain the worker.
   * @default true
   */
  readonly handleSignals?: boolean;
  /**
   * Call `process.exit(0)` after a drain caused by a signal. Normally unnecessary: the worker
   * leaves nothing open, so the process ends by itself unless your code holds something open.
   * @default false
   */
  readonly exitAfterSignalDrain?: boolean;
  /**
   * The environment the defaults are read from.
   * @default process.env
   */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Options after defaults, all times in milliseconds unless named otherwise. */
export interface ResolvedOptions {
  readonly handler: MessageHandler;
  readonly queueUrl: string;
  readonly concurrency: number;
  readonly prefetch: number;
  readonly prefetchSeconds: number;
  readonly batchSize: number;
  readonly waitTimeSeconds: number;
  /** Set when known at construction (option or environment); otherwise read from the queue at start. */
  readonly visibilityTimeoutSeconds?: number;
  /** The heartbeat option, seconds (`undefined`: derived from the visibility timeout). */
  readonly heartbeatSeconds?: number;
  readonly handlerTimeoutMs: number;
  readonly drainDeadlineMs: number;
  readonly retryDelaySeconds: number;
  readonly maxRetryDelaySeconds: number;
  readonly batchWindowMs: number;
  readonly sqsRetry: { readonly baseMs: number; readonly maxMs: number; readonly slowMs: number };
  readonly sqsClient?: SQSClient;
  /** The queue's region (from its URL), for a client the worker creates itself. */
  readonly region?: string;
  readonly taskProtection: boolean;
  readonly taskProtectionMinutes: number;
  readonly taskProtectionPauseMs: number;
  readonly taskProtectionIdleMs: number;
  readonly ecsAgentUri?: string;
  readonly lifecycleHookName?: string;
  readonly autoScalingGroupName?: string;
  readonly instanceProtection: boolean;
  readonly imdsEndpoint: string;
  readonly lifecyclePollMs: number;
  readonly autoScalingClient?: AutoScalingClient;
  readonly metricsNamespace?: string;
  readonly fleetName?: string;
  readonly metricsIntervalMs: number;
  readonly metricsWriter: (line: string) => void;
  readonly logger: WorkerLogger;
  readonly handleSignals: boolean;
  readonly exitAfterSignalDrain: boolean;
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v);

/** A decimal number as the fleets write it: digits, an optional fraction; nothing else (no hex, exponent or spaces). */
const DECIMAL = /^\d+(\.\d+)?$/;

/**
 * An SQS queue URL: `http(s)://host[:port]/<12-digit account>/<queue name>`
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-queue-message-identifiers.html).
 */
const QUEUE_PATH = /^\/\d{12}\/[A-Za-z0-9_-]{1,80}(\.fifo)?$/;

/** The region in an AWS queue URL (`sqs.<region>.amazonaws.com[.cn]`, or the legacy `<region>.queue.amazonaws.com`). */
export function regionOfQueueUrl(queueUrl: string): string | undefined {
  let host: string;
  try {
    host = new URL(queueUrl).hostname;
  } catch {
    return undefined;
  }
  const m = /^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(host) ?? /^([a-z0-9-]+)\.queue\.amazonaws\.com(\.cn)?$/.exec(host);
  return m?.[1];
}

/** Why `queueUrl` is not a queue URL, or `undefined` when it is one. */
function queueUrlProblem(queueUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    return 'not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `protocol ${url.protocol}`;
  if (url.search || url.hash || !QUEUE_PATH.test(url.pathname)) return `path ${url.pathname}${url.search}${url.hash}`;
  return undefined;
}

/** Resolves defaults and validates; throws one `AgentWorkerConfigError` listing every problem. */
export function resolveOptions(o: AgentWorkerOptions): ResolvedOptions {
  const env = o.env ?? process.env;
  const problems: Violation[] = [];
  /** How each prop is named in messages: with the environment variable its value came from. */
  const labels = new Map<string, string>();
  const label = (prop: string): string => labels.get(prop) ?? prop;

  /** A number from an option, else from an environment variable, else a default. */
  function num(prop: string, value: number | undefined, envName: string, fallback: number): number;
  function num(prop: string, value: number | undefined, envName: string, fallback: undefined): number | undefined;
  function num(prop: string, value: number | undefined, envName: string, fallback: number | undefined): number | undefined {
    if (value !== undefined) return value;
    const raw = nonEmpty(env[envName]);
    if (raw === undefined) return fallback;
    labels.set(prop, `${prop} ($${envName})`);
    if (!DECIMAL.test(raw)) {
      problems.push({ prop: label(prop), allowed: 'a decimal number', value: JSON.stringify(raw) });
      return fallback;
    }
    return Number(raw);
  }

  if (typeof o.handler !== 'function') problems.push({ prop: 'handler', allowed: 'a function', value: typeof o.handler });
  const queueUrl = o.queueUrl ?? nonEmpty(env[AGENT_ENV.queueUrl]) ?? '';
  if (o.queueUrl === undefined) labels.set('queueUrl', `queueUrl ($${AGENT_ENV.queueUrl})`);
  const urlProblem = queueUrl === '' ? undefined : queueUrlProblem(queueUrl);
  problems.push(...check(queueUrl !== '', 'queueUrl', `set (or $${AGENT_ENV.queueUrl})`, '(unset)'));
  problems.push(...check(urlProblem === undefined, label('queueUrl'),
    `a queue URL, http(s)://host/<12-digit account>/<queue name> (${urlProblem})`, JSON.stringify(queueUrl)));

  // The fleet's AGENT_CONCURRENCY is one source of truth with its scaling (busy workers = in flight / concurrency).
  const fleetConcurrency = num('concurrency', undefined, AGENT_ENV.concurrency, NaN);
  const concurrency = Number.isNaN(fleetConcurrency) ? o.concurrency ?? WORKER_DEFAULTS.concurrency : fleetConcurrency;
  const ignoredConcurrency = o.concurrency !== undefined && o.concurrency !== concurrency ? o.concurrency : undefined;
  problems.push(...checkIntegerRange(label('concurrency'), concurrency, 1, 1000));
  const prefetch = o.prefetch ?? defaultPrefetch(concurrency);
  problems.push(...checkIntegerRange('prefetch', prefetch, 0, 100));
  const prefetchSeconds = o.prefetchSeconds ?? WORKER_DEFAULTS.prefetchSeconds;
  problems.push(...checkRange('prefetchSeconds', prefetchSeconds, 0, 3600));
  const batchSize = o.batchSize ?? AWS_LIMITS.maxReceiveBatch;
  problems.push(...checkIntegerRange('batchSize', batchSize, 1, AWS_LIMITS.maxReceiveBatch));
  const waitTimeSeconds = o.waitTimeSeconds ?? 20;
  problems.push(...checkIntegerRange('waitTimeSeconds', waitTimeSeconds, 0, 20));

  const visibilityTimeoutSeconds = num('visibilityTimeout', o.visibilityTimeoutSeconds, AGENT_ENV.visibilityTimeoutSeconds, undefined);
  problems.push(...check(visibilityTimeoutSeconds === undefined || Number.isInteger(visibilityTimeoutSeconds), 'visibilityTimeout',
    'a whole number of seconds (SQS takes integers)', visibilityTimeoutSeconds));
  const handlerTimeoutSeconds = num('handlerTimeout', o.handlerTimeoutSeconds, AGENT_ENV.handlerTimeoutSeconds,
    WORKER_DEFAULTS.handlerTimeoutSeconds);
  const stopTimeoutSeconds = num('stopTimeout', o.stopTimeoutSeconds, AGENT_ENV.stopTimeoutSeconds, WORKER_DEFAULTS.stopTimeoutSeconds);
  const drainDeadlineSeconds = num('drainDeadline', o.drainDeadlineSeconds, AGENT_ENV.drainDeadlineSeconds,
    defaultDrainDeadline(stopTimeoutSeconds));
  const heartbeatSeconds = o.heartbeatSeconds;
  const taskProtectionMinutes = num('taskProtectionExpiry (minutes)', o.taskProtectionMinutes, AGENT_ENV.taskProtectionMinutes,
    WORKER_DEFAULTS.taskProtectionMinutes);
  const taskProtection = o.taskProtection ?? env[AGENT_ENV.taskProtection]?.toLowerCase() === 'true';
  problems.push(...validateWorkerTimings({
    visibilityTimeoutSeconds, handlerTimeoutSeconds, stopTimeoutSeconds, drainDeadlineSeconds,
    heartbeatSeconds: visibilityTimeoutSeconds === undefined ? undefined : heartbeatSeconds ?? defaultHeartbeat(visibilityTimeoutSeconds),
    // The claim's expiry only matters where the worker claims protection.
    taskProtectionMinutes: taskProtection ? taskProtectionMinutes : undefined,
  }).map((v) => ({ ...v, prop: label(v.prop) })));
  problems.push(...check(heartbeatSeconds === undefined || (Number.isFinite(heartbeatSeconds) && heartbeatSeconds > 0),
    'heartbeat', '> 0 seconds', heartbeatSeconds));

  const retryDelaySeconds = o.retryDelaySeconds ?? 2;
  const maxRetryDelaySeconds = o.maxRetryDelaySeconds ?? 300;
  problems.push(...checkRange('retryDelaySeconds', retryDelaySeconds, 0, 43200));
  problems.push(...checkRange('maxRetryDelaySeconds', maxRetryDelaySeconds, 0, 43200));
  problems.push(...check(maxRetryDelaySeconds >= retryDelaySeconds, 'maxRetryDelaySeconds',
    `>= retryDelaySeconds (${retryDelaySeconds})`, maxRetryDelaySeconds));
  const batchWindowMs = o.batchWindowMs ?? 50;
  problems.push(...checkRange('batchWindowMs', batchWindowMs, 0, 10000));
  const sqsRetry = { baseMs: o.sqsRetry?.baseMs ?? 100, maxMs: o.sqsRetry?.maxMs ?? 20000, slowMs: o.sqsRetry?.slowMs ?? 30000 };
  for (const [k, v] of Object.entries(sqsRetry)) problems.push(...checkRange(`sqsRetry.${k}`, v, 0, 3_600_000));

  const taskProtectionPauseSeconds = o.taskProtectionPauseSeconds ?? WORKER_DEFAULTS.taskProtectionPauseSeconds;
  problems.push(...checkRange('taskProtectionPauseSeconds', taskProtectionPauseSeconds, 1, 3600));
  const taskProtectionIdleMs = o.taskProtectionIdleMs ?? 2000;
  problems.push(...checkRange('taskProtectionIdleMs', taskProtectionIdleMs, 0, 3_600_000));
  const lifecycleHookName = o.lifecycleHookName ?? nonEmpty(env[AGENT_ENV.lifecycleHookName]);
  const autoScalingGroupName = o.autoScalingGroupName ?? nonEmpty(env[AGENT_ENV.autoScalingGroupName]);
  problems.push(...check((lifecycleHookName === undefined) === (autoScalingGroupName === undefined), 'lifecycleHookName',
    `set together with autoScalingGroupName (${autoScalingGroupName ?? 'unset'})`, lifecycleHookName ?? '(unset)'));
  const lifecyclePollMs = o.lifecyclePollMs ?? 5000;
  problems.push(...checkRange('lifecyclePollMs', lifecyclePollMs, 10, 3_600_000));
  const metricsIntervalSeconds = o.metricsIntervalSeconds ?? 60;
  problems.push(...checkRange('metricsIntervalSeconds', metricsIntervalSeconds, 1, 3600));
  problems.push(...check(o.logLevel === undefined || LOG_LEVELS.includes(o.logLevel), 'logLevel', LOG_LEVELS.join(' | '), o.logLevel));

  if (problems.length > 0) throw new AgentWorkerConfigError(formatViolations('AgentWorker', problems));
  const logger = o.logger ?? jsonLogger({ level: o.logLevel ?? 'info', base: { component: 'agent-worker' } });
  if (ignoredConcurrency !== undefined) {
    logger.warn(`the concurrency option (${ignoredConcurrency}) is ignored: the fleet sets $${AGENT_ENV.concurrency} (${concurrency}), `
      + 'which its scaling counts busy workers with; set concurrency on the fleet', { option: ignoredConcurrency, [AGENT_ENV.concurrency]: concurrency });
  }

  return {
    handler: o.handler,
    queueUrl,
    concurrency,
    prefetch,
    prefetchSeconds,
    batchSize,
    waitTimeSeconds,
    visibilityTimeoutSeconds,
    heartbeatSeconds,
    handlerTimeoutMs: handlerTimeoutSeconds * 1000,
    drainDeadlineMs: drainDeadlineSeconds * 1000,
    retryDelaySeconds,
    maxRetryDelaySeconds,
    batchWindowMs,
    sqsRetry,
    sqsClient: o.sqsClient,
    region: regionOfQueueUrl(queueUrl),
    taskProtection,
    taskProtectionMinutes,
    taskProtectionPauseMs: taskProtectionPauseSeconds * 1000,
    taskProtectionIdleMs,
    ecsAgentUri: o.ecsAgentUri ?? nonEmpty(env[EXTRA_ENV.ecsAgentUri]),
    lifecycleHookName,
    autoScalingGroupName,
    instanceProtection: o.instanceProtection ?? env[AGENT_ENV.instanceProtection]?.toLowerCase() === 'true',
    imdsEndpoint: o.imdsEndpoint ?? nonEmpty(env[EXTRA_ENV.imdsEndpoint]) ?? DEFAULT_IMDS_ENDPOINT,
    lifecyclePollMs,
    autoScalingClient: o.autoScalingClient,
    metricsNamespace: o.metricsNamespace ?? nonEmpty(env[AGENT_ENV.metricsNamespace]),
    fleetName: o.fleetName ?? nonEmpty(env[AGENT_ENV.fleetName]),
    metricsIntervalMs: metricsIntervalSeconds * 1000,
    metricsWriter: o.metricsWriter ?? ((line) => process.stdout.write(`${line}\n`)),
    logger,
    handleSignals: o.handleSignals ?? true,
    exitAfterSignalDrain: o.exitAfterSignalDrain ?? false,
  };
}

/**
 * The visibility timeout and heartbeat a worker uses once the queue's visibility timeout is known
 * (the heartbeat defaults to a third of it), or the violations of a heartbeat option that does not
 * fit under the queue's.
 */
export function resolveVisibility(visibilityTimeoutSeconds: number, heartbeatSeconds: number | undefined): {
  heartbeatMs: number; violations: Violation[];
} {
  const heartbeat = heartbeatSeconds ?? defaultHeartbeat(visibilityTimeoutSeconds);
  return {
    heartbeatMs: heartbeat * 1000,
    violations: check(heartbeat < visibilityTimeoutSeconds, 'heartbeatSeconds',
      `< the queue's visibility timeout (${visibilityTimeoutSeconds} seconds)`, `${heartbeat} seconds`),
  };
}

/** The visibility delay before a failed message is retried: base × 2^(receives − 1), capped. */
export function retryDelaySeconds(receiveCount: number, base: number, max: number): number {
  const n = Number.isFinite(receiveCount) && receiveCount >= 1 ? receiveCount : 1;
  return Math.round(Math.min(max, base * 2 ** Math.min(n - 1, 30)));
}
