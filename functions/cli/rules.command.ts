import { readFile } from 'node:fs/promises';
import { claimSubmissionSchema } from '../claims/claim.schema.ts';
import type { ClaimFacts, Decision } from '../claims/decision.ts';
import { formatIssue, RuleSetError } from '../engine/errors.ts';
import { loadRuleSet, readRuleTestFiles } from '../engine/loader.ts';
import type { RuleSet } from '../engine/rule-set.ts';
import { parseRuleTests, runRuleTests } from '../engine/rule-tests.ts';
import { parseRecords } from '../engine/test-records.ts';

/**
 * `claimledger rules check|test|explain`: what a rules analyst runs before a rule set goes
 * live. Each returns the process exit code (0 fine, 1 the rule set or its tests fail, 2 bad
 * input) and writes to the stream it is given.
 */

/** Where a command writes: process.stdout, or a buffer in tests. */
export interface TextSink {
  write(text: string): unknown;
}

async function load(dir: string, out: TextSink): Promise<RuleSet | undefined> {
  try {
    return await loadRuleSet(dir);
  } catch (error: unknown) {
    if (error instanceof RuleSetError) {
      out.write(`✗ ${dir}: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}\n`);
      for (const issue of error.issues) out.write(`  ${formatIssue(issue)}\n`);
      return undefined;
    }
    const message = error instanceof Error ? error.message : String(error);
    out.write(`✗ ${dir}: cannot read the rule set: ${message}\n`);
    return undefined;
  }
}

/** `rules check [dir]`: loads and type-checks every rule, table and expression. */
export async function rulesCheck(dir = 'rules', out: TextSink = process.stdout): Promise<number> {
  const rs = await load(dir, out);
  if (!rs) return 1;
  out.write(`✓ ${rs.name} ${rs.version}\n`);
  out.write(`  hash ${rs.hash}\n`);
  const byPhase = new Map<string, number>();
  for (const r of rs.rules) byPhase.set(r.phase, (byPhase.get(r.phase) ?? 0) + 1);
  out.write(
    `  ${rs.rules.length} rules (${[...byPhase].map(([p, n]) => `${n} ${p}`).join(', ')}), fraud threshold ${rs.fraudThreshold}\n`,
  );
  out.write(`  ${rs.expressions.total} CEL expressions type-checked, ${rs.expressions.compiled} compiled\n`);
  for (const t of rs.tables) out.write(`  table ${t.name} (${t.kind}): ${t.entries} entries\n`);
  out.write(`  ${rs.files.length} files\n`);
  for (const w of rs.warnings) out.write(`  warning: ${formatIssue(w)}\n`);
  for (const source of rs.expressions.interpreted) {
    out.write(
      `  warning: '${source}' does not compile to code: it runs here on cel-js's evaluator, which the deployed functions do not carry, so synth and the local stack refuse it\n`,
    );
  }
  return 0;
}

/** `rules test [dir]`: runs tests/*.yaml against the rule set, with rule coverage. */
export async function rulesTest(dir = 'rules', out: TextSink = process.stdout): Promise<number> {
  const rs = await load(dir, out);
  if (!rs) return 1;
  let report: ReturnType<typeof runRuleTests>;
  try {
    report = runRuleTests(rs, parseRuleTests(await readRuleTestFiles(dir)));
  } catch (error: unknown) {
    if (error instanceof RuleSetError) {
      out.write(`✗ tests: ${error.issues.length} problem${error.issues.length === 1 ? '' : 's'}\n`);
      for (const issue of error.issues) out.write(`  ${formatIssue(issue)}\n`);
      return 1;
    }
    throw error;
  }
  if (report.results.length === 0) {
    out.write(`✗ no test cases in ${dir}/tests\n`);
    return 1;
  }
  for (const r of report.results) {
    out.write(`${r.passed ? '✓' : '✗'} ${r.file}:${r.line} ${r.name}\n`);
    for (const f of r.failures) out.write(`    ${f.replaceAll('\n', '\n    ')}\n`);
  }
  out.write(`\n${report.passed} passed, ${report.failed} failed (rule set ${rs.hash.slice(0, 12)})\n`);
  if (report.uncovered.length > 0) {
    out.write(`rules no test makes fire (${report.uncovered.length}): ${report.uncovered.join(', ')}\n`);
  } else {
    out.write(`every rule fires in at least one test (${rs.rules.length} rules)\n`);
  }
  return report.failed === 0 ? 0 : 1;
}

export interface ExplainOptions {
  /** Print the decision as JSON (trace included) instead of the readable report. */
  json?: boolean;
  /** The rule set to evaluate with; `rules` by default. */
  rulesDir?: string;
}

async function readJson(file: string, what: string, out: TextSink): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8'));
  } catch (error: unknown) {
    out.write(`✗ ${what} ${file}: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  }
}

/**
 * `rules explain <claim.json> [--records file] [--json]`: the decision and why. The records
 * file holds what the claim path would gather: member, coverages, treatments, accumulators
 * and priorClaimLines (the shape rule tests use).
 */
export async function rulesExplain(
  claimFile: string,
  recordsFile?: string,
  opts: ExplainOptions = {},
  out: TextSink = process.stdout,
): Promise<number> {
  const rawClaim = await readJson(claimFile, 'claim', out);
  if (rawClaim === undefined) return 2;
  const claim = claimSubmissionSchema.safeParse(rawClaim);
  if (!claim.success) {
    out.write(`✗ claim ${claimFile} is not a valid claim:\n`);
    for (const i of claim.error.issues) out.write(`  ${i.path.join('.') || '(claim)'}: ${i.message}\n`);
    return 2;
  }
  let facts: ClaimFacts = {
    memberId: claim.data.memberId,
    member: null,
    coverages: [],
    treatments: [],
    accumulators: [],
    priorClaimLines: [],
  };
  if (recordsFile !== undefined) {
    const raw = await readJson(recordsFile, 'records', out);
    if (raw === undefined) return 2;
    const parsed = parseRecords(raw, claim.data.memberId);
    if (!parsed.ok) {
      out.write(`✗ records ${recordsFile} are not valid:\n`);
      for (const m of parsed.errors) out.write(`  ${m}\n`);
      return 2;
    }
    facts = parsed.facts;
  }
  const rs = await load(opts.rulesDir ?? 'rules', out);
  if (!rs) return 1;
  const decision = rs.evaluate(claim.data, facts);
  if (opts.json) out.write(`${JSON.stringify(decision, null, 2)}\n`);
  else
    out.write(
      explainText(
        claim.data.claimId,
        rs,
        decision,
        claim.data.lines.map((l) => l.procedureCode),
      ),
    );
  return 0;
}

const money = (cents: number) => `${(cents / 100).toFixed(2)}`;

function show(value: unknown): string {
  const s = JSON.stringify(value);
  return s.length > 160 ? `${s.slice(0, 157)}…` : s;
}

/** The readable report: lines with their adjustments, fraud, accumulators, then the trace. */
export function explainText(claimId: string, rs: RuleSet, d: Decision, codes: readonly string[]): string {
  const out: string[] = [];
  out.push(`Claim ${claimId}: ${d.outcome.replace('_', ' ').toUpperCase()}`);
  out.push(`Rule set ${rs.name} ${rs.version} (${d.ruleSetHash.slice(0, 12)})`);
  for (const r of d.reasons) out.push(`  reason ${r.code}: ${r.message}`);
  out.push('');
  for (const l of d.lines) {
    out.push(
      `Line ${l.lineNumber} ${codes[l.lineNumber - 1] ?? ''}  ${l.status.toUpperCase()}  charge ${money(l.chargeCents)}  allowed ${money(l.allowedCents)}  paid ${money(l.paidCents)}  member ${money(l.memberResponsibilityCents)}`,
    );
    for (const a of l.adjustments) {
      out.push(
        `    ${a.group}-${a.carc}${a.rarc ? `/${a.rarc}` : ''} ${money(a.amountCents)}  ${a.message}  [${a.ruleId}]`,
      );
    }
  }
  const t = d.totals;
  out.push(
    `Totals  charge ${money(t.chargeCents)}  allowed ${money(t.allowedCents)}  paid ${money(t.paidCents)}  member ${money(t.memberResponsibilityCents)}`,
  );
  out.push('');
  out.push(`Fraud score ${d.fraud.score} (threshold ${d.fraud.threshold})`);
  for (const s of d.fraud.signals) out.push(`    ${s.signal} +${s.weight} [${s.ruleId}] ${show(s.evidence)}`);
  for (const a of d.accumulatorDeltas) {
    out.push(
      `Accumulators ${a.coverageId} ${a.planYear}: deductible +${money(a.deductibleCents)}, out-of-pocket +${money(a.outOfPocketCents)}, paid +${money(a.paidCents)}, visits +${a.visits}`,
    );
  }
  out.push('');
  out.push('Trace (✓ fired, · evaluated and did not fire, ! failed)');
  let current: number | undefined | null = null;
  for (const s of d.trace) {
    if (s.lineNumber !== current) {
      current = s.lineNumber;
      out.push(current === undefined ? '  claim' : `  line ${current}`);
    }
    const mark = s.error ? '!' : s.fired ? '✓' : '·';
    out.push(
      `    ${mark} ${s.ruleId}${s.effect ? `  → ${s.effect}` : ''}${s.error ? `  error: ${s.error}` : ''}`,
    );
    if (s.fired || s.error) {
      for (const [k, v] of Object.entries(s.facts)) out.push(`        ${k} = ${show(v)}`);
    }
  }
  return `${out.join('\n')}\n`;
}
