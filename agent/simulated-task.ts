/**
 * The reference agent's simulated task: a few think/act steps (a model call, then a tool call)
 * with heavy-tailed latency, honouring the abort signal. `agent/index.ts` runs it in the
 * container; the local run (`npm run local`) runs it in each worker process, time-compressed.
 *
 * Message body: JSON `{ "taskId": string, "prompt": string, "steps"?: number }`. A body that is
 * not such JSON is rejected (thrown), so after maxReceiveCount receives it lands in the DLQ.
 */
import type { MessageHandler } from '../lib/worker';

interface AgentTask {
  readonly taskId: string;
  readonly prompt: string;
  readonly steps?: number;
}

/** Steps of a task that does not say, and the most it may ask for. */
export const DEFAULT_STEPS = 3;
const MAX_STEPS = 20;
/** Log-normal spread of a model call's latency (sigma of its logarithm). */
const LATENCY_SIGMA = 0.8;
/** A tool call takes a fifth of a model call. */
const ACT_SHARE = 0.2;

/**
 * Mean and coefficient of variation of a task's duration, in units of the median step:
 * each step is a think ~ LogNormal(ln m, sigma) and an act ~ LogNormal(ln(m/5), sigma).
 * With the default 3 steps: mean 4.96 m, cv 0.46 (what the local run's prediction assumes).
 */
export function taskDurationStats(steps = DEFAULT_STEPS): { readonly meanMedians: number; readonly cv: number } {
  const mean1 = Math.exp((LATENCY_SIGMA * LATENCY_SIGMA) / 2);
  const var1 = (Math.exp(LATENCY_SIGMA * LATENCY_SIGMA) - 1) * mean1 * mean1;
  const meanMedians = steps * (1 + ACT_SHARE) * mean1;
  const sd = Math.sqrt(steps * (1 + ACT_SHARE * ACT_SHARE) * var1);
  return { meanMedians, cv: sd / meanMedians };
}

export function parseTask(body: string | undefined): AgentTask {
  const task = JSON.parse(body ?? '') as Partial<AgentTask>;
  if (typeof task.taskId !== 'string' || typeof task.prompt !== 'string') {
    throw new Error('a task needs a string taskId and prompt');
  }
  return task as AgentTask;
}

/** Waits until `deadline` (ms, Date.now() clock), or rejects as soon as `signal` aborts. */
function until(deadline: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, Math.max(0, deadline - Date.now()));
    const onAbort = (): void => { clearTimeout(timer); reject(signal.reason as Error); };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A simulated model call: log-normal latency around `medianMs`. */
function modelLatency(medianMs: number): number {
  const z = Math.sqrt(-2 * Math.log(Math.max(Math.random(), 1e-12))) * Math.cos(2 * Math.PI * Math.random());
  return medianMs * Math.exp(LATENCY_SIGMA * z);
}

/**
 * The simulated task with a median step of `medianStepMs`. Each step waits until its deadline
 * counted from the task's start, so timer lateness does not add up over the steps.
 */
export function simulatedAgentTask(
  medianStepMs: number,
  onDone?: (task: AgentTask, steps: number, signal: AbortSignal) => void | Promise<void>,
): MessageHandler {
  return async (message, { signal }) => {
    const task = parseTask(message.Body);
    const steps = Math.max(1, Math.min(task.steps ?? DEFAULT_STEPS, MAX_STEPS));
    let deadline = Date.now();
    for (let i = 0; i < steps; i++) {
      await until((deadline += modelLatency(medianStepMs)), signal); // think
      await until((deadline += modelLatency(medianStepMs * ACT_SHARE)), signal); // act (a tool call)
    }
    // A real agent writes its result to a store keyed by taskId (idempotently: SQS delivers at least once).
    await onDone?.(task, steps, signal);
  };
}

/** The handler with the median step from `AGENT_SIM_STEP_MS` (default 500 ms): what `--worker` defaults to in the local run. */
const handler: MessageHandler = simulatedAgentTask(Number(process.env.AGENT_SIM_STEP_MS ?? 500));
export default handler;
