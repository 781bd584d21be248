import type { ASTNode } from '@marcbachmann/cel-js';
import { compileClosure } from './cel-closure.ts';
import { ageOn, daysBetween } from './dates.ts';
import { RuleEvaluationError } from './errors.ts';
import { factTypes, type Phase } from './fact-model.ts';
import { npiCheckDigitValid } from './npi.ts';
import type { ReferenceTable, TableKind } from './tables.ts';

/**
 * CEL for rule files. Expressions are parsed and type-checked against the fact model once, when
 * the rule set loads, by a front end: @marcbachmann/cel-js (cel-checker.ts; chosen over
 * @bufbuild/cel by measurement, see bench/rules-cel.bench.ts and rules/README.md), or, in a
 * Lambda bundle, what synth recorded of it (recorded-source.ts), so that no parser ships. The
 * checked AST is then compiled to code (cel-closure.ts) against the engine's functions here.
 */

/**
 * Per-evaluation state the lookup functions read. Evaluation is synchronous, so one mutable
 * object per rule set is safe: the engine sets `asOf` to the date of service before running
 * a rule, which is how table rows and windows are effective-dated without every expression
 * passing a date.
 */
export interface CelRuntime {
  asOf: string;
  /** True while a decision is being evaluated (lookups are then recorded for the trace). */
  tracing: boolean;
  /**
   * Lookups of the rule being evaluated (its condition's, amounts', messages'), as trace text;
   * the engine moves them into the rule's trace step.
   */
  lookups: string[] | undefined;
}

/** What type-checking an expression tells about it: its type and what it reads. */
export interface ExpressionFacts {
  readonly type: string;
  /** Facts it reads, e.g. ['coverage', 'benefits', 'deductibleCents'], for the trace. */
  readonly reads: readonly FactRead[];
  /** Names of the reference tables it looks up. */
  readonly tables: readonly string[];
  /** Variables it reads besides `it` (decision-table cells that read only `it` are analysable). */
  readonly readsContext: boolean;
}

/** The facts alone, of a checked, compiled or recorded expression. */
export const expressionFacts = ({ type, reads, tables, readsContext }: ExpressionFacts): ExpressionFacts => ({
  type,
  reads,
  tables,
  readsContext,
});

/** A compiled expression: callable on a context object, with what it reads for the trace. */
export interface CompiledExpression extends ExpressionFacts {
  readonly source: string;
  evaluate(context: object): unknown;
  /** The same expression on cel-js's own evaluator: the reference the closures are tested against. */
  evaluateReference(context: object): unknown;
  /** True when `evaluate` runs compiled closures rather than cel-js's evaluator. */
  readonly compiled: boolean;
}

/**
 * A fact an expression reads: a path rooted at a fact variable, and for a list it only
 * iterates, the element fields it looks at (absent: the whole value).
 */
export interface FactRead {
  readonly path: readonly string[];
  readonly fields?: readonly (readonly string[])[];
  /** Identifies the projection (`fields`), for caching the list as projected. */
  readonly fieldsKey?: string;
}

/** Why an expression did not compile; `offset` is a 0-based index into the source. */
export interface CompileProblem {
  message: string;
  offset: number;
}

/** Lookup functions, the table kind each requires, and their CEL signatures. */
export const tableFunctions: Record<string, { kind: TableKind; signature: string }> = {
  inList: { kind: 'codeList', signature: 'inList(string, string): bool' },
  codeValue: { kind: 'codeValues', signature: 'codeValue(string, string): int' },
  hasFee: { kind: 'feeSchedule', signature: 'hasFee(string, string, list<string>): bool' },
  fee: { kind: 'feeSchedule', signature: 'fee(string, string, list<string>): int' },
  ptp: { kind: 'ptp', signature: 'ptp(string, string, string): int' },
  hasMue: { kind: 'mue', signature: 'hasMue(string, string): bool' },
  mue: { kind: 'mue', signature: 'mue(string, string): int' },
  excluded: { kind: 'excludedProviders', signature: 'excluded(string, string): bool' },
};

/** What a front end gives for an expression it parsed and type-checked. */
export interface CheckedExpression extends ExpressionFacts {
  /** The checked AST: what the closure compiler reads of it is `op`, `args` and `checkedType.name`. */
  readonly ast: ASTNode;
  /** cel-js's own evaluator on it, where the front end carries cel-js (not in a Lambda bundle). */
  readonly reference?: (context: object) => unknown;
}

/** What a rule set declares to CEL: the engine's functions, its parameters, its tables. */
export interface CelDeclarations {
  readonly functions: readonly { signature: string; handler: (...args: never[]) => unknown }[];
  readonly params: { ctor: new () => object; fields: Record<string, string> };
  readonly tables: ReadonlyMap<string, ReferenceTable>;
}

/** Parses and type-checks expressions of one rule set. */
export interface CelChecker {
  check(
    source: string,
    phase: Phase,
    expect: readonly string[] | 'any',
    itType?: string,
  ): CheckedExpression | CompileProblem;
}

export type CelFrontEnd = (declarations: CelDeclarations) => CelChecker;

/** Where function definitions go: collected, then given to the front end and the compiler. */
interface FunctionSink {
  // biome-ignore lint/suspicious/noExplicitAny: handlers take the typed values their signature declares.
  registerFunction(signature: string, handler: (...args: any[]) => unknown): FunctionSink;
}

/** Parameter values from the manifest, typed for CEL. */
export type ParamValue = bigint | number | string | boolean;

function celTypeOf(value: ParamValue): string {
  switch (typeof value) {
    case 'bigint':
      return 'int';
    case 'number':
      return 'double';
    case 'string':
      return 'string';
    default:
      return 'bool';
  }
}

/**
 * One table lookup's arguments with its latest answer: the date of service it was asked for,
 * the result as the trace shows it, the value returned to CEL and the trace text (built when
 * first traced, kept while the result stays the same).
 */
interface Lookup {
  readonly a: string;
  readonly b: string | undefined;
  readonly mods: readonly string[] | undefined;
  asOf: string | undefined;
  shown: unknown;
  value: unknown;
  text: string | undefined;
  readonly next: Lookup | undefined;
}

function sameList(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === b) return true;
  if (a === undefined || b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const lessOf = (a: bigint, b: bigint) => (a < b ? a : b);
const moreOf = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The CEL of one rule set: its functions, parameters and tables, and the compiler from checked
 * expressions to code.
 */
export class RuleSetCel {
  readonly runtime: CelRuntime = { asOf: '', tracing: false, lookups: undefined };
  readonly params: object;
  private readonly checker: CelChecker;

  constructor(
    paramValues: Readonly<Record<string, ParamValue>>,
    private readonly tables: ReadonlyMap<string, ReferenceTable>,
    frontEnd: CelFrontEnd,
  ) {
    // A class per rule set: cel-js recognises typed values by constructor.
    class Params {}
    const params = new Params();
    const paramFields: Record<string, string> = {};
    for (const [name, value] of Object.entries(paramValues)) {
      paramFields[name] = celTypeOf(value);
      Object.defineProperty(params, name, { value, enumerable: true });
    }
    this.params = params;
    const recorded: { signature: string; handler: (...args: never[]) => unknown }[] = [];
    const recorder: FunctionSink = {
      registerFunction(signature, handler) {
        recorded.push({ signature, handler });
        return recorder;
      },
    };
    this.defineFunctions(recorder);
    for (const { signature, handler } of recorded) {
      const name = signature.slice(0, signature.indexOf('('));
      const params = signature.slice(signature.indexOf('(') + 1, signature.indexOf(')')).trim();
      this.functionTable.set(`${name}/${params === '' ? 0 : params.split(',').length}`, handler);
    }
    this.messageTypes = new Set([...factTypes.map((t) => t.name), 'Params']);
    this.checker = frontEnd({ functions: recorded, params: { ctor: Params, fields: paramFields }, tables });
  }

  /** The engine's functions by `name/arity`, for the closure compiler. */
  private readonly functionTable = new Map<string, (...args: never[]) => unknown>();
  private readonly messageTypes: ReadonlySet<string>;
  /** False to evaluate every expression with cel-js's own evaluator (tests compare the two). */
  useClosures = true;

  private defineFunctions(env: FunctionSink): void {
    env
      .registerFunction('min(int, int): int', lessOf)
      .registerFunction('min(int, int, int): int', (a: bigint, b: bigint, c: bigint) =>
        lessOf(lessOf(a, b), c),
      )
      .registerFunction('max(int, int): int', moreOf)
      .registerFunction('max(int, int, int): int', (a: bigint, b: bigint, c: bigint) =>
        moreOf(moreOf(a, b), c),
      )
      .registerFunction('abs(int): int', (a: bigint) => (a < 0n ? -a : a))
      .registerFunction('sum(list<int>): int', (xs: bigint[]) => {
        let total = 0n;
        for (const x of xs) total += x;
        return total;
      })
      .registerFunction('distinct(list<string>): list<string>', (xs: string[]) => [...new Set(xs)])
      .registerFunction('daysBetween(string, string): int', (a: string, b: string) =>
        BigInt(daysBetween(a, b)),
      )
      .registerFunction('ageOn(string, string): int', (a: string, b: string) => BigInt(ageOn(a, b)))
      .registerFunction('npiValid(string): bool', (npi: string) => npiCheckDigitValid(npi));
    // The table functions, by name: table name first, then the lookup's own arguments. Each
    // call goes through a function bound to its table (see `bound`).
    for (const fn of Object.keys(tableFunctions)) {
      env.registerFunction(tableFunctions[fn]!.signature, (t: string, ...args: never[]) =>
        this.bound(fn, t)(...args),
      );
    }
  }

  private readonly boundFunctions = new Map<string, (...args: never[]) => unknown>();

  /**
   * A table function bound to one table: resolves the table once and memoises, per argument
   * tuple, the last lookup (its date, result and trace text such as `ptp('ncci-ptp', '20610',
   * '99213') = 1`). Rules of one line ask the same questions (five benefit rules look up the
   * same code, two PTP rules walk the same pairs), so most calls are answered from the memo.
   * The closure compiler binds call sites with a literal table name directly.
   */
  bound(fn: string, t: string): (...args: never[]) => unknown {
    const key = `${fn}\u0000${t}`;
    let f = this.boundFunctions.get(key);
    if (f) return f;
    f = this.bind(fn, t);
    this.boundFunctions.set(key, f);
    return f;
  }

  private bind(fn: string, t: string): (...args: never[]) => unknown {
    const table = this.tables.get(t);
    if (!table) {
      // Names are checked at load time; this guards expressions built outside the loader.
      return () => {
        throw new RuleEvaluationError(`no table named '${t}'`);
      };
    }
    const rt = this.runtime;
    // By first argument; by both for ptp's code pairs. The variants left (modifier lists)
    // are a short chain, compared without building a key.
    const memos = new Map<string, Lookup | Map<string, Lookup>>();
    const lookup = (a: string, b: string | undefined, mods: readonly string[] | undefined): Lookup => {
      let byB: Map<string, Lookup> | undefined;
      let head: Lookup | undefined;
      if (b === undefined) head = memos.get(a) as Lookup | undefined;
      else {
        byB = memos.get(a) as Map<string, Lookup> | undefined;
        head = byB?.get(b);
      }
      let m = head;
      while (m !== undefined && !sameList(m.mods, mods)) m = m.next;
      if (m !== undefined) return m;
      // Bounded so a long-lived Lambda seeing endless new codes does not grow without limit.
      if (memos.size > 20_000) {
        memos.clear();
        head = undefined;
        byB = undefined;
      }
      m = {
        a,
        b,
        mods: mods === undefined ? undefined : [...mods],
        asOf: undefined,
        shown: undefined,
        value: undefined,
        text: undefined,
        next: head,
      };
      if (b === undefined) memos.set(a, m);
      else {
        if (byB === undefined) {
          byB = new Map();
          memos.set(a, byB);
        }
        byB.set(b, m);
      }
      return m;
    };
    /** Records a new lookup result; `shown` is what the trace prints (null: none). */
    const update = (m: Lookup, shown: unknown, value: unknown): void => {
      m.asOf = rt.asOf;
      if (shown !== m.shown || m.text === undefined) {
        m.shown = shown;
        m.text = undefined;
      }
      m.value = value;
    };
    /** Adds the lookup's trace text to the rule being evaluated (once per rule). */
    const log = (m: Lookup): void => {
      let text = m.text;
      if (text === undefined) {
        const shown = [`'${m.a}'`];
        if (m.b !== undefined) shown.push(`'${m.b}'`);
        if (m.mods !== undefined) shown.push(`[${m.mods.map((x) => `'${x}'`).join(', ')}]`);
        text = `${fn}('${t}', ${shown.join(', ')}) = ${m.shown === null ? 'none' : String(m.shown)}`;
        m.text = text;
      }
      const seen = rt.lookups;
      if (seen === undefined) rt.lookups = [text];
      else if (!seen.includes(text)) seen.push(text);
    };
    switch (fn) {
      case 'inList':
        return (code: string) => {
          const m = lookup(code, undefined, undefined);
          if (m.asOf !== rt.asOf) {
            const r = table.inList(code, rt.asOf);
            update(m, r, r);
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      case 'codeValue':
        return (code: string) => {
          const m = lookup(code, undefined, undefined);
          if (m.asOf !== rt.asOf) {
            const r = table.codeValue(code, rt.asOf);
            update(m, r, m.shown === r ? m.value : BigInt(r));
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      case 'hasFee':
        return (code: string, mods: string[]) => {
          const m = lookup(code, undefined, mods);
          if (m.asOf !== rt.asOf) {
            const r = table.fee(code, mods, rt.asOf) !== undefined;
            update(m, r, r);
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      case 'fee':
        return (code: string, mods: string[]) => {
          const m = lookup(code, undefined, mods);
          if (m.asOf !== rt.asOf) {
            const cents = table.fee(code, mods, rt.asOf) ?? null;
            update(m, cents, cents === null ? null : m.shown === cents ? m.value : BigInt(cents));
          }
          if (rt.tracing) log(m);
          if (m.value === null) {
            throw new RuleEvaluationError(`fee schedule '${t}' has no amount for ${code} on ${rt.asOf}`);
          }
          return m.value;
        };
      case 'ptp':
        return (c1: string, c2: string) => {
          const m = lookup(c1, c2, undefined);
          if (m.asOf !== rt.asOf) {
            const r = table.ptp(c1, c2, rt.asOf)?.modifierIndicator ?? -1;
            update(m, r, r === -1 ? -1n : r === 0 ? 0n : r === 1 ? 1n : 9n);
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      case 'hasMue':
        return (code: string) => {
          const m = lookup(code, undefined, undefined);
          if (m.asOf !== rt.asOf) {
            const r = table.mue(code, rt.asOf) !== undefined;
            update(m, r, r);
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      case 'mue':
        return (code: string) => {
          const m = lookup(code, undefined, undefined);
          if (m.asOf !== rt.asOf) {
            const max = table.mue(code, rt.asOf) ?? null;
            update(m, max, max === null ? null : m.shown === max ? m.value : BigInt(max));
          }
          if (rt.tracing) log(m);
          if (m.value === null) throw new RuleEvaluationError(`MUE table '${t}' has no limit for ${code}`);
          return m.value;
        };
      case 'excluded':
        return (npi: string) => {
          const m = lookup(npi, undefined, undefined);
          if (m.asOf !== rt.asOf) {
            const r = table.excluded(npi, rt.asOf);
            update(m, r, r);
          }
          if (rt.tracing) log(m);
          return m.value;
        };
      default:
        return () => {
          throw new RuleEvaluationError(`unknown table function ${fn}`);
        };
    }
  }

  /**
   * Parses and type-checks `source` for a phase (through the front end), then compiles it to
   * code. `expect` lists acceptable result types ('dyn' results are checked when evaluated).
   * Returns the problem instead of throwing so the loader can collect every error in a file.
   */
  compile(
    source: string,
    phase: Phase,
    expect: readonly string[] | 'any',
    itType?: string,
  ): CompiledExpression | CompileProblem {
    const checked = this.checker.check(source, phase, expect, itType);
    if (isProblem(checked)) return checked;
    const closure = this.useClosures
      ? compileClosure(checked.ast, this.functionTable, this.messageTypes, (fn, t) =>
          fn in tableFunctions && this.tables.has(t) ? this.bound(fn, t) : undefined,
        )
      : undefined;
    const { reference } = checked;
    const evaluate = (closure as ((context: object) => unknown) | undefined) ?? reference;
    if (evaluate === undefined) {
      return {
        message: 'this expression is outside what compiles to code, and this build has no CEL evaluator',
        offset: 0,
      };
    }
    return {
      source,
      ...expressionFacts(checked),
      evaluate,
      evaluateReference:
        reference ??
        (() => {
          throw new RuleEvaluationError('this build has no CEL evaluator');
        }),
      compiled: closure !== undefined,
    };
  }
}

/** True when `compile` failed. */
export function isProblem<T extends object>(x: T | CompileProblem): x is CompileProblem {
  return 'offset' in x;
}

export function projected(path: readonly string[], fields: Map<string, readonly string[]>): FactRead {
  return { path, fields: [...fields.values()], fieldsKey: [...fields.keys()].sort().join(',') };
}

/** Merges reads from several expressions: a prefix read alongside a longer path is dropped. */
export function mergeReads(all: readonly FactRead[]): FactRead[] {
  const byKey = new Map<
    string,
    { path: readonly string[]; whole: boolean; fields: Map<string, readonly string[]> }
  >();
  for (const r of all) {
    const key = r.path.join('.');
    const d = byKey.get(key) ?? { path: r.path, whole: false, fields: new Map() };
    if (!r.fields) d.whole = true;
    else for (const f of r.fields) d.fields.set(f.join('.'), f);
    byKey.set(key, d);
  }
  const paths = [...byKey.values()];
  return paths
    .filter(
      (p) => !paths.some((q) => q.path.length > p.path.length && p.path.every((seg, i) => q.path[i] === seg)),
    )
    .map((d) => (d.whole ? { path: d.path } : projected(d.path, d.fields)));
}
