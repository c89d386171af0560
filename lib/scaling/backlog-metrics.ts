import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { IAgentFleet } from '../fleet/agent-fleet';
import type { IAgentQueue } from '../queue/agent-queue';
import type { ScalingSignal, SignalInput } from '../policy/signals';

/**
 * Builds the CloudWatch metrics of a fleet on its queue, and the policy's signals as metric math
 * over them: the one place where scaling and monitoring get their metrics.
 */
export class BacklogMetrics {
  constructor(
    private readonly queue: IAgentQueue,
    private readonly fleet: IAgentFleet,
    /** Period of every metric. SQS metrics come once a minute. */
    private readonly period: Duration = Duration.minutes(1),
    /** Running workers, when another source than the fleet's own metric counts them. */
    private readonly runningWorkers?: cloudwatch.IMetric,
  ) {}

  /** The inputs of the signals, by the ids their expressions use. */
  public input(id: SignalInput): cloudwatch.IMetric {
    const options = { period: this.period, statistic: cloudwatch.Stats.MAXIMUM };
    switch (id) {
      case 'visible': return this.queue.metricVisible(options);
      case 'inFlight': return this.queue.metricInFlight(options);
      case 'delayed': return this.queue.metricDelayed(options);
      case 'running': return this.runningWorkers ?? this.fleet.metricRunningWorkers({ period: this.period });
    }
  }

  /** A signal of the policy model as metric math, with `target` in place. */
  public signal(signal: ScalingSignal, target: number): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: signal.expression(target),
      usingMetrics: Object.fromEntries(signal.inputs.map((id) => [id, this.input(id)])),
      label: signal.label,
      period: this.period,
    });
  }
}
