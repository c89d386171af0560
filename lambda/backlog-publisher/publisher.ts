/**
 * One invocation: sample the queue and the fleet every period for the scheduled minute and put
 * the figures to CloudWatch. A failed call costs only the figures it would have given; the
 * invocation itself never fails on one (a bad configuration is the only error it throws).
 */
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { PutMetricDataCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DescribeServicesCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PublisherConfig, WorkerSource } from './config';
import {
  buildMetricData, desiredTasks, groupDesiredCapacity, inServiceInstances, parseQueueAttributes, QUEUE_ATTRIBUTE_NAMES, runningTasks,
  sampleFigures, type Datum, type QueueFigures, type Sample,
} from './metrics';
import { cycleOffsetsMs, DEFAULT_TIMING, decideCycle, gridTimestampMs, planCycles, type CycleTiming } from './timing';

/** The SDK clients; the fleet's one (ECS or Auto Scaling) is required by the configuration. */
export interface PublisherClients {
  readonly sqs: SQSClient;
  readonly cloudWatch: CloudWatchClient;
  readonly ecs?: ECSClient;
  readonly autoScaling?: AutoScalingClient;
}

/** What an invocation runs with besides its configuration; clock and sleep are for tests. */
export interface PublisherDeps {
  readonly clients: PublisherClients;
  /** Milliseconds since the epoch. @default Date.now */
  readonly clock?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Receives one JSON line per cycle. @default console.log */
  readonly log?: (line: string) => void;
  readonly timing?: CycleTiming;
}

/** The part of Lambda's context the handler uses. */
export interface InvocationContext {
  getRemainingTimeInMillis(): number;
}

/** What an invocation did, returned by the handler (and logged cycle by cycle). */
export interface InvocationSummary {
  /** Cycles that sampled. */
  readonly cycles: number;
  /** Planned cycles left out: too late for their slot, or too close to the timeout. */
  readonly skipped: number;
  /** Datapoints CloudWatch accepted. */
  readonly published: number;
  /** Datapoints never accepted (every put that carried them failed). */
  readonly unpublished: number;
}

type Source = 'sqs' | 'workers' | 'cloudwatch';

/** A failed call, as logged. */
interface CallError {
  readonly source: Source;
  readonly name: string;
  readonly message: string;
}

/** Datapoints a failed put leaves are carried to the next cycle's put, up to PutMetricData's 1,000. */
const MAX_DATA_PER_PUT = 1000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function toCallError(source: Source, reason: unknown): CallError {
  const e = reason instanceof Error ? reason : new Error(String(reason));
  return { source, name: e.name, message: e.message };
}

async function readQueue(sqs: SQSClient, queueUrl: string, abortSignal: AbortSignal): Promise<QueueFigures> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...QUEUE_ATTRIBUTE_NAMES] }), { abortSignal });
  return parseQueueAttributes(out.Attributes);
}

/** Running and desired workers, from one call. */
async function readWorkers(source: WorkerSource, clients: PublisherClients, abortSignal: AbortSignal): Promise<{ running: number; desired?: number }> {
  if (source.kind === 'ecs') {
    if (!clients.ecs) throw new Error('no ECS client');
    const out = await clients.ecs.send(new DescribeServicesCommand({ cluster: source.cluster, services: [source.service] }), { abortSignal });
    return { running: runningTasks(out, source.service), desired: desiredTasks(out, source.service) };
  }
  if (!clients.autoScaling) throw new Error('no Auto Scaling client');
  const out = await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [source.groupName] }), { abortSignal });
  return { running: inServiceInstances(out, source.groupName), desired: groupDesiredCapacity(out, source.groupName) };
}

/** Runs the cycles of one invocation. Resolves with a summary; rejects only on a programming error. */
export async function runInvocation(config: PublisherConfig, deps: PublisherDeps, context: InvocationContext): Promise<InvocationSummary> {
  const clock = deps.clock ?? Date.now;
  const sleep = deps.sleep ?? defaultSleep;
  const log = deps.log ?? ((line: string) => console.log(line));
  const timing = deps.timing ?? DEFAULT_TIMING;
  const { clients } = deps;

  const start = clock();
  const offsets = planCycles(config.periodSeconds, context.getRemainingTimeInMillis(), timing);
  const planned = cycleOffsetsMs(config.periodSeconds).length;
  let pending: Datum[] = [];
  let cycles = 0;
  let published = 0;
  let lost = 0;

  for (const [index, offset] of offsets.entries()) {
    const wait = start + offset - clock();
    if (wait > 0) await sleep(wait);
    const cycleStart = clock();
    const decision = decideCycle(offset, cycleStart - start, config.periodSeconds, context.getRemainingTimeInMillis(), timing);
    if (!decision.run) {
      if (decision.reason === 'timeout') break;
      continue;
    }
    cycles++;

    const readSignal = AbortSignal.timeout(decision.readMs);
    const [queue, workers] = await Promise.allSettled([
      readQueue(clients.sqs, config.queueUrl, readSignal),
      readWorkers(config.workers, clients, readSignal),
    ]);
    const errors: CallError[] = [];
    if (queue.status === 'rejected') errors.push(toCallError('sqs', queue.reason));
    if (workers.status === 'rejected') errors.push(toCallError('workers', workers.reason));
    const sample: Sample = {
      timestamp: new Date(gridTimestampMs(start, offset, config.periodSeconds)),
      queue: queue.status === 'fulfilled' ? queue.value : undefined,
      runningWorkers: workers.status === 'fulfilled' ? workers.value.running : undefined,
      desiredWorkers: workers.status === 'fulfilled' ? workers.value.desired : undefined,
    };

    pending.push(...buildMetricData(sample, config.fleetName, config.periodSeconds));
    if (pending.length > MAX_DATA_PER_PUT) {
      lost += pending.length - MAX_DATA_PER_PUT;
      pending = pending.slice(-MAX_DATA_PER_PUT);
    }
    let put = 0;
    if (pending.length > 0) {
      const putMs = Math.max(1, Math.floor(decision.totalMs - (clock() - cycleStart)));
      try {
        await clients.cloudWatch.send(new PutMetricDataCommand({ Namespace: config.namespace, MetricData: pending }),
          { abortSignal: AbortSignal.timeout(putMs) });
        put = pending.length;
        published += put;
        pending = [];
      } catch (e) {
        errors.push(toCallError('cloudwatch', e));
      }
    }

    log(JSON.stringify({
      level: errors.length === 0 ? 'INFO' : 'WARN',
      message: errors.length === 0 ? 'published' : 'published what could be read',
      fleet: config.fleetName,
      namespace: config.namespace,
      cycle: index + 1,
      of: planned,
      ...sampleFigures(sample),
      put,
      carried: pending.length,
      errors,
      durationMs: clock() - cycleStart,
    }));
  }

  const unpublished = lost + pending.length;
  if (unpublished > 0) {
    log(JSON.stringify({ level: 'ERROR', message: 'datapoints not published', fleet: config.fleetName, unpublished }));
  }
  return { cycles, skipped: planned - cycles, published, unpublished };
}
