/**
 * An SQS-compatible server (fauxqs) in this process, on loopback, with the queue and dead-letter
 * queue that `AgentQueue` creates: the same redrive (`maxReceiveCount`), visibility timeout
 * (time-compressed), retention and long polling, from the shared defaults.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QUEUE_DEFAULTS } from '../worker/contract';

/** Fixed, fake credentials: the local server accepts any signature. */
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
const REGION = 'us-east-1';

export interface EmbeddedSqs {
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_SQS`. */
  readonly endpoint: string;
  readonly client: SQSClient;
  /** Environment for a worker process: the SDK's defaults then reach this server. */
  env(): Record<string, string>;
  stop(): Promise<void>;
}

export interface FleetQueues {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/** Queue counts: ApproximateNumberOfMessages{,NotVisible,Delayed}. */
export interface QueueCounts {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

interface FauxqsApp {
  listen(o: { port: number; host: string }): Promise<string>;
  close(): Promise<void>;
  readonly server: { address(): { port: number } };
}

interface Fauxqs {
  buildApp(o: { logger: boolean; stores: Record<string, unknown> }): FauxqsApp;
  readonly stores: { readonly sqsStore: { host: string; shutdown?(): void }; readonly snsStore: unknown; readonly s3Store: unknown };
}

/** fauxqs is ESM-only and exports only its app; its stores are files beside it. */
async function loadFauxqs(): Promise<Fauxqs> {
  const dir = (require.resolve.paths('fauxqs') ?? []).map((p) => path.join(p, 'fauxqs', 'dist')).find((d) => fs.existsSync(path.join(d, 'app.js')));
  if (!dir) throw new Error('fauxqs is not installed (npm install fauxqs@1.9.2)');
  const load = (file: string) => import(pathToFileURL(path.join(dir, file)).href);
  const [{ buildApp }, { SqsStore }, { SnsStore }, { S3Store }] = await Promise.all([load('app.js'), load('sqs/sqsStore.js'), load('sns/snsStore.js'), load('s3/s3Store.js')]);
  return { buildApp, stores: { sqsStore: new SqsStore(), snsStore: new SnsStore(), s3Store: new S3Store() } };
}

export async function startEmbeddedSqs(): Promise<EmbeddedSqs> {
  const { buildApp, stores } = await loadFauxqs();
  // An empty host makes queue URLs carry the address the client used (127.0.0.1:<port>), so the
  // SDK's standard AWS_ENDPOINT_URL_SQS works in the worker processes.
  const { sqsStore } = stores;
  sqsStore.host = '';
  const app = buildApp({ logger: false, stores });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const endpoint = `http://127.0.0.1:${app.server.address().port}`;
  const client = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS });
  return {
    endpoint,
    client,
    env: () => ({
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }),
    async stop() {
      client.destroy();
      sqsStore.shutdown?.();
      await app.close();
    },
  };
}

/** The queue and DLQ as `AgentQueue` configures them, with the visibility timeout given (time-compressed). */
export async function createFleetQueues(sqs: EmbeddedSqs, name: string, visibilityTimeoutSeconds: number): Promise<FleetQueues> {
  const dlq = await sqs.client.send(new CreateQueueCommand({
    QueueName: `${name}-dlq`,
    Attributes: { MessageRetentionPeriod: String(QUEUE_DEFAULTS.deadLetterRetentionSeconds) },
  }));
  const dlqArn = (await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const queue = await sqs.client.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: {
      VisibilityTimeout: String(visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(QUEUE_DEFAULTS.retentionSeconds),
      ReceiveMessageWaitTimeSeconds: String(QUEUE_DEFAULTS.receiveWaitTimeSeconds),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: QUEUE_DEFAULTS.maxReceiveCount }),
    },
  }));
  return { queueUrl: queue.QueueUrl!, deadLetterQueueUrl: dlq.QueueUrl! };
}

/** Queue depth as the server counts it. */
export async function queueCounts(client: SQSClient, queueUrl: string): Promise<QueueCounts> {
  const out = await client.send(new GetQueueAttributesCommand({
    QueueUrl: queueUrl,
    AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
  }));
  const a = out.Attributes ?? {};
  return {
    visible: Number(a.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
    delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
  };
}
