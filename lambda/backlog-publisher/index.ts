/**
 * The backlog publisher: a Lambda function that EventBridge invokes once a minute. Each
 * invocation samples the queue's Approximate* counters and the fleet's running workers every
 * PERIOD_SECONDS for that minute and puts `BacklogPerWorker` (visible ÷ max(workers, 1)) and the
 * raw figures to CloudWatch at high resolution. See docs/backlog-publisher.md and ./contract.ts.
 *
 * The AWS SDK clients come from the SDK's defaults (region, credentials, and endpoints such as
 * AWS_ENDPOINT_URL_SQS from the environment); the configuration is read and validated on the
 * first invocation of each execution environment.
 */
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { ECSClient } from '@aws-sdk/client-ecs';
import { SQSClient } from '@aws-sdk/client-sqs';
import { parseConfig, type PublisherConfig } from './config';
import { runInvocation, type InvocationContext, type InvocationSummary, type PublisherClients, type PublisherDeps } from './publisher';

export { PublisherConfigError } from './config';
export type { InvocationContext, InvocationSummary, PublisherClients } from './publisher';

export interface HandlerOptions extends Omit<PublisherDeps, 'clients'> {
  /** The environment to read. @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Clients to use instead of the SDK's defaults (each one that is absent is made as the default). */
  readonly clients?: Partial<PublisherClients>;
}

export type BacklogPublisherHandler = (event: unknown, context: InvocationContext) => Promise<InvocationSummary>;

/** The clients a configuration needs: SQS, CloudWatch, and ECS or Auto Scaling. */
function defaultClients(config: PublisherConfig, given: Partial<PublisherClients>): PublisherClients {
  return {
    sqs: given.sqs ?? new SQSClient({}),
    cloudWatch: given.cloudWatch ?? new CloudWatchClient({}),
    ecs: config.workers.kind === 'ecs' ? given.ecs ?? new ECSClient({}) : undefined,
    autoScaling: config.workers.kind === 'autoScaling' ? given.autoScaling ?? new AutoScalingClient({}) : undefined,
  };
}

/** A handler with its own configuration and clients, made on its first invocation and kept. */
export function createHandler(options: HandlerOptions = {}): BacklogPublisherHandler {
  let ready: { config: PublisherConfig; deps: PublisherDeps } | undefined;
  return async (_event, context) => {
    if (!ready) {
      // Throws PublisherConfigError, naming every bad variable: the invocation fails, visibly.
      const config = parseConfig(options.env ?? process.env);
      ready = { config, deps: { ...options, clients: defaultClients(config, options.clients ?? {}) } };
    }
    return runInvocation(ready.config, ready.deps, context);
  };
}

/** The Lambda entry point (`index.handler`). */
export const handler: BacklogPublisherHandler = createHandler();
