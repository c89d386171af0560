/** Options, their defaults from the fleets' environment, validation, logs, and the import boundary. */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { AGENT_ENV, AgentWorker, AgentWorkerConfigError, jsonLogger, classifySqsError } from '../../lib/worker';
import { regionOfQueueUrl } from '../../lib/worker/options';

const handler = async (): Promise<void> => undefined;
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/q';

describe('options', () => {
  test('defaults come from the environment the fleets set', async () => {
    // GIVEN
    const worker = new AgentWorker({
      handler,
      handleSignals: false,
      env: {
        [AGENT_ENV.queueUrl]: 'http://127.0.0.1:1/000000000000/q',
        [AGENT_ENV.concurrency]: '4',
        [AGENT_ENV.visibilityTimeoutSeconds]: '90',
        [AGENT_ENV.handlerTimeoutSeconds]: '60',
        [AGENT_ENV.drainDeadlineSeconds]: '50',
      },
    });
    // THEN
    const o = (worker as unknown as { o: Record<string, unknown> }).o;
    expect(o).toMatchObject({
      queueUrl: 'http://127.0.0.1:1/000000000000/q', concurrency: 4, prefetch: 4, visibilityTimeoutSeconds: 90,
      heartbeatSeconds: undefined, handlerTimeoutMs: 60_000, drainDeadlineMs: 50_000, taskProtection: false,
    });
    await worker.stop();
  });

  test('a long EC2 stop timeout from the fleet allows a long drain; protection expiry is ignored without protection', async () => {
    const env = {
      [AGENT_ENV.queueUrl]: 'http://127.0.0.1:1/000000000000/q',
      [AGENT_ENV.visibilityTimeoutSeconds]: '30',
      [AGENT_ENV.handlerTimeoutSeconds]: '7200',
      [AGENT_ENV.stopTimeoutSeconds]: '600',
      [AGENT_ENV.drainDeadlineSeconds]: '590',
    };
    const worker = new AgentWorker({ handler, handleSignals: false, env });
    expect((worker as unknown as { o: Record<string, unknown> }).o).toMatchObject({ drainDeadlineMs: 590_000 });
    await worker.stop();
    // With task protection on, its claims must outlast a handler.
    expect(() => new AgentWorker({ handler, handleSignals: false, env: { ...env, [AGENT_ENV.taskProtection]: 'true' } }))
      .toThrow(/taskProtectionExpiry: must be >= handlerTimeout \(7200 seconds\)/);
    // And without the stop timeout, a 590 s drain exceeds Fargate's 120 s.
    const { [AGENT_ENV.stopTimeoutSeconds]: _stop, ...withoutStop } = env;
    expect(() => new AgentWorker({ handler, handleSignals: false, env: withoutStop }))
      .toThrow(/drainDeadline \(\$AGENT_DRAIN_DEADLINE_SECONDS\): must be > 0 and < stopTimeout \(120 seconds\)/);
  });

  test('in a fleet, AGENT_CONCURRENCY is the one source of truth: a different concurrency option is ignored with a warning', async () => {
    // GIVEN the README's worker, concurrency 8, in a fleet whose scaling counts 4 messages per busy worker
    const warnings: string[] = [];
    const logger = { debug: () => undefined, info: () => undefined, error: () => undefined, warn: (msg: string) => warnings.push(msg) };
    const env = { [AGENT_ENV.queueUrl]: 'http://127.0.0.1:1/000000000000/q', [AGENT_ENV.concurrency]: '4' };
    // WHEN
    const worker = new AgentWorker({ handler, concurrency: 8, handleSignals: false, env, logger });
    // THEN
    expect((worker as unknown as { o: Record<string, unknown> }).o).toMatchObject({ concurrency: 4 });
    expect(warnings).toEqual([expect.stringMatching(/concurrency option \(8\) is ignored: the fleet sets \$AGENT_CONCURRENCY \(4\)/)]);
    await worker.stop();
    // Outside a fleet the option is what counts, and equal values are no news.
    const alone = new AgentWorker({ handler, concurrency: 8, handleSignals: false, env: { [AGENT_ENV.queueUrl]: env[AGENT_ENV.queueUrl] }, logger });
    const same = new AgentWorker({ handler, concurrency: 4, handleSignals: false, env, logger });
    expect((alone as unknown as { o: Record<string, unknown> }).o).toMatchObject({ concurrency: 8 });
    expect(warnings).toHaveLength(1);
    await alone.stop();
    await same.stop();
  });

  test('built-in defaults follow the contract', async () => {
    const worker = new AgentWorker({ handler, queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', handleSignals: false, env: {} });
    const o = (worker as unknown as { o: Record<string, unknown> }).o;
    // No visibility timeout of its own: the queue's (read at start), not overridden on receive.
    expect(o).toMatchObject({
      concurrency: 1, prefetch: 1, prefetchSeconds: 0.5, batchSize: 10, waitTimeSeconds: 20, visibilityTimeoutSeconds: undefined, region: 'eu-west-1',
      heartbeatSeconds: undefined, handlerTimeoutMs: 300_000, drainDeadlineMs: 110_000, retryDelaySeconds: 2, maxRetryDelaySeconds: 300,
    });
    await worker.stop();
  });

  test('every problem is reported in one error', () => {
    const make = (): AgentWorker => new AgentWorker({
      handler,
      concurrency: 0,
      visibilityTimeoutSeconds: 1,
      heartbeatSeconds: 30,
      handlerTimeoutSeconds: 60,
      drainDeadlineSeconds: 200,
      batchSize: 11,
      prefetchSeconds: -1,
      lifecycleHookName: 'hook',
      env: { [AGENT_ENV.taskProtectionMinutes]: 'soon' },
    });
    expect(make).toThrow(AgentWorkerConfigError);
    expect(make).toThrow(/queueUrl: must be set/);
    expect(make).toThrow(/concurrency: must be an integer 1-1000, got 0/);
    expect(make).toThrow(/batchSize: must be an integer 1-10, got 11/);
    expect(make).toThrow(/prefetchSeconds: must be 0-3600, got -1/);
    expect(make).toThrow(/visibilityTimeout: must be 2-43200 seconds, got 1 seconds/);
    expect(make).toThrow(/heartbeat: must be > 0 and < visibilityTimeout \(1 seconds\), got 30 seconds/);
    expect(make).toThrow(/drainDeadline: must be > 0 and < stopTimeout \(120 seconds\)/);
    expect(make).toThrow(/lifecycleHookName: must be set together with autoScalingGroupName/);
    expect(make).toThrow(/taskProtectionExpiry \(minutes\) \(\$AGENT_TASK_PROTECTION_MINUTES\): must be a decimal number, got "soon"/);
  });

  test('a visibility timeout must be whole seconds', () => {
    expect(() => new AgentWorker({ handler, queueUrl: QUEUE, visibilityTimeoutSeconds: 2.5, handlerTimeoutSeconds: 1, env: {} }))
      .toThrow(/visibilityTimeout: must be a whole number of seconds/);
  });

  test('the visibility timeout is independent of the handler timeout: a 10-minute handler on a 15-minute or a 30-second queue', () => {
    for (const visibility of ['900', '30']) {
      const env = { [AGENT_ENV.queueUrl]: QUEUE, [AGENT_ENV.visibilityTimeoutSeconds]: visibility, [AGENT_ENV.handlerTimeoutSeconds]: '600' };
      expect(() => new AgentWorker({ handler, handleSignals: false, env })).not.toThrow();
    }
  });

  test('problems with values from the environment name the variable; numbers and the queue URL are read strictly', () => {
    const make = (env: Record<string, string>) => () => new AgentWorker({ handler, handleSignals: false, env: { [AGENT_ENV.queueUrl]: QUEUE, ...env } });
    expect(make({ [AGENT_ENV.concurrency]: '0' })).toThrow(/concurrency \(\$AGENT_CONCURRENCY\): must be an integer 1-1000, got 0/);
    for (const bad of ['0x10', '1e3', '-5', '12abc', 'Infinity']) {
      expect(make({ [AGENT_ENV.concurrency]: bad })).toThrow(`concurrency ($AGENT_CONCURRENCY): must be a decimal number, got "${bad}"`);
    }
    expect(make({ [AGENT_ENV.visibilityTimeoutSeconds]: '1' })).toThrow(/visibilityTimeout \(\$AGENT_VISIBILITY_TIMEOUT_SECONDS\): must be 2-43200 seconds, got 1 seconds/);
    expect(make({ [AGENT_ENV.drainDeadlineSeconds]: '500' }))
      .toThrow(/drainDeadline \(\$AGENT_DRAIN_DEADLINE_SECONDS\): must be > 0 and < stopTimeout \(120 seconds\)/);
    for (const bad of ['sqs.us-east-1.amazonaws.com/123456789012/q', 'ftp://h/123456789012/q', 'https://h/q', 'https://h/123456789012/q/extra', 'https://h/123456789012/q?x=1']) {
      expect(make({ [AGENT_ENV.queueUrl]: bad })).toThrow(/queueUrl \(\$QUEUE_URL\): must be a queue URL/);
    }
    expect(() => new AgentWorker({ handler, queueUrl: 'my-queue', env: {} })).toThrow(/queueUrl: must be a queue URL, .*got "my-queue"/);
  });

  test('the region comes from the queue URL, so a worker needs no AWS_REGION', () => {
    expect(regionOfQueueUrl('https://sqs.eu-central-1.amazonaws.com/123456789012/q')).toBe('eu-central-1');
    expect(regionOfQueueUrl('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q')).toBe('cn-north-1');
    expect(regionOfQueueUrl('https://ap-southeast-2.queue.amazonaws.com/123456789012/q')).toBe('ap-southeast-2');
    expect(regionOfQueueUrl('http://127.0.0.1:9324/000000000000/q')).toBeUndefined();
    // The client the worker creates signs for the queue's region, whatever AWS_REGION says.
    const worker = new AgentWorker({ handler, handleSignals: false, env: { [AGENT_ENV.queueUrl]: 'https://sqs.ap-south-1.amazonaws.com/123456789012/q' } });
    return expect((worker as unknown as { sqs: { config: { region: () => Promise<string> } } }).sqs.config.region()).resolves.toBe('ap-south-1');
  });
});

describe('logs', () => {
  test('JSON lines with level, message, fields and serialized errors', () => {
    const lines: string[] = [];
    const log = jsonLogger({ level: 'info', write: (l) => lines.push(l), base: { component: 'agent-worker' } });
    log.debug('hidden');
    log.warn('it failed', { messageId: 'm1', error: new Error('boom') });
    expect(lines).toHaveLength(1);
    const rec = JSON.parse(lines[0]) as Record<string, unknown> & { error: Record<string, unknown> };
    expect(rec).toMatchObject({ level: 'warn', msg: 'it failed', component: 'agent-worker', messageId: 'm1' });
    expect(rec.error).toMatchObject({ name: 'Error', message: 'boom' });
    expect(typeof rec.time).toBe('string');
  });
});

describe('error classes', () => {
  const err = (name: string, extra: Record<string, unknown> = {}): Error => Object.assign(new Error(name), { name, ...extra });
  test.each([
    [err('ThrottlingException'), 'transient'],
    [err('RequestThrottled'), 'transient'],
    [err('InternalError', { $metadata: { httpStatusCode: 500 } }), 'transient'],
    [err('Error', { code: 'ECONNRESET' }), 'transient'],
    [err('CredentialsProviderError'), 'credentials'],
    [err('InvalidClientTokenId', { $metadata: { httpStatusCode: 403 } }), 'credentials'],
    [err('AbortError'), 'aborted'],
    [err('QueueDoesNotExist', { $metadata: { httpStatusCode: 400 } }), 'fatal'],
  ])('%s is %s', (e, kind) => {
    expect(classifySqsError(e)).toBe(kind);
  });
});

describe('import boundary', () => {
  test('importing cdk-agent-fleet/worker does not load aws-cdk-lib', () => {
    // A fresh process loads the worker's entry and lists every module it pulled in.
    const root = path.join(__dirname, '..', '..');
    const script = `
      require('./lib/worker/index.ts');
      const loaded = Object.keys(require.cache);
      process.stdout.write(JSON.stringify({
        count: loaded.length,
        cdk: loaded.filter((f) => /node_modules[\\\\/](aws-cdk-lib|constructs)[\\\\/]/.test(f)),
        worker: loaded.some((f) => f.endsWith(require('path').join('lib', 'worker', 'worker.ts'))),
      }));`;
    const out = execFileSync(process.execPath, ['--require', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' });
    const result = JSON.parse(out) as { count: number; cdk: string[]; worker: boolean };
    expect(result.worker).toBe(true);
    expect(result.cdk).toEqual([]);
  });
});
