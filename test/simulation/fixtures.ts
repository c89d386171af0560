import type { RuleSignal } from '../../lib/policy/rules';

export { Comparison, NO_SIGNAL_PARAMS, Statistic } from '../../lib/policy/rules';

/** A signal that reads one count of the sample. */
export function QUEUED_MESSAGES_RULE_SIGNAL(field: 'visible' | 'inFlight'): RuleSignal {
  return { id: field, label: field, evaluate: (s) => s[field] };
}
