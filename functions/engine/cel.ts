import { type ASTNode, Environment } from '@marcbachmann/cel-js';
import { compileClosure } from './cel-closure.ts';
import { ageOn, daysBetween } from './dates.ts';
import { RuleEvaluationError } from './errors.ts';
import { type CelFields, factTypes, type Phase, phases, phaseVariables } from './fact-model.ts';
import { npiCheckDigitValid } from './npi.ts';
import type { ReferenceTable, TableKind } from './tables.ts';

/**
 * CEL for rule files, on @marcbachmann/cel-js (chosen over @bufbuild/cel by measurement:
 * see bench/rules-cel.bench.ts and rules/README.md). Expressions are parsed and type-checked
 * against the fact model once, when the rule set loads; evaluation only runs checked ASTs.
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

/** A compiled expression: callable on a context object, with what it reads for the trace. */
export interface CompiledExpression {
  readonly source: string;
  readonly type: string;
  /** Facts it reads, e.g. ['coverage', 'benefits', 'deductibleCents'], for the trace. */
  readonly reads: readonly FactRead[];
  /** Names of the reference tables it looks up. */
  readonly tables: readonly string[];
  /** Variables it reads besides `it` (decision-table cells that read only `it` are analysable). */
  readonly readsContext: boolean;
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
const tableFunctions: Record<string, { kind: TableKind; signature: string }> = {
  inList: { kind: 'codeList', signature: 'inList(string, string): bool' },
  codeValue: { kind: 'codeValues', signature: 'codeValue(string, string): int' },
  hasFee: { kind: 'feeSchedule', signature: 'hasFee(string, string, list<string>): bool' },
  fee: { kind: 'feeSchedule', signature: 'fee(string, string, list<string>): int' },
  ptp: { kind: 'ptp', signature: 'ptp(string, string, string): int' },
  hasMue: { kind: 'mue', signature: 'hasMue(string, string): bool' },
  mue: { kind: 'mue', signature: 'mue(string, string): int' },
  excluded: { kind: 'excludedProviders', signature: 'excluded(string, string): bool' },
};

const iterationMacros = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'bind']);

/** Where function definitions go: a cel-js Environment, or the recorder that feeds them to all. */
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
 * The CEL environments of one rule set: one per phase (each declares only the variables that
 * phase has) plus, lazily, decision-table cell environments that add `it`.
 */
export class CelEnvironments {
  readonly runtime: CelRuntime = { asOf: '', tracing: false, lookups: undefined };
  readonly params: object;
  private readonly envs = new Map<Phase, Environment>();
  private readonly cellEnvs = new Map<string, Environment>();

  constructor(
    paramValues: Readonly<Record<string, ParamValue>>,
    private readonly tables: ReadonlyMap<string, ReferenceTable>,
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
    for (const phase of phases) {
      const env = new Environment({ limits: { maxAstNodes: 5_000, maxDepth: 64 } });
      for (const type of factTypes) env.registerType(type.name, { ctor: type.ctor, fields: type.fields });
      env.registerType('Params', { ctor: Params, fields: paramFields });
      for (const [name, type] of Object.entries(phaseVariables[phase])) env.registerVariable(name, type);
      for (const { signature, handler } of recorded) env.registerFunction(signature, handler);
      this.envs.set(phase, env);
    }
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

  /** The environment of a phase, or of a decision-table cell (`it` typed as the input). */
  private env(phase: Phase, itType?: string): Environment {
    const base = this.envs.get(phase)!;
    if (itType === undefined) return base;
    const key = `${phase}|${itType}`;
    let env = this.cellEnvs.get(key);
    if (!env) {
      env = base.clone().registerVariable('it', itType);
      this.cellEnvs.set(key, env);
    }
    return env;
  }

  /**
   * Parses and type-checks `source` for a phase. `expect` lists acceptable result types
   * ('dyn' results are checked when evaluated). Returns the problem instead of throwing so the
   * loader can collect every error in a file.
   */
  compile(
    source: string,
    phase: Phase,
    expect: readonly string[] | 'any',
    itType?: string,
  ): CompiledExpression | CompileProblem {
    const env = this.env(phase, itType);
    let parsed: ReturnType<Environment['parse']>;
    try {
      parsed = env.parse(source);
    } catch (error: unknown) {
      return explain(problemOf(error, 'syntax error'), phase, source);
    }
    const checked = parsed.check();
    if (!checked.valid) return explain(problemOf(checked.error, 'type error'), phase, source);
    const type = checked.type ?? 'dyn';
    if (expect !== 'any' && type !== 'dyn' && !expect.includes(type)) {
      return { message: `must be ${expect.join(' or ')}, but this expression is ${type}`, offset: 0 };
    }
    const variables = phaseVariables[phase];
    const analysis = analyse(parsed.ast, variables);
    for (const m of analysis.patterns) {
      try {
        new RegExp(m.pattern);
      } catch (error: unknown) {
        const why = error instanceof Error ? (error.message.split(': ').pop() ?? '') : '';
        return {
          message: `invalid regular expression '${m.pattern}'${why ? `: ${why}` : ''}`,
          offset: m.offset,
        };
      }
    }
    for (const call of analysis.tableCalls) {
      const fn = tableFunctions[call.fn]!;
      if (call.name === undefined) {
        return { message: `${call.fn}() needs the table name as a quoted string`, offset: call.offset };
      }
      const t = this.tables.get(call.name);
      if (!t) {
        const known = [...this.tables.values()].filter((x) => x.kind === fn.kind).map((x) => x.name);
        return {
          message: `no table named '${call.name}' (${fn.kind} tables: ${known.join(', ') || 'none declared'})`,
          offset: call.offset,
        };
      }
      if (t.kind !== fn.kind) {
        return {
          message: `${call.fn}() needs a ${fn.kind} table, '${call.name}' is ${t.kind}`,
          offset: call.offset,
        };
      }
    }
    const reference = parsed as unknown as (context: object) => unknown;
    const closure = this.useClosures
      ? compileClosure(parsed.ast, this.functionTable, this.messageTypes, (fn, t) =>
          fn in tableFunctions && this.tables.has(t) ? this.bound(fn, t) : undefined,
        )
      : undefined;
    return {
      source,
      type,
      reads: mergeReads(analysis.reads),
      tables: [...new Set(analysis.tableCalls.map((c) => c.name!))],
      readsContext: analysis.readsContext,
      evaluate: (closure as ((context: object) => unknown) | undefined) ?? reference,
      evaluateReference: reference,
      compiled: closure !== undefined,
    };
  }
}

/** True when `compile` failed. */
export function isProblem(x: CompiledExpression | CompileProblem): x is CompileProblem {
  return 'offset' in x;
}

function problemOf(error: unknown, fallback: string): CompileProblem {
  if (error instanceof Error) {
    const e = error as Error & { summary?: string; range?: { start: number } };
    const first = (e.summary ?? e.message).split('\n')[0] ?? fallback;
    return { message: first, offset: e.range?.start ?? 0 };
  }
  return { message: fallback, offset: 0 };
}

/** All field names of the fact model, for "did you mean" hints. */
const knownFields = [...new Set(factTypes.flatMap((t) => Object.keys(t.fields)))];

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(
        row[j]! + 1,
        row[j - 1]! + 1,
        prev + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length]!;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

/** Rewrites the library's terse messages into ones a rules analyst can act on. */
function explain(problem: CompileProblem, phase: Phase, source: string): CompileProblem {
  const key = /^No such key: (\w+)/.exec(problem.message);
  if (key) {
    const hint = closest(key[1]!, knownFields);
    return { ...problem, message: `unknown field '${key[1]}'${hint ? ` (did you mean '${hint}'?)` : ''}` };
  }
  const variable = /^Unknown variable: (\w+)/.exec(problem.message);
  if (variable) {
    const names = Object.keys(phaseVariables[phase]);
    const elsewhere = phases.filter((p) => variable[1]! in phaseVariables[p]);
    const where = elsewhere.length > 0 ? ` (it exists in the ${elsewhere.join(', ')} phase)` : '';
    return {
      ...problem,
      message: `unknown variable '${variable[1]}' in the ${phase} phase${where}; known: ${names.join(', ')}`,
    };
  }
  if (/EOF/.test(problem.message)) {
    return {
      message: 'the expression ends too early (unclosed bracket or missing operand?)',
      offset: source.trimEnd().length,
    };
  }
  return problem;
}

interface Analysis {
  reads: FactRead[];
  /** Literal patterns given to matches(), checked at load time. */
  patterns: { pattern: string; offset: number }[];
  tableCalls: { fn: string; name: string | undefined; offset: number }[];
  readsContext: boolean;
}

interface ReadDraft {
  path: string[];
  whole: boolean;
  fields: Map<string, string[]>;
}

/**
 * Walks the AST for the trace (fact paths read) and the loader (table names used). A list a
 * macro iterates (`sameDayLines.exists(o, o.procedureCode == ...)`) is recorded with just the
 * fields the expression reads from its elements, which keeps traces small and to the point.
 */
function analyse(root: ASTNode, variables: CelFields): Analysis {
  const reads = new Map<string, ReadDraft>();
  const tableCalls: Analysis['tableCalls'] = [];
  const patterns: Analysis['patterns'] = [];
  let readsContext = false;
  // Iteration variable -> the fact list its elements come from (null: a computed list).
  type Scope = ReadonlyMap<string, ReadDraft | null>;
  const draft = (path: string[], whole: boolean): ReadDraft => {
    const key = path.join('.');
    let d = reads.get(key);
    if (!d) {
      d = { path, whole, fields: new Map() };
      reads.set(key, d);
    } else if (whole) d.whole = true;
    readsContext = true;
    return d;
  };
  /** Splits `a.b.c` into its root identifier node and the field chain. */
  const chainOf = (node: ASTNode): { root: unknown; chain: string[] } => {
    const chain: string[] = [];
    let cur: unknown = node;
    while (isNode(cur) && cur.op === '.') {
      const [obj, field] = cur.args as [unknown, string];
      chain.unshift(field);
      cur = obj;
    }
    return { root: cur, chain };
  };
  const isFactRoot = (name: string, scope: Scope) => !scope.has(name) && name !== 'it' && name in variables;
  /** The fact list a receiver's elements come from, recording the receiver as read. */
  const origin = (receiver: unknown, scope: Scope): ReadDraft | null => {
    if (!isNode(receiver)) return null;
    if (receiver.op === 'id' || receiver.op === '.') {
      const { root, chain } = receiver.op === 'id' ? { root: receiver, chain: [] } : chainOf(receiver);
      if (isNode(root) && root.op === 'id' && isFactRoot(root.args as string, scope)) {
        return draft([root.args as string, ...chain], false);
      }
    }
    if (receiver.op === 'rcall') {
      const [fn, inner, args] = receiver.args as [string, unknown, unknown[]];
      if (fn === 'filter') {
        const from = origin(inner, scope);
        const v = args[0];
        if (isNode(v) && v.op === 'id') visit(args[1], new Map(scope).set(v.args as string, from));
        return from;
      }
    }
    visit(receiver, scope);
    return null;
  };
  const visit = (node: unknown, scope: Scope): void => {
    if (!isNode(node)) return;
    switch (node.op) {
      case 'id': {
        const name = node.args as string;
        if (scope.has(name)) {
          const from = scope.get(name);
          if (from) from.whole = true;
        } else if (isFactRoot(name, scope)) draft([name], true);
        return;
      }
      case '.': {
        const { root, chain } = chainOf(node);
        if (isNode(root) && root.op === 'id') {
          const name = root.args as string;
          if (scope.has(name)) {
            scope.get(name)?.fields.set(chain.join('.'), chain);
            return;
          }
          if (isFactRoot(name, scope)) {
            draft([name, ...chain], true);
            return;
          }
        }
        visit(root, scope);
        return;
      }
      case 'call': {
        const [fn, args] = node.args as [string, unknown[]];
        if (fn in tableFunctions) {
          const first = args[0];
          const name =
            isNode(first) && first.op === 'value' && typeof first.args === 'string' ? first.args : undefined;
          tableCalls.push({ fn, name, offset: node.range.start });
        }
        for (const a of args) visit(a, scope);
        return;
      }
      case 'rcall': {
        const [fn, receiver, args] = node.args as [string, unknown, unknown[]];
        const first = args[0];
        if (iterationMacros.has(fn) && isNode(first) && first.op === 'id') {
          const v = first.args as string;
          if (fn === 'bind') {
            // cel.bind(name, init, body): the name stands for init inside body.
            const from = origin(args[1], scope);
            visit(args[2], new Map(scope).set(v, from));
          } else {
            const from = origin(receiver, scope);
            const inner = new Map(scope).set(v, from);
            for (const a of args.slice(1)) visit(a, inner);
          }
          return;
        }
        if (fn === 'matches' && isNode(first) && first.op === 'value' && typeof first.args === 'string') {
          patterns.push({ pattern: first.args, offset: first.range.start });
        }
        visit(receiver, scope);
        for (const a of args) visit(a, scope);
        return;
      }
      default: {
        // Unary operators (!x, -x) hold their operand directly; the others hold a list.
        const args = node.args;
        if (Array.isArray(args)) {
          for (const a of args) {
            if (Array.isArray(a)) for (const b of a) visit(b, scope);
            else visit(a, scope);
          }
        } else visit(args, scope);
      }
    }
  };
  visit(root, new Map());
  return { reads: [...reads.values()].map(toFactRead), tableCalls, patterns, readsContext };
}

function projected(path: readonly string[], fields: Map<string, readonly string[]>): FactRead {
  return { path, fields: [...fields.values()], fieldsKey: [...fields.keys()].sort().join(',') };
}

function toFactRead(d: ReadDraft): FactRead {
  return d.whole ? { path: d.path } : projected(d.path, d.fields);
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

function isNode(x: unknown): x is ASTNode {
  return typeof x === 'object' && x !== null && 'op' in x && 'range' in x;
}
