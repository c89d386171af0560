/** Shared helpers of the worker tests. */
import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient, type Message } from '@aws-sdk/client-sqs';
import { queueCounts } from '../../lib/local/embedded-sqs';
import { AgentWorker, silentLogger, type AgentWorkerOptions } from '../../lib/worker';

/** Sends `bodies` in batches of 10; returns the message ids in order. */
export async function sendAll(sqs: SQSClient, queueUrl: string, bodies: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < bodies.length; i += 10) {
    const chunk = bodies.slice(i, i + 10);
    const out = await sqs.send(new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: chunk.map((MessageBody, j) => ({ Id: String(j), MessageBody })),
    }));
    if (out.Failed?.length) throw new Error(`send failed: ${JSON.stringify(out.Failed)}`);
    const byId = new Map(out.Successful!.map((s) => [s.Id!, s.MessageId!]));
    chunk.forEach((_, j) => ids.push(byId.get(String(j))!));
  }
  return ids;
}

/** Queue depth as the server counts it. */
export const depth = queueCounts;

/** Receives everything visible now (short polls until empty); does not delete. */
export async function receiveAll(sqs: SQSClient, queueUrl: string, visibilityTimeout = 60): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({
      QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: visibilityTimeout,
      MessageSystemAttributeNames: ['All'],
    }));
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

/** Polls `predicate` until it is true (or throws after `timeoutMs`). */
export async function waitFor(predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A worker with quiet logs, no signal handlers and short test timings. */
export function testWorker(sqs: SQSClient, queueUrl: string, options: Partial<AgentWorkerOptions> & Pick<AgentWorkerOptions, 'handler'>): AgentWorker {
  return new AgentWorker({
    queueUrl,
    sqsClient: sqs,
    logger: silentLogger,
    handleSignals: false,
    waitTimeSeconds: 1,
    visibilityTimeoutSeconds: 30,
    handlerTimeoutSeconds: 20,
    drainDeadlineSeconds: 10,
    env: {},
    ...options,
  });
}
