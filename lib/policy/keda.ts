import type { BacklogScalingModel } from './scaling-policy';
import { QUEUED_MESSAGES, SPARE_WORKERS, type FleetSample } from './signals';
import { AdjustmentType, type ScalingStep } from './steps';

/**
 * The policy model as KEDA and the Kubernetes Horizontal Pod Autoscaler execute it: a
 * `ScaledObject` with one `aws-sqs-queue` trigger and the HPA `behavior`, as plain data.
 * `EksAgentFleet` renders it as a manifest; the simulator can execute the same numbers.
 *
 * Sources of the semantics used below:
 * - KEDA "AWS SQS Queue" scaler (keda.sh/docs/latest/scalers/aws-sqs): "actual messages" =
 *   ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible (`scaleOnInFlight`, default
 *   true) + ApproximateNumberOfMessagesDelayed when `scaleOnDelayed`; the HPA's target is
 *   `queueLength` messages per replica (AverageValue); `activationQueueLength` decides 0 <-> 1.
 * - KEDA "Scaling Deployments" (keda.sh/docs/latest/reference/scaledobject-spec): `pollingInterval`
 *   (default 30 s) is how often KEDA checks each trigger for activation; `cooldownPeriod` (default
 *   300 s) is how long after the last active check KEDA scales to 0; between 1 and max the HPA scales.
 * - Kubernetes "Horizontal Pod Autoscaling" (kubernetes.io/docs/tasks/run-application/horizontal-pod-autoscale):
 *   desired = ceil(current x metric / target), for AverageValue ceil(total / target); no change
 *   within a 10 % tolerance; sync every 15 s; `behavior.scaleUp/scaleDown` each with
 *   `stabilizationWindowSeconds` (the HPA acts on the highest recommendation of the window when
 *   scaling down, the lowest when scaling up) and `policies` of `Pods` or `Percent` per `periodSeconds`,
 *   combined by `selectPolicy` (Max: the policy that allows the largest change).
 */

/** Defaults of KEDA and the HPA, for comparison and for the simulator's `keda` baseline. */
export const KEDA_FACTS = {
  /** KEDA `pollingInterval` default. */
  pollingIntervalSeconds: 30,
  /** KEDA `cooldownPeriod` default (before scaling to 0). */
  cooldownPeriodSeconds: 300,
  /** `aws-sqs-queue` `queueLength` default (messages per replica). */
  queueLength: 5,
  /** `aws-sqs-queue` `activationQueueLength` default. */
  activationQueueLength: 0,
  /** HPA controller sync period (`--horizontal-pod-autoscaler-sync-period`). */
  hpaSyncPeriodSeconds: 15,
  /** HPA tolerance: no scaling while metric / target is within 10 % of 1. */
  hpaTolerance: 0.1,
  /** HPA default scale-down stabilization window. */
  hpaScaleDownStabilizationSeconds: 300,
} as const;

/**
 * How often the ScaledObject KEDA runs for a fleet checks the queue (`pollingInterval`): the
 * longest a first message waits for KEDA to take the fleet from 0 to 1 (between 1 and max the HPA
 * reads the metric every 15 s), and the step of the idle rule's clock back to 0. KEDA calls
 * GetQueueAttributes itself, so nothing ties it to CloudWatch's one-minute period: every 10 s is
 * 259,200 calls a month, about $0.10. Judged by the scorecard's rule, the suite's `ours-keda`
 * column (metric-math cells) passed 209 of 260 cells at 10 s against 196 at the model's 60 s, and
 * lost none: the idle suite 10 and 10 of 24 against 7 and 7 (seeds 1 and 2), the drawn loads 54
 * and 52 of 60 against 52 and 47, the full and held-out suites as many (seed 1). Pod-minutes rose
 * by at most 0.6 %, and by 4-5 % on the idle suite's sparse runs, each message met sooner. 30 s,
 * KEDA's default, passed one cell fewer than 10 s on the full suite and on each drawn seed
 * (docs/simulation.md, twenty-seventh round).
 */
export const KEDA_POLLING_INTERVAL_SECONDS = 10;

/** The kind of an HPA scaling policy (`behavior.*.policies[].type`). */
export enum HpaPolicyType {
  PODS = 'Pods',
  PERCENT = 'Percent',
}

/** How the HPA picks among policies (`behavior.*.selectPolicy`). */
export enum HpaSelectPolicy {
  /** The policy that allows the largest change. */
  MAX = 'Max',
  MIN = 'Min',
  DISABLED = 'Disabled',
}

/** One HPA scaling policy: at most `value` pods (or percent of the current replicas) per `periodSeconds`. */
export interface HpaScalingPolicy {
  readonly type: HpaPolicyType;
  readonly value: number;
  readonly periodSeconds: number;
}

/** `behavior.scaleUp` or `behavior.scaleDown` of a HorizontalPodAutoscaler (autoscaling/v2). */
export interface HpaScalingRules {
  readonly stabilizationWindowSeconds: number;
  /** Which policy applies when several do. */
  readonly selectPolicy: HpaSelectPolicy;
  readonly policies: readonly HpaScalingPolicy[];
}

/** The `aws-sqs-queue` trigger's numbers. */
export interface KedaSqsTrigger {
  /** Target messages per replica (an integer: KEDA parses it as one). */
  readonly queueLength: number;
  /** KEDA leaves 0 replicas when the message count exceeds this. */
  readonly activationQueueLength: number;
  /** Count in-flight (received, not deleted) messages. */
  readonly scaleOnInFlight: boolean;
  /** Count delayed messages. */
  readonly scaleOnDelayed: boolean;
}

/** What the model becomes on Kubernetes: a ScaledObject's settings and the HPA behavior it carries. */
export interface KedaScaling {
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  readonly pollingIntervalSeconds: number;
  readonly cooldownPeriodSeconds: number;
  readonly trigger: KedaSqsTrigger;
  readonly behavior: { readonly scaleUp: HpaScalingRules; readonly scaleDown: HpaScalingRules };
}

/** The largest |change| of a step list. */
function largestChange(steps: readonly ScalingStep[]): number {
  return Math.max(...steps.map((s) => Math.abs(s.change)));
}

/**
 * KEDA's queueLength for a backlog target: the target rounded down to an integer (at least 1),
 * since KEDA parses `queueLength` as an integer; rounding down asks for more replicas, never fewer.
 */
export function kedaQueueLength(targetBacklogPerWorker: number): number {
  return Math.max(1, Math.floor(targetBacklogPerWorker));
}

/**
 * The messages per replica the ScaledObject targets for a model: the backlog per worker the model
 * holds, but at most the concurrency. KEDA weighs an in-flight message like a visible one, so at
 * a target above the concurrency a busy pod counts as less than one replica, and a fleet that has
 * caught up with its backlog asks to remove pods that are busy. The model never counts busy
 * workers as spare (`SPARE_WORKERS`); at the concurrency, a busy pod counts as one replica at
 * least. Above it, the suite's steady load on 20 workers (concurrency 1, held backlog 5) swung
 * between about 20 and 3-5 pods every six minutes with EC2's starts. With the cap, the
 * `ours-keda` column of the full suite passes the scorecard's rule in 113 and 114 of 120 cells on
 * seeds 1 and 2, against 92 and 92; the held-out suite 54 and 52 of 64 against 53 and 49; the
 * idle suite 17 and 17 of 48 against 23 and 23 (work every 10 minutes costs more than 3x
 * foresight's worker-minutes: each run now gets a pod per `concurrency` messages). Worker-minutes
 * / foresight's, geometric mean over the full suite: 1.26x against 1.24x; at a 300 s latency goal
 * 1.19x against 0.84x, where the held backlog no longer sizes the fleet (docs/simulation.md,
 * nineteenth round; `EksAgentFleet` `queueLength` chooses another value).
 */
export function kedaMessagesPerReplica(model: Pick<BacklogScalingModel, 'heldBacklogPerWorker' | 'concurrency'>): number {
  return Math.min(model.heldBacklogPerWorker, model.concurrency);
}

/**
 * Translates the policy model into KEDA's and the HPA's settings. Each mapping:
 *
 * - `queueLength` = the backlog per worker the model holds (`heldBacklogPerWorker`, half the
 *   acceptable backlog), at most the concurrency (`kedaMessagesPerReplica`): the HPA's
 *   AverageValue target is messages per replica, which is backlog per worker (AWS's formula) with
 *   the messages KEDA counts.
 * - `scaleOnInFlight` = true, because the model's scale-in counts in-flight messages as work
 *   (`SPARE_WORKERS` reads `inFlight`): a busy fleet must not look idle. KEDA weighs an in-flight
 *   message like a visible one (1 / queueLength replica) where the model weighs it 1 / concurrency;
 *   the cap on queueLength makes a busy pod count as one replica at least. Where the held backlog
 *   is below the concurrency, a partly busy pod can still look spare, so the grace period (>= the
 *   drain deadline) is what lets a removed busy pod finish (docs/eks.md).
 * - `scaleOnDelayed` and `activationQueueLength` 0 = the idle rule: the fleet is idle only when
 *   visible + in-flight + delayed (`QUEUED_MESSAGES`) is 0, and any message takes it from 0 to 1
 *   (the burst rule's threshold 0 on excess backlog: at 0 workers every visible message is excess).
 * - `cooldownPeriod` = the idle rule's time: KEDA scales to 0 that long after the last active
 *   check, i.e. after the queue held no message at all for that long. With minWorkers > 0 there is
 *   no idle rule and KEDA never scales to 0: its default is kept.
 * - `pollingInterval` = `KEDA_POLLING_INTERVAL_SECONDS` (10 s), whatever the model's period:
 *   KEDA reads the queue itself, and the interval is how long a first message waits for a pod.
 * - scale-up: no stabilization (the burst alarm acts on one datapoint); at most the largest burst
 *   step in pods per scale-out cooldown (what one burst action adds, also from a single replica),
 *   or 100 % per scale-out cooldown for target tracking's proportional step (the HPA's own
 *   desired count is already ceil(messages / queueLength); the model leaves that step unbounded,
 *   the HPA needs a bound to rate-limit at all, and doubling is the Kubernetes default's ratio).
 *   With percent burst steps, the largest one becomes a `Percent` policy.
 * - scale-down: stabilization = the scale-in alarm's evaluation time (evaluation periods x
 *   period): the HPA scales down only to the highest count recommended over the window, as the
 *   alarm acts only after that many consecutive periods with a spare worker; at most the largest
 *   scale-in step per scale-in cooldown.
 *
 * `queueLength`, when given (the fleet's own choice), replaces the model's messages per replica.
 */
export function kedaScalingFromModel(model: BacklogScalingModel, queueLength?: number): KedaScaling {
  const burstPolicy: HpaScalingPolicy = {
    type: model.burst.adjustmentType === AdjustmentType.PERCENT_CHANGE_IN_CAPACITY ? HpaPolicyType.PERCENT : HpaPolicyType.PODS,
    value: largestChange(model.burst.steps),
    periodSeconds: model.burst.cooldownSeconds,
  };
  const proportional: HpaScalingPolicy = { type: HpaPolicyType.PERCENT, value: 100, periodSeconds: model.targetTracking.scaleOutCooldownSeconds };
  return {
    minReplicaCount: model.minWorkers,
    maxReplicaCount: model.maxWorkers,
    pollingIntervalSeconds: KEDA_POLLING_INTERVAL_SECONDS,
    cooldownPeriodSeconds: model.scaleToZero?.idleSeconds ?? KEDA_FACTS.cooldownPeriodSeconds,
    trigger: {
      queueLength: queueLength ?? kedaQueueLength(kedaMessagesPerReplica(model)),
      activationQueueLength: model.burst.threshold,
      scaleOnInFlight: SPARE_WORKERS.inputs.includes('inFlight'),
      scaleOnDelayed: QUEUED_MESSAGES.inputs.includes('delayed'),
    },
    behavior: {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: HpaSelectPolicy.MAX,
        policies: burstPolicy.type === HpaPolicyType.PERCENT ? [{ ...burstPolicy, value: Math.max(burstPolicy.value, 100) }] : [burstPolicy, proportional],
      },
      scaleDown: {
        stabilizationWindowSeconds: model.scaleIn.evaluationPeriods * model.metricPeriodSeconds,
        selectPolicy: HpaSelectPolicy.MAX,
        policies: [{ type: HpaPolicyType.PODS, value: largestChange(model.scaleIn.steps), periodSeconds: model.scaleIn.cooldownSeconds }],
      },
    },
  };
}

/** The message count KEDA's aws-sqs-queue scaler reports for a sample ("actual messages"). */
export function kedaQueueMetric(sample: FleetSample, trigger: KedaSqsTrigger): number {
  return sample.visible + (trigger.scaleOnInFlight ? sample.inFlight : 0) + (trigger.scaleOnDelayed ? sample.delayed : 0);
}

/** Where a ScaledObject points: its own name and namespace, the Deployment, the queue and the credentials. */
export interface ScaledObjectTarget {
  readonly name: string;
  readonly namespace: string;
  readonly deploymentName: string;
  readonly queueUrl: string;
  readonly awsRegion: string;
  /** A TriggerAuthentication in the same namespace. */
  readonly triggerAuthenticationName: string;
}

/** The ScaledObject manifest (keda.sh/v1alpha1) for the settings; numbers in trigger metadata are strings, as KEDA requires. */
export function scaledObjectManifest(scaling: KedaScaling, target: ScaledObjectTarget): Record<string, unknown> {
  const { trigger } = scaling;
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: { name: target.name, namespace: target.namespace },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target.deploymentName },
      minReplicaCount: scaling.minReplicaCount,
      maxReplicaCount: scaling.maxReplicaCount,
      pollingInterval: scaling.pollingIntervalSeconds,
      cooldownPeriod: scaling.cooldownPeriodSeconds,
      advanced: {
        horizontalPodAutoscalerConfig: { behavior: scaling.behavior },
      },
      triggers: [{
        type: 'aws-sqs-queue',
        authenticationRef: { name: target.triggerAuthenticationName },
        metadata: {
          queueURL: target.queueUrl,
          awsRegion: target.awsRegion,
          queueLength: String(trigger.queueLength),
          activationQueueLength: String(trigger.activationQueueLength),
          scaleOnInFlight: String(trigger.scaleOnInFlight),
          scaleOnDelayed: String(trigger.scaleOnDelayed),
        },
      }],
    },
  };
}
