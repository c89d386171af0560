import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { CreateQueueCommand, SQSClient, type QueueAttributeName } from '@aws-sdk/client-sqs';

/** Fixed, fake credentials: the local server accepts any signature. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_REGION = 'us-east-1';

/** A real SQS-compatible server (fauxqs) in a child process on 127.0.0.1. */
export interface LocalSqs {
  /** `http://127.0.0.1:<port>`: use as `endpoint`, or as AWS_ENDPOINT_URL_SQS for child processes. */
  readonly endpoint: string;
  /** A new client for this server. */
  client(): SQSClient;
  /** Environment for a child process that should talk to this server with the SDK's defaults. */
  env(): Record<string, string>;
  /** Creates a queue (and returns its URL and ARN). */
  createQueue(name: string, attributes?: Partial<Record<QueueAttributeName, string>>): Promise<{ url: string; arn: string }>;
  /** Creates a queue with a dead-letter queue that receives messages after `maxReceiveCount` receives. */
  createQueueWithDlq(name: string, maxReceiveCount: number, attributes?: Partial<Record<QueueAttributeName, string>>): Promise<{ url: string; dlqUrl: string }>;
  /** API calls the server has answered, by action, since the last reset. */
  calls(): Promise<Record<string, number>>;
  resetCalls(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalSqs(): Promise<LocalSqs> {
  const child: ChildProcess = spawn(process.execPath, [path.join(__dirname, 'fauxqs-server.mjs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => { throw new Error(`fauxqs exited with ${code} before listening`); }),
  ])) as [string];
  lines.close();
  const { port } = JSON.parse(first) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: SQSClient[] = [];

  const client = (): SQSClient => {
    const c = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
    clients.push(c);
    return c;
  };
  const admin = client();

  const createQueue: LocalSqs['createQueue'] = async (name, attributes = {}) => {
    const out = await admin.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    return { url: out.QueueUrl!, arn: `arn:aws:sqs:${LOCAL_REGION}:000000000000:${name}` };
  };

  return {
    endpoint,
    client,
    env: () => ({
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    }),
    createQueue,
    async createQueueWithDlq(name, maxReceiveCount, attributes = {}) {
      const dlq = await createQueue(`${name}-dlq`);
      const main = await createQueue(name, {
        ...attributes,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
      });
      return { url: main.url, dlqUrl: dlq.url };
    },
    async calls() {
      const res = await fetch(`${endpoint}/_calls`);
      return (await res.json()) as Record<string, number>;
    },
    async resetCalls() {
      await fetch(`${endpoint}/_calls/reset`, { method: 'POST' });
    },
    async stop() {
      for (const c of clients) c.destroy();
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.stdin!.end();
        await exited;
      }
    },
  };
}
