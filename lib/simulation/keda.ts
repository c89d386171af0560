/**
 * KEDA's `aws-sqs-queue` scaler driving the Kubernetes Horizontal Pod Autoscaler, executed from a
 * ScaledObject-like description given as plain data, so that the same executor runs KEDA's
 * defaults and any ScaledObject derived from another policy model.
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
 *   of the window), at most 100 % per 15 s.
 */
import type { RuleSample } from '../policy/rules';
import type { ScalingEvent } from './autoscaler';

/** One HPA scaling policy: at most `value` pods or `value` percent per `periodSeconds`. */
export interface HpaScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

/** One direction of the HPA `behavior`. */
export interface HpaScalingRules {
  readonly stabilizationWindowSeconds: number;
  /** `Max`: the policy allowing the largest change wins (Kubernetes' default). */
  readonly policies: readonly HpaScalingPolicy[];
}

/** The SQS trigger of a ScaledObject (`aws-sqs-queue` metadata). */
export interface SqsTrigger {
  /** Target messages per replica (`queueLength`). */
  readonly queueLength: number;
  /** Above this the workload is active (leaves 0); `activationQueueLength`. */
  readonly activationQueueLength: number;
  readonly scaleOnInFlight: boolean;
  readonly scaleOnDelayed: boolean;
}

/** A ScaledObject with the HPA settings it produces, as plain data. */
export interface ScaledObjectSpec {
  readonly minReplicaCount: number;
  readonly maxReplicaCount: number;
  readonly pollingIntervalSeconds: number;
  readonly cooldownPeriodSeconds: number;
  readonly trigger: SqsTrigger;
  /** HPA controller sync period (`--horizontal-pod-autoscaler-sync-period`). */
  readonly hpaSyncSeconds: number;
  /** HPA tolerance (`--horizontal-pod-autoscaler-tolerance`). */
  readonly tolerance: number;
  readonly scaleUp: HpaScalingRules;
  readonly scaleDown: HpaScalingRules;
}

/** KEDA's and the HPA's documented defaults, with the target queue length given. */
export function kedaDefaults(queueLength: number, maxReplicaCount: number): ScaledObjectSpec {
  return {
    minReplicaCount: 0,
    maxReplicaCount,
    pollingIntervalSeconds: 30,
    cooldownPeriodSeconds: 300,
    trigger: { queueLength, activationQueueLength: 0, scaleOnInFlight: true, scaleOnDelayed: false },
    hpaSyncSeconds: 15,
    tolerance: 0.1,
    scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }, { type: 'Pods', value: 4, periodSeconds: 15 }] },
    scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
  };
}

/** The queue length KEDA's scaler reports for a sample. */
export function kedaQueueLength(trigger: SqsTrigger, s: RuleSample): number {
  return s.visible + (trigger.scaleOnInFlight ? s.inFlight : 0) + (trigger.scaleOnDelayed ? s.delayed : 0);
}

/** The largest change the behavior's policies allow from `current` (Max of the policies). */
function allowedChange(rules: HpaScalingRules, current: number): number {
  return Math.max(0, ...rules.policies.map((p) => (p.type === 'Pods' ? p.value : Math.ceil((current * p.value) / 100))));
}

/** Executes a ScaledObject: KEDA's activation loop and the HPA's sync loop. */
export class HpaAutoscaler {
  /** (time, recommendation) of the scale-down stabilization window. */
  private readonly recommendations: { time: number; replicas: number }[] = [];
  private lastActive = -Infinity;

  constructor(readonly spec: ScaledObjectSpec) {}

  /** Called once a second with the queue's counts now (GetQueueAttributes) and the replicas desired. */
  evaluate(now: number, desired: number, sample: RuleSample): { desired: number; events: ScalingEvent[] } {
    const s = this.spec;
    const length = kedaQueueLength(s.trigger, sample);
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
    while (this.recommendations.length > 0 && this.recommendations[0].time <= now - s.scaleDown.stabilizationWindowSeconds) this.recommendations.shift();
    let next = recommended;
    if (next < current) next = Math.min(current, Math.max(next, ...this.recommendations.map((r) => r.replicas)));
    if (next > current) next = Math.min(next, current + allowedChange(s.scaleUp, current));
    else if (next < current) next = Math.max(next, current - allowedChange(s.scaleDown, current));
    return next;
  }
}
