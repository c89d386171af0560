/**
 * KEDA's `aws-sqs-queue` scaler driving the Kubernetes Horizontal Pod Autoscaler, executed from
 * the ScaledObject settings of `lib/policy/keda.ts` (plain data), so that the same executor runs
 * KEDA's defaults (`kedaDefaults`, the `keda` baseline) and the ScaledObject that `EksAgentFleet`
 * deploys from our policy model (`scaledObjectFromModel`, the `ours-keda` policy).
 *
 * Sources (docs/simulation.md lists them):
 * - KEDA `aws-sqs-queue` scaler: metric = ApproximateNumberOfMessages (+ NotVisible with
 *   `scaleOnInFlight`, default true; + Delayed with `scaleOnDelayed`, default false), read with
 *   GetQueueAttributes (no CloudWatch delay); target `queueLength` default 5,
 *   `activationQueueLength` default 0; the metric is an AverageValue target.
 * - KEDA ScaledObject: `pollingInterval` 30 s (how often KEDA checks activity, which takes the
 *   workload from 0 to 1), `cooldownPeriod` 300 s (inactive this long before going back to 0),
 *   `minReplicaCount` 0.
 * - Kubernetes HPA: sync every 15 s; desired = ceil(current x metric / target), for an
 *   AverageValue target ceil(total / target); no change while |metric / target - 1| <= 0.1
 *   (tolerance); default behavior: scale-up without stabilization, at most
 *   max(100 %, 4 pods) per 15 s; scale-down stabilized over 300 s (the highest recommendation
 *   of the window), at most 100 % per 15 s; `selectPolicy` Max by default.
 */
import {
  HpaPolicyType, HpaSelectPolicy, KEDA_FACTS, kedaQueueMetric, kedaScalingFromModel,
  type HpaScalingRules, type KedaScaling,
} from '../policy/keda';
import type { RuleSample } from '../policy/rules';
import type { BacklogScalingModel } from '../policy/scaling-policy';
import type { ScalingEvent } from './autoscaler';

/** A ScaledObject's settings with the HPA controller's own (sync period, tolerance). */
export interface ScaledObjectSpec extends KedaScaling {
  /** HPA controller sync period (`--horizontal-pod-autoscaler-sync-period`). */
  readonly hpaSyncSeconds: number;
  /** HPA tolerance (`--horizontal-pod-autoscaler-tolerance`). */
  readonly tolerance: number;
}

/** The HPA controller's defaults around a ScaledObject. */
function withHpaDefaults(scaling: KedaScaling): ScaledObjectSpec {
  return { ...scaling, hpaSyncSeconds: KEDA_FACTS.hpaSyncPeriodSeconds, tolerance: KEDA_FACTS.hpaTolerance };
}

/** KEDA's and the HPA's documented defaults, with the target queue length given. */
export function kedaDefaults(queueLength: number, maxReplicaCount: number): ScaledObjectSpec {
  return withHpaDefaults({
    minReplicaCount: 0,
    maxReplicaCount,
    pollingIntervalSeconds: KEDA_FACTS.pollingIntervalSeconds,
    cooldownPeriodSeconds: KEDA_FACTS.cooldownPeriodSeconds,
    trigger: { queueLength, activationQueueLength: KEDA_FACTS.activationQueueLength, scaleOnInFlight: true, scaleOnDelayed: false },
    behavior: {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: HpaSelectPolicy.MAX,
        policies: [{ type: HpaPolicyType.PERCENT, value: 100, periodSeconds: 15 }, { type: HpaPolicyType.PODS, value: 4, periodSeconds: 15 }],
      },
      scaleDown: {
        stabilizationWindowSeconds: KEDA_FACTS.hpaScaleDownStabilizationSeconds,
        selectPolicy: HpaSelectPolicy.MAX,
        policies: [{ type: HpaPolicyType.PERCENT, value: 100, periodSeconds: 15 }],
      },
    },
  });
}

/** The ScaledObject `EksAgentFleet` deploys for a model, with the HPA's defaults. */
export function scaledObjectFromModel(model: BacklogScalingModel): ScaledObjectSpec {
  return withHpaDefaults(kedaScalingFromModel(model));
}

/** A replica change the HPA made, for its policies' periods. */
interface ScaleEvent {
  readonly time: number;
  readonly replicas: number;
}

/**
 * The bound the behavior's policies put on the next replica count, as the HPA computes it: each
 * policy limits the change over its period, counted from the replicas at the period's start
 * (current minus what was added, or plus what was removed, within the period); `Max` takes the
 * policy allowing the largest change, `Min` the smallest, `Disabled` allows none.
 */
function policyBound(rules: HpaScalingRules, current: number, events: readonly ScaleEvent[], now: number, up: boolean): number {
  if (rules.selectPolicy === HpaSelectPolicy.DISABLED) return current;
  const bounds = rules.policies.map((p) => {
    const changed = events.filter((e) => e.time > now - p.periodSeconds).reduce((a, e) => a + e.replicas, 0);
    const start = up ? current - changed : current + changed;
    const change = p.type === HpaPolicyType.PODS ? p.value : Math.ceil((start * p.value) / 100);
    return up ? start + change : start - change;
  });
  const pickLargest = (rules.selectPolicy === HpaSelectPolicy.MAX) === up;
  return pickLargest ? Math.max(...bounds) : Math.min(...bounds);
}

/** Executes a ScaledObject: KEDA's activation loop and the HPA's sync loop. */
export class HpaAutoscaler {
  /** (time, recommendation) of the scale-down stabilization window. */
  private readonly recommendations: { time: number; replicas: number }[] = [];
  private readonly scaledUp: ScaleEvent[] = [];
  private readonly scaledDown: ScaleEvent[] = [];
  private lastActive = -Infinity;

  constructor(readonly spec: ScaledObjectSpec) {}

  /** Called once a second with the queue's counts now (GetQueueAttributes) and the replicas desired. */
  evaluate(now: number, desired: number, sample: RuleSample): { desired: number; events: ScalingEvent[] } {
    const s = this.spec;
    const length = kedaQueueMetric(sample, s.trigger);
    let next = desired;
    let rule = '';
    if (now % s.pollingIntervalSeconds === 0) {
      const active = length > s.trigger.activationQueueLength;
      if (active) this.lastActive = now;
      if (active && desired === 0) {
        next = Math.max(1, s.minReplicaCount);
        rule = 'KEDA activation';
      } else if (!active && desired > 0 && s.minReplicaCount === 0 && now - this.lastActive >= s.cooldownPeriodSeconds) {
        next = 0;
        rule = 'KEDA cooldown to zero';
        this.recommendations.length = 0;
      }
    }
    if (rule === '' && desired > 0 && now % s.hpaSyncSeconds === 0) {
      next = this.hpa(now, desired, length);
      rule = 'HPA';
    }
    return next === desired ? { desired, events: [] } : { desired: next, events: [{ time: now, rule, from: desired, to: next }] };
  }

  private hpa(now: number, current: number, length: number): number {
    const s = this.spec;
    const ratio = length / current / s.trigger.queueLength;
    let recommended = Math.abs(ratio - 1) <= s.tolerance ? current : Math.ceil(length / s.trigger.queueLength - 1e-9);
    recommended = Math.min(s.maxReplicaCount, Math.max(Math.max(1, s.minReplicaCount), recommended));
    // Scale-down stabilization: act on the highest recommendation of the window.
    this.recommendations.push({ time: now, replicas: recommended });
    while (this.recommendations.length > 0 && this.recommendations[0].time <= now - s.behavior.scaleDown.stabilizationWindowSeconds) this.recommendations.shift();
    const longest = Math.max(...[s.behavior.scaleUp, s.behavior.scaleDown].flatMap((r) => r.policies.map((p) => p.periodSeconds)), 0);
    for (const events of [this.scaledUp, this.scaledDown]) {
      while (events.length > 0 && events[0].time <= now - longest) events.shift();
    }
    let next = recommended;
    if (next < current) next = Math.min(current, Math.max(next, ...this.recommendations.map((r) => r.replicas)));
    if (next > current) {
      next = Math.max(current, Math.min(next, policyBound(s.behavior.scaleUp, current, this.scaledUp, now, true)));
      if (next > current) this.scaledUp.push({ time: now, replicas: next - current });
    } else if (next < current) {
      next = Math.min(current, Math.max(next, policyBound(s.behavior.scaleDown, current, this.scaledDown, now, false)));
      if (next < current) this.scaledDown.push({ time: now, replicas: current - next });
    }
    return next;
  }
}
