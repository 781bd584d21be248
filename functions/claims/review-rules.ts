import { type Decision, FRAUD_REVIEW, type RuleSetPort } from './decision.ts';

/**
 * What held a pended claim for a person: the rules whose `pend` effect fired, and whether the
 * fraud score reached the threshold. An analyst's approval releases exactly these holds.
 */
export interface Holds {
  rules: string[];
  fraud: boolean;
}

/** Rule ids that stand for the engine itself (errors, unpriced lines): never releasable. */
const ENGINE_RULE = /^engine(?:\.|$)/;

/** The holds of a pended decision, read from its lines (CARC 133 carries the rule) and trace. */
export function holdsOf(decision: Decision): Holds {
  const rules = new Set<string>();
  for (const line of decision.lines) {
    if (line.status !== 'pended') continue;
    for (const a of line.adjustments) if (a.carc === '133') rules.add(a.ruleId);
  }
  // Claim-level pends (and a pend on a line that a claim-level hold then covered) show in the
  // trace as a fired step whose effect includes `pend <reason>`.
  for (const step of decision.trace) {
    if (step.fired && /(?:^|; )pend /.test(step.effect ?? '')) rules.add(step.ruleId);
  }
  return {
    rules: [...rules].filter((id) => !ENGINE_RULE.test(id)).sort(),
    fraud: decision.reasons.some((r) => r.code === FRAUD_REVIEW),
  };
}

/**
 * The rule set an approval is evaluated with: the active one, with a review's holds released
 * (built by the engine's reviewRuleSet, which only the deciding handler bundles).
 */
export interface ReviewRuleSetPort {
  readonly hash: string;
  releasing(holds: Holds): RuleSetPort;
}
