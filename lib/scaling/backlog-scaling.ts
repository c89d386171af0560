import { Annotations, Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { IAgentFleet } from '../fleet/agent-fleet';
import { isModelScaledFleet } from '../fleet/model-scaled-fleet';
import type { IAgentQueue } from '../queue/agent-queue';
import {
  buildScalingModel, signalParams, validateScalingModel,
  type BacklogScalingInput, type BacklogScalingModel, type StepPolicyModel,
} from '../policy/scaling-policy';
import { metricSignal, UTILIZATION_DEFAULTS, utilizationSignals, UtilizationSource, type UtilizationSignal } from '../policy/utilization';
import { BACKLOG_PER_WORKER, EXCESS_BACKLOG, QUEUED_MESSAGES, SPARE_WORKERS, WORKERS_ABOVE_KEEP, WORKERS_TO_KEEP, type ScalingSignal } from '../policy/signals';
import { AdjustmentType, type ScalingStep } from '../policy/steps';
import { checkWholeSeconds, knownNumber, knownSeconds, throwIfInvalid } from '../validation';
import { check } from '../policy/violation';
import { BacklogMetrics } from './backlog-metrics';
import type { BacklogPublisher } from './backlog-publisher';
import type { BacklogTarget } from './backlog-target';
import { bindUtilizationToScaleIn, spareWorkersQueries } from './spare-workers-alarm';

/** The tunable parts of backlog scaling; everything has a default. */
export interface BacklogScalingOptions {
  /**
   * Wait after a scale-out before the next one (target tracking and burst steps).
   * @default - two metric periods, at least 60 s: 120 s on metric math, 60 s with the publisher
   */
  readonly scaleOutCooldown?: Duration;
  /**
   * Wait after a scale-in before the next one. Shorter than AWS's 300 s default: the
   * spare-workers signal never counts a busy worker as spare (`defaultScaleInCooldownSeconds`).
   * Applies where step policies honour a cooldown (ECS); EC2 Auto Scaling's take none. The 60 s
   * in it is the datapoints' assumed lateness: if your alarms read SQS's datapoints later, add
   * the difference, or a scale-in reads the count from before its last removal (docs/simulation.md,
   * eighteenth round; better still, the publisher).
   * @default - two metric periods plus 60 s: 180 s on metric math, 80 s with the publisher's
   * 10 s metrics; 240 s with `cpuTargetPercent`, `memoryTargetPercent` or `scaleOnMetric`
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Burst steps, in visible messages beyond what the workers already requested should hold, with
   * the backlog's growth projected over a worker's start-up (visible + growth - held backlog x
   * desired); bounds relative to 0, starting at 0, increasing, without gaps.
   * @default - derived from the fleet (`defaultBurstSteps`): bands of lacking workers in powers
   * of two up to `maxWorkers`, each adding its upper bound; on 10 s metrics each band but the last
   * adds its lower bound
   */
  readonly burstSteps?: ScalingStep[];
  /**
   * How burst steps change the fleet.
   * @default AdjustmentType.CHANGE_IN_CAPACITY
   */
  readonly burstAdjustmentType?: AdjustmentType;
  /**
   * Scale-in steps, in spare workers above 1 (running - (visible / target + inFlight /
   * concurrency): workers beyond what the waiting messages and the busy workers need); each step
   * removes at most the spare workers at its lower bound.
   * @default - derived from `maxWorkers` (`defaultScaleInSteps`): half the spare workers below 8,
   * then the band's lower bound in bands of powers of two, split at 1.5x from 16 on (-8 for 8-15,
   * -16 for 16-23, -24 for 24-31, -32 for 32-47, ...); on a fleet whose step policies take no
   * cooldown (EC2), unsplit bands with the publisher's 10 s metrics, and on one-minute metrics no
   * such steps: the scale-in sets the workers to keep, those needed n + 0.75 x sqrt(n) (`WORKERS_TO_KEEP`,
   * ExactCapacity steps). Steps given here replace that too (`defaultScaleInSteps(maxWorkers,
   * scaleInActionsPerCount(60))` is the earlier EC2 default: a third of each band's bound).
   */
  readonly scaleInSteps?: ScalingStep[];
  /**
   * Periods the scale-in's alarm evaluates: it fires when at least half of them show a spare
   * worker (`scaleInDatapoints`), or, with extra signals, all but one (so that a newest datapoint
   * read before all its inputs arrived does not restart the run).
   * @default - 2 minutes' worth: 2 one-minute periods, or 12 with the publisher's 10 s period;
   * 8 minutes' worth with `cpuTargetPercent`, `memoryTargetPercent` or `scaleOnMetric`
   */
  readonly scaleInEvaluationPeriods?: number;
  /**
   * With `minWorkers` 0: how long the queue must hold no message at all (visible, in flight or
   * delayed) before the fleet goes to 0.
   * @default Duration.minutes(10)
   */
  readonly scaleToZeroAfter?: Duration;
  /**
   * Hold the workers' average CPU utilization at or below this percentage (1-100): a target
   * tracking policy that only scales out, and scale-in that keeps the workers this needs (a
   * worker is spare only when the others would carry its CPU under 90 % of the target). For
   * CPU-bound agents (a local model). Fargate: the service's AWS/ECS CPUUtilization; EC2: the
   * group's AWS/EC2 CPUUtilization with detailed monitoring turned on.
   * @default - no CPU scaling
   */
  readonly cpuTargetPercent?: number;
  /**
   * Hold the workers' average memory utilization at or below this percentage (1-100), as
   * `cpuTargetPercent` does for CPU. For memory-bound agents (headless browsers). Fargate: the
   * service's AWS/ECS MemoryUtilization; EC2: the CloudWatch agent's mem_used_percent by group,
   * which the fleet then installs and configures.
   * @default - no memory scaling
   */
  readonly memoryTargetPercent?: number;
}

/** A target tracking policy on any metric, for `BacklogScaling.scaleOnMetric`. */
export interface ScaleOnMetricOptions {
  /**
   * A per-worker quantity that more workers bring down: a plain metric (an average over the
   * workers), or metric math such as tokens per minute / running workers. Its statistic is kept;
   * its period becomes the scaling's.
   */
  readonly metric: cloudwatch.IMetric;
  /** The value per worker to hold it at or below (> 0). */
  readonly targetValue: number;
  /**
   * Wait after a scale-out on this metric before the next one.
   * @default - `scaleOutCooldown` when set, else Duration.seconds(180): the time until a new worker shows in a datapoint
   */
  readonly scaleOutCooldown?: Duration;
}

/** Properties of `BacklogScaling`. */
export interface BacklogScalingProps extends BacklogScalingOptions {
  readonly fleet: IAgentFleet;
  readonly queue: IAgentQueue;
  /** Backlog per worker to hold. */
  readonly target: BacklogTarget;
  /**
   * Scale on the backlog publisher's high-resolution metrics instead of metric math over the
   * SQS metrics and the fleet's running-workers metric.
   * @default - metric math over SQS and fleet metrics, one datapoint a minute
   */
  readonly publisher?: BacklogPublisher;
}

/**
 * Backlog-per-worker scaling of a fleet on its queue, translated from the policy model in
 * `lib/policy`: target tracking on backlog per worker (metric math, through the L1 since the L2s
 * reject math), burst steps that also take the fleet from 0 to 1, scale-in steps that count
 * in-flight messages as work, and scale to zero after an idle period.
 */
export class BacklogScaling extends Construct {
  /** The metrics of the extra signals (CPU, memory, `scaleOnMetric`), by metric math id. */
  private readonly utilizationMetrics = new Map<string, cloudwatch.IMetric>();
  private readonly utilization: UtilizationSignal[];
  private readonly input: BacklogScalingInput;
  private readonly scaleOutCooldown?: Duration;
  /** The metrics and signals the policies use. */
  public readonly metrics: BacklogMetrics;
  /** The backlog per worker held. */
  public readonly target: BacklogTarget;
  /** The backlog publisher whose metrics the policies read, when given one. */
  public readonly publisher?: BacklogPublisher;
  /** Fires when visible messages exceed what the running workers should hold. */
  public readonly burstAlarm: cloudwatch.Alarm;
  /**
   * Fires when half of maxWorkers or more are lacking, on metrics of periods under a minute
   * (`BacklogScalingModel.surge`): the burst's last band, acted on at once.
   */
  public readonly surgeAlarm?: cloudwatch.Alarm;
  /** Fires when workers are spare for the scale-in evaluation periods. */
  public readonly scaleInAlarm: cloudwatch.Alarm;
  /**
   * Fires when workers are above those to keep where the exact scale-in's capacities can't bring
   * them down (EC2 on one-minute metrics, more than 20 workers; `BacklogScalingModel.trim`).
   */
  public readonly trimAlarm?: cloudwatch.Alarm;
  /** Fires when the queue has been empty for the idle time (only with minWorkers 0). */
  public readonly idleAlarm?: cloudwatch.Alarm;
  private readonly fleet: IAgentFleet;

  constructor(scope: Construct, id: string, props: BacklogScalingProps) {
    super(scope, id);
    this.fleet = props.fleet;
    this.target = props.target;
    this.publisher = props.publisher;
    const period = props.publisher?.period ?? Duration.minutes(1);
    this.scaleOutCooldown = props.scaleOutCooldown;
    this.utilization = utilizationSignals({
      cpuTargetPercent: knownNumber(props.cpuTargetPercent),
      memoryTargetPercent: knownNumber(props.memoryTargetPercent),
      scaleOutCooldownSeconds: knownSeconds(props.scaleOutCooldown) ?? UTILIZATION_DEFAULTS.scaleOutCooldownSeconds,
    });
    const fleetConcurrency = props.fleet.concurrency;
    if (props.target.concurrency !== undefined && props.target.concurrency !== fleetConcurrency) {
      Annotations.of(this).addWarningV2('cdk-agent-fleet:targetConcurrency',
        `The target's concurrency (${props.target.concurrency}) differs from the fleet's (${fleetConcurrency}): `
        + 'leave it unset in BacklogTarget.fromLatency to take the fleet\'s.');
    }
    // Bounds that are tokens (a CfnParameter) go to the scalable target as they are; the model
    // holds a stand-in that passes its checks (the idle rule is kept: ExactCapacity 0 stops at minWorkers).
    const minWorkers = knownNumber(props.fleet.minWorkers) ?? 0;
    const maxWorkers = knownNumber(props.fleet.maxWorkers) ?? Math.max(minWorkers, 1);
    this.input = {
      minWorkers,
      maxWorkers,
      targetBacklogPerWorker: props.target.messagesPerWorkerFor(fleetConcurrency),
      // The signals weigh the backlog by the measured task time over the declared one; KEDA (EKS) reads the queue's count as it is.
      processingTimeSeconds: props.target.weighsMeasuredTime && !isModelScaledFleet(props.fleet) ? knownSeconds(props.target.processingTime) : undefined,
      concurrency: knownNumber(fleetConcurrency) ?? 1,
      metricPeriodSeconds: knownSeconds(period),
      workerStartSeconds: knownSeconds(props.fleet.workerStartTime),
      stepCooldowns: props.fleet.stepCooldowns,
      inputsArriveTogether: props.publisher !== undefined,
      scaleOutCooldownSeconds: knownSeconds(props.scaleOutCooldown),
      scaleInCooldownSeconds: knownSeconds(props.scaleInCooldown),
      burstSteps: props.burstSteps,
      burstAdjustmentType: props.burstAdjustmentType,
      scaleInSteps: props.scaleInSteps,
      scaleInEvaluationPeriods: knownNumber(props.scaleInEvaluationPeriods),
      scaleToZeroAfterSeconds: knownSeconds(props.scaleToZeroAfter),
    };
    throwIfInvalid(this, [
      ...validateScalingModel(this.model),
      ...(props.scaleToZeroAfter !== undefined && knownNumber(props.fleet.minWorkers) !== undefined && props.fleet.minWorkers > 0
        ? check(false, 'scaleToZeroAfter', `unset when minWorkers is above 0 (${props.fleet.minWorkers}): the fleet never goes to 0`, `${knownSeconds(props.scaleToZeroAfter)} seconds`)
        : []),
      ...checkWholeSeconds({ scaleOutCooldown: props.scaleOutCooldown, scaleInCooldown: props.scaleInCooldown, scaleToZeroAfter: props.scaleToZeroAfter }),
    ]);

    const model = this.model;
    // The backlog per worker the policies hold (half the acceptable one, HELD_BACKLOG_RATIO).
    const target = model.heldBacklogPerWorker;
    // { target, concurrency }: the constants every signal's metric math is written with.
    const params = signalParams(model);
    this.metrics = new BacklogMetrics(props.queue, props.fleet, Duration.seconds(model.metricPeriodSeconds), props.publisher);

    if (isModelScaledFleet(props.fleet)) {
      // The fleet's orchestrator executes the model (EKS: a KEDA ScaledObject); the alarms below
      // still watch the same signals, for the dashboard, without actions.
      props.fleet.scaleFromModel(model);
    } else {
      // Target tracking, scale-out only (EC2 Auto Scaling / Application Auto Scaling "target
      // tracking using metric math"): backlog per instance = visible / running, held at the target.
      props.fleet.addMathTargetTracking(this, 'BacklogPerWorkerTracking', {
        metric: this.metrics.signal(BACKLOG_PER_WORKER, params),
        targetValue: target,
        scaleOutCooldown: Duration.seconds(model.targetTracking.scaleOutCooldownSeconds),
        disableScaleIn: model.targetTracking.disableScaleIn,
      });
    }

    this.burstAlarm = this.stepPolicy('Burst', EXCESS_BACKLOG, model.burst, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD);
    if (model.surge) this.surgeAlarm = this.stepPolicy('Surge', EXCESS_BACKLOG, model.surge, cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD);
    // The scale-in cooldown and the spare-workers alarm depend on the extra signals, which
    // scaleOnMetric may add later: both are read at synth.
    const scaleIn = { ...model.scaleIn, cooldownSeconds: Lazy.number({ produce: () => this.model.scaleIn.cooldownSeconds }) };
    // Exact capacities on the workers to keep where several actions read one count (EC2), else steps on spare workers.
    const keeping = model.scaleIn.keep ? WORKERS_TO_KEEP : undefined;
    this.scaleInAlarm = keeping
      ? this.stepPolicy('ScaleIn', keeping, scaleIn, cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD)
      : this.stepPolicy('ScaleIn', SPARE_WORKERS, scaleIn, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    bindUtilizationToScaleIn(this.scaleInAlarm, this.metrics, () => this.model, this.utilizationMetrics, keeping);
    if (model.trim) {
      this.trimAlarm = this.stepPolicy('ScaleInTrim', WORKERS_ABOVE_KEEP, { ...model.trim, cooldownSeconds: scaleIn.cooldownSeconds },
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
      bindUtilizationToScaleIn(this.trimAlarm, this.metrics, () => this.model, this.utilizationMetrics, WORKERS_ABOVE_KEEP);
    }
    for (const signal of this.utilization) {
      props.fleet.enableUtilizationMetrics();
      const cpu = signal.source === UtilizationSource.CPU;
      const metric = cpu ? props.fleet.metricCpuUtilization() : props.fleet.metricMemoryUtilization();
      this.utilizationMetrics.set(signal.id, metric);
      this.addUtilizationTracking(cpu ? 'CpuTracking' : 'MemoryTracking', signal, metric);
    }
    if (model.scaleToZero) {
      const scaleToZero = { ...model.scaleToZero, cooldownSeconds: Lazy.number({ produce: () => this.model.scaleToZero!.cooldownSeconds }) };
      this.idleAlarm = this.stepPolicy('ScaleToZero', QUEUED_MESSAGES, scaleToZero,
        cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD);
    }
  }

  /**
   * The policy as plain data: what the simulator replays and the dashboard draws. It includes the
   * signals added by `scaleOnMetric`.
   */
  public get model(): BacklogScalingModel {
    return buildScalingModel({ ...this.input, utilization: this.utilization });
  }

  /**
   * Target tracking on any metric of a per-worker quantity (a business metric the agents publish,
   * such as tokens per minute per worker), scale-out only; scale-in keeps the workers it needs,
   * as for `cpuTargetPercent`. `id` names the policy and the metric in the scale-in alarm.
   */
  public scaleOnMetric(id: string, options: ScaleOnMetricOptions): void {
    const signal = metricSignal(id, knownNumber(options.targetValue) ?? options.targetValue,
      knownSeconds(options.scaleOutCooldown ?? this.scaleOutCooldown) ?? UTILIZATION_DEFAULTS.scaleOutCooldownSeconds);
    const next = buildScalingModel({ ...this.input, utilization: [...this.utilization, signal] });
    throwIfInvalid(this, validateScalingModel(next));
    // Throws now, not at synth, when the alarm would read too many metrics or clashing ids.
    spareWorkersQueries(this.metrics, next, new Map(this.utilizationMetrics).set(signal.id, options.metric));
    this.utilization.push(signal);
    this.utilizationMetrics.set(signal.id, options.metric);
    this.addUtilizationTracking(`${id}Tracking`, signal, options.metric);
  }

  private addUtilizationTracking(id: string, signal: UtilizationSignal, metric: cloudwatch.IMetric): void {
    const options = {
      targetValue: signal.target,
      scaleOutCooldown: Duration.seconds(signal.scaleOutCooldownSeconds),
      // A utilization average can't tell an idle worker from a busy one: never scale in on it.
      disableScaleIn: true,
    };
    if (metric instanceof cloudwatch.MathExpression) this.fleet.addMathTargetTracking(this, id, { ...options, metric });
    else this.fleet.addMetricTargetTracking(this, id, { ...options, metric });
  }

  /** An alarm on a signal that triggers a step scaling action of the fleet. */
  private stepPolicy(id: string, signal: ScalingSignal, policy: StepPolicyModel, comparisonOperator: cloudwatch.ComparisonOperator): cloudwatch.Alarm {
    // A fleet that executes the model itself has no step scaling action: its alarm only watches.
    const action = isModelScaledFleet(this.fleet) ? undefined : this.fleet.addStepScaling(this, `${id}Policy`, {
      adjustmentType: policy.adjustmentType,
      steps: policy.steps,
      cooldown: Duration.seconds(policy.cooldownSeconds),
      minAdjustmentMagnitude: policy.adjustmentType === AdjustmentType.PERCENT_CHANGE_IN_CAPACITY ? policy.minAdjustmentMagnitude : undefined,
    });
    const alarm = new cloudwatch.Alarm(this, `${id}Alarm`, {
      metric: this.metrics.signal(signal, signalParams(this.model)),
      threshold: policy.threshold,
      evaluationPeriods: policy.evaluationPeriods,
      datapointsToAlarm: policy.datapointsToAlarm,
      comparisonOperator,
      // No data is no reason to scale: target tracking behaves the same way.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `${signal.label}: ${id} scaling of ${this.fleet.node.path}`,
    });
    if (action) alarm.addAlarmAction(action);
    return alarm;
  }
}
