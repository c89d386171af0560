/**
 * The reference agent: an AgentWorker whose handler simulates an agent task (a model call and a
 * tool step, with heavy-tailed latency) and honours its abort signal. Every setting comes from
 * the environment the fleets set (QUEUE_URL, AGENT_CONCURRENCY, AGENT_VISIBILITY_TIMEOUT_SECONDS,
 * AGENT_HANDLER_TIMEOUT_SECONDS, AGENT_DRAIN_DEADLINE_SECONDS, AGENT_TASK_PROTECTION, …).
 *
 * Message body: JSON `{ "taskId": string, "prompt": string, "steps"?: number }`. A body that is
 * not such JSON is rejected (thrown), so after maxReceiveCount receives it lands in the DLQ.
 * With AGENT_RESULT_BUCKET set, each task's result is written to `results/<taskId>.json` in that
 * S3 bucket (the integration tests count them).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AgentWorker, type LogLevel } from '../lib/worker';

interface AgentTask {
  readonly taskId: string;
  readonly prompt: string;
  readonly steps?: number;
}

function parseTask(body: string | undefined): AgentTask {
  const task = JSON.parse(body ?? '') as Partial<AgentTask>;
  if (typeof task.taskId !== 'string' || typeof task.prompt !== 'string') {
    throw new Error('a task needs a string taskId and prompt');
  }
  return task as AgentTask;
}

/** Waits `ms`, or rejects as soon as `signal` aborts. */
function step(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason as Error); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A simulated model call: log-normal latency around `medianMs`. */
function modelLatency(medianMs: number): number {
  const z = Math.sqrt(-2 * Math.log(Math.max(Math.random(), 1e-12))) * Math.cos(2 * Math.PI * Math.random());
  return medianMs * Math.exp(0.8 * z);
}

const medianStepMs = Number(process.env.AGENT_SIM_STEP_MS ?? 500);
const resultBucket = process.env.AGENT_RESULT_BUCKET;
const s3 = resultBucket ? new S3Client({}) : undefined;

const worker = new AgentWorker({
  logLevel: (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
  handler: async (message, { signal }) => {
    const task = parseTask(message.Body);
    const steps = Math.max(1, Math.min(task.steps ?? 3, 20));
    for (let i = 0; i < steps; i++) {
      await step(modelLatency(medianStepMs), signal); // think
      await step(modelLatency(medianStepMs / 5), signal); // act (a tool call)
    }
    // A result keyed by taskId, so a second delivery (SQS delivers at least once) overwrites it.
    const result = { taskId: task.taskId, steps };
    await s3?.send(new PutObjectCommand({
      Bucket: resultBucket, Key: `results/${encodeURIComponent(task.taskId)}.json`, Body: JSON.stringify(result), ContentType: 'application/json',
    }), { abortSignal: signal });
    process.stdout.write(`${JSON.stringify({ msg: 'task done', taskId: task.taskId, steps, receiveCount: message.Attributes?.ApproximateReceiveCount })}\n`);
  },
});

worker.on('processing_error', ({ message, error }) => {
  process.stderr.write(`${JSON.stringify({ msg: 'task failed', messageId: message.MessageId, error: String(error) })}\n`);
});

worker.start();
