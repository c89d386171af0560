import { check, type Violation } from './violation';

/** How a step changes the fleet, as in CloudFormation's `AdjustmentType`. */
export enum AdjustmentType {
  /** Add (or remove, when negative) this many workers. */
  CHANGE_IN_CAPACITY = 'ChangeInCapacity',
  /** Add (or remove) this percentage of the current workers. */
  PERCENT_CHANGE_IN_CAPACITY = 'PercentChangeInCapacity',
  /** Set the fleet to exactly this many workers. */
  EXACT_CAPACITY = 'ExactCapacity',
}

/**
 * One step of a step scaling policy. Bounds are relative to the alarm threshold, as in AWS's
 * `StepAdjustment`: the step applies when `lower <= metric - threshold < upper`.
 */
export interface ScalingStep {
  /** Lower bound (inclusive), relative to the threshold. @default - no lower bound */
  readonly lower?: number;
  /** Upper bound (exclusive), relative to the threshold. @default - no upper bound */
  readonly upper?: number;
  /** The adjustment. */
  readonly change: number;
}

/**
 * The step that applies to `metric`, or undefined when none does. AWS's rule: for an alarm that
 * fires above its threshold the lower bound is inclusive and the upper exclusive; for one that
 * fires below it (`below`), the lower bound is exclusive and the upper inclusive.
 */
export function findStep(steps: readonly ScalingStep[], threshold: number, metric: number, below = false): ScalingStep | undefined {
  const delta = metric - threshold;
  return steps.find((s) => below
    ? (s.lower === undefined || delta > s.lower) && (s.upper === undefined || delta <= s.upper)
    : (s.lower === undefined || delta >= s.lower) && (s.upper === undefined || delta < s.upper));
}

/**
 * Applies an adjustment to the current capacity the way Auto Scaling does: percentages are
 * truncated toward zero but move at least `minAdjustmentMagnitude`; the result is clamped to
 * [min, max] (EC2 Auto Scaling User Guide, "Step and simple scaling policies").
 */
export function applyAdjustment(
  current: number,
  change: number,
  type: AdjustmentType,
  bounds: { readonly min: number; readonly max: number; readonly minAdjustmentMagnitude?: number },
): number {
  let next: number;
  switch (type) {
    case AdjustmentType.EXACT_CAPACITY:
      next = change;
      break;
    case AdjustmentType.PERCENT_CHANGE_IN_CAPACITY: {
      let delta = Math.trunc((current * change) / 100);
      const floor = bounds.minAdjustmentMagnitude ?? 0;
      if (change !== 0 && Math.abs(delta) < floor) delta = Math.sign(change) * floor;
      next = current + delta;
      break;
    }
    default:
      next = current + change;
  }
  return Math.min(bounds.max, Math.max(bounds.min, next));
}

/** Step adjustments a step scaling policy may have (Application and EC2 Auto Scaling quotas). */
export const MAX_STEPS = 20;

/**
 * Steps must cover contiguous, non-overlapping, increasing intervals, with at most one open end
 * on each side, as AWS requires of a step scaling policy.
 */
export function validateSteps(prop: string, steps: readonly ScalingStep[]): Violation[] {
  const out: Violation[] = [];
  out.push(...check(steps.length > 0 && steps.length <= MAX_STEPS, prop, `1-${MAX_STEPS} steps`, `${steps.length} steps`));
  steps.forEach((s, i) => {
    const at = `${prop}[${i}]`;
    out.push(...check(Number.isFinite(s.change), `${at}.change`, 'a finite number', s.change));
    if (s.lower !== undefined && s.upper !== undefined) {
      out.push(...check(s.lower < s.upper, `${at}.upper`, `> lower (${s.lower})`, s.upper));
    }
    if (i > 0) {
      const prev = steps[i - 1];
      out.push(...check(
        prev.upper !== undefined && s.lower !== undefined && s.lower === prev.upper,
        `${at}.lower`,
        `equal to ${prop}[${i - 1}].upper (${prev.upper ?? 'unbounded'}), so steps increase without gap or overlap`,
        s.lower ?? 'unbounded',
      ));
    }
  });
  return out;
}

/** Renders steps as text, for error messages and the simulator's tables. */
export function describeSteps(steps: readonly ScalingStep[]): string {
  return steps.map((s) => `[${s.lower ?? '-inf'}, ${s.upper ?? '+inf'}) ${s.change >= 0 ? '+' : ''}${s.change}`).join(', ');
}
