/**
 * One worker process of the local run. It starts parked: the handler module and the worker
 * runtime are loaded, nothing polls. On the parent's `start` (sent when the compute's start-up
 * delay is over) it runs an `AgentWorker` with the handler, reporting each outcome over IPC.
 * SIGTERM drains it (the runtime's own handler, as on ECS); the process exits when the drain is over.
 */
import { pathToFileURL } from 'node:url';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AgentWorker, AGENT_ENV, type AgentWorkerOptions, type MessageHandler } from '../worker';

/** The environment variable that names the handler module. */
export const WORKER_MODULE_ENV = 'LOCAL_WORKER_MODULE';

/** What the parent sends. */
export interface StartMessage {
  readonly type: 'start';
  /** Options beyond the fleet contract's environment (time-compressed timings). */
  readonly options: Pick<AgentWorkerOptions, 'retryDelaySeconds' | 'maxRetryDelaySeconds' | 'batchWindowMs'>;
}

/** What a worker process reports. */
export type WorkerReport =
  | { readonly type: 'ready' }
  | { readonly type: 'error'; readonly error: string }
  | { readonly type: 'inFlight'; readonly inFlight: number }
  | { readonly type: 'processed'; readonly messageId: string; readonly startedAt: number; readonly doneAt: number; readonly inFlight: number }
  | { readonly type: 'stopped'; readonly released: number };

/** Loads a module whose default export is the handler (ESM, or CommonJS compiled from `export default`). */
export async function loadHandler(file: string): Promise<MessageHandler> {
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  let handler = mod.default;
  if (handler !== null && typeof handler === 'object' && 'default' in handler) handler = (handler as { default: unknown }).default;
  if (typeof handler !== 'function') throw new Error(`${file}: the default export must be the handler function, got ${typeof handler}`);
  return handler as MessageHandler;
}

function report(r: WorkerReport, then: () => void = () => undefined): void {
  process.send?.(r, then);
}

function main(): void {
  const parked = (): void => process.exit(0);
  process.on('SIGTERM', parked);
  process.on('SIGINT', parked);
  // The SDK loads most of itself on the first call: make one while parked, so a started worker
  // receives at once (the compute's start-up delay is emulated by the parent, not by Node).
  const sqsClient = new SQSClient({});
  const loaded = Promise.all([
    loadHandler(process.env[WORKER_MODULE_ENV] ?? ''),
    sqsClient.send(new GetQueueAttributesCommand({ QueueUrl: process.env[AGENT_ENV.queueUrl], AttributeNames: ['QueueArn'] })),
  ]).then(([handler]) => handler);
  loaded.then(() => report({ type: 'ready' }), (error: unknown) => report({ type: 'error', error: String(error) }, () => process.exit(1)));

  process.on('message', (m: StartMessage) => {
    if (m.type !== 'start') return;
    void loaded.then((handler) => {
      process.off('SIGTERM', parked);
      process.off('SIGINT', parked);
      const worker: AgentWorker = new AgentWorker({
        ...m.options,
        sqsClient,
        logLevel: 'warn',
        handler: async (message, context) => {
          const startedAt = Date.now();
          await handler(message, context);
          report({ type: 'processed', messageId: message.MessageId ?? '', startedAt, doneAt: Date.now(), inFlight: worker.inFlight - 1 });
        },
      });
      // The parent ranks workers by how busy they are when it scales in.
      const inFlight = (): void => report({ type: 'inFlight', inFlight: worker.inFlight });
      worker.on('message_received', inFlight);
      worker.on('message_released', inFlight);
      worker.on('stopped', ({ released }) => report({ type: 'stopped', released }, () => process.disconnect()));
      worker.start();
    });
  });
}

if (require.main === module) main();
