import type { ClaimSubmission } from '../claims/claim.schema.ts';
import type { ClaimFacts, Decision, RuleSetPort } from '../claims/decision.ts';
import type { RuleSetCel } from './cel.ts';
import type { RuleSetIssue } from './errors.ts';
import { evaluateClaim, type RuleProgram } from './evaluate.ts';
import type { Phase } from './fact-model.ts';
import type { CompiledRule } from './rule-model.ts';
import type { ReferenceTable, TableKind } from './tables.ts';

/** What `rules check` and `rules explain` show about a rule. */
export interface RuleSummary {
  id: string;
  description: string;
  phase: Phase;
  file: string;
  line: number;
  kind: 'rule' | 'table';
  effective: { from?: string | undefined; to?: string | undefined };
}

export interface TableSummary {
  name: string;
  kind: TableKind;
  entries: number;
}

export interface RuleSetInit {
  hash: string;
  name: string;
  version: string;
  description: string;
  fraudThreshold: number;
  cel: RuleSetCel;
  rules: Record<Phase, CompiledRule[]>;
  tables: ReferenceTable[];
  files: string[];
  warnings: RuleSetIssue[];
}

/**
 * A loaded, compiled rule set. `evaluate` is a pure function of (claim, facts): no clock,
 * randomness or I/O, and it never throws. Identified by `hash`, which every decision records.
 */
export class RuleSet implements RuleSetPort {
  readonly hash: string;
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly fraudThreshold: number;
  /** Files that make up the set (and its hash), sorted. */
  readonly files: readonly string[];
  /** Problems that do not stop the set loading (unreferenced files, tables not analysable). */
  readonly warnings: readonly RuleSetIssue[];
  readonly rules: readonly RuleSummary[];
  readonly tables: readonly TableSummary[];
  /**
   * CEL expressions in the set, how many run as generated code, and the sources of those that
   * run on cel-js's evaluator instead.
   */
  readonly expressions: { total: number; compiled: number; interpreted: readonly string[] };
  private readonly program: RuleProgram;

  constructor(init: RuleSetInit) {
    this.hash = init.hash;
    this.name = init.name;
    this.version = init.version;
    this.description = init.description;
    this.fraudThreshold = init.fraudThreshold;
    this.files = init.files;
    this.warnings = init.warnings;
    const dated = (phase: Phase) =>
      init.rules[phase].some((r) => r.window.from !== undefined || r.window.to !== undefined);
    this.program = {
      hash: init.hash,
      fraudThreshold: init.fraudThreshold,
      cel: init.cel,
      rules: init.rules,
      dated: { claim: dated('claim'), edit: dated('edit'), price: dated('price'), benefit: dated('benefit') },
    };
    this.rules = (['claim', 'edit', 'price', 'benefit'] as const).flatMap((phase) =>
      init.rules[phase].map((r) => ({
        id: r.id,
        description: r.description,
        phase,
        file: r.source.file,
        line: r.source.line,
        kind: r.table ? ('table' as const) : ('rule' as const),
        effective: { from: r.window.from, to: r.window.to },
      })),
    );
    this.tables = init.tables.map((t) => ({ name: t.name, kind: t.kind, entries: t.size }));
    const all = (['claim', 'edit', 'price', 'benefit'] as const).flatMap((phase) =>
      init.rules[phase].flatMap((r) => [
        ...(r.when ? [r.when] : []),
        ...(r.table?.inputs.map((i) => i.expr) ?? []),
        ...r.effects.flatMap((e) =>
          e.kind === 'allow' || e.kind === 'adjust'
            ? [e.amount]
            : e.kind === 'signal'
              ? e.evidence.map(([, x]) => x)
              : [],
        ),
      ]),
    );
    const interpreted = all.filter((e) => !e.compiled).map((e) => e.source);
    this.expressions = { total: all.length, compiled: all.length - interpreted.length, interpreted };
  }

  /**
   * The compiled rules and the rule set's CEL, for tooling that looks inside a rule set (the
   * CEL benchmark). Not for evaluation: use `evaluate`.
   */
  internals(): { rules: readonly CompiledRule[]; cel: RuleSetCel } {
    return { rules: Object.values(this.program.rules).flat(), cel: this.program.cel };
  }

  evaluate(claim: ClaimSubmission, facts: ClaimFacts): Decision {
    return evaluateClaim(this.program, claim, facts);
  }
}
