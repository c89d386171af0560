import { Duration, Token } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { formatViolations, type Violation } from './policy/violation';

/** Seconds of a Duration, or undefined when it is unset or not known at synth (a token). */
export function knownSeconds(duration: Duration | undefined): number | undefined {
  if (duration === undefined || duration.isUnresolved()) return undefined;
  return duration.toSeconds({ integral: false });
}

/** A number, or undefined when it is unset or not known at synth (a token). */
export function knownNumber(value: number | undefined): number | undefined {
  return value === undefined || Token.isUnresolved(value) ? undefined : value;
}

/**
 * Throws one error that lists every violation, naming the construct path, the prop, the allowed
 * range and the value received. Does nothing when there are none.
 */
export function throwIfInvalid(scope: IConstruct, violations: readonly Violation[]): void {
  if (violations.length > 0) {
    throw new Error(formatViolations(scope.node.path, violations));
  }
}
