/**
 * Application Auto Scaling (or EC2 Auto Scaling) executing a rule set: alarms on datapoints,
 * step adjustments through the policy model's `findStep`/`applyAdjustment`, target tracking
 * through its `targetTrackingCapacity`, cooldowns and warm-up as AWS documents them:
 *
 * - An alarm in ALARM invokes its action on entering ALARM and again once a minute
 *   (Application Auto Scaling User Guide, "Step scaling policies").
 * - Scale-out cooldown: capacity added by the scale-out that started the cooldown counts toward
 *   the next one, so a later, larger step adds only the difference ("Cooldown period").
 * - Scale-in cooldown blocks further scale-in; a scale-out ends it.
 * - Several policies at once: the one giving the largest capacity wins, both ways.
 * - Target tracking: scale-out alarm on N of N datapoints above target, scale-in alarm on M of M
 *   below 90 % of it; new capacity ceil/floor(capacity x metric / target); no action on missing data.
 * - EC2 Auto Scaling: no cooldowns (its step and target tracking policies take none). Instances
 *   launched and not yet past their warm-up are not current capacity: a scale-out adds to the
 *   capacity without them, so repeated breaches of the same step launch nothing more; and they
 *   block scale-in until they finish warming up. Terminating instances are current capacity: a
 *   scale-in removes from the capacity with them, so it removes no more than necessary
 *   ("Set the default instance warmup for an Auto Scaling group"; "Step and simple scaling
 *   policies for Amazon EC2 Auto Scaling").
 */
import { findRuleStep, isScaleOutStep, targetTrackingDecision, Comparison, type ScalingRule, type ScalingRuleSet, type StepRule, type TargetTrackingRule } from '../policy/rules';
import { applyAdjustment } from '../policy/steps';
import { AlarmActions, alarmState, type Datapoints } from './cloudwatch';

/** A change of the fleet's desired capacity. */
export interface ScalingEvent {
  readonly time: number;
  readonly rule: string;
  readonly from: number;
  readonly to: number;
}

export interface AutoscalerOptions {
  readonly alarmReinvokeSeconds: number;
  /** EC2 Auto Scaling's rules (an Auto Scaling group) rather than Application Auto Scaling's (an ECS service). @default false */
  readonly ec2?: boolean;
}

/** The fleet's workers in transition, as EC2 Auto Scaling counts a group's instances (read only on EC2). */
export interface GroupTransitions {
  /** Launched and not past their warm-up: Pending, or InService for less than the warm-up. */
  readonly warming: number;
  /** Terminating: their workers draining. */
  readonly terminating: number;
}

const NO_TRANSITIONS: GroupTransitions = { warming: 0, terminating: 0 };

/**
 * Where a live worker's instance is in the group's transitions: draining is terminating; starting
 * is Pending, and a ready worker is InService, warming for `warmupSeconds` from then (EC2 Auto
 * Scaling counts the warm-up from InService).
 */
export function transitionOf(state: 'starting' | 'running' | 'draining', secondsSinceReady: number, warmupSeconds: number): keyof GroupTransitions | undefined {
  if (state === 'draining') return 'terminating';
  return state === 'starting' || secondsSinceReady < warmupSeconds ? 'warming' : undefined;
}

interface RuleState {
  readonly out: AlarmActions;
  readonly in: AlarmActions;
  outUntil: number;
  outBase: number;
  inUntil: number;
}

/** The capacities a scale-out and a scale-in adjust. */
interface Bases {
  readonly out: number;
  readonly in: number;
}

interface Proposal {
  readonly state: RuleState;
  readonly rule: ScalingRule;
  readonly capacity: number;
  readonly direction: 'out' | 'in';
  readonly outCooldown: number;
  readonly inCooldown: number;
  /** A scale-out inside the cooldown it started raises capacity without restarting the cooldown. */
  readonly withinCooldown: boolean;
}

export class RuleAutoscaler {
  private readonly states: RuleState[];

  constructor(readonly ruleSet: ScalingRuleSet, private readonly datapoints: Datapoints, private readonly options: AutoscalerOptions) {
    this.states = ruleSet.rules.map(() => ({
      out: new AlarmActions(options.alarmReinvokeSeconds),
      in: new AlarmActions(options.alarmReinvokeSeconds),
      outUntil: -Infinity,
      outBase: 0,
      inUntil: -Infinity,
    }));
  }

  /**
   * Evaluates every rule whose alarms evaluate at `now` (every period, at most every minute) and
   * returns the new desired capacity with the events that changed it. `group`: the workers in
   * transition, which only EC2 Auto Scaling's rules read.
   */
  evaluate(now: number, desired: number, group: GroupTransitions = NO_TRANSITIONS): { desired: number; events: ScalingEvent[] } {
    const outs: Proposal[] = [];
    const ins: Proposal[] = [];
    const bases = this.options.ec2
      ? { out: Math.max(0, desired - group.warming), in: desired + group.terminating }
      : { out: desired, in: desired };
    this.ruleSet.rules.forEach((rule, i) => {
      const period = rule.metric.periodSeconds;
      if (now % Math.min(period, 60) !== 0) return;
      const state = this.states[i];
      const proposals = rule.kind === 'step' ? this.step(rule, state, now, bases, desired) : this.tracking(rule, state, now, bases);
      for (const p of proposals) {
        // A scale-out policy never lowers capacity, nor a scale-in one raises it; on EC2 scale-in waits for warm-up.
        if (p.direction === 'out' && p.capacity > desired) outs.push(p);
        else if (p.direction === 'in' && p.capacity < desired && !(this.options.ec2 && group.warming > 0)) ins.push(p);
      }
    });
    const largest = (ps: Proposal[]) => ps.reduce((a, b) => (b.capacity > a.capacity ? b : a));
    if (outs.length > 0) {
      const p = largest(outs);
      if (!p.withinCooldown) {
        p.state.outUntil = now + p.outCooldown;
        p.state.outBase = desired;
      }
      for (const s of this.states) s.inUntil = -Infinity;
      return { desired: p.capacity, events: [{ time: now, rule: p.rule.name, from: desired, to: p.capacity }] };
    }
    if (ins.length > 0) {
      const p = largest(ins);
      p.state.inUntil = now + p.inCooldown;
      return { desired: p.capacity, events: [{ time: now, rule: p.rule.name, from: desired, to: p.capacity }] };
    }
    return { desired, events: [] };
  }

  private bounds(rule: StepRule) {
    return { min: this.ruleSet.minWorkers, max: this.ruleSet.maxWorkers, minAdjustmentMagnitude: rule.minAdjustmentMagnitude };
  }

  private clamp(capacity: number): number {
    return Math.min(this.ruleSet.maxWorkers, Math.max(this.ruleSet.minWorkers, capacity));
  }

  /** EC2 Auto Scaling's policies take no cooldown. */
  private cooldown(seconds: number): number {
    return this.options.ec2 ? 0 : seconds;
  }

  /**
   * `bases`: the capacity a scale-out and a scale-in adjust (on ECS the desired count; on EC2
   * without the warming instances, and with the terminating ones); `desired`: the capacity an
   * ExactCapacity step is above (a scale-out) or not (`isScaleOutStep`).
   */
  private step(rule: StepRule, state: RuleState, now: number, bases: Bases, desired: number): Proposal[] {
    const values = this.datapoints.values(rule.metric, now, rule.evaluationPeriods);
    const treatMissing = rule.treatMissingAsBreaching === false ? 'notBreaching' : 'missing';
    if (!state.out.shouldInvoke(alarmState(values, rule.evaluationPeriods, rule.comparison, rule.threshold, rule.datapointsToAlarm, treatMissing), now)) return [];
    // The step is looked up with the newest value; under M of N that one may not breach, and then no step applies.
    const newest = [...values].reverse().find((v) => Number.isFinite(v));
    if (newest === undefined) return [];
    const step = findRuleStep(rule, newest);
    if (!step) return [];
    const common = { state, rule, outCooldown: this.cooldown(rule.cooldownSeconds), inCooldown: this.cooldown(rule.cooldownSeconds) };
    if (isScaleOutStep(rule, step, desired)) {
      const withinCooldown = now < state.outUntil;
      const capacity = applyAdjustment(withinCooldown ? state.outBase : bases.out, step.change, rule.adjustmentType, this.bounds(rule));
      return [{ ...common, capacity, direction: 'out', withinCooldown }];
    }
    if (now < state.inUntil) return [];
    return [{ ...common, capacity: applyAdjustment(bases.in, step.change, rule.adjustmentType, this.bounds(rule)), direction: 'in', withinCooldown: false }];
  }

  private tracking(rule: TargetTrackingRule, state: RuleState, now: number, bases: Bases): Proposal[] {
    const out: Proposal[] = [];
    const common = { state, rule, outCooldown: this.cooldown(rule.scaleOutCooldownSeconds), inCooldown: this.cooldown(rule.scaleInCooldownSeconds) };
    const high = this.datapoints.values(rule.metric, now, rule.scaleOutDatapoints);
    if (state.out.shouldInvoke(alarmState(high, rule.scaleOutDatapoints, Comparison.GREATER_THAN, rule.target), now)) {
      const withinCooldown = now < state.outUntil;
      const next = targetTrackingDecision(rule, withinCooldown ? state.outBase : bases.out, high[high.length - 1], 'out');
      if (next !== undefined) out.push({ ...common, capacity: this.clamp(next), direction: 'out', withinCooldown });
    }
    if (!rule.disableScaleIn) {
      const low = this.datapoints.values(rule.metric, now, rule.scaleInDatapoints);
      const state_ = alarmState(low, rule.scaleInDatapoints, Comparison.LESS_THAN, rule.scaleInRatio * rule.target);
      if (state.in.shouldInvoke(state_, now) && now >= state.inUntil) {
        const next = targetTrackingDecision(rule, bases.in, low[low.length - 1], 'in');
        if (next !== undefined) out.push({ ...common, capacity: this.clamp(next), direction: 'in', withinCooldown: false });
      }
    }
    return out;
  }
}
