import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { workerMetric, type IAgentFleet } from '../fleet/agent-fleet';
import type { IAgentQueue } from '../queue/agent-queue';
import { signalInputs, type ScalingSignal, type SignalInput, type SignalParams } from '../policy/signals';
import { WORKER_METRICS } from '../worker/contract';
import type { BacklogPublisher } from './backlog-publisher';

/**
 * Builds the CloudWatch metrics of a fleet on its queue, and the policy's signals as metric math
 * over them: the one place where scaling and monitoring get their metrics.
 */
export class BacklogMetrics {
  constructor(
    private readonly queue: IAgentQueue,
    private readonly fleet: IAgentFleet,
    /** Period of every metric. SQS metrics come once a minute. */
    public readonly period: Duration = Duration.minutes(1),
    /** The backlog publisher, when its high-resolution metrics are the inputs. */
    private readonly publisher?: BacklogPublisher,
  ) {}

  /** The inputs of the signals, by the ids their expressions use. */
  public input(id: SignalInput): cloudwatch.IMetric {
    // The workers' mean processing time comes from their own embedded metrics, whatever the source of the counts.
    if (id === 'processingTime') return workerMetric(this.fleet, WORKER_METRICS.processingTime, { period: this.period, statistic: cloudwatch.Stats.AVERAGE });
    if (this.publisher) return this.publisher.metricInput(id, { period: this.period });
    const options = { period: this.period, statistic: cloudwatch.Stats.MAXIMUM };
    switch (id) {
      case 'visible': return this.queue.metricVisible(options);
      case 'inFlight': return this.queue.metricInFlight(options);
      case 'delayed': return this.queue.metricDelayed(options);
      case 'running': return this.fleet.metricRunningWorkers({ period: this.period });
      case 'desired': return this.fleet.metricDesiredWorkers({ period: this.period });
    }
  }

  /** A signal of the policy model as metric math, with the `params` (target, concurrency, fill) in place. */
  public signal(signal: ScalingSignal, params: SignalParams): cloudwatch.MathExpression {
    const inputs = signalInputs(signal, params);
    return new cloudwatch.MathExpression({
      expression: signal.expression(params),
      usingMetrics: Object.fromEntries(inputs.map((id) => [id, this.input(id)])),
      label: inputs.includes('processingTime') ? `${signal.label}, visible messages weighed by the measured task time` : signal.label,
      period: this.period,
    });
  }
}
