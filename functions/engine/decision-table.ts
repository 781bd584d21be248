import { isProblem, type RuleSetCel } from './cel.ts';
import { inWindow } from './dates.ts';
import { RuleEvaluationError } from './errors.ts';
import type { Phase } from './fact-model.ts';
import type { Aggregation, CompiledCell, CompiledDecisionTable, CompiledRow } from './rule-model.ts';

/**
 * DMN-style decision tables. Input entries are unary tests written the way DMN (FEEL) writes
 * them — `-` for any, `99213`, `'female'`, `< 18`, `[18..64]`, `A, B`, `not(A, B)` — or,
 * when a cell mentions `it`, any CEL expression over the input value `it`.
 */

type Literal = bigint | number | string | boolean;

/** A parsed unary test plus the constants it mentions (the analysis samples around them). */
interface ParsedCell {
  test: (v: unknown) => boolean;
  literals: Literal[];
}

/** Cell problem with an offset into the cell text. */
export interface CellProblem {
  message: string;
  offset: number;
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === quote) quote = '';
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '[' || ch === '(') depth++;
    else if (ch === ']' || ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function parseLiteral(raw: string, type: string): Literal | undefined {
  const s = raw.trim();
  const quoted = /^'(.*)'$/.exec(s) ?? /^"(.*)"$/.exec(s);
  switch (type) {
    case 'bool':
      return s === 'true' ? true : s === 'false' ? false : undefined;
    case 'int':
      return /^-?\d+$/.test(s) ? BigInt(s) : undefined;
    case 'double':
      return s !== '' && Number.isFinite(Number(s)) ? Number(s) : undefined;
    case 'string':
      if (quoted) return quoted[1];
      return /^[^\s'"[\]()<>=!,]+$/.test(s) ? s : undefined;
    default:
      if (quoted) return quoted[1];
      if (s === 'true' || s === 'false') return s === 'true';
      if (/^-?\d+$/.test(s)) return BigInt(s);
      return undefined;
  }
}

/** Compares two values of one CEL type; undefined when they are not comparable. */
function compare(a: unknown, b: Literal): number | undefined {
  if (typeof a !== typeof b) return undefined;
  const x = a as Literal;
  return x < b ? -1 : x > b ? 1 : 0;
}

function parseAlternative(text: string, type: string): ParsedCell | undefined {
  const range = /^([[\]()])\s*(.+?)\s*\.\.\s*(.+?)\s*([[\]()])$/.exec(text);
  if (range) {
    const lo = parseLiteral(range[2]!, type);
    const hi = parseLiteral(range[3]!, type);
    if (lo === undefined || hi === undefined) return undefined;
    const loIn = range[1] === '[';
    const hiIn = range[4] === ']';
    return {
      literals: [lo, hi],
      test: (v) => {
        const a = compare(v, lo);
        const b = compare(v, hi);
        return a !== undefined && b !== undefined && (loIn ? a >= 0 : a > 0) && (hiIn ? b <= 0 : b < 0);
      },
    };
  }
  const cmp = /^(<=|>=|<|>|!=|==|=)\s*(.+)$/.exec(text);
  if (cmp) {
    const lit = parseLiteral(cmp[2]!, type);
    if (lit === undefined) return undefined;
    const op = cmp[1];
    return {
      literals: [lit],
      test: (v) => {
        const c = compare(v, lit);
        if (c === undefined) return op === '!=';
        switch (op) {
          case '<':
            return c < 0;
          case '<=':
            return c <= 0;
          case '>':
            return c > 0;
          case '>=':
            return c >= 0;
          case '!=':
            return c !== 0;
          default:
            return c === 0;
        }
      },
    };
  }
  const lit = parseLiteral(text, type);
  if (lit === undefined) return undefined;
  return { literals: [lit], test: (v) => v === lit };
}

function parseUnaryTests(text: string, type: string): ParsedCell | undefined {
  const negated = /^not\s*\((.*)\)$/s.exec(text);
  const body = negated ? negated[1]! : text;
  const alternatives = splitTopLevel(body).map((a) => parseAlternative(a, type));
  if (alternatives.some((a) => a === undefined)) return undefined;
  const alts = alternatives as ParsedCell[];
  const literals = alts.flatMap((a) => a.literals);
  const test = alts.length === 1 ? alts[0]!.test : (v: unknown) => alts.some((a) => a.test(v));
  return { literals, test: negated ? (v) => !test(v) : test };
}

/** Parsed cell with the constants the analysis samples around. */
export interface CellWithLiterals extends CompiledCell {
  readonly literals: readonly Literal[];
}

/** Compiles one input entry for an input of CEL type `type`. */
export function compileCell(
  text: string,
  type: string,
  cel: RuleSetCel,
  phase: Phase,
): CellWithLiterals | CellProblem {
  const t = text.trim();
  if (t === '' || t === '-') return { text: t, any: true, analysable: true, literals: [], test: () => true };
  if (/\bit\b/.test(t)) {
    const compiled = cel.compile(t, phase, ['bool'], type);
    if (isProblem(compiled)) return { message: compiled.message, offset: compiled.offset };
    return {
      text: t,
      any: false,
      analysable: !compiled.readsContext,
      literals: [],
      test: (value, context) => {
        context.it = value;
        const r = compiled.evaluate(context);
        if (typeof r !== 'boolean') throw new RuleEvaluationError(`cell '${t}' did not give true or false`);
        return r;
      },
    };
  }
  const parsed = parseUnaryTests(t, type);
  if (!parsed) {
    const hint =
      type === 'string'
        ? "quote text with spaces or symbols ('like this')"
        : type === 'int'
          ? 'use a whole number, a comparison (< 18) or a range ([18..64])'
          : type === 'bool'
            ? 'use true, false or -'
            : 'use a literal, a comparison, a range, or a CEL test on it';
    return { message: `cannot read '${t}' as a test on a ${type} input: ${hint}`, offset: 0 };
  }
  return { text: t, any: false, analysable: true, literals: parsed.literals, test: (v) => parsed.test(v) };
}

/** Rows that apply to `context` under the table's hit policy, in the order they take effect. */
export function selectRows(
  table: CompiledDecisionTable,
  inputValues: readonly unknown[],
  context: Record<string, unknown>,
  asOf: string,
): CompiledRow[] {
  const matches: CompiledRow[] = [];
  for (const row of table.rows) {
    if (!inWindow(asOf, row.window.from, row.window.to)) continue;
    let ok = true;
    for (let i = 0; i < row.cells.length; i++) {
      const cell = row.cells[i]!;
      if (!cell.any && !cell.test(inputValues[i], context)) {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    if (table.hitPolicy === 'FIRST') return [row];
    matches.push(row);
  }
  switch (table.hitPolicy) {
    case 'UNIQUE':
      if (matches.length > 1) {
        throw new RuleEvaluationError(
          `UNIQUE table: rows ${matches.map((r) => r.number).join(' and ')} all match (${describeInputs(table, inputValues)})`,
        );
      }
      return matches;
    case 'PRIORITY': {
      if (matches.length === 0) return matches;
      const rank = (r: CompiledRow) => {
        const i = table.priority.indexOf(r.action);
        return i < 0 ? table.priority.length : i;
      };
      let best = matches[0]!;
      for (const r of matches) if (rank(r) < rank(best)) best = r;
      return [best];
    }
    default:
      return matches;
  }
}

/**
 * The DMN aggregate of the matching rows' values: C+ (SUM), C< (MIN), C> (MAX) or C# (COUNT,
 * 0 when nothing matched). Undefined for SUM, MIN and MAX over no rows, as FEEL's sum, min and
 * max of an empty list are null.
 */
export function aggregate(kind: Aggregation, rows: readonly CompiledRow[]): number | undefined {
  if (kind === 'COUNT') return rows.length;
  if (rows.length === 0) return undefined;
  let result = rows[0]!.value ?? 0;
  for (let i = 1; i < rows.length; i++) {
    const v = rows[i]!.value ?? 0;
    if (kind === 'SUM') result += v;
    else if (kind === 'MIN' ? v < result : v > result) result = v;
  }
  return result;
}

function describeInputs(table: CompiledDecisionTable, values: readonly unknown[]): string {
  return table.inputs.map((input, i) => `${input.name} = ${String(values[i])}`).join(', ');
}

/** A static finding about a table: overlapping rows under UNIQUE, or a gap in a complete table. */
export interface TableFinding {
  kind: 'overlap' | 'gap' | 'not-analysable';
  message: string;
  rows: number[];
}

const MAX_COMBINATIONS = 50_000;

/**
 * Checks UNIQUE tables for overlapping rows and `complete` tables for gaps by testing every
 * combination of representative input values: each declared value, true/false for booleans,
 * and for numbers and text the constants the cells mention plus a value either side of each.
 * For tests made of literals, comparisons and ranges that sample is exhaustive.
 */
export function analyseTable(table: CompiledDecisionTable): TableFinding[] {
  const wantOverlap = table.hitPolicy === 'UNIQUE';
  if (!wantOverlap && !table.complete) return [];
  const rows = table.rows as readonly (CompiledRow & { cells: readonly CellWithLiterals[] })[];
  if (rows.some((r) => r.cells.some((c) => !c.analysable))) {
    return [
      {
        kind: 'not-analysable',
        message: 'some cells read facts other than the input, so overlaps and gaps were not checked',
        rows: [],
      },
    ];
  }
  const samples: unknown[][] = [];
  for (const [i, input] of table.inputs.entries()) {
    const s = representatives(
      input.type,
      input.values,
      rows.flatMap((r) => r.cells[i]?.literals ?? []),
    );
    if (!s) {
      return [
        {
          kind: 'not-analysable',
          message: `input '${input.name}' is ${input.type}; only bool, int, double and string inputs are checked`,
          rows: [],
        },
      ];
    }
    samples.push(s);
  }
  const total = samples.reduce((n, s) => n * s.length, 1);
  if (total > MAX_COMBINATIONS) {
    return [{ kind: 'not-analysable', message: `too many input combinations to check (${total})`, rows: [] }];
  }
  const findings: TableFinding[] = [];
  const seenOverlaps = new Set<string>();
  let gaps = 0;
  const combo: unknown[] = new Array(samples.length);
  const context: Record<string, unknown> = {};
  const walk = (col: number): void => {
    if (col === samples.length) {
      const matching = rows.filter((r) => r.cells.every((c, i) => c.any || c.test(combo[i], context)));
      if (wantOverlap && matching.length > 1) {
        const key = matching.map((r) => r.number).join(',');
        if (!seenOverlaps.has(key)) {
          seenOverlaps.add(key);
          findings.push({
            kind: 'overlap',
            message: `rows ${matching.map((r) => r.number).join(' and ')} overlap under UNIQUE, e.g. ${show(table, combo)}`,
            rows: matching.map((r) => r.number),
          });
        }
      }
      if (table.complete && matching.length === 0 && gaps < 5) {
        gaps++;
        findings.push({ kind: 'gap', message: `no row matches ${show(table, combo)}`, rows: [] });
      }
      return;
    }
    for (const v of samples[col]!) {
      combo[col] = v;
      walk(col + 1);
    }
  };
  walk(0);
  return findings;
}

function show(table: CompiledDecisionTable, combo: readonly unknown[]): string {
  return table.inputs
    .map((input, i) => {
      const v = combo[i];
      const text = typeof v === 'string' ? (v === OTHER ? '(any other text)' : `'${v}'`) : String(v);
      return `${input.name} = ${text}`;
    })
    .join(', ');
}

const OTHER = '\u0000other';

function representatives(
  type: string,
  declared: readonly (string | number | boolean)[] | undefined,
  literals: readonly Literal[],
): unknown[] | undefined {
  if (declared) return declared.map((v) => (type === 'int' && typeof v === 'number' ? BigInt(v) : v));
  switch (type) {
    case 'bool':
      return [true, false];
    case 'int': {
      const set = new Set<bigint>([0n]);
      for (const l of literals) if (typeof l === 'bigint') for (const d of [-1n, 0n, 1n]) set.add(l + d);
      return [...set];
    }
    case 'double': {
      const set = new Set<number>([0]);
      for (const l of literals) if (typeof l === 'number') for (const d of [-0.5, 0, 0.5]) set.add(l + d);
      return [...set];
    }
    case 'string': {
      const set = new Set<string>([OTHER]);
      for (const l of literals) if (typeof l === 'string') set.add(l);
      return [...set];
    }
    default:
      return undefined;
  }
}
