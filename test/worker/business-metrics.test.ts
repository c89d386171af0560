/**
 * Business metrics from handlers (`context.metrics.put`): EMF values in the worker's own records,
 * with the fleet's dimension; invalid ones are logged and dropped, never failing a task.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AgentWorker } from '../../lib/worker';
import { WorkerMetrics } from '../../lib/worker/metrics';
import type { WorkerLogger } from '../../lib/worker/logger';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { sendAll, testWorker, waitFor } from './helpers';

type Emf = Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit?: string }> }> } };

function recordingLogger(warnings: string[]): WorkerLogger {
  const none = () => undefined;
  return { debug: none, info: none, error: none, warn: (msg, fields) => warnings.push(`${msg} ${JSON.stringify(fields)}`) };
}

function metricsFor(lines: string[], warnings: string[] = []): WorkerMetrics {
  return new WorkerMetrics({
    namespace: 'AgentFleet', fleetName: 'fleet-a', intervalMs: 60_000, write: (l) => lines.push(l), inFlight: () => 0, logger: recordingLogger(warnings),
  });
}

describe('WorkerMetrics.put', () => {
  test('writes business metrics in the same record as the worker\'s own, with the Fleet dimension and the unit', async () => {
    // GIVEN
    const lines: string[] = [];
    const metrics = metricsFor(lines);
    // WHEN
    metrics.put('TokensUsed', 1234, 'Count');
    metrics.put('TokensUsed', 766, 'Count');
    metrics.put('CostPerTask', 0.02);
    metrics.succeeded(12);
    await metrics.close();
    // THEN
    expect(lines).toHaveLength(1);
    const record = JSON.parse(lines[0]) as Emf;
    expect(record.TokensUsed).toEqual([1234, 766]);
    expect(record.CostPerTask).toBe(0.02);
    expect(record.MessagesProcessed).toBe(1);
    expect(record.Fleet).toBe('fleet-a');
    const directive = record._aws.CloudWatchMetrics[0];
    expect(directive.Dimensions).toEqual([['Fleet']]);
    expect(directive.Metrics).toEqual(expect.arrayContaining([{ Name: 'TokensUsed', Unit: 'Count' }, { Name: 'CostPerTask', Unit: 'None' }]));
  });

  test.each([
    ['', 1, 'Count', 'a name of 1-255'],
    ['x'.repeat(256), 1, 'Count', 'a name of 1-255'],
    ['MessagesProcessed', 1, 'Count', 'other than the worker\'s own'],
    ['Tokens', Number.NaN, 'Count', 'a finite number'],
    ['Tokens', Infinity, 'Count', 'a finite number'],
    ['Tokens', 1, 'Tokens', 'a CloudWatch unit'],
  ])('drops %p = %p %p with a warning (%s)', async (name, value, unit, reason) => {
    const lines: string[] = [];
    const warnings: string[] = [];
    const metrics = metricsFor(lines, warnings);
    metrics.put(name, value, unit as 'Count');
    await metrics.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(reason);
    const record = JSON.parse(lines[0]) as Emf;
    // The worker's own count stays its own (0 messages processed); other names are absent.
    expect(record[name]).toBe(name === 'MessagesProcessed' ? 0 : undefined);
  });
});

describe('context.metrics in a handler', () => {
  let local: LocalSqs;
  let sqs: SQSClient;
  let worker: AgentWorker | undefined;
  beforeAll(async () => {
    local = await startLocalSqs();
    sqs = local.client();
  });
  afterAll(async () => {
    await worker?.stop();
    await local.stop();
  });

  test('a handler\'s puts reach the worker\'s EMF records; a bad one does not fail the task', async () => {
    // GIVEN
    const { url } = await local.createQueue('business-metrics');
    await sendAll(sqs, url, ['a', 'b']);
    const lines: string[] = [];
    let done = 0;
    worker = testWorker(sqs, url, {
      metricsNamespace: 'AgentFleet', fleetName: 'fleet-b', metricsWriter: (l) => lines.push(l),
      handler: async (_m, context) => {
        context.metrics.put('TokensUsed', 100, 'Count');
        context.metrics.put('TokensUsed', Number.NaN, 'Count');
        done++;
      },
    });
    // WHEN
    worker.start();
    await waitFor(() => done === 2, 10_000, 'two handled');
    await worker.stop();
    // THEN
    const records = lines.map((l) => JSON.parse(l) as Emf);
    const tokens = records.flatMap((r) => ([] as unknown[]).concat(r.TokensUsed ?? []));
    expect(tokens).toEqual([100, 100]);
    expect(records.reduce((n, r) => n + Number(r.MessagesProcessed ?? 0), 0)).toBe(2);
    expect(records.every((r) => r.Fleet === 'fleet-b')).toBe(true);
  });
});
