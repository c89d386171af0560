/**
 * One broken rule of a configuration: which prop, what it may be, what it was.
 * Constructs add their path and report all violations of a construct in one error.
 */
export interface Violation {
  /** The prop as the user wrote it, e.g. `maxWorkers` or `compute.stopTimeout`. */
  readonly prop: string;
  /** The allowed range or relation, e.g. `1-1000` or `>= minWorkers (3)`. */
  readonly allowed: string;
  /** The value received, as text. */
  readonly value: string;
}

/** One rule: `ok` false means a violation of `allowed`. Values that are not known yet are skipped. */
export function check(ok: boolean, prop: string, allowed: string, value: unknown): Violation[] {
  return ok ? [] : [{ prop, allowed, value: String(value) }];
}

/** Checks an integer range; `undefined` (unset, or an unresolved token) passes. */
export function checkIntegerRange(prop: string, value: number | undefined, min: number, max: number): Violation[] {
  if (value === undefined) return [];
  return check(Number.isInteger(value) && value >= min && value <= max, prop, `an integer ${min}-${max}`, value);
}

/** Checks a number range; `undefined` (unset, or an unresolved token) passes. */
export function checkRange(prop: string, value: number | undefined, min: number, max: number, unit = ''): Violation[] {
  if (value === undefined) return [];
  return check(Number.isFinite(value) && value >= min && value <= max, prop, `${min}-${max}${unit}`, `${value}${unit}`);
}

/** Formats violations as the lines of one error message. */
export function formatViolations(path: string, violations: readonly Violation[]): string {
  const lines = violations.map((v) => `  - ${v.prop}: must be ${v.allowed}, got ${v.value}`);
  return `${path}: invalid configuration (${violations.length} problem${violations.length === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}
