import { Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { signalParams, type BacklogScalingModel } from '../policy/scaling-policy';
import { keepLabel, signalInputs, SPARE_WORKERS, type KeepSignal } from '../policy/signals';
import { spareWorkersExpressions, spareWorkersSignal } from '../policy/utilization';
import type { BacklogMetrics } from './backlog-metrics';
import { metricDataQueries, type MetricDataQuery } from './metric-queries';

/** CloudWatch evaluates at most 10 metrics in one alarm ("Alarms on metric math expressions"). */
const MAX_ALARM_METRICS = 10;

/**
 * A scale-in alarm's metrics with the extra signals (CPU, memory, `scaleOnMetric`): every input
 * with the alarm's period, each signal's own metric math, the backlog's spare workers, one term
 * per signal and the least of them, and, for an exact scale-in signal (`keeping`), that signal on
 * the need the spare count leaves: the last query, the only one that returns data.
 */
export function spareWorkersQueries(
  metrics: BacklogMetrics,
  model: BacklogScalingModel,
  signalMetrics: ReadonlyMap<string, cloudwatch.IMetric>,
  keeping?: KeepSignal,
): MetricDataQuery[] {
  const withPeriod = (m: cloudwatch.IMetric) => (m instanceof cloudwatch.Metric ? m.with({ period: metrics.period }) : m);
  const params = signalParams(model);
  const inputs = new Map<string, cloudwatch.IMetric>(signalInputs(SPARE_WORKERS, params).map((id) => [id, metrics.input(id)]));
  const own: MetricDataQuery[] = [];
  const add = (id: string, metric: cloudwatch.IMetric) => {
    const known = inputs.get(id);
    const identity = (m: cloudwatch.IMetric) => { const s = m.toMetricConfig().metricStat; return JSON.stringify([s?.namespace, s?.metricName, s?.dimensions]); };
    if (known && identity(known) !== identity(metric)) {
      throw new Error(`metric id "${id}" of a scaling signal is already used by another metric of the spare-workers alarm; rename it in usingMetrics`);
    }
    inputs.set(id, metric);
  };
  for (const signal of model.utilization ?? []) {
    const metric = signalMetrics.get(signal.id)!;
    if (metric instanceof cloudwatch.MathExpression) {
      Object.entries(metric.usingMetrics).forEach(([id, m]) => add(id, m));
      own.push({ id: signal.id, expression: metric.expression, returnData: false });
    } else {
      add(signal.id, metric);
    }
  }
  if (inputs.size > MAX_ALARM_METRICS) {
    throw new Error(`the spare-workers alarm would read ${inputs.size} metrics (${[...inputs.keys()].join(', ')}); CloudWatch allows ${MAX_ALARM_METRICS}`);
  }
  const carrier = new cloudwatch.MathExpression({
    expression: 'visible',
    usingMetrics: Object.fromEntries([...inputs].map(([id, m]) => [id, withPeriod(m)])),
    period: metrics.period,
  });
  const spare = spareWorkersExpressions(params, model.utilization ?? []);
  // The exact scale-in reads the need the spare count leaves (WORKERS_TO_KEEP, WORKERS_ABOVE_KEEP).
  const expressions = keeping
    ? [...spare, { id: keeping.id, expression: keeping.onSpare(SPARE_WORKERS.id, params) }]
    : spare;
  const spareLabel = spareWorkersSignal(model.utilization ?? []).label;
  const label = keeping ? keepLabel(keeping, spareLabel) : spareLabel;
  return [
    ...metricDataQueries(carrier, true).filter((q) => q.expression === undefined),
    ...own,
    ...expressions.map((e, i) => ({
      id: e.id,
      expression: e.expression,
      returnData: i === expressions.length - 1,
      ...(i === expressions.length - 1 ? { label } : {}),
    })),
  ];
}

/**
 * Makes a scale-in alarm (on `keeping`, else spare workers) read the extra signals, at synth: its metrics become
 * `spareWorkersQueries` once the model has any (the alarm keeps its own rendering otherwise), and
 * its evaluation periods those of the model then (longer with extra signals).
 */
export function bindUtilizationToScaleIn(
  alarm: cloudwatch.Alarm,
  metrics: BacklogMetrics,
  model: () => BacklogScalingModel,
  signalMetrics: ReadonlyMap<string, cloudwatch.IMetric>,
  keeping?: KeepSignal,
): void {
  const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm;
  const rendered = cfn.metrics;
  cfn.evaluationPeriods = Lazy.number({ produce: () => model().scaleIn.evaluationPeriods });
  cfn.datapointsToAlarm = Lazy.number({ produce: () => model().scaleIn.datapointsToAlarm });
  cfn.metrics = Lazy.any({
    produce: () => {
      const m = model();
      return m.utilization ? spareWorkersQueries(metrics, m, signalMetrics, keeping) : rendered;
    },
  });
}
