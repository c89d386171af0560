/**
 * The reference agent: an AgentWorker whose handler simulates an agent task (a model call and a
 * tool step, with heavy-tailed latency; `simulated-task.ts`) and honours its abort signal. Every
 * setting comes from the environment the fleets set (QUEUE_URL, AGENT_CONCURRENCY,
 * AGENT_VISIBILITY_TIMEOUT_SECONDS, AGENT_HANDLER_TIMEOUT_SECONDS, AGENT_DRAIN_DEADLINE_SECONDS,
 * AGENT_TASK_PROTECTION, …).
 */
import { AgentWorker, type LogLevel } from '../lib/worker';
import { simulatedAgentTask } from './simulated-task';

const medianStepMs = Number(process.env.AGENT_SIM_STEP_MS ?? 500);

const worker = new AgentWorker({
  logLevel: (process.env.LOG_LEVEL as LogLevel | undefined) ?? 'info',
  handler: simulatedAgentTask(medianStepMs, (task, steps) => {
    process.stdout.write(`${JSON.stringify({ msg: 'task done', taskId: task.taskId, steps })}\n`);
  }),
});

worker.on('processing_error', ({ message, error }) => {
  process.stderr.write(`${JSON.stringify({ msg: 'task failed', messageId: message.MessageId, error: String(error) })}\n`);
});

worker.start();
