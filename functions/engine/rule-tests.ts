import * as z from '#functions/zod.ts';
import { claimSubmissionSchema } from '../claims/claim.schema.ts';
import type { ClaimFacts, Decision } from '../claims/decision.ts';
import { RuleSetError, type RuleSetIssue } from './errors.ts';
import type { RuleSetFile } from './hash.ts';
import type { RuleSet } from './rule-set.ts';
import { codesAsText, isRecord, recordsSchema } from './test-records.ts';
import { YamlSource } from './yaml-source.ts';

/**
 * Rule test cases stored beside the rule files (`tests/*.yaml`): a claim and the records the
 * claim path would gather, and what the decision must say. File-level `defaults` are merged
 * into every case (objects merge, lists replace), so a case states only what it is about.
 */

const adjustmentExpect = z.strictObject({
  group: z.optional(z.string()),
  carc: z.optional(z.pipe(z.union([z.string(), z.number()]), z.transform(String))),
  rarc: z.optional(z.string()),
  amountCents: z.optional(z.number().check(z.int())),
});

const lineExpect = z.strictObject({
  status: z.optional(z.enum(['approved', 'denied', 'pended'])),
  allowedCents: z.optional(z.number().check(z.int())),
  paidCents: z.optional(z.number().check(z.int())),
  memberResponsibilityCents: z.optional(z.number().check(z.int())),
  /** The line's adjustments, all of them, in order; each states the fields it cares about. */
  adjustments: z.optional(z.array(adjustmentExpect)),
});

const expectSchema = z.strictObject({
  outcome: z.optional(z.enum(['approved', 'partially_approved', 'denied', 'pended'])),
  lines: z.optional(z.array(lineExpect)),
  /** Claim-level reason codes, in order (CO-97, unsupported-by-records, fraud-review...). */
  reasons: z.optional(z.array(z.string())),
  /** Names of the fraud signals raised, in any order. */
  signals: z.optional(z.array(z.string())),
  /** Rules that must fire somewhere on the claim. */
  fired: z.optional(z.array(z.string())),
  /** Rules that must not fire anywhere on the claim. */
  notFired: z.optional(z.array(z.string())),
  accumulatorDeltas: z.optional(
    z.array(
      z.strictObject({
        coverageId: z.optional(z.string()),
        planYear: z.optional(z.string()),
        deductibleCents: z.optional(z.number().check(z.int())),
        outOfPocketCents: z.optional(z.number().check(z.int())),
        paidCents: z.optional(z.number().check(z.int())),
        visits: z.optional(z.number().check(z.int())),
      }),
    ),
  ),
});

const caseSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  claim: z._default(z.record(z.string(), z.unknown()), {}),
  records: z._default(z.record(z.string(), z.unknown()), {}),
  expect: expectSchema,
});

const fileSchema = z.strictObject({
  /** Free-form: a place for YAML anchors (`&prior`) the cases reuse with merge keys. */
  fixtures: z.optional(z.unknown()),
  defaults: z._default(
    z.strictObject({
      claim: z._default(z.record(z.string(), z.unknown()), {}),
      records: z._default(z.record(z.string(), z.unknown()), {}),
    }),
    { claim: {}, records: {} },
  ),
  tests: z.array(z.unknown()).check(z.minLength(1)),
});

/** One compiled test case. */
export interface RuleTestCase {
  file: string;
  line: number;
  name: string;
  claim: z.infer<typeof claimSubmissionSchema>;
  facts: ClaimFacts;
  expect: z.infer<typeof expectSchema>;
}

export interface RuleTestResult {
  file: string;
  line: number;
  name: string;
  passed: boolean;
  /** Readable differences between what was expected and what the decision says. */
  failures: string[];
  decision: Decision;
}

export interface RuleTestReport {
  results: RuleTestResult[];
  passed: number;
  failed: number;
  /** Rules no test case made fire: untested behaviour. */
  uncovered: string[];
}

/** Objects merge key by key; anything else (lists included) is replaced. */
function merge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
  return out;
}

/** Parses test files; throws RuleSetError with every located problem. */
export function parseRuleTests(files: readonly RuleSetFile[]): RuleTestCase[] {
  const issues: RuleSetIssue[] = [];
  const cases: RuleTestCase[] = [];
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const src = new YamlSource(f.path, f.content);
    const syntax = src.syntaxIssues();
    if (syntax.length > 0) {
      issues.push(...syntax);
      continue;
    }
    const doc = fileSchema.safeParse(src.toJS());
    if (!doc.success) {
      issues.push(...src.zodIssues(doc.error));
      continue;
    }
    for (const [i, raw] of doc.data.tests.entries()) {
      const at = ['tests', i];
      const c = caseSchema.safeParse(raw);
      if (!c.success) {
        issues.push(...src.zodIssues(c.error, at));
        continue;
      }
      const claimInput = codesAsText(merge(doc.data.defaults.claim, c.data.claim));
      const claim = claimSubmissionSchema.safeParse(claimInput);
      if (!claim.success) {
        issues.push(...src.zodIssues(claim.error, [...at, 'claim']));
        continue;
      }
      const records = recordsSchema.safeParse(codesAsText(merge(doc.data.defaults.records, c.data.records)));
      if (!records.success) {
        issues.push(...src.zodIssues(records.error, [...at, 'records']));
        continue;
      }
      const { memberId, ...rest } = records.data;
      cases.push({
        file: f.path,
        line: src.at(at).line,
        name: c.data.name,
        claim: claim.data,
        facts: { memberId: memberId ?? claim.data.memberId, ...rest },
        expect: c.data.expect,
      });
    }
  }
  if (issues.length > 0) throw new RuleSetError(issues);
  return cases;
}

const adj = (a: {
  group?: string | undefined;
  carc?: string | undefined;
  rarc?: string | undefined;
  amountCents?: number | undefined;
}) =>
  `${a.group ?? '?'}-${a.carc ?? '?'}${a.rarc ? `/${a.rarc}` : ''}${a.amountCents === undefined ? '' : ` ${a.amountCents}`}`;

/** Compares a decision with a case's expectations; returns readable differences. */
export function compareDecision(expect: RuleTestCase['expect'], d: Decision): string[] {
  const out: string[] = [];
  const diff = (what: string, want: unknown, got: unknown) => {
    if (JSON.stringify(want) !== JSON.stringify(got)) {
      out.push(`${what}:\n    expected ${JSON.stringify(want)}\n    actual   ${JSON.stringify(got)}`);
    }
  };
  if (expect.outcome !== undefined) diff('outcome', expect.outcome, d.outcome);
  if (expect.lines !== undefined) {
    if (expect.lines.length !== d.lines.length) diff('number of lines', expect.lines.length, d.lines.length);
    expect.lines.forEach((want, i) => {
      const got = d.lines[i];
      if (!got) return;
      const n = `line ${i + 1}`;
      if (want.status !== undefined) diff(`${n} status`, want.status, got.status);
      if (want.allowedCents !== undefined) diff(`${n} allowedCents`, want.allowedCents, got.allowedCents);
      if (want.paidCents !== undefined) diff(`${n} paidCents`, want.paidCents, got.paidCents);
      if (want.memberResponsibilityCents !== undefined) {
        diff(`${n} memberResponsibilityCents`, want.memberResponsibilityCents, got.memberResponsibilityCents);
      }
      if (want.adjustments !== undefined) {
        // Show the actual adjustments with the same fields the test states.
        const shown = got.adjustments.map((a, j) => {
          const w = want.adjustments?.[j] ?? { group: 'x', carc: 'x', rarc: a.rarc ? 'x' : undefined };
          return adj({
            group: w.group === undefined ? undefined : a.group,
            carc: w.carc === undefined ? undefined : a.carc,
            rarc: w.rarc === undefined ? undefined : a.rarc,
            amountCents: w.amountCents === undefined ? undefined : a.amountCents,
          });
        });
        diff(`${n} adjustments`, want.adjustments.map(adj), shown);
      }
    });
  }
  if (expect.reasons !== undefined)
    diff(
      'reasons',
      expect.reasons,
      d.reasons.map((r) => r.code),
    );
  if (expect.signals !== undefined) {
    diff(
      'fraud signals',
      [...expect.signals].sort(),
      [...new Set(d.fraud.signals.map((s) => s.signal))].sort(),
    );
  }
  const firedIds = new Set(d.trace.filter((s) => s.fired).map((s) => s.ruleId));
  for (const id of expect.fired ?? [])
    if (!firedIds.has(id)) out.push(`rule ${id} was expected to fire and did not`);
  for (const id of expect.notFired ?? [])
    if (firedIds.has(id)) out.push(`rule ${id} fired but was expected not to`);
  if (expect.accumulatorDeltas !== undefined) {
    const shown = d.accumulatorDeltas.map((got, i) => {
      const want = expect.accumulatorDeltas?.[i] ?? {};
      return Object.fromEntries(Object.keys(want).map((k) => [k, got[k as keyof typeof got]]));
    });
    diff('accumulatorDeltas', expect.accumulatorDeltas, shown);
  }
  return out;
}

/** Runs parsed test cases against a rule set, with rule coverage. */
export function runRuleTests(ruleSet: RuleSet, cases: readonly RuleTestCase[]): RuleTestReport {
  const firedAnywhere = new Set<string>();
  const results = cases.map((c) => {
    const decision = ruleSet.evaluate(c.claim, c.facts);
    for (const s of decision.trace) if (s.fired) firedAnywhere.add(s.ruleId);
    const failures = compareDecision(c.expect, decision);
    return { file: c.file, line: c.line, name: c.name, passed: failures.length === 0, failures, decision };
  });
  const passed = results.filter((r) => r.passed).length;
  return {
    results,
    passed,
    failed: results.length - passed,
    uncovered: ruleSet.rules.map((r) => r.id).filter((id) => !firedAnywhere.has(id)),
  };
}
