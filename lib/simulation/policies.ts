/**
 * The policies a comparison runs, each built from the policy model's types and functions:
 * ours (exactly `buildScalingModel` + `rulesFromModel`, what `BacklogScaling` deploys),
 * the same model as the KEDA ScaledObject `EksAgentFleet` deploys, QueueProcessingFargateService's
 * defaults, plain step scaling on queue depth, KEDA's defaults, fixed fleets, and the
 * perfect-foresight bound.
 */
import { targetFromLatency } from '../policy/backlog';
import { Comparison, CPU_UTILIZATION, NO_SIGNAL_PARAMS, rulesFromModel, Statistic, VISIBLE_MESSAGES, type ScalingRuleSet, type StepRule } from '../policy/rules';
import { AWS_SCALING_FACTS, buildScalingModel, validateScalingModel, WORKER_START_SECONDS, type BacklogScalingInput, type BacklogScalingModel } from '../policy/scaling-policy';
import { AdjustmentType } from '../policy/steps';
import { check, checkIntegerRange, formatViolations, type Violation } from '../policy/violation';
import { kedaDefaults, scaledObjectFromModel, type ScaledObjectSpec } from './keda';
import { WARM_POOL_STARTUP_SECONDS, warmPoolStoppedCostRatio, type SimulationParams, type StartupRange } from './params';

interface PolicyBase {
  /** Short name, used in the table and file names. */
  readonly name: string;
  readonly description: string;
  /** Workers running (warm) at time 0. */
  readonly initialWorkers: number;
  /** The warm pool its EC2 group draws on. @default - none: every worker starts cold */
  readonly warmPool?: WarmPool;
}

/**
 * An EC2 group's warm pool (`Ec2AgentFleet`'s default): instances launched, prepared (Docker
 * installed, the image pulled) and stopped ahead of need, maxPrepared - desired of them (EC2
 * Auto Scaling User Guide, "Warm pools": by default the pool holds the group's maximum less its
 * desired capacity). A scale-out takes them first, each starting within `startupSeconds`; a
 * scale-in drains an instance and stops it back into the pool (reuse on scale-in). A stopped
 * instance bills only its volume: `stoppedCostRatio` of a running one's worker time.
 */
export interface WarmPool {
  readonly maxPrepared: number;
  readonly startupSeconds: StartupRange;
  /** A stopped instance's price (its volume) as a share of a running one's: worker time per second stopped. */
  readonly stoppedCostRatio: number;
}

export type SimulationPolicy =
  | PolicyBase & { readonly kind: 'rules'; readonly rules: ScalingRuleSet }
  | PolicyBase & { readonly kind: 'scaled-object'; readonly scaledObject: ScaledObjectSpec }
  | PolicyBase & { readonly kind: 'fixed' }
  | PolicyBase & { readonly kind: 'foresight'; readonly maxWorkers: number; readonly windowSeconds: number }
  | PolicyBase & { readonly kind: 'reactive-bound'; readonly maxWorkers: number; readonly periodSeconds: number } & ReactiveBoundVariant;

/**
 * How the reactive bound sizes the fleet from what it reads: workers enough to do the work in
 * flight, the visible backlog and the last `windowSeconds` of arrivals within `windowSeconds`,
 * kept for `holdSeconds` after the need falls.
 */
export interface ReactiveBoundVariant {
  readonly windowSeconds: number;
  readonly holdSeconds: number;
}

/**
 * Our fleet's choices: `BacklogScalingInput`, where the target may come from a latency goal
 * instead; the concurrency is the simulated worker's (`worker.concurrency`), as `BacklogScaling`
 * takes it from the fleet.
 */
export interface FleetConfig extends Omit<BacklogScalingInput, 'targetBacklogPerWorker' | 'concurrency'> {
  /**
   * A fixed target (`BacklogTarget.perWorker`): the backlog counts as it is, whatever the tasks' time.
   * @default - targetFromLatency(acceptableLatencySeconds, processingTimeSeconds, concurrency)
   */
  readonly targetBacklogPerWorker?: number;
  /**
   * The mean processing time the target is derived from (`BacklogTarget.fromLatency`'s
   * `processingTime`); the signals weigh the backlog by the measured time over it. Not with
   * `targetBacklogPerWorker`.
   * @default - the worker's mean processing time
   */
  readonly processingTimeSeconds?: number;
  /** Whether the signals weigh the backlog by the measured task time (`LatencyTargetOptions.weighByMeasuredTime`). @default true */
  readonly weighByMeasuredTime?: boolean;
  /** @default - the simulation's latency goal */
  readonly acceptableLatencySeconds?: number;
  /** On EC2, whether the group has a warm pool (`Ec2AgentFleet` `warmPool`). @default true */
  readonly warmPool?: boolean;
  /** On EC2, the instances' root volume (`Ec2AgentFleet` `rootVolumeGiB`): what a stopped instance in the pool bills. @default 30 */
  readonly rootVolumeGiB?: number;
}

/** The example fleet of the issue and the README: `ElasticAgentFleet` with 0-20 workers and a 1-minute latency goal. */
export const DEFAULT_FLEET: FleetConfig = { minWorkers: 0, maxWorkers: 20 };

/** The processing time a latency target is derived from: the declared one, else the worker's mean. */
function declaredProcessingSeconds(fleet: FleetConfig, params: SimulationParams): number {
  return fleet.processingTimeSeconds ?? params.worker.processingTime.meanSeconds;
}

/** The backlog target our fleet uses, as `BacklogTarget.fromLatency` computes it. */
export function fleetTarget(fleet: FleetConfig, params: SimulationParams): number {
  return fleet.targetBacklogPerWorker ?? targetFromLatency(
    fleet.acceptableLatencySeconds ?? params.latencyGoalSeconds,
    declaredProcessingSeconds(fleet, params),
    params.worker.concurrency,
  );
}

/**
 * The model `BacklogScaling` deploys for these choices, validated as the construct validates it.
 * `weighTaskTime`: whether the signals weigh the backlog by the measured task time, as they do
 * where CloudWatch alarms and target tracking scale (not on EKS, where KEDA reads the queue).
 */
function oursModel(fleet: FleetConfig, params: SimulationParams, weighTaskTime = true): BacklogScalingModel {
  const { model, violations } = checkedModel(fleet, params, weighTaskTime);
  if (violations.length > 0) throw new Error(formatViolations('fleet', violations));
  return model;
}

/** What is wrong with a fleet config, as the construct would say it (an empty list when nothing is). */
export function fleetViolations(fleet: FleetConfig, params: SimulationParams): Violation[] {
  return checkedModel(fleet, params).violations;
}

/** Ours' model and the construct's violations of it, for `oursModel` to throw and `fleetViolations` to list. */
function checkedModel(fleet: FleetConfig, params: SimulationParams, weighTaskTime = true): { model: BacklogScalingModel; violations: Violation[] } {
  const { acceptableLatencySeconds: _latency, warmPool: _warmPool, rootVolumeGiB, processingTimeSeconds, weighByMeasuredTime, ...input } = fleet;
  // A fixed target has no time to weigh by.
  const weighs = weighTaskTime && weighByMeasuredTime !== false && fleet.targetBacklogPerWorker === undefined;
  const model = buildScalingModel({
    workerStartSeconds: oursWarmPool(fleet, params) ? WORKER_START_SECONDS.ec2WarmPool : WORKER_START_SECONDS[params.worker.compute],
    stepCooldowns: params.worker.compute !== 'ec2',
    ...input,
    targetBacklogPerWorker: fleetTarget(fleet, params),
    ...(weighs ? { processingTimeSeconds: declaredProcessingSeconds(fleet, params) } : {}),
    concurrency: params.worker.concurrency,
  });
  const violations = [
    ...validateScalingModel(model),
    ...checkIntegerRange('rootVolumeGiB', rootVolumeGiB, 1, 16_384),
    ...check(processingTimeSeconds === undefined || fleet.targetBacklogPerWorker === undefined,
      'processingTimeSeconds', 'unset with targetBacklogPerWorker (a fixed target)', processingTimeSeconds),
  ];
  return { model, violations };
}

/** The warm pool our fleet's group has: on EC2 unless turned off, as `Ec2AgentFleet` deploys it. */
export function oursWarmPool(fleet: FleetConfig, params: SimulationParams): WarmPool | undefined {
  return params.worker.compute === 'ec2' && fleet.warmPool !== false
    ? { maxPrepared: fleet.maxWorkers, startupSeconds: WARM_POOL_STARTUP_SECONDS, stoppedCostRatio: warmPoolStoppedCostRatio(fleet.rootVolumeGiB) }
    : undefined;
}

/** Ours: the model's rules, as `BacklogScaling` deploys them on ECS and EC2 Auto Scaling (with the EC2 group's warm pool). */
export function oursPolicy(fleet: FleetConfig, params: SimulationParams, initialWorkers: number): SimulationPolicy {
  const model = oursModel(fleet, params);
  const warmPool = oursWarmPool(fleet, params);
  return {
    kind: 'rules',
    name: 'ours',
    description: `backlog per worker, target ${round(model.targetBacklogPerWorker)}: target tracking + burst steps${model.surge ? ' + surge step' : ''} + ${model.scaleIn.keep ? `scale-in to the workers to keep${model.trim ? ' + trim' : ''}` : 'spare-worker scale-in'}${model.scaleToZero ? ' + scale to zero' : ''}${warmPool ? ', warm pool' : ''}`,
    initialWorkers: clampTo(initialWorkers, model.minWorkers, model.maxWorkers),
    rules: rulesFromModel(model),
    ...(warmPool ? { warmPool } : {}),
  };
}

/**
 * Ours on EKS: the same model as the KEDA ScaledObject and HPA behavior `EksAgentFleet` deploys
 * (`kedaScalingFromModel`), executed the way KEDA and the HPA execute it. KEDA reads the queue
 * itself, so the metric source of the cell does not apply.
 */
export function oursOnKedaPolicy(fleet: FleetConfig, params: SimulationParams, initialWorkers: number): SimulationPolicy {
  // An EKS fleet's model, whatever the cell's compute: its HPA paces scale-down like a cooldown (stepCooldowns, EksAgentFleet's default).
  const model = oursModel({ stepCooldowns: true, ...fleet }, params, false);
  const scaledObject = scaledObjectFromModel(model);
  return {
    kind: 'scaled-object',
    name: 'ours-keda',
    description: `our model as a KEDA ScaledObject: queueLength ${scaledObject.trigger.queueLength} (visible + in flight + delayed), `
      + `${scaledObject.pollingIntervalSeconds} s polling, down after ${scaledObject.behavior.scaleDown.stabilizationWindowSeconds} s stabilization, to 0 after ${scaledObject.cooldownPeriodSeconds} s`,
    initialWorkers: clampTo(initialWorkers, model.minWorkers, model.maxWorkers),
    scaledObject,
  };
}

/** QueueProcessingFargateService's queue-depth metric: ApproximateNumberOfMessagesVisible, Maximum, 5 minutes (aws-cdk-lib defaults). */
const QPFS_DEPTH = { signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 300, statistic: Statistic.MAXIMUM } as const;

/**
 * aws-ecs-patterns QueueProcessingFargateService with its defaults (aws-cdk-lib 2.x,
 * queue-processing-service-base.ts): `scaleOnMetric` with steps `{upper: 0, change: -1}`,
 * `{lower: 100, change: +1}`, `{lower: 500, change: +5}` on visible messages (one 5-minute
 * Maximum datapoint, AWS's default 300 s cooldown), plus `scaleOnCpuUtilization` at 50 %
 * (ECS cooldowns 300 s). minScalingCapacity 1. Its default maxScalingCapacity is 2; we give it
 * the same maximum as our fleet for a fair comparison.
 */
export function qpfsPolicy(maxWorkers: number, initialWorkers: number): SimulationPolicy {
  const cooldown = AWS_SCALING_FACTS.defaultCooldownSeconds;
  const lower: StepRule = {
    kind: 'step', name: 'QPFS depth steps (lower)', metric: QPFS_DEPTH, comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0,
    evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: [{ upper: 0, change: -1 }], cooldownSeconds: cooldown,
  };
  const upper: StepRule = {
    kind: 'step', name: 'QPFS depth steps (upper)', metric: QPFS_DEPTH, comparison: Comparison.GREATER_THAN_OR_EQUAL, threshold: 100,
    evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY,
    steps: [{ lower: 0, upper: 400, change: 1 }, { lower: 400, change: 5 }], cooldownSeconds: cooldown,
  };
  return {
    kind: 'rules',
    name: 'qpfs-defaults',
    description: 'QueueProcessingFargateService defaults: depth steps <=0 -1, >=100 +1, >=500 +5 (5-min Maximum) + CPU target tracking 50 %',
    initialWorkers: clampTo(initialWorkers, 1, maxWorkers),
    rules: {
      minWorkers: 1,
      maxWorkers,
      rules: [
        {
          kind: 'target-tracking', name: 'QPFS CPU target tracking',
          metric: { signal: CPU_UTILIZATION, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE },
          target: 50, scaleOutCooldownSeconds: cooldown, scaleInCooldownSeconds: cooldown, disableScaleIn: false,
          scaleOutDatapoints: AWS_SCALING_FACTS.targetTrackingScaleOutDatapoints,
          scaleInDatapoints: AWS_SCALING_FACTS.targetTrackingScaleInDatapoints,
          scaleInRatio: AWS_SCALING_FACTS.targetTrackingScaleInRatio,
        },
        lower,
        upper,
      ],
    },
  };
}

/** AWS's SQS step scaling example: +1 for 0-50 messages above the threshold, +2 for 50-200, +3 beyond. */
const AWS_SQS_EXAMPLE_STEPS = [{ lower: 0, upper: 50, change: 1 }, { lower: 50, upper: 200, change: 2 }, { lower: 200, change: 3 }];

/**
 * Plain step scaling on queue depth, as often written by hand: AWS's SQS example steps
 * (+1 for 0-50 visible, +2 for 50-200, +3 beyond) on one-minute average visible messages,
 * -1 after 15 minutes with an empty queue, AWS's default 300 s cooldowns.
 */
export function plainStepsPolicy(fleet: FleetConfig, initialWorkers: number): SimulationPolicy {
  const cooldown = AWS_SCALING_FACTS.defaultCooldownSeconds;
  const depth = { signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE } as const;
  return {
    kind: 'rules',
    name: 'plain-steps',
    description: 'steps on raw visible depth: >0 +1, >=50 +2, >=200 +3; empty 15 min -1; 300 s cooldowns',
    initialWorkers: clampTo(initialWorkers, fleet.minWorkers, fleet.maxWorkers),
    rules: {
      minWorkers: fleet.minWorkers,
      maxWorkers: fleet.maxWorkers,
      rules: [
        {
          kind: 'step', name: 'depth steps (upper)', metric: depth, comparison: Comparison.GREATER_THAN, threshold: 0, evaluationPeriods: 1, datapointsToAlarm: 1,
          adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: AWS_SQS_EXAMPLE_STEPS, cooldownSeconds: cooldown,
        },
        {
          kind: 'step', name: 'depth steps (lower)', metric: depth, comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0, evaluationPeriods: 15, datapointsToAlarm: 15,
          adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: [{ upper: 0, change: -1 }], cooldownSeconds: cooldown,
        },
      ],
    },
  };
}

/**
 * KEDA's aws-sqs-queue scaler through the HPA with their documented defaults (`kedaDefaults`),
 * what an EKS user would pick instead. The target `queueLength` is our fleet's backlog target
 * rather than KEDA's example 5: KEDA's documentation says to set it to the messages one pod can
 * handle, and the latency-derived target (latency / processing time x concurrency) is that figure
 * for the same latency goal, so both policies are held to the same number. KEDA's 5 would
 * under-provision fleets whose concurrency is above 5 (each busy pod alone reports more than the
 * target).
 */
export function kedaPolicy(fleet: FleetConfig, params: SimulationParams, initialWorkers: number): SimulationPolicy {
  const queueLength = fleetTarget(fleet, params);
  return {
    kind: 'scaled-object',
    name: 'keda',
    description: `KEDA aws-sqs-queue + HPA defaults: queueLength ${round(queueLength)} (visible + in flight), 30 s polling, 10 % tolerance, up max(100 %, 4)/15 s, down after 300 s stabilization, to 0 after 300 s`,
    initialWorkers: clampTo(initialWorkers, 0, fleet.maxWorkers),
    scaledObject: { ...kedaDefaults(queueLength, fleet.maxWorkers), minReplicaCount: fleet.minWorkers },
  };
}

/** A fleet that never scales. */
export function fixedPolicy(workers: number): SimulationPolicy {
  return { kind: 'fixed', name: `fixed-${workers}`, description: `${workers} workers, always`, initialWorkers: workers };
}

/** The perfect-foresight bound: workers = what the coming minute's work needs, no start-up, no metric lag. */
export function foresightPolicy(maxWorkers: number, initialWorkers: number): SimulationPolicy {
  return {
    kind: 'foresight',
    name: 'perfect-foresight',
    description: 'knows the future: workers = ceil(work in flight + visible + next minute\'s arrivals, per minute), instant start',
    initialWorkers: clampTo(initialWorkers, 0, maxWorkers),
    maxWorkers,
    windowSeconds: 60,
  };
}

/**
 * The reactive bound: the best any policy reading the cell's metric source could do. It knows the
 * exact work (the processing time of every message visible and in flight, and of the last window's
 * arrivals) but only at the newest datapoint an alarm can read (a snapshot one period plus the
 * publication delay old, at worst), decides every second with no steps, cooldowns or alarms, and
 * pays the compute's start-up. Not a deployable policy: where every variant of it fails a cell's
 * pass rule, no reactive policy on that source is known to pass it.
 */
export function reactiveBoundPolicy(maxWorkers: number, initialWorkers: number, periodSeconds: number, variant: ReactiveBoundVariant, warmPool?: WarmPool): SimulationPolicy {
  return {
    kind: 'reactive-bound',
    name: 'reactive-bound',
    description: `knows the exact work, ${periodSeconds} s datapoints once readable: workers = work / ${variant.windowSeconds} s, held ${variant.holdSeconds} s, instant decisions, real start-up`,
    initialWorkers: clampTo(initialWorkers, 0, maxWorkers),
    maxWorkers,
    periodSeconds,
    ...variant,
    ...(warmPool ? { warmPool } : {}),
  };
}

function clampTo(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}
