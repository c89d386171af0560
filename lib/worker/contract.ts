/**
 * The contract between the fleets (which set a worker's environment) and the worker runtime
 * (which reads it): variable names, timing defaults and the rules that keep them consistent.
 * Both sides import this module; it has no dependencies.
 */
import { check, checkIntegerRange, checkRange, type Violation } from '../policy/violation';

/** Environment variables the fleets set on every agent container. */
export const AGENT_ENV = {
  /** URL of the queue to consume. */
  queueUrl: 'QUEUE_URL',
  /** Messages a worker processes at once. */
  concurrency: 'AGENT_CONCURRENCY',
  /**
   * The queue's visibility timeout, seconds, where the fleet knows it (the worker then needs no
   * GetQueueAttributes at start). Unset: the worker reads it from the queue.
   */
  visibilityTimeoutSeconds: 'AGENT_VISIBILITY_TIMEOUT_SECONDS',
  /** How long one message may be processed before its handler is aborted, seconds. */
  handlerTimeoutSeconds: 'AGENT_HANDLER_TIMEOUT_SECONDS',
  /** How long a draining worker lets in-flight handlers run before releasing them, seconds. */
  drainDeadlineSeconds: 'AGENT_DRAIN_DEADLINE_SECONDS',
  /** SIGTERM to SIGKILL of the worker's container, seconds (the drain deadline must end before it). */
  stopTimeoutSeconds: 'AGENT_STOP_TIMEOUT_SECONDS',
  /** `true` where the worker should hold ECS task scale-in protection while busy. */
  taskProtection: 'AGENT_TASK_PROTECTION',
  /** Expiry of each task-protection claim, minutes. */
  taskProtectionMinutes: 'AGENT_TASK_PROTECTION_MINUTES',
  /** On EC2: the termination lifecycle hook the worker completes after draining. */
  lifecycleHookName: 'AGENT_LIFECYCLE_HOOK_NAME',
  /** On EC2: the Auto Scaling group of the instance. */
  autoScalingGroupName: 'AGENT_AUTO_SCALING_GROUP_NAME',
  /** On EC2: `true` to hold instance scale-in protection while messages are in flight. */
  instanceProtection: 'AGENT_INSTANCE_PROTECTION',
  /** CloudWatch namespace of the worker's embedded metrics. */
  metricsNamespace: 'AGENT_METRICS_NAMESPACE',
  /** Value of the `Fleet` dimension on the worker's metrics. */
  fleetName: 'AGENT_FLEET_NAME',
} as const;

/**
 * The worker's CloudWatch embedded metrics (namespace AGENT_METRICS_NAMESPACE, dimension
 * `Fleet` = AGENT_FLEET_NAME), which the fleet's dashboard reads.
 */
export const WORKER_METRICS = {
  /** Milliseconds a handler took with one message. */
  processingTime: 'ProcessingTime',
  messagesProcessed: 'MessagesProcessed',
  messagesFailed: 'MessagesFailed',
  handlerTimeouts: 'HandlerTimeouts',
  /** Messages a worker held when the record was written. */
  inFlight: 'InFlight',
  /** The dimension that names the fleet. */
  fleetDimension: 'Fleet',
} as const;

/** Limits AWS sets (seconds unless named otherwise). */
export const AWS_LIMITS = {
  /** ECS on Fargate sends SIGKILL at most 120 s after SIGTERM (ECS container definition `stopTimeout`). */
  fargateMaxStopTimeoutSeconds: 120,
  /** SQS visibility timeout: 0 s to 12 h. */
  maxVisibilityTimeoutSeconds: 12 * 60 * 60,
  /** ECS task scale-in protection `ExpiresInMinutes`: 1 to 2,880. */
  taskProtectionMinutes: { min: 1, max: 2880 },
  /** EC2 Auto Scaling lifecycle hook `HeartbeatTimeout`: 30 to 7,200 s. */
  lifecycleHeartbeatSeconds: { min: 30, max: 7200 },
  /** SQS ReceiveMessage `MaxNumberOfMessages`: 1 to 10. */
  maxReceiveBatch: 10,
} as const;

/**
 * Timing defaults (seconds), chosen for agents whose tasks take seconds to minutes.
 *
 * The visibility timeout and the handler timeout are independent: a handler keeps its message for
 * as long as it runs by heartbeats (ChangeMessageVisibility every `heartbeat`), so the visibility
 * timeout only decides how long a crashed worker's messages stay invisible. The trade-off, with
 * visibility V and heartbeat H (default V/3):
 * - a worker that dies (SIGKILL, OOM, a lost instance or Spot reclaim) leaves its messages
 *   invisible for at most V: 30 s by default;
 * - a message is delivered twice while its handler still runs only when no extension succeeds for
 *   V − H (20 s by default): an SQS brownout, a network partition or an event loop blocked that
 *   long. A failed extension is retried within the same heartbeat (6 attempts, 0.1–2 s apart), and
 *   again at every later heartbeat until one succeeds.
 */
export const WORKER_DEFAULTS = {
  concurrency: 1,
  handlerTimeoutSeconds: 300,
  /**
   * SQS's own default. 30 s bounds a crash's stall to half a minute and still tolerates a 20 s
   * outage of heartbeats; 10 s would cut the stall to 10 s but turn a 7 s brownout (or a 7 s GC
   * or event-loop stall) into duplicates, and costs three times the heartbeat calls of 30 s.
   */
  visibilityTimeoutSeconds: 30,
  /** The most Fargate allows: the longest drain. */
  stopTimeoutSeconds: AWS_LIMITS.fargateMaxStopTimeoutSeconds,
  /** Time kept after the drain deadline to release leftovers and flush deletes before SIGKILL. */
  drainMarginSeconds: 10,
  /**
   * Expiry of each task-protection claim; also the longest a busy worker holds protection in one
   * spell before it pauses to let ECS replace it (a deployment) or scale it in.
   */
  taskProtectionMinutes: 60,
  /**
   * How long a worker that held protection for `taskProtectionMinutes` stays idle and unprotected,
   * so a deployment or a scale-in waiting on it can stop it: at most 1 minute idle per hour busy
   * (under 2 %), against a deployment stalled for as long as the backlog lasts.
   */
  taskProtectionPauseSeconds: 60,
  /**
   * The prefetch buffer holds what the slots start within this long, about the longest a
   * prefetched message waits for its slot (lib/worker/prefetch.ts). Without a buffer a slot waits
   * one receive's round trip per task, tens of milliseconds in a region: a few percent of a task
   * of half a second. On the full suite (docs/simulation.md, thirtieth round) the whole prefetch
   * (the default before) passed 104 cells against 108 with none, at a 41 % longer p95 with the
   * publisher (long tasks waited minutes in buffers); 1 s passed 108 at a 6 % longer p95; 0.5 s,
   * the largest tried that left ours' figures as without prefetch, is the default.
   */
  prefetchSeconds: 0.5,
} as const;

/** The shortest visibility timeout a heartbeat fits under (whole seconds, heartbeat < visibility). */
export const MIN_VISIBILITY_TIMEOUT_SECONDS = 2;
/**
 * `AgentQueue`'s defaults besides the visibility timeout (`WORKER_DEFAULTS.visibilityTimeoutSeconds`),
 * shared with the local run, which creates the same queues on a local server.
 */
export const QUEUE_DEFAULTS = {
  /** Receives before a task goes to the dead-letter queue: five tries with growing backoff. */
  maxReceiveCount: 5,
  /** SQS's default retention: 4 days. */
  retentionSeconds: 4 * 24 * 3600,
  /** Dead-lettered tasks are kept the most SQS allows, 14 days, for inspection and redrive. */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  /** Long polling by default: fewer empty receives, what SQS bills. */
  receiveWaitTimeSeconds: 20,
} as const;

/** A worker's timing, all in seconds. */
export interface WorkerTimings {
  readonly visibilityTimeoutSeconds?: number;
  readonly handlerTimeoutSeconds: number;
  /** Seconds between visibility extensions of an in-flight message. */
  readonly heartbeatSeconds?: number;
  readonly drainDeadlineSeconds: number;
  /** SIGTERM to SIGKILL (ECS `stopTimeout`, or the EC2 unit's `docker stop --time`). */
  readonly stopTimeoutSeconds: number;
  /** Whether the stop timeout is Fargate's, capped at 120 s. */
  readonly fargate?: boolean;
  /** EC2: how long the termination lifecycle hook waits. */
  readonly lifecycleHeartbeatSeconds?: number;
  /** ECS: expiry of each task-protection claim. */
  readonly taskProtectionMinutes?: number;
}

/** The default drain deadline for a stop timeout: what is left after the margin. */
export function defaultDrainDeadline(stopTimeoutSeconds: number): number {
  return Math.max(1, stopTimeoutSeconds - WORKER_DEFAULTS.drainMarginSeconds);
}

/**
 * The default heartbeat: a third of the visibility timeout, so a message's visibility is extended
 * at least every third of it and two whole heartbeats may fail before it lapses.
 */
export function defaultHeartbeat(visibilityTimeoutSeconds: number): number {
  return Math.max(1, Math.floor(visibilityTimeoutSeconds / 3));
}

/**
 * The rules that keep a fleet's timing consistent with its worker's. `undefined` fields (unset,
 * or not known at synth) are skipped. Prop names are those of the fleets' props.
 */
export function validateWorkerTimings(t: WorkerTimings): Violation[] {
  const out: Violation[] = [];
  const vis = t.visibilityTimeoutSeconds;
  out.push(...checkRange('visibilityTimeout', vis, MIN_VISIBILITY_TIMEOUT_SECONDS, AWS_LIMITS.maxVisibilityTimeoutSeconds, ' seconds'));
  // No relation to the handler timeout: heartbeats keep a message for as long as its handler runs,
  // up to SQS's 12 hours from the first receive.
  out.push(...checkRange('handlerTimeout', t.handlerTimeoutSeconds, 1, AWS_LIMITS.maxVisibilityTimeoutSeconds, ' seconds'));
  if (t.heartbeatSeconds !== undefined && vis !== undefined) {
    out.push(...check(t.heartbeatSeconds > 0 && t.heartbeatSeconds < vis,
      'heartbeat', `> 0 and < visibilityTimeout (${vis} seconds)`, `${t.heartbeatSeconds} seconds`));
  }
  if (t.fargate) {
    out.push(...checkRange('stopTimeout', t.stopTimeoutSeconds, 2, AWS_LIMITS.fargateMaxStopTimeoutSeconds, ' seconds'));
  }
  out.push(...check(t.drainDeadlineSeconds === undefined || t.stopTimeoutSeconds === undefined
    || (t.drainDeadlineSeconds > 0 && t.drainDeadlineSeconds < t.stopTimeoutSeconds),
  'drainDeadline', `> 0 and < stopTimeout (${t.stopTimeoutSeconds} seconds), so the worker releases its messages before SIGKILL`,
  `${t.drainDeadlineSeconds} seconds`));
  if (t.lifecycleHeartbeatSeconds !== undefined) {
    const { min, max } = AWS_LIMITS.lifecycleHeartbeatSeconds;
    out.push(...checkIntegerRange('lifecycleHookTimeout', t.lifecycleHeartbeatSeconds, min, max));
    out.push(...check(t.drainDeadlineSeconds === undefined || t.drainDeadlineSeconds < t.lifecycleHeartbeatSeconds,
      'drainDeadline', `< lifecycleHookTimeout (${t.lifecycleHeartbeatSeconds} seconds), so the instance waits for the drain`,
      `${t.drainDeadlineSeconds} seconds`));
  }
  if (t.taskProtectionMinutes !== undefined) {
    const { min, max } = AWS_LIMITS.taskProtectionMinutes;
    out.push(...checkIntegerRange('taskProtectionExpiry (minutes)', t.taskProtectionMinutes, min, max));
    out.push(...check(t.handlerTimeoutSeconds === undefined || t.taskProtectionMinutes * 60 >= t.handlerTimeoutSeconds,
      'taskProtectionExpiry', `>= handlerTimeout (${t.handlerTimeoutSeconds} seconds), so a task stays protected while it works on a message`,
      `${t.taskProtectionMinutes * 60} seconds`));
  }
  return out;
}
