import { Duration, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { workerMetric as workerMetricOf, type IAgentFleet } from '../fleet/agent-fleet';
import { isModelScaledFleet } from '../fleet/model-scaled-fleet';
import { BACKLOG_PER_WORKER } from '../policy/signals';
import { signalParams } from '../policy/scaling-policy';
import { UtilizationSource } from '../policy/utilization';
import { check, checkRange } from '../policy/violation';
import type { IAgentQueue } from '../queue/agent-queue';
import type { BacklogScaling } from '../scaling/backlog-scaling';
import { WORKER_METRICS } from '../worker/contract';
import { knownNumber, knownSeconds, throwIfInvalid } from '../validation';

/** Properties of `AgentFleetMonitoring`. */
export interface AgentFleetMonitoringProps {
  readonly queue: IAgentQueue;
  readonly fleet: IAgentFleet;
  readonly scaling: BacklogScaling;
  /**
   * How long a task may wait: the oldest-message alarm's threshold and the age graph's line.
   * @default - the scaling target's acceptable latency, or 15 minutes
   */
  readonly latencyGoal?: Duration;
  /**
   * Where the alarms notify.
   * @default - no notification (alarms still show on the dashboard)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * The dashboard's name.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * Names of the business metrics the agents publish with `context.metrics.put` (tokens used,
   * tool calls, cost per task): graphed per minute (Sum) with the fleet's dimension.
   * @default - none
   */
  readonly businessMetrics?: string[];
  /**
   * Memory utilization of the fullest worker (Maximum, %) at which the memory alarm fires: a
   * worker killed for lack of memory loses its in-flight tasks until their visibility times out.
   * @default 90
   */
  readonly memoryAlarmPercent?: number;
}

const WIDGET = { width: 8, height: 6 } as const;

/**
 * Minutes that workers may be wanted and not start before the workers-not-starting alarm fires:
 * over 3 times the slowest start we know of (an EC2 instance InService after 60-180 s, plus the
 * image pull; a Fargate task with a large image after 60-90 s), so a healthy start never fires it.
 */
const WORKER_START_ALARM_MINUTES = 10;
const MINUTE = Duration.minutes(1);

/**
 * The processing-time alarm fires when the workers' mean time per task stays above this multiple
 * of the one the scaling target was derived from. Unweighed (`weighByMeasuredTime: false`, EKS),
 * a target from too short a time holds more backlog per worker than the latency goal meant: on the
 * suite, tasks 1.33x the declared time passed 107 of 120 cells against 108; tasks 2x, 91, slow
 * rises waiting just past the goal (docs/simulation.md, twenty-third round). 1.5x lies between.
 * Weighed, the fleet holds its waits, but the first minute of each onset is still sized on the
 * declared time: the alarm says the figure is out of date.
 */
const PROCESSING_TIME_ALARM_RATIO = 1.5;
/** ...for an hour (4 quarters of an hour): a drift of the tasks, not one slow batch. */
const PROCESSING_TIME_ALARM_PERIOD = Duration.minutes(15);
const PROCESSING_TIME_ALARM_PERIODS = 4;
/**
 * Minutes without a datapoint from the backlog publisher before its alarm fires. The publisher
 * logs and swallows a failed call (its invocation does not fail, so Lambda's Errors stay 0):
 * only its missing datapoints tell. Three minutes ride out one late invocation.
 */
const PUBLISHER_SILENT_ALARM_MINUTES = 3;

/**
 * The fleet's CloudWatch dashboard (backlog, backlog per worker against its target, workers,
 * age of the oldest task against the latency goal, dead letters, throughput, processing time
 * against the one the target assumed) and its alarms (dead letters, tasks older than the goal, a
 * fleet at its maximum while the backlog grows, workers wanted that do not start, a worker near
 * its memory limit, tasks much slower than the target assumed), CPU and memory of both computes
 * (on EC2 it turns on the CloudWatch agent for memory) and the agents' business metrics.
 * Metrics come from the scaling's metric factory, so the graphs show what scaling sees.
 */
export class AgentFleetMonitoring extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  /** Any task in the dead-letter queue. */
  public readonly deadLetterAlarm?: cloudwatch.Alarm;
  /** The oldest task has waited longer than the latency goal for 3 minutes. */
  public readonly oldestMessageAlarm: cloudwatch.Alarm;
  /** The fleet has run at its maximum while the backlog grew, 3 minutes running. */
  public readonly fleetSaturatedAlarm: cloudwatch.Alarm;
  /**
   * Desired workers above running ones for 10 minutes without one more starting (a broken image,
   * a crash at start). Absent on a fleet that KEDA scales: the HPA's desired replicas are not a
   * CloudWatch metric, so there is nothing to compare running pods with.
   */
  public readonly workersNotStartingAlarm?: cloudwatch.Alarm;
  public readonly latencyGoal: Duration;
  /** The fullest worker has used more than `memoryAlarmPercent` of its memory for 2 minutes. */
  public readonly memoryAlarm: cloudwatch.Alarm;
  /**
   * The workers' mean processing time has been above 1.5x the one the scaling target was derived
   * from for an hour. Absent when the target did not come from `BacklogTarget.fromLatency` with a
   * processing time known at synth.
   */
  public readonly processingTimeAlarm?: cloudwatch.Alarm;
  /**
   * The backlog publisher has put no datapoint for 3 minutes: scaling reads nothing, so it neither
   * scales out nor takes the fleet from zero. Only when scaling reads a publisher; it also fires
   * for the minutes between its creation and the publisher's first datapoint.
   */
  public readonly publisherSilentAlarm?: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: AgentFleetMonitoringProps) {
    super(scope, id);
    const { queue, fleet, scaling } = props;
    this.latencyGoal = props.latencyGoal ?? scaling.target.acceptableLatency ?? Duration.minutes(15);
    const goalSeconds = knownSeconds(this.latencyGoal);
    const memoryAlarmPercent = props.memoryAlarmPercent ?? 90;
    throwIfInvalid(this, [
      // A goal under a minute is fine: SQS reports the age in seconds, once a minute.
      ...check(goalSeconds === undefined || goalSeconds > 0, 'latencyGoal', '> 0 seconds', `${goalSeconds} seconds`),
      ...checkRange('memoryAlarmPercent', knownNumber(memoryAlarmPercent), 1, 100, ' %'),
      ...(props.businessMetrics ?? []).flatMap((name, i) => check(name.length > 0 && name.length <= 255, `businessMetrics[${i}]`, 'a metric name of 1-255 characters', `"${name}"`)),
    ]);
    // On EC2 the memory metric comes from the CloudWatch agent, which this turns on.
    fleet.enableUtilizationMetrics();
    const target = scaling.model.targetBacklogPerWorker;
    const input = (id: 'visible' | 'inFlight' | 'delayed' | 'running') => scaling.metrics.input(id);
    const action = props.alarmTopic ? new cwActions.SnsAction(props.alarmTopic) : undefined;
    const withAction = (alarm: cloudwatch.Alarm) => {
      if (action) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      return alarm;
    };

    this.deadLetterAlarm = queue.deadLetterQueue && withAction(new cloudwatch.Alarm(this, 'DeadLetterAlarm', {
      alarmDescription: `Tasks of ${fleet.node.path} failed maxReceiveCount times and are in the dead-letter queue`,
      metric: queue.metricDeadLetters({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.oldestMessageAlarm = withAction(new cloudwatch.Alarm(this, 'OldestMessageAlarm', {
      alarmDescription: `A task of ${fleet.node.path} has waited longer than the latency goal (${goalSeconds} s)`,
      metric: queue.metricOldestMessageAge({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: goalSeconds ?? 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));
    this.fleetSaturatedAlarm = withAction(new cloudwatch.Alarm(this, 'FleetSaturatedAlarm', {
      alarmDescription: `${fleet.node.path} runs its maximum of ${Tokenization.stringifyNumber(fleet.maxWorkers)} workers and the backlog still grows: raise maxWorkers`,
      metric: new cloudwatch.MathExpression({
        // stringifyNumber: a maxWorkers from a CfnParameter is resolved into the expression at deploy.
        expression: `IF(FILL(running, 0) >= ${Tokenization.stringifyNumber(fleet.maxWorkers)} AND DIFF(visible) > 0, 1, 0)`,
        usingMetrics: { running: input('running'), visible: input('visible') },
        label: 'At max workers with a growing backlog',
        period: scaling.metrics.period,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    // A fleet at zero deploys a broken image "successfully": ECS's deployment circuit breaker
    // counts only tasks that fail to reach RUNNING during a deployment (Amazon ECS Developer
    // Guide, "How the Amazon ECS deployment circuit breaker detects failures"), and with no task
    // to start there is nothing to count; an EC2 group replaces instances that fail their health
    // check without end. So alarm when workers are wanted and none starts: desired above running
    // in every minute, and running not rising, for 10 minutes. Both counts come from the fleet's
    // own source (Container Insights, or the group's metrics), so they arrive together.
    this.workersNotStartingAlarm = isModelScaledFleet(fleet) ? undefined : withAction(new cloudwatch.Alarm(this, 'WorkersNotStartingAlarm', {
      alarmDescription: `${fleet.node.path} wants more workers than run, and none has started for ${WORKER_START_ALARM_MINUTES} minutes: `
        + 'look at stopped tasks or the instances\' agent logs (image, permissions, start-up errors)',
      metric: new cloudwatch.MathExpression({
        expression: 'IF(desired - running >= 1 AND DIFF(running) <= 0, 1, 0)',
        usingMetrics: { desired: fleet.metricDesiredWorkers(), running: fleet.metricRunningWorkers() },
        label: 'Workers wanted and not starting',
        period: MINUTE,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: WORKER_START_ALARM_MINUTES,
      datapointsToAlarm: WORKER_START_ALARM_MINUTES,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    this.memoryAlarm = withAction(new cloudwatch.Alarm(this, 'MemoryAlarm', {
      alarmDescription: `A worker of ${fleet.node.path} has used more than ${memoryAlarmPercent} % of its memory for 2 minutes: `
        + 'if it is killed for lack of memory, its in-flight tasks wait for their visibility timeout. Give workers more memory, lower concurrency, or scale on memoryTargetPercent.',
      metric: fleet.metricMemoryUtilization({ statistic: cloudwatch.Stats.MAXIMUM, period: MINUTE }),
      threshold: memoryAlarmPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    const workerMetric = (metricName: string, label: string, options: cloudwatch.MetricOptions = {}) =>
      workerMetricOf(fleet, metricName, { label, ...options });
    const processingTime = (label: string, options: cloudwatch.MetricOptions = {}) =>
      workerMetric(WORKER_METRICS.processingTime, label, { statistic: cloudwatch.Stats.AVERAGE, ...options });
    const declaredSeconds = knownSeconds(scaling.target.processingTime);
    // The declared time and the alarm's threshold in the metric's milliseconds; none without a declared time.
    const processingLines = declaredSeconds === undefined
      ? undefined
      : { declared: declaredSeconds * 1000, limit: PROCESSING_TIME_ALARM_RATIO * declaredSeconds * 1000 };
    this.processingTimeAlarm = processingLines && withAction(new cloudwatch.Alarm(this, 'ProcessingTimeAlarm', {
      alarmDescription: `Tasks of ${fleet.node.path} have taken over ${PROCESSING_TIME_ALARM_RATIO}x the processingTime its scaling target was derived from `
        + `(${declaredSeconds} s) for an hour: ${scaling.model.processingTimeSeconds !== undefined
          ? 'scaling weighs the backlog by the measured time, but sizes the first minute of each onset on the declared one. '
          : 'the fleet holds more backlog per worker than the latency goal meant, so tasks wait nearer the goal. '}`
        + 'Declare the measured mean time (the dashboard\'s processing time graph).',
      metric: processingTime('Mean processing time', { period: PROCESSING_TIME_ALARM_PERIOD }),
      threshold: processingLines.limit,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: PROCESSING_TIME_ALARM_PERIODS,
      // An idle fleet processes nothing: no data is no drift.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }));

    const publisher = scaling.publisher;
    this.publisherSilentAlarm = publisher && withAction(new cloudwatch.Alarm(this, 'PublisherSilentAlarm', {
      alarmDescription: `The backlog publisher of ${fleet.node.path} has put no datapoint for ${PUBLISHER_SILENT_ALARM_MINUTES} minutes: `
        + 'scaling reads nothing, so the fleet neither grows nor leaves zero. Its log group names the failing call (WARN and ERROR lines).',
      metric: publisher.metricInput('visible', { statistic: cloudwatch.Stats.SAMPLE_COUNT, period: MINUTE }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: PUBLISHER_SILENT_ALARM_MINUTES,
      // No datapoint is the failure this alarm is for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }));

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Backlog (messages)',
        left: [input('visible'), input('inFlight'), input('delayed')].map((m, i) =>
          (m as cloudwatch.Metric).with({ label: ['Visible', 'In flight', 'Delayed'][i] })),
        stacked: true,
      }),
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Backlog per worker',
        left: [scaling.metrics.signal(BACKLOG_PER_WORKER, signalParams(scaling.model))],
        leftAnnotations: [{ value: target, label: `Target ${target}`, color: cloudwatch.Color.GREEN }],
      }),
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Workers',
        left: [
          (input('running') as cloudwatch.Metric).with({ label: 'Running' }),
          fleet.metricDesiredWorkers({ label: 'Desired' }),
        ],
        leftAnnotations: [{ value: fleet.maxWorkers, label: `maxWorkers ${Tokenization.stringifyNumber(fleet.maxWorkers)}`, color: cloudwatch.Color.RED }],
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Age of the oldest task (seconds)',
        left: [queue.metricOldestMessageAge({ label: 'Oldest task' })],
        leftAnnotations: [{ value: goalSeconds ?? 900, label: 'Latency goal', color: cloudwatch.Color.RED }],
      }),
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Dead-letter queue (messages)',
        left: queue.deadLetterQueue ? [queue.metricDeadLetters({ label: 'Dead letters' })] : [],
      }),
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Throughput (tasks per minute)',
        left: [
          workerMetric(WORKER_METRICS.messagesProcessed, 'Processed'),
          workerMetric(WORKER_METRICS.messagesFailed, 'Failed'),
        ],
      }),
    );
    const utilization = (title: string, metric: (p: cloudwatch.MetricOptions) => cloudwatch.Metric, target: number | undefined, limit?: number) =>
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title,
        left: [metric({ label: 'Average' }), metric({ label: 'Busiest worker', statistic: cloudwatch.Stats.MAXIMUM })],
        leftYAxis: { min: 0, max: 100 },
        leftAnnotations: [
          ...(target !== undefined ? [{ value: target, label: `Scaling target ${target} %`, color: cloudwatch.Color.GREEN }] : []),
          ...(limit !== undefined ? [{ value: limit, label: `Alarm ${limit} %`, color: cloudwatch.Color.RED }] : []),
        ],
      });
    const targetOf = (source: UtilizationSource) => scaling.model.utilization?.find((u) => u.source === source)?.target;
    this.dashboard.addWidgets(
      utilization('CPU utilization (%)', (p) => fleet.metricCpuUtilization(p), targetOf(UtilizationSource.CPU)),
      utilization('Memory utilization (%)', (p) => fleet.metricMemoryUtilization(p), targetOf(UtilizationSource.MEMORY), memoryAlarmPercent),
      new cloudwatch.GraphWidget({
        ...WIDGET,
        title: 'Processing time per task (ms)',
        left: [processingTime('Mean'), processingTime('p90', { statistic: 'p90' })],
        leftAnnotations: processingLines ? [
          { value: processingLines.declared, label: 'Declared (scaling target)', color: cloudwatch.Color.GREEN },
          { value: processingLines.limit, label: `Alarm ${PROCESSING_TIME_ALARM_RATIO}x`, color: cloudwatch.Color.RED },
        ] : [],
      }),
      ...(props.businessMetrics && props.businessMetrics.length > 0
        ? [new cloudwatch.GraphWidget({ ...WIDGET, title: 'Business metrics (per minute)', left: props.businessMetrics.map((name) => workerMetric(name, name)) })]
        : []),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({
      title: 'Alarms',
      width: 24,
      height: 3,
      alarms: [
        this.deadLetterAlarm, this.oldestMessageAlarm, this.fleetSaturatedAlarm, this.workersNotStartingAlarm, this.memoryAlarm, this.processingTimeAlarm,
        this.publisherSilentAlarm, scaling.burstAlarm, scaling.surgeAlarm, scaling.scaleInAlarm, scaling.trimAlarm, scaling.idleAlarm,
      ]
        .filter((a): a is cloudwatch.Alarm => a !== undefined),
    }));
  }
}
