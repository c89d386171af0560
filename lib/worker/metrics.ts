/**
 * CloudWatch Embedded Metric Format records through `aws-embedded-metrics`, written to stdout
 * (the container's log driver ships them to CloudWatch Logs, which extracts the metrics). The
 * library's own environment detection is bypassed: on ECS it would send to a CloudWatch agent
 * over TCP, which a Fargate task does not run.
 *
 * Metrics (dimension `Fleet` when a fleet name is set): `ProcessingTime` (ms, one value per
 * message — what `BacklogTarget.fromLatency` needs; stored at high resolution),
 * `MessagesProcessed`, `MessagesFailed`, `HandlerTimeouts` (counts) and `InFlight` (messages held
 * when the record is written); and the business metrics handlers put through `context.metrics`,
 * in the same records.
 */
// The library's modules, not its index: importing the index starts its environment detection at
// once, which probes the EC2 instance metadata service (an HTTP request to 169.254.169.254) in
// every process that loads the worker, off AWS too (`npm run local`, tests).
import type { IEnvironment } from 'aws-embedded-metrics/lib/environment/IEnvironment';
import { MetricsContext } from 'aws-embedded-metrics/lib/logger/MetricsContext';
import { MetricsLogger } from 'aws-embedded-metrics/lib/logger/MetricsLogger';
import { StorageResolution } from 'aws-embedded-metrics/lib/logger/StorageResolution';
import { Unit } from 'aws-embedded-metrics/lib/logger/Unit';
import { LogSerializer } from 'aws-embedded-metrics/lib/serializers/LogSerializer';
import { WORKER_METRICS } from './contract';
import type { WorkerLogger } from './logger';
import type { HandlerMetrics, MetricUnit } from './options';

const UNITS = new Set<string>(Object.values(Unit));
const RESERVED = new Set<string>(Object.values(WORKER_METRICS));
/** CloudWatch metric names are 1-255 characters. */
const MAX_NAME_LENGTH = 255;

/** Business metrics when the worker writes none. */
export const NO_HANDLER_METRICS: HandlerMetrics = { put: () => undefined };

export interface WorkerMetricsOptions {
  readonly namespace: string;
  readonly fleetName?: string;
  readonly intervalMs: number;
  readonly write: (line: string) => void;
  readonly inFlight: () => number;
  readonly logger: WorkerLogger;
}

/** Values per record before an early flush (EMF allows 100 values per metric). */
const MAX_VALUES = 100;

export class WorkerMetrics implements HandlerMetrics {
  private readonly metrics: MetricsLogger;
  private timer: NodeJS.Timeout | undefined;
  private times = 0;
  private processed = 0;
  private failed = 0;
  private timeouts = 0;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: WorkerMetricsOptions) {
    const serializer = new LogSerializer();
    const sink = {
      name: 'WorkerSink',
      accept: async (context: MetricsContext) => {
        for (const line of serializer.serialize(context)) options.write(line);
      },
    };
    const environment: IEnvironment = {
      probe: async () => true,
      getName: () => options.fleetName ?? 'agent-worker',
      getType: () => 'AgentWorker',
      getLogGroupName: () => '',
      configureContext: () => undefined,
      getSink: () => sink,
    };
    this.metrics = new MetricsLogger(async () => environment, MetricsContext.empty());
    this.metrics.setNamespace(options.namespace);
    this.metrics.setDimensions(options.fleetName ? [{ [WORKER_METRICS.fleetDimension]: options.fleetName }] : [], false);
    this.timer = setInterval(() => this.flush(), options.intervalMs);
    this.timer.unref();
  }

  succeeded(durationMs: number): void {
    this.processed++;
    this.time(durationMs);
  }

  failedOnce(durationMs: number, timedOut: boolean): void {
    this.failed++;
    if (timedOut) this.timeouts++;
    this.time(durationMs);
  }

  /** A business metric of a handler, written with the next record. */
  put(name: string, value: number, unit: MetricUnit = 'None'): void {
    const problem = typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH ? `a name of 1-${MAX_NAME_LENGTH} characters`
      : RESERVED.has(name) ? `a name other than the worker's own metrics (${[...RESERVED].join(', ')})`
        : typeof value !== 'number' || !Number.isFinite(value) ? 'a finite number'
          : !UNITS.has(unit) ? `a CloudWatch unit (${[...UNITS].join(', ')})`
            : undefined;
    if (problem) {
      this.options.logger.warn('metric dropped: it needs ' + problem, { name: String(name), value: String(value), unit: String(unit) });
      return;
    }
    this.metrics.putMetric(name, value, unit as Unit, StorageResolution.Standard);
  }

  /** Writes a record of what was gathered since the last one. */
  flush(): Promise<void> {
    const m = this.metrics;
    m.putMetric(WORKER_METRICS.messagesProcessed, this.processed, Unit.Count, StorageResolution.Standard);
    m.putMetric(WORKER_METRICS.messagesFailed, this.failed, Unit.Count, StorageResolution.Standard);
    m.putMetric(WORKER_METRICS.handlerTimeouts, this.timeouts, Unit.Count, StorageResolution.Standard);
    m.putMetric(WORKER_METRICS.inFlight, this.options.inFlight(), Unit.Count, StorageResolution.Standard);
    this.processed = this.failed = this.timeouts = this.times = 0;
    this.writing = this.writing.then(() => m.flush()).catch((error: unknown) => {
      this.options.logger.warn('could not write metrics', { error });
    });
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  // High resolution: the publisher's scaling alarms read ProcessingTime at their 10 s period, and
  // CloudWatch serves periods under a minute only for metrics stored at 1 s (MetricStat, "Period").
  // Each worker's record still comes once an interval, so a 10 s period holds the records written
  // in it; where none landed, the alarms repeat the last mean as far back as their query reaches
  // (docs/simulation.md, twenty-eighth round: the same publisher cells pass either way).
  private time(durationMs: number): void {
    this.metrics.putMetric(WORKER_METRICS.processingTime, Math.round(durationMs * 1000) / 1000, Unit.Milliseconds, StorageResolution.High);
    if (++this.times >= MAX_VALUES) void this.flush();
  }
}
