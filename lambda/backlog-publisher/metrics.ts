/**
 * What the handler computes, apart from the calls that feed it: reading the SQS and fleet
 * responses, the backlog per worker, and the MetricData of one sample. Pure: no SDK; the shapes
 * below are the fields of the SDK's responses and of CloudWatch's `MetricDatum` that are used.
 */
import { backlogPerWorker } from '../../lib/policy/backlog';
import { FLEET_DIMENSION, PUBLISHER_METRICS, PUBLISHER_METRIC_UNITS, type PublisherMetricName } from './contract';

/** The queue's three Approximate* counters. */
export interface QueueFigures {
  /** ApproximateNumberOfMessages: visible, waiting to be received. */
  readonly visible: number;
  /** ApproximateNumberOfMessagesNotVisible: received, not yet deleted. */
  readonly inFlight: number;
  /** ApproximateNumberOfMessagesDelayed: sent with a delay, not yet receivable. */
  readonly delayed: number;
}

/** The attributes asked of GetQueueAttributes, in the order of {@link QueueFigures}. */
export const QUEUE_ATTRIBUTE_NAMES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
] as const;

/** A response the handler cannot read: the figure it would give is left out, not guessed. */
export class UnreadableResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadableResponseError';
  }
}

function count(value: string | number | undefined, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new UnreadableResponseError(`${what}: expected a count, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Reads GetQueueAttributes' `Attributes` (counts as decimal strings). */
export function parseQueueAttributes(attributes: Readonly<Record<string, string>> | undefined): QueueFigures {
  const [visible, inFlight, delayed] = QUEUE_ATTRIBUTE_NAMES.map((name) => count(attributes?.[name], name));
  return { visible, inFlight, delayed };
}

/** The parts of ECS DescribeServices' output that are read. */
export interface DescribeServicesShape {
  readonly services?: readonly { readonly serviceName?: string; readonly status?: string; readonly runningCount?: number; readonly desiredCount?: number }[];
  readonly failures?: readonly { readonly arn?: string; readonly reason?: string; readonly detail?: string }[];
}

function describedService(output: DescribeServicesShape, service: string) {
  const found = output.services?.[0];
  if (!found) {
    const failure = output.failures?.[0];
    const why = failure ? `${failure.reason ?? 'failure'}${failure.detail ? ` (${failure.detail})` : ''}` : 'not in the response';
    throw new UnreadableResponseError(`ECS service ${service}: ${why}`);
  }
  return found;
}

/** The service's `runningCount`: tasks in RUNNING. A missing service is an error, not 0. */
export function runningTasks(output: DescribeServicesShape, service: string): number {
  return count(describedService(output, service).runningCount, `ECS service ${service} runningCount`);
}

/**
 * The service's `desiredCount`: the tasks scaling asked for, running or still starting; undefined
 * when the response has none (then only the running count is put).
 */
export function desiredTasks(output: DescribeServicesShape, service: string): number | undefined {
  const desired = describedService(output, service).desiredCount;
  return desired === undefined ? undefined : count(desired, `ECS service ${service} desiredCount`);
}

/** The parts of DescribeAutoScalingGroups' output that are read. */
export interface DescribeAutoScalingGroupsShape {
  readonly AutoScalingGroups?: readonly { readonly DesiredCapacity?: number; readonly Instances?: readonly { readonly LifecycleState?: string }[] }[];
}

/**
 * Instances in `InService`: the group's serving capacity, as GroupInServiceInstances counts it.
 * Pending (still booting), Standby, Terminating and Warmed:* instances are not workers yet or any more.
 */
export function inServiceInstances(output: DescribeAutoScalingGroupsShape, groupName: string): number {
  return (describedGroup(output, groupName).Instances ?? []).filter((i) => i.LifecycleState === 'InService').length;
}

/** The group's `DesiredCapacity`: the instances scaling asked for, in service or still launching (undefined when absent). */
export function groupDesiredCapacity(output: DescribeAutoScalingGroupsShape, groupName: string): number | undefined {
  const desired = describedGroup(output, groupName).DesiredCapacity;
  return desired === undefined ? undefined : count(desired, `Auto Scaling group ${groupName} DesiredCapacity`);
}

function describedGroup(output: DescribeAutoScalingGroupsShape, groupName: string) {
  const group = output.AutoScalingGroups?.[0];
  if (!group) throw new UnreadableResponseError(`Auto Scaling group ${groupName}: not found`);
  return group;
}

/** One sample: what could be read at `timestamp`. A figure that could not be read is absent. */
export interface Sample {
  readonly timestamp: Date;
  readonly queue?: QueueFigures;
  readonly runningWorkers?: number;
  readonly desiredWorkers?: number;
}

/** The fields of CloudWatch's `MetricDatum` that the handler sets. */
export interface Datum {
  readonly MetricName: PublisherMetricName;
  readonly Dimensions: { readonly Name: string; readonly Value: string }[];
  readonly Timestamp: Date;
  readonly Value: number;
  readonly Unit: 'Count' | 'None';
  readonly StorageResolution: 1 | 60;
}

/** High resolution (1) for periods under a minute, so CloudWatch keeps the 10 s and 30 s datapoints. */
export function storageResolution(periodSeconds: number): 1 | 60 {
  return periodSeconds < 60 ? 1 : 60;
}

/** The sample's figures by metric name: backlog per worker only when both of its inputs were read. */
export function sampleFigures(sample: Sample): Partial<Record<PublisherMetricName, number>> {
  const M = PUBLISHER_METRICS;
  const out: Partial<Record<PublisherMetricName, number>> = {};
  if (sample.queue && sample.runningWorkers !== undefined) {
    out[M.backlogPerWorker] = backlogPerWorker(sample.queue.visible, sample.runningWorkers);
  }
  if (sample.queue) {
    out[M.visibleMessages] = sample.queue.visible;
    out[M.inFlightMessages] = sample.queue.inFlight;
    out[M.delayedMessages] = sample.queue.delayed;
  }
  if (sample.runningWorkers !== undefined) out[M.runningWorkers] = sample.runningWorkers;
  if (sample.desiredWorkers !== undefined) out[M.desiredWorkers] = sample.desiredWorkers;
  return out;
}

/** The MetricData of one sample, all with the dimension `Fleet` = `fleetName`. */
export function buildMetricData(sample: Sample, fleetName: string, periodSeconds: number): Datum[] {
  const resolution = storageResolution(periodSeconds);
  return Object.entries(sampleFigures(sample)).map(([name, value]) => ({
    MetricName: name as PublisherMetricName,
    Dimensions: [{ Name: FLEET_DIMENSION, Value: fleetName }],
    Timestamp: sample.timestamp,
    Value: value,
    Unit: PUBLISHER_METRIC_UNITS[name as PublisherMetricName],
    StorageResolution: resolution,
  }));
}
