import { type ASTNode, Environment } from '@marcbachmann/cel-js';
import {
  type CelChecker,
  type CelDeclarations,
  type CheckedExpression,
  type CompileProblem,
  type FactRead,
  mergeReads,
  projected,
  tableFunctions,
} from './cel.ts';
import { type CelFields, factTypes, type Phase, phases, phaseVariables } from './fact-model.ts';

/**
 * The CEL front end on @marcbachmann/cel-js: parses and type-checks rule expressions against
 * the fact model (one environment per phase, each declaring only the variables that phase has,
 * plus, lazily, decision-table cell environments that add `it`), explains its problems in a
 * rules analyst's terms, and finds what each expression reads. Used wherever rule files are
 * loaded from YAML; a Lambda bundle loads what synth recorded of it instead.
 */
export function celJsFrontEnd(declarations: CelDeclarations): CelChecker {
  const envs = new Map<Phase, Environment>();
  for (const phase of phases) {
    const env = new Environment({ limits: { maxAstNodes: 5_000, maxDepth: 64 } });
    for (const type of factTypes) env.registerType(type.name, { ctor: type.ctor, fields: type.fields });
    env.registerType('Params', declarations.params);
    for (const [name, type] of Object.entries(phaseVariables[phase])) env.registerVariable(name, type);
    for (const { signature, handler } of declarations.functions) env.registerFunction(signature, handler);
    envs.set(phase, env);
  }
  const cellEnvs = new Map<string, Environment>();
  /** The environment of a phase, or of a decision-table cell (`it` typed as the input). */
  const envFor = (phase: Phase, itType?: string): Environment => {
    const base = envs.get(phase)!;
    if (itType === undefined) return base;
    const key = `${phase}|${itType}`;
    let env = cellEnvs.get(key);
    if (!env) {
      env = base.clone().registerVariable('it', itType);
      cellEnvs.set(key, env);
    }
    return env;
  };
  return {
    check: (source, phase, expect, itType) =>
      check(declarations, envFor(phase, itType), source, phase, expect),
  };
}

function check(
  declarations: CelDeclarations,
  env: Environment,
  source: string,
  phase: Phase,
  expect: readonly string[] | 'any',
): CheckedExpression | CompileProblem {
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
  const analysis = analyse(parsed.ast, phaseVariables[phase]);
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
  const { tables } = declarations;
  for (const call of analysis.tableCalls) {
    const fn = tableFunctions[call.fn]!;
    if (call.name === undefined) {
      return { message: `${call.fn}() needs the table name as a quoted string`, offset: call.offset };
    }
    const t = tables.get(call.name);
    if (!t) {
      const known = [...tables.values()].filter((x) => x.kind === fn.kind).map((x) => x.name);
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
  return {
    type,
    ast: parsed.ast,
    reads: mergeReads(analysis.reads),
    tables: [...new Set(analysis.tableCalls.map((c) => c.name!))],
    readsContext: analysis.readsContext,
    reference: parsed as unknown as (context: object) => unknown,
  };
}

const iterationMacros = new Set(['all', 'exists', 'exists_one', 'map', 'filter', 'bind']);

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

function toFactRead(d: ReadDraft): FactRead {
  return d.whole ? { path: d.path } : projected(d.path, d.fields);
}

function isNode(x: unknown): x is ASTNode {
  return typeof x === 'object' && x !== null && 'op' in x && 'range' in x;
}
