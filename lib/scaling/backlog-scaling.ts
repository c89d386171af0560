import { Annotations, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { IAgentFleet } from '../fleet/agent-fleet';
import { isModelScaledFleet } from '../fleet/model-scaled-fleet';
import type { IAgentQueue } from '../queue/agent-queue';
import {
  buildScalingModel, signalParams, validateScalingModel,
  type BacklogScalingModel, type StepPolicyModel,
} from '../policy/scaling-policy';
import { BACKLOG_PER_WORKER, EXCESS_BACKLOG, QUEUED_MESSAGES, SPARE_WORKERS, type ScalingSignal } from '../policy/signals';
import { AdjustmentType, type ScalingStep } from '../policy/steps';
import { checkWholeSeconds, knownNumber, knownSeconds, throwIfInvalid } from '../validation';
import { check } from '../policy/violation';
import { BacklogMetrics } from './backlog-metrics';
import type { BacklogPublisher } from './backlog-publisher';
import type { BacklogTarget } from './backlog-target';

/** The tunable parts of backlog scaling; everything has a default. */
export interface BacklogScalingOptions {
  /**
   * Wait after a scale-out before the next one (target tracking and burst steps).
   * @default - two metric periods, at least 60 s: 120 s on metric math, 60 s with the publisher
   */
  readonly scaleOutCooldown?: Duration;
  /**
   * Wait after a scale-in before the next one. Shorter than AWS's 300 s default: the
   * spare-workers signal never counts a busy worker as spare (see `DEFAULTS` in `lib/policy`).
   * @default Duration.seconds(120)
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Burst steps, in visible messages beyond what the workers already requested should hold
   * (visible - held backlog x desired); bounds relative to 0, starting at 0, increasing, without gaps.
   * @default - derived from the fleet (`defaultBurstSteps`): bands of lacking workers in powers
   * of two up to `maxWorkers`, each adding twice its upper bound
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
   * then the power-of-two band's lower bound (-8 for 8-15, -16 for 16-31, ...)
   */
  readonly scaleInSteps?: ScalingStep[];
  /**
   * Periods with spare workers before scaling in (the alarm fires on all but one of them, so a
   * newest datapoint read before all its inputs arrived does not restart the run).
   * @default - 3 minutes' worth: 3 one-minute periods, or 18 with the publisher's 10 s period
   */
  readonly scaleInEvaluationPeriods?: number;
  /**
   * With `minWorkers` 0: how long the queue must hold no message at all (visible, in flight or
   * delayed) before the fleet goes to 0.
   * @default Duration.minutes(15)
   */
  readonly scaleToZeroAfter?: Duration;
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
  /** The policy as plain data: what the simulator replays and the dashboard draws. */
  public readonly model: BacklogScalingModel;
  /** The metrics and signals the policies use. */
  public readonly metrics: BacklogMetrics;
  /** The backlog per worker held. */
  public readonly target: BacklogTarget;
  /** Fires when visible messages exceed what the running workers should hold. */
  public readonly burstAlarm: cloudwatch.Alarm;
  /** Fires when workers are spare for the scale-in evaluation periods. */
  public readonly scaleInAlarm: cloudwatch.Alarm;
  /** Fires when the queue has been empty for the idle time (only with minWorkers 0). */
  public readonly idleAlarm?: cloudwatch.Alarm;
  private readonly fleet: IAgentFleet;

  constructor(scope: Construct, id: string, props: BacklogScalingProps) {
    super(scope, id);
    this.fleet = props.fleet;
    this.target = props.target;
    const period = props.publisher?.period ?? Duration.minutes(1);
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
    this.model = buildScalingModel({
      minWorkers,
      maxWorkers,
      targetBacklogPerWorker: props.target.messagesPerWorkerFor(fleetConcurrency),
      concurrency: knownNumber(fleetConcurrency) ?? 1,
      metricPeriodSeconds: knownSeconds(period),
      inputsArriveTogether: props.publisher !== undefined,
      scaleOutCooldownSeconds: knownSeconds(props.scaleOutCooldown),
      scaleInCooldownSeconds: knownSeconds(props.scaleInCooldown),
      burstSteps: props.burstSteps,
      burstAdjustmentType: props.burstAdjustmentType,
      scaleInSteps: props.scaleInSteps,
      scaleInEvaluationPeriods: knownNumber(props.scaleInEvaluationPeriods),
      scaleToZeroAfterSeconds: knownSeconds(props.scaleToZeroAfter),
    });
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
    this.scaleInAlarm = this.stepPolicy('ScaleIn', SPARE_WORKERS, model.scaleIn, cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD);
    if (model.scaleToZero) {
      this.idleAlarm = this.stepPolicy('ScaleToZero', QUEUED_MESSAGES, model.scaleToZero,
        cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD);
    }
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
