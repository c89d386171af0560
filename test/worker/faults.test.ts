/**
 * Faults a server cannot produce (throttling, network errors, refused credentials, partial batch
 * failures), with a mocked SQS client.
 */
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient,
  type DeleteMessageBatchCommandInput,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { AgentWorker, classifySqsError, type SqsErrorKind, type WorkerLogger } from '../../lib/worker';
import { SqsRequestTimeoutError, withRequestTimeout } from '../../lib/worker/errors';
import { waitFor } from './helpers';

const QUEUE = 'https://sqs.us-east-1.amazonaws.com/000000000000/q';
const err = (name: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(name), { name, ...extra });
const msg = (id: string) => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: id, Attributes: { ApproximateReceiveCount: '1' } });

function recordingLogger(): WorkerLogger & { lines: Array<[string, string]> } {
  const lines: Array<[string, string]> = [];
  const at = (level: string) => (m: string) => { lines.push([level, m]); };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function setup(receives: Array<Error | ReturnType<typeof msg>[]>) {
  const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const mock = mockClient(client);
  let call = 0;
  mock.on(ReceiveMessageCommand).callsFake(async () => {
    const next = receives[call++];
    if (next === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      return { Messages: [] };
    }
    if (next instanceof Error) throw next;
    return { Messages: next };
  });
  mock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  mock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  mock.on(GetQueueAttributesCommand).resolves({ Attributes: { VisibilityTimeout: '30' } });
  const logger = recordingLogger();
  const processed: string[] = [];
  const kinds: SqsErrorKind[] = [];
  const worker = new AgentWorker({
    queueUrl: QUEUE, sqsClient: client, logger, handleSignals: false, env: {}, concurrency: 2, batchWindowMs: 5,
    sqsRetry: { baseMs: 10, maxMs: 50, slowMs: 200 },
    handler: async (m) => { processed.push(m.MessageId!); },
  });
  worker.on('sqs_error', (e) => kinds.push(e.kind));
  return { mock, worker, logger, processed, kinds };
}

let unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => { unhandled.push(e); };
beforeEach(() => { unhandled = []; process.on('unhandledRejection', onUnhandled); });
afterEach(() => { process.off('unhandledRejection', onUnhandled); expect(unhandled).toEqual([]); });

test('throttling and network errors back off and retry', async () => {
  const { worker, processed, kinds } = setup([
    err('ThrottlingException', { $metadata: { httpStatusCode: 400 } }),
    err('Error', { code: 'ECONNRESET' }),
    err('InternalError', { $metadata: { httpStatusCode: 500 } }),
    [msg('a')],
  ]);
  worker.start();
  await waitFor(() => processed.length === 1, 10_000, 'the message');
  await worker.stop();
  expect(kinds).toEqual(['transient', 'transient', 'transient']);
  expect(processed).toEqual(['a']);
});

test('refused credentials are reported loudly and retried slowly', async () => {
  const { worker, processed, kinds, logger } = setup([
    err('InvalidClientTokenId', { $metadata: { httpStatusCode: 403 } }),
    [msg('b')],
  ]);
  const t0 = Date.now();
  worker.start();
  await waitFor(() => processed.length === 1, 10_000, 'the message');
  await worker.stop();
  expect(kinds).toEqual(['credentials']);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(190); // the slow retry
  expect(logger.lines).toContainEqual(['error', expect.stringMatching(/credentials/)]);
});

test('entries of a partially failed delete batch are retried; sender faults are given up', async () => {
  const { worker, mock, processed, logger } = setup([[msg('a'), msg('b'), msg('c')]]);
  let deleteCalls = 0;
  mock.on(DeleteMessageBatchCommand).callsFake(async (input: DeleteMessageBatchCommandInput) => {
    deleteCalls++;
    if (deleteCalls === 1) {
      const [first, second] = input.Entries!;
      return {
        Successful: input.Entries!.slice(2).map((e) => ({ Id: e.Id })),
        Failed: [
          { Id: first.Id, Code: 'InternalError', SenderFault: false },
          { Id: second.Id, Code: 'ReceiptHandleIsInvalid', SenderFault: true },
        ],
      };
    }
    return { Successful: input.Entries!.map((e) => ({ Id: e.Id })), Failed: [] };
  });
  const failed: string[] = [];
  worker.on('delete_failed', (e) => failed.push(e.code!));
  worker.start();
  await waitFor(() => processed.length === 3, 10_000, 'three messages');
  await worker.stop();
  const calls = mock.commandCalls(DeleteMessageBatchCommand).map((c) => c.args[0].input.Entries!.map((e) => e.ReceiptHandle));
  const all = calls.flat();
  expect(all.filter((h) => h === 'rh-a' || h === 'rh-b' || h === 'rh-c').length).toBe(4);
  expect(calls[calls.length - 1]).toHaveLength(1); // only the server-fault entry went again
  expect(failed).toEqual(['ReceiptHandleIsInvalid']);
  expect(logger.lines).toContainEqual(['warn', expect.stringMatching(/not deleted/)]);
});

test('a delete call that fails on the network is retried until it succeeds', async () => {
  const { worker, mock, processed } = setup([[msg('a')]]);
  mock.on(DeleteMessageBatchCommand)
    .rejectsOnce(err('Error', { code: 'ECONNREFUSED' }))
    .resolves({ Successful: [{ Id: '0' }], Failed: [] });
  worker.start();
  await waitFor(() => processed.length === 1, 10_000, 'the message');
  await worker.stop();
  expect(mock.commandCalls(DeleteMessageBatchCommand)).toHaveLength(2);
});

test('every SQS call carries an AbortSignal', async () => {
  const { worker, mock, processed } = setup([[msg('a')]]);
  worker.start();
  await waitFor(() => processed.length === 1, 10_000, 'the message');
  await worker.stop();
  const signals = mock.calls().map((c) => ((c.args as unknown[])[1] as { abortSignal?: unknown } | undefined)?.abortSignal);
  expect(signals.length).toBeGreaterThan(1);
  for (const s of signals) expect(s).toBeInstanceOf(AbortSignal);
});

describe('a call past its request timeout fails as transient, so a delete or heartbeat is retried', () => {
  // As the SDK does: the call rejects with an AbortError when its signal aborts.
  const heeding = (signal: AbortSignal): Promise<never> => new Promise((_, reject) => {
    signal.addEventListener('abort', () => reject(err('AbortError')));
  });
  const ignoring = (): Promise<never> => new Promise(() => undefined);

  test.each([['heeds', heeding], ['ignores', ignoring]])('a call that %s its signal', async (_, call) => {
    let seen: AbortSignal | undefined;
    const error = await withRequestTimeout(20, (signal) => { seen = signal; return call(signal); }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SqsRequestTimeoutError);
    expect(classifySqsError(error)).toBe('transient');
    expect(seen!.aborted).toBe(true);
  });

  test('a call that answers in time returns its answer, and its timer is cleared', async () => {
    let seen: AbortSignal | undefined;
    await expect(withRequestTimeout(20, async (signal) => { seen = signal; return 'answer'; })).resolves.toBe('answer');
    // Past the timeout: a timer left running would abort the signal now.
    await new Promise((r) => setTimeout(r, 60));
    expect(seen!.aborted).toBe(false);
  });
});
