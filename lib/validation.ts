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

/** Whether a value is a token (a CfnParameter, an attribute of another resource...). */
export function isToken(value: unknown): boolean {
  if (value instanceof Duration) return value.isUnresolved();
  return value !== undefined && Token.isUnresolved(value);
}

/**
 * Props that must be known at synth because the construct computes with them (CloudFormation
 * has no arithmetic to do it at deploy): a violation for each one that is a token.
 */
export function refuseTokens(props: Record<string, unknown>, why: string): Violation[] {
  return Object.entries(props).filter(([, value]) => isToken(value)).map(([prop]) => ({
    prop, allowed: `a value known at synth (${why})`, value: 'a token (a CfnParameter or a resource attribute)',
  }));
}

/**
 * Durations that AWS takes in whole seconds: a violation for each one that is not (e.g.
 * `Duration.millis(1500)`), instead of CDK's error without a path.
 */
export function checkWholeSeconds(durations: Record<string, Duration | undefined>): Violation[] {
  return Object.entries(durations).flatMap(([prop, duration]) => {
    const seconds = knownSeconds(duration);
    return seconds === undefined || Number.isInteger(seconds)
      ? []
      : [{ prop, allowed: 'a whole number of seconds', value: `${seconds} seconds` }];
  });
}

/**
 * Where the violations of the constructs under a scope go when that scope collects them (as
 * `ElasticAgentFleet` does, to report every problem of its parts in one error): `place` renames a
 * child's prop to the name the user wrote, e.g. `stopTimeout` of the fleet to `compute.stopTimeout`,
 * or returns undefined for a violation that only follows from another one the owner reports.
 */
export class ViolationCollector {
  private static readonly collectors = new WeakMap<IConstruct, ViolationCollector>();

  /** The collector of the nearest scope (`scope` itself included) that collects, if any. */
  public static of(scope: IConstruct): ViolationCollector | undefined {
    return scope.node.scopes.slice().reverse().map((s) => ViolationCollector.collectors.get(s)).find((c) => c !== undefined);
  }

  private readonly violations: Violation[] = [];

  constructor(
    private readonly owner: IConstruct,
    private readonly place: (child: IConstruct, prop: string) => string | undefined,
  ) {
    ViolationCollector.collectors.set(owner, this);
  }

  /** Records a child's violations, under the props' names as the owner's user wrote them. */
  public add(child: IConstruct, violations: readonly Violation[]): void {
    for (const v of violations) {
      const prop = this.place(child, v.prop);
      if (prop === undefined) continue;
      const renamed = { ...v, prop };
      // Two parts may check the same rule (the fleet and its scaling both bound the workers).
      if (!this.violations.some((w) => w.prop === renamed.prop && w.allowed === renamed.allowed && w.value === renamed.value)) {
        this.violations.push(renamed);
      }
    }
  }

  /**
   * Runs `build` (which creates a part); when it throws after problems were collected, the error
   * is most likely their consequence, so the collected problems are reported instead.
   */
  public build<T>(build: () => T): T {
    try {
      return build();
    } catch (error) {
      if (this.violations.length > 0) this.throwIfAny();
      throw error;
    }
  }

  /** Throws one error with everything collected; stops collecting either way. */
  public throwIfAny(): void {
    ViolationCollector.collectors.delete(this.owner);
    if (this.violations.length > 0) throw new Error(formatViolations(this.owner.node.path, this.violations));
  }
}

/**
 * Throws one error that lists every violation, naming the construct path, the prop, the allowed
 * range and the value received. Does nothing when there are none. Under a scope that collects
 * violations (`ViolationCollector`), hands them to it instead.
 */
export function throwIfInvalid(scope: IConstruct, violations: readonly Violation[]): void {
  if (violations.length === 0) return;
  const collector = ViolationCollector.of(scope);
  if (collector) {
    collector.add(scope, violations);
    return;
  }
  throw new Error(formatViolations(scope.node.path, violations));
}
