/**
 * `cdk-agent-fleet/worker`: the runtime that runs inside an agent's container. It does not load
 * aws-cdk-lib (only the SQS and Auto Scaling clients and aws-embedded-metrics).
 */
export { AgentWorker } from './worker';
export type { AgentWorkerEvents, ReleaseReason, StopReason, WorkerState } from './worker';
export { EXTRA_ENV, DEFAULT_IMDS_ENDPOINT, retryDelaySeconds } from './options';
export type { AgentWorkerOptions, HandlerContext, HandlerMetrics, MessageHandler, MetricUnit } from './options';
export { AgentWorkerConfigError, DrainDeadlineError, HandlerTimeoutError, classifySqsError } from './errors';
export type { SqsErrorKind } from './errors';
export { jsonLogger, silentLogger } from './logger';
export type { LogLevel, WorkerLogger, JsonLoggerOptions } from './logger';
export { AGENT_ENV, WORKER_DEFAULTS, AWS_LIMITS, defaultDrainDeadline, defaultHeartbeat, validateWorkerTimings } from './contract';
export type { WorkerTimings } from './contract';
