import { type ASTNode, Environment } from '@marcbachmann/cel-js';
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
  /** Lookups made by the running rule, as flat (fn, table, a, b, result) quintuples. */
  calls: unknown[] | null;
}

/** A compiled expression: callable on a context object, with what it reads for the trace. */
export interface CompiledExpression {
  readonly source: string;
  readonly type: string;
  /** Field paths rooted at a fact variable, e.g. ['coverage', 'benefits', 'deductibleCents']. */
  readonly paths: readonly (readonly string[])[];
  /** Names of the reference tables it looks up. */
  readonly tables: readonly string[];
  /** Variables it reads besides `it` (decision-table cells that read only `it` are analysable). */
  readonly readsContext: boolean;
  evaluate(context: object): unknown;
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

const lessOf = (a: bigint, b: bigint) => (a < b ? a : b);
const moreOf = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The CEL environments of one rule set: one per phase (each declares only the variables that
 * phase has) plus, lazily, decision-table cell environments that add `it`.
 */
export class CelEnvironments {
  readonly runtime: CelRuntime = { asOf: '', calls: null };
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
    for (const phase of phases) {
      const env = new Environment({ limits: { maxAstNodes: 5_000, maxDepth: 64 } });
      for (const type of factTypes) env.registerType(type.name, { ctor: type.ctor, fields: type.fields });
      env.registerType('Params', { ctor: Params, fields: paramFields });
      for (const [name, type] of Object.entries(phaseVariables[phase])) env.registerVariable(name, type);
      this.registerFunctions(env);
      this.envs.set(phase, env);
    }
  }

  private registerFunctions(env: Environment): void {
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
    const rt = this.runtime;
    const table = (name: string): ReferenceTable => {
      const t = this.tables.get(name);
      // Names are checked at load time; this guards expressions built outside the loader.
      if (!t) throw new RuleEvaluationError(`no table named '${name}'`);
      return t;
    };
    // Lookups are logged as flat (fn, table, a, b, result) quintuples: cheaper than building
    // the trace key now, and most keys repeat, so `callKey` memoises them later.
    const log = (
      fn: string,
      t: string,
      a: string,
      b: string | readonly string[] | undefined,
      result: unknown,
    ) => {
      rt.calls?.push(fn, t, a, b, result);
      return result;
    };
    env
      .registerFunction(tableFunctions.inList!.signature, (t: string, code: string) =>
        log('inList', t, code, undefined, table(t).inList(code, rt.asOf)),
      )
      .registerFunction(tableFunctions.codeValue!.signature, (t: string, code: string) =>
        BigInt(log('codeValue', t, code, undefined, table(t).codeValue(code, rt.asOf)) as number),
      )
      .registerFunction(tableFunctions.hasFee!.signature, (t: string, code: string, mods: string[]) =>
        log('hasFee', t, code, mods, table(t).fee(code, mods, rt.asOf) !== undefined),
      )
      .registerFunction(tableFunctions.fee!.signature, (t: string, code: string, mods: string[]) => {
        const cents = table(t).fee(code, mods, rt.asOf);
        log('fee', t, code, mods, cents ?? null);
        if (cents === undefined) {
          throw new RuleEvaluationError(`fee schedule '${t}' has no amount for ${code} on ${rt.asOf}`);
        }
        return BigInt(cents);
      })
      .registerFunction(tableFunctions.ptp!.signature, (t: string, c1: string, c2: string) => {
        const edit = table(t).ptp(c1, c2, rt.asOf);
        return BigInt(log('ptp', t, c1, c2, edit ? edit.modifierIndicator : -1) as number);
      })
      .registerFunction(tableFunctions.hasMue!.signature, (t: string, code: string) =>
        log('hasMue', t, code, undefined, table(t).mue(code, rt.asOf) !== undefined),
      )
      .registerFunction(tableFunctions.mue!.signature, (t: string, code: string) => {
        const max = table(t).mue(code, rt.asOf);
        log('mue', t, code, undefined, max ?? null);
        if (max === undefined) throw new RuleEvaluationError(`MUE table '${t}' has no limit for ${code}`);
        return BigInt(max);
      })
      .registerFunction(tableFunctions.excluded!.signature, (t: string, npi: string) =>
        log('excluded', t, npi, undefined, table(t).excluded(npi, rt.asOf)),
      );
  }

  private readonly keys = new Map<string, string>();

  /** The trace key of a logged lookup, e.g. `ptp('ncci-ptp', '20610', '99213')`. */
  callKey(fn: string, t: string, a: string, b: string | readonly string[] | undefined): string {
    const b2 =
      b === undefined ? '' : typeof b === 'string' ? `'${b}'` : `[${b.map((m) => `'${m}'`).join(', ')}]`;
    const memo = `${fn}\u0000${t}\u0000${a}\u0000${b2}`;
    let key = this.keys.get(memo);
    if (key === undefined) {
      key = `${fn}('${t}', '${a}'${b === undefined ? '' : `, ${b2}`})`;
      // Bounded so a long-lived Lambda seeing endless new codes does not grow without limit.
      if (this.keys.size > 50_000) this.keys.clear();
      this.keys.set(memo, key);
    }
    return key;
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
    const run = parsed as unknown as (context: object) => unknown;
    return {
      source,
      type,
      paths: analysis.paths,
      tables: [...new Set(analysis.tableCalls.map((c) => c.name!))],
      readsContext: analysis.readsContext,
      evaluate: run,
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
  paths: string[][];
  tableCalls: { fn: string; name: string | undefined; offset: number }[];
  readsContext: boolean;
}

/** Walks the AST for the trace (fact paths read) and the loader (table names used). */
function analyse(root: ASTNode, variables: CelFields): Analysis {
  const paths = new Map<string, string[]>();
  const tableCalls: Analysis['tableCalls'] = [];
  let readsContext = false;
  const visit = (node: unknown, bound: ReadonlySet<string>): void => {
    if (!isNode(node)) return;
    switch (node.op) {
      case 'id': {
        const name = node.args as string;
        if (!bound.has(name) && name !== 'it' && name in variables) {
          readsContext = true;
          paths.set(name, [name]);
        }
        return;
      }
      case '.': {
        const chain: string[] = [];
        let cur: unknown = node;
        while (isNode(cur) && cur.op === '.') {
          const [obj, field] = cur.args as [unknown, string];
          chain.unshift(field);
          cur = obj;
        }
        if (isNode(cur) && cur.op === 'id') {
          const name = cur.args as string;
          if (!bound.has(name) && name !== 'it' && name in variables) {
            readsContext = true;
            const path = [name, ...chain];
            paths.set(path.join('.'), path);
            return;
          }
        }
        visit(cur, bound);
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
        for (const a of args) visit(a, bound);
        return;
      }
      case 'rcall': {
        const [fn, receiver, args] = node.args as [string, unknown, unknown[]];
        const first = args[0];
        if (iterationMacros.has(fn) && isNode(first) && first.op === 'id') {
          const inner = new Set(bound).add(first.args as string);
          if (fn === 'bind') {
            // cel.bind(name, init, body): init is outside the binding.
            visit(args[1], bound);
            visit(args[2], inner);
          } else {
            visit(receiver, bound);
            for (const a of args.slice(1)) visit(a, inner);
          }
          return;
        }
        visit(receiver, bound);
        for (const a of args) visit(a, bound);
        return;
      }
      default: {
        const args = node.args;
        if (Array.isArray(args)) {
          for (const a of args) {
            if (Array.isArray(a)) for (const b of a) visit(b, bound);
            else visit(a, bound);
          }
        }
      }
    }
  };
  visit(root, new Set());
  // A prefix read alongside a longer path adds nothing to the trace.
  const all = [...paths.values()];
  const kept = all.filter((p) => !all.some((q) => q.length > p.length && p.every((seg, i) => q[i] === seg)));
  return { paths: kept, tableCalls, readsContext };
}

function isNode(x: unknown): x is ASTNode {
  return typeof x === 'object' && x !== null && 'op' in x && 'range' in x;
}
