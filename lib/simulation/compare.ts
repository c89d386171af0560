/** Runs every policy of a comparison on the same messages. */
import type { SimulationConfig } from './config';
import { simulate, type RunResult } from './engine';
import { fixedPolicy, foresightPolicy, kedaPolicy, oursPolicy, plainStepsPolicy, qpfsPolicy, type SimulationPolicy } from './policies';
import { summarize, type RunSummary } from './stats';
import { materialize, type Messages, type Trace } from './trace';

export interface Comparison {
  readonly trace: Trace;
  readonly durationSeconds: number;
  readonly policies: readonly SimulationPolicy[];
  readonly runs: readonly RunResult[];
  readonly summaries: readonly RunSummary[];
}

/** Workers the first five minutes' arrivals keep busy, rounded up: every fleet starts there, warm. */
export function initialWorkers(messages: Messages, config: SimulationConfig): number {
  const window = 300;
  let work = 0;
  for (let m = 0; m < messages.count && messages.sentAt[m] < window; m++) work += messages.processingSeconds[m];
  return Math.ceil(work / window / config.params.worker.concurrency);
}

/** Work in the whole trace per second, in workers: the size of a fixed fleet sized for the average. */
function averageWorkers(messages: Messages, config: SimulationConfig, trace: Trace): number {
  let work = 0;
  for (let m = 0; m < messages.count; m++) work += messages.processingSeconds[m];
  return Math.max(1, Math.ceil(work / trace.durationSeconds / config.params.worker.concurrency));
}

/** The policies compared by default. */
export function defaultPolicies(messages: Messages, config: SimulationConfig, trace: Trace): SimulationPolicy[] {
  const start = initialWorkers(messages, config);
  const max = config.fleet.maxWorkers;
  const fixed = config.fixedFleets ?? [...new Set([averageWorkers(messages, config, trace), max])];
  return [
    oursPolicy(config.fleet, config.params, start),
    qpfsPolicy(max, start),
    plainStepsPolicy(config.fleet, start),
    kedaPolicy(config.fleet, config.params, start),
    ...fixed.map(fixedPolicy),
    foresightPolicy(max, start),
  ];
}

export interface CompareOptions {
  readonly policies?: readonly SimulationPolicy[];
  readonly durationSeconds?: number;
  /** The trace's messages, when the caller materialized them already (same config). */
  readonly messages?: Messages;
  /** Called with (policy index, seconds simulated) as runs progress. */
  readonly onProgress?: (policyIndex: number, second: number) => void;
}

export function compare(trace: Trace, config: SimulationConfig, options: CompareOptions = {}): Comparison {
  const messages = options.messages ?? materialize(trace, config.params);
  const policies = options.policies ?? defaultPolicies(messages, config, trace);
  const durationSeconds = options.durationSeconds ?? Math.ceil(trace.durationSeconds + config.params.tailSeconds);
  const runs = policies.map((p, i) => simulate(messages, p, config.params, durationSeconds, (s) => options.onProgress?.(i, s)));
  return { trace, durationSeconds, policies, runs, summaries: runs.map((r) => summarize(r, config.params.latencyGoalSeconds)) };
}
