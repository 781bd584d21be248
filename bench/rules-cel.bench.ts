/**
 * Which CEL library (issue 3): every CEL expression of the default rule set, evaluated on
 * contexts captured from real evaluations of the generated corpus, by
 *   - @marcbachmann/cel-js (parse, type-check, its own evaluator),
 *   - claimledger's closures (cel-js's checked AST compiled to JavaScript closures),
 *   - @bufbuild/cel (parse, plan; no public type checker in 0.6, so objects are maps).
 * Correctness is agreement with cel-js's result (or both failing); speed is ns per evaluation.
 *
 *   npx tsx bench/rules-cel.bench.ts
 */
import { fileURLToPath } from 'node:url';
import {
  type CelFunc,
  CelScalar,
  type CelType,
  celEnv,
  celFunc,
  isCelError,
  isCelList,
  listType,
  parse,
  plan,
} from '@bufbuild/cel';
import type { CompiledExpression } from '../functions/engine/cel.ts';
import { loadRuleSet } from '../functions/engine/loader.ts';
import type { CompiledRule } from '../functions/engine/rule-model.ts';
import { generateCorpus } from './rules-corpus.ts';
import { printTable, writeResult } from './stats.ts';

const RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));
const PER_RULE = 150;

const ruleSet = await loadRuleSet(RULES_DIR);
const { rules, cel } = ruleSet.internals();

// Capture contexts: wrap each rule's trace reader (called once per evaluation of the rule).
const contexts = new Map<string, object[]>();
for (const rule of rules) {
  const read = rule.readFacts;
  (rule as { readFacts: CompiledRule['readFacts'] }).readFacts = (context, cache, inputs) => {
    const list = contexts.get(rule.id) ?? [];
    if (list.length < PER_RULE) list.push({ ...context });
    contexts.set(rule.id, list);
    return read(context, cache, inputs);
  };
}
for (const { claim, facts } of generateCorpus({ claims: 600, seed: 11 })) ruleSet.evaluate(claim, facts);
cel.runtime.tracing = false;

interface Case {
  ruleId: string;
  expr: CompiledExpression;
}
const cases: Case[] = rules.flatMap((r) => [
  ...(r.when ? [{ ruleId: r.id, expr: r.when }] : []),
  ...(r.table?.inputs.map((i) => ({ ruleId: r.id, expr: i.expr })) ?? []),
  ...r.effects.flatMap((e) =>
    e.kind === 'allow' || e.kind === 'adjust'
      ? [{ ruleId: r.id, expr: e.amount }]
      : e.kind === 'signal'
        ? e.evidence.map(([, x]) => ({ ruleId: r.id, expr: x }))
        : [],
  ),
]);

// @bufbuild/cel: the same functions; lists arrive as CelList.
const S = CelScalar.STRING;
const I = CelScalar.INT;
const B = CelScalar.BOOL;
// Math.min does not take bigint.
function least(xs: bigint[]): bigint {
  let m = xs[0]!;
  for (const x of xs) if (x < m) m = x;
  return m;
}
const arr = (x: unknown): unknown[] => (isCelList(x) ? [...x] : (x as unknown[]));
const table =
  (fn: string) =>
  (t: string, ...rest: unknown[]) =>
    cel.bound(fn, t)(...(rest.map((v) => (isCelList(v) ? [...v] : v)) as never[]));
const funcs: CelFunc[] = [
  celFunc('min', [I, I], I, (a, b) => least([a, b])),
  celFunc('min', [I, I, I], I, (a, b, c) => least([a, b, c])),
  celFunc('max', [I, I], I, (a, b) => -least([-a, -b])),
  celFunc('max', [I, I, I], I, (a, b, c) => -least([-a, -b, -c])),
  celFunc('abs', [I], I, (a) => (a < 0n ? -a : a)),
  celFunc('sum', [listType(I)], I, (xs) => arr(xs).reduce<bigint>((s, x) => s + (x as bigint), 0n)),
  celFunc('distinct', [listType(S)], listType(S), (xs) => [...new Set(arr(xs) as string[])]),
  celFunc('daysBetween', [S, S], I, (a, b) =>
    BigInt(Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000)),
  ),
  celFunc('npiValid', [S], B, (n) => /^\d{10}$/.test(n)),
  ...(
    [
      ['inList', [S, S], B],
      ['codeValue', [S, S], I],
      ['hasFee', [S, S, listType(S)], B],
      ['fee', [S, S, listType(S)], I],
      ['ptp', [S, S, S], I],
      ['hasMue', [S, S], B],
      ['mue', [S, S], I],
      ['excluded', [S, S], B],
    ] as [string, CelType[], CelType][]
  ).map(([name, args, result]) => celFunc(name, args as never, result as never, table(name) as never)),
];
const bufEnv = celEnv({ funcs });

/** Plain, map-like copies of view objects for @bufbuild/cel (it rejects class instances). */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Map)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = plain(x);
    return out;
  }
  return v;
}

const normal = (v: unknown): unknown =>
  isCelList(v) ? [...v].map(normal) : Array.isArray(v) ? v.map(normal) : v;
const attempt = (f: () => unknown): { ok: boolean; value: unknown } => {
  try {
    const value = f();
    if (isCelError(value)) return { ok: false, value };
    return { ok: true, value: normal(value) };
  } catch (error: unknown) {
    return { ok: false, value: error };
  }
};
const sameResult = (a: { ok: boolean; value: unknown }, b: { ok: boolean; value: unknown }) =>
  a.ok === b.ok &&
  (!a.ok ||
    JSON.stringify(a.value, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)) ===
      JSON.stringify(b.value, (_, x) => (typeof x === 'bigint' ? `${x}n` : x)));

type Lib = 'cel-js' | 'closures' | '@bufbuild/cel';
const stats: Record<
  Lib,
  { compiled: number; agree: number; compared: number; ns: number; evals: number; compileUs: number }
> = {
  'cel-js': { compiled: 0, agree: 0, compared: 0, ns: 0, evals: 0, compileUs: 0 },
  closures: { compiled: 0, agree: 0, compared: 0, ns: 0, evals: 0, compileUs: 0 },
  '@bufbuild/cel': { compiled: 0, agree: 0, compared: 0, ns: 0, evals: 0, compileUs: 0 },
};
const failures: string[] = [];
const unreached: string[] = [];

const time = (f: (ctx: object) => unknown, ctxs: object[]) => {
  // Warm, then the best of three timed passes.
  for (const c of ctxs) attempt(() => f(c));
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < 3; r++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 20; k++) for (const c of ctxs) attempt(() => f(c));
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / (20 * ctxs.length));
  }
  return best;
};

for (const { ruleId, expr } of cases) {
  const ctxs = contexts.get(ruleId) ?? [];
  if (ctxs.length === 0) {
    // A rule the corpus never reaches (pricing.manual-review runs only when no fee matched).
    unreached.push(ruleId);
    continue;
  }
  const plainCtxs = ctxs.map((c) => plain(c) as object);
  // Compile cost, measured on fresh copies so nothing is cached.
  cel.useClosures = false;
  let t0 = performance.now();
  cel.compile(expr.source, ruleSetPhase(ruleId), 'any');
  stats['cel-js'].compileUs += (performance.now() - t0) * 1000;
  cel.useClosures = true;
  t0 = performance.now();
  cel.compile(expr.source, ruleSetPhase(ruleId), 'any');
  stats.closures.compileUs += (performance.now() - t0) * 1000;
  let buf: ((ctx: Record<string, unknown>) => unknown) | undefined;
  t0 = performance.now();
  try {
    buf = plan(bufEnv, parse(expr.source)) as (ctx: Record<string, unknown>) => unknown;
    stats['@bufbuild/cel'].compiled++;
  } catch {
    failures.push(`@bufbuild/cel cannot parse ${ruleId}: ${expr.source.replace(/\s+/g, ' ').slice(0, 60)}…`);
  }
  stats['@bufbuild/cel'].compileUs += (performance.now() - t0) * 1000;
  stats['cel-js'].compiled++;
  if (expr.compiled) stats.closures.compiled++;
  let bufBroken = false;
  for (let i = 0; i < ctxs.length; i++) {
    const ref = attempt(() => expr.evaluateReference(ctxs[i]!));
    const mine = attempt(() => expr.evaluate(ctxs[i]!));
    stats['cel-js'].compared++;
    stats['cel-js'].agree++;
    stats.closures.compared++;
    if (sameResult(ref, mine)) stats.closures.agree++;
    stats['@bufbuild/cel'].compared++;
    if (buf) {
      const theirs = attempt(() => buf!(plainCtxs[i] as Record<string, unknown>));
      if (sameResult(ref, theirs)) stats['@bufbuild/cel'].agree++;
      else if (!bufBroken) {
        bufBroken = true;
        failures.push(
          `@bufbuild/cel differs on ${ruleId}: ${String((theirs.value as Error)?.message ?? theirs.value).slice(0, 80)}`,
        );
      }
    }
  }
  const n = ctxs.length;
  stats['cel-js'].ns += time((c) => expr.evaluateReference(c), ctxs) * n;
  stats['cel-js'].evals += n;
  stats.closures.ns += time((c) => expr.evaluate(c), ctxs) * n;
  stats.closures.evals += n;
  if (buf) {
    stats['@bufbuild/cel'].ns += time((c) => buf!(c as Record<string, unknown>), plainCtxs) * n;
    stats['@bufbuild/cel'].evals += n;
  }
}

function ruleSetPhase(ruleId: string) {
  return rules.find((r) => r.id === ruleId)!.phase;
}

const rows = (Object.keys(stats) as Lib[]).map((lib) => {
  const s = stats[lib];
  return {
    evaluator: lib,
    'expressions run': `${s.compiled}/${cases.length}`,
    'type-checked': lib === '@bufbuild/cel' ? 'no' : 'yes',
    'agrees with cel-js': `${s.agree}/${s.compared}`,
    'ns/eval': Math.round(s.ns / Math.max(1, s.evals)),
    'compile µs (all)': Math.round(s.compileUs),
  };
});
printTable(rows);
for (const f of failures) console.log(`  ${f}`);
if (unreached.length > 0) console.log(`  not reached by the corpus (no contexts): ${unreached.join(', ')}`);
const file = writeResult('rules-cel', {
  node: process.version,
  expressions: cases.length,
  rows,
  failures,
  unreached,
});
console.log(`wrote ${file}`);
