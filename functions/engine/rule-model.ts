import type { AdjustmentGroup } from '../claims/decision.ts';
import {
  type CompiledExpression,
  type CompileProblem,
  type FactRead,
  isProblem,
  type RuleSetCel,
} from './cel.ts';
import type { Phase } from './fact-model.ts';
import type { Window } from './tables.ts';
import { display, type FactsReader } from './trace-values.ts';

/** A message with `{{ expression }}` parts filled in when the rule fires. */
export interface MessageTemplate {
  readonly parts: readonly (string | CompiledExpression)[];
}

export type CompiledEffect =
  | {
      kind: 'deny';
      group: AdjustmentGroup;
      carc: string;
      rarc?: string | undefined;
      message: MessageTemplate;
    }
  | { kind: 'pend'; reason: string; rarc?: string | undefined; message: MessageTemplate }
  | { kind: 'signal'; name: string; weight: number; evidence: readonly [string, CompiledExpression][] }
  | {
      kind: 'allow';
      amount: CompiledExpression;
      group: AdjustmentGroup;
      carc: string;
      rarc?: string | undefined;
      message: MessageTemplate;
    }
  | {
      kind: 'adjust';
      amount: CompiledExpression;
      group: AdjustmentGroup;
      carc: string;
      rarc?: string | undefined;
      message: MessageTemplate;
      accumulate: { deductible: boolean; outOfPocket: boolean };
    }
  | { kind: 'visit' };

/** Where a rule or row is written, for the trace and for `rules explain`. */
export interface SourceRef {
  file: string;
  line: number;
}

export type HitPolicy = 'UNIQUE' | 'FIRST' | 'PRIORITY' | 'COLLECT';

/** DMN COLLECT aggregators: C+ (SUM), C< (MIN), C> (MAX), C# (COUNT). */
export type Aggregation = 'SUM' | 'MIN' | 'MAX' | 'COUNT';

/** One input entry of a decision-table row: a DMN-style unary test on the input value. */
export interface CompiledCell {
  readonly text: string;
  /** True for '-' (any value). */
  readonly any: boolean;
  /** False when the cell reads facts besides the input, so static analysis must skip it. */
  readonly analysable: boolean;
  test(value: unknown, context: Record<string, unknown>): boolean;
}

export interface CompiledRow {
  /** 1-based row number as the analyst counts rows in the table. */
  readonly number: number;
  readonly source: SourceRef;
  readonly cells: readonly CompiledCell[];
  readonly action: 'deny' | 'pend' | 'signal' | 'none';
  readonly effects: readonly CompiledEffect[];
  readonly window: Window;
  /** An aggregated table's row: the number its output contributes (COUNT tables: none). */
  readonly value?: number | undefined;
}

export interface CompiledInput {
  readonly name: string;
  readonly expr: CompiledExpression;
  /** CEL type of the input expression (bool, int, double, string, or something unanalysable). */
  readonly type: string;
  readonly values?: readonly (string | number | boolean)[] | undefined;
}

export interface CompiledDecisionTable {
  readonly hitPolicy: HitPolicy;
  /** COLLECT with an aggregator: one signal (`signal`) weighted by the aggregate of the rows' values. */
  readonly aggregation?:
    | { readonly kind: Aggregation; readonly output: string; readonly signal: string }
    | undefined;
  readonly complete: boolean;
  readonly inputs: readonly CompiledInput[];
  readonly rows: readonly CompiledRow[];
  readonly priority: readonly string[];
}

export interface CompiledRule {
  readonly id: string;
  readonly description: string;
  readonly phase: Phase;
  readonly source: SourceRef;
  readonly window: Window;
  readonly when?: CompiledExpression | undefined;
  readonly effects: readonly CompiledEffect[];
  readonly table?: CompiledDecisionTable | undefined;
  /** Facts the rule reads (its condition, amounts, table inputs), recorded in every trace step. */
  readonly reads: readonly FactRead[];
  /** Each read's path joined with dots: its key in the trace. */
  readonly readKeys: readonly string[];
  /** Builds the rule's trace facts from an evaluation context. */
  readonly readFacts: FactsReader;
}

/**
 * Compiles `Text {{ expr }} text`. Returns the template or the problem with its offset in the
 * message text.
 */
export function compileTemplate(
  text: string,
  cel: RuleSetCel,
  phase: Phase,
): MessageTemplate | CompileProblem {
  const parts: (string | CompiledExpression)[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    const close = text.indexOf('}}', open + 2);
    if (close < 0) return { message: "'{{' is never closed with '}}'", offset: open };
    if (open > i) parts.push(text.slice(i, open));
    const inner = text.slice(open + 2, close);
    const compiled = cel.compile(inner.trim(), phase, 'any');
    if (isProblem(compiled)) {
      const lead = inner.length - inner.trimStart().length;
      return { message: compiled.message, offset: open + 2 + lead + compiled.offset };
    }
    parts.push(compiled);
    i = close + 2;
  }
  return { parts };
}

/** Fills a template; a part that fails renders as `?` so a message never hides a decision. */
export function renderTemplate(template: MessageTemplate, context: object): string {
  let out = '';
  for (const part of template.parts) {
    if (typeof part === 'string') out += part;
    else {
      try {
        out += display(part.evaluate(context));
      } catch {
        out += '?';
      }
    }
  }
  return out;
}

/** A plain-text template (no expressions). */
export function literalTemplate(text: string): MessageTemplate {
  return { parts: [text] };
}
