import type { RuleSetPort } from '../claims/decision.ts';
import type { Holds, ReviewRuleSetPort } from '../claims/review-rules.ts';
import type { Phase } from './fact-model.ts';
import type { CompiledRule } from './rule-model.ts';
import { RuleSet } from './rule-set.ts';

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
