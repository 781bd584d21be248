import { FRAUD_REVIEW } from '#engine/evaluate.ts';
import type { Phase } from '#engine/fact-model.ts';
import type { CompiledRule } from '#engine/rule-model.ts';
import { RuleSet } from '#engine/rule-set.ts';
import type { Decision, RuleSetPort } from './decision.ts';

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

/** The rule set an approval is evaluated with: the active one, with a review's holds released. */
export interface ReviewRuleSetPort {
  readonly hash: string;
  releasing(holds: Holds): RuleSetPort;
}

/**
 * Builds "the same rule set, with these holds released": the named rules lose their `pend`
 * effects (in decision-table rows too) and, for a fraud hold, the threshold is lifted. Every
 * other rule, table, price and benefit runs unchanged, so an approved claim is priced and
 * cost-shared exactly as an automatic approval is, and the result is still a pure function of
 * (claim, facts, rule set hash, holds), all of which the `claim.reviewed` entry records.
 *
 * It reuses the compiled rules (`RuleSet.internals()`) rather than recompiling: nothing is
 * evaluated that the active rule set would not evaluate, and nothing is compiled twice.
 */
export function reviewRuleSet(ruleSet: RuleSet): ReviewRuleSetPort {
  return {
    hash: ruleSet.hash,
    releasing(holds: Holds): RuleSetPort {
      const { rules, cel } = ruleSet.internals();
      const released = new Set(holds.rules);
      const byPhase: Record<Phase, CompiledRule[]> = { claim: [], edit: [], price: [], benefit: [] };
      for (const rule of rules) byPhase[rule.phase].push(released.has(rule.id) ? withoutPend(rule) : rule);
      return new RuleSet({
        hash: ruleSet.hash,
        name: ruleSet.name,
        version: ruleSet.version,
        description: ruleSet.description,
        fraudThreshold: holds.fraud ? Number.MAX_SAFE_INTEGER : ruleSet.fraudThreshold,
        cel,
        rules: byPhase,
        tables: [],
        files: [...ruleSet.files],
        warnings: [],
      });
    },
  };
}

function withoutPend(rule: CompiledRule): CompiledRule {
  const effects = rule.effects.filter((e) => e.kind !== 'pend');
  if (!rule.table) return { ...rule, effects };
  return {
    ...rule,
    effects,
    table: {
      ...rule.table,
      // The row keeps its action, so a PRIORITY table still selects the same row; only the
      // hold goes (its signals, if any, still count).
      rows: rule.table.rows.map((row) => ({ ...row, effects: row.effects.filter((e) => e.kind !== 'pend') })),
    },
  };
}
