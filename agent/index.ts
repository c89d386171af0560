/**
 * The reference agent: an AgentWorker whose handler simulates an agent task (a model call and a
 * tool step, with heavy-tailed latency; `simulated-task.ts`) and honours its abort signal. Every
 * setting comes from the environment the fleets set (QUEUE_URL, AGENT_CONCURRENCY,
 * AGENT_VISIBILITY_TIMEOUT_SECONDS, AGENT_HANDLER_TIMEOUT_SECONDS, AGENT_DRAIN_DEADLINE_SECONDS,
 * AGENT_TASK_PROTECTION, …).
 *
 * Message body: JSON `{ "taskId": string, "prompt": string, "steps"?: number }`. A body that is
 * not such JSON is rejected (thrown), so after maxReceiveCount receives it lands in the DLQ.
 * With AGENT_RESULT_BUCKET set, each task's result is written to `results/<taskId>.json` in that
 * S3 bucket (the integration tests count them).
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AgentWorker, type LogLevel } from '../lib/worker';
import { simulatedAgentTask } from './simulated-task';

const medianStepMs = Number(process.env.AGENT_SIM_STEP_MS ?? 500);
const resultBucket = process.env.AGENT_RESULT_BUCKET;
const s3 = resultBucket ? new S3Client({}) : undefined;

const worker = new AgentWorker({
  logLevel: (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
  handler: simulatedAgentTask(medianStepMs, async (task, steps, signal) => {
    // A result keyed by taskId, so a second delivery (SQS delivers at least once) overwrites it.
    await s3?.send(new PutObjectCommand({
      Bucket: resultBucket, Key: `results/${encodeURIComponent(task.taskId)}.json`,
      Body: JSON.stringify({ taskId: task.taskId, steps }), ContentType: 'application/json',
    }), { abortSignal: signal });
    process.stdout.write(`${JSON.stringify({ msg: 'task done', taskId: task.taskId, steps })}\n`);
  }),
});

worker.on('processing_error', ({ message, error }) => {
  process.stderr.write(`${JSON.stringify({ msg: 'task failed', messageId: message.MessageId, error: String(error) })}\n`);
});

worker.start();
