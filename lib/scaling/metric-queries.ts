import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** One input or the expression of a target tracking metric math specification, in CloudFormation's shape. */
export interface MetricDataQuery {
  readonly id: string;
  readonly label?: string;
  readonly expression?: string;
  readonly metricStat?: {
    readonly metric: {
      readonly namespace: string;
      readonly metricName: string;
      readonly dimensions?: { readonly name: string; readonly value: string }[];
    };
    readonly stat: string;
    readonly unit?: string;
    readonly period?: number;
  };
  readonly returnData: boolean;
}

/**
 * Turns a MathExpression into CloudFormation's `CustomizedMetricSpecification.Metrics`: one query
 * per input metric, and the expression last, the only one that returns data. This is the escape
 * hatch the L2 target tracking policies lack ("Only direct metrics are supported").
 * `withPeriod` adds each input's period (EC2 Auto Scaling only; high-resolution metrics).
 */
export function metricDataQueries(expression: cloudwatch.MathExpression, withPeriod = false): MetricDataQuery[] {
  const inputs = Object.entries(expression.usingMetrics).map(([id, metric]): MetricDataQuery => {
    const stat = metric.toMetricConfig().metricStat;
    if (!stat) throw new Error(`metric '${id}' of expression '${expression.expression}' must be a plain metric`);
    const dimensions = (stat.dimensions ?? []).map((d) => ({ name: d.name, value: String(d.value) }));
    return {
      id,
      metricStat: {
        metric: {
          namespace: stat.namespace,
          metricName: stat.metricName,
          ...(dimensions.length > 0 ? { dimensions } : {}),
        },
        stat: stat.statistic,
        ...(stat.unitFilter ? { unit: stat.unitFilter } : {}),
        ...(withPeriod ? { period: stat.period.toSeconds() } : {}),
      },
      returnData: false,
    };
  });
  return [...inputs, { id: 'e1', label: expression.label, expression: expression.expression, returnData: true }];
}
