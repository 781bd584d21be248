import { fileURLToPath } from 'node:url';
import {
  type ClaimLine,
  type ClaimSubmission,
  claimSubmissionSchema,
} from '../../../functions/claims/claim.schema.ts';
import type { ClaimFacts, Decision, PriorClaimLine } from '../../../functions/claims/decision.ts';
import {
  type CoveragePeriod,
  coveragePeriodSchema,
  type TreatmentRecord,
  treatmentRecordSchema,
} from '../../../functions/claims/records.schema.ts';
import { loadRuleSet, loadRuleSetFromFiles } from '../../../functions/engine/loader.ts';
import type { RuleSet } from '../../../functions/engine/rule-set.ts';

/** The default rule set shipped in rules/. */
export const RULES_DIR = fileURLToPath(new URL('../../../rules/', import.meta.url));

let cached: Promise<RuleSet> | undefined;
/** Loads rules/ once per test file (loading the MUE and LEIE tables takes a moment). */
export function defaultRuleSet(): Promise<RuleSet> {
  cached ??= loadRuleSet(RULES_DIR);
  return cached;
}

/** NPIs that pass the check digit (1234567893 is the standard's own example). */
export const BILLING_NPI = '1234567893';
export const RENDERING_NPI = '1245319599';
export const OTHER_NPI = '1497758544';
/** On the LEIE table (excluded 12/2022). */
export const EXCLUDED_NPI = '1003005315';

export const DOS = '2026-05-04';
export const MEMBER = 'M-1001';

export function line(procedureCode: string, over: Partial<ClaimLine> = {}): ClaimLine {
  return {
    procedureCode,
    modifiers: [],
    units: 1,
    chargeCents: 15_000,
    serviceDate: DOS,
    diagnosisPointers: [1],
    ...over,
  };
}

/** A schema-valid claim (parsed, so defaults apply exactly as in the claim path). */
export function claim(lines: ClaimLine[], over: Partial<ClaimSubmission> = {}): ClaimSubmission {
  const dates = lines.map((l) => l.serviceDate).sort();
  return claimSubmissionSchema.parse({
    claimId: 'CLM-1',
    billingProviderNpi: BILLING_NPI,
    renderingProviderNpi: RENDERING_NPI,
    memberId: MEMBER,
    serviceDateFrom: dates[0] ?? DOS,
    serviceDateTo: dates[dates.length - 1] ?? DOS,
    diagnosisCodes: ['M17.11', 'E11.9', 'I10'],
    lines,
    ...over,
  });
}

export function coverage(
  over: Omit<Partial<CoveragePeriod>, 'benefits'> & { benefits?: Partial<CoveragePeriod['benefits']> } = {},
): CoveragePeriod {
  const { benefits, ...rest } = over;
  return coveragePeriodSchema.parse({
    coverageId: 'COV-1',
    planId: 'PPO-GOLD',
    status: 'active',
    start: '2026-01-01',
    planYearStartMonth: 1,
    benefits: {
      deductibleCents: 0,
      outOfPocketMaxCents: 500_000,
      coinsuranceBps: 0,
      copayCents: 0,
      ...benefits,
    },
    ...rest,
  });
}

export function treatment(procedureCodes: string[], over: Partial<TreatmentRecord> = {}): TreatmentRecord {
  return treatmentRecordSchema.parse({
    recordId: `TR-${procedureCodes.join('-') || 'enc'}`,
    memberId: MEMBER,
    providerNpi: RENDERING_NPI,
    serviceDate: DOS,
    kind: 'procedure',
    procedureCodes,
    ...over,
  });
}

export function prior(procedureCode: string, over: Partial<PriorClaimLine> = {}): PriorClaimLine {
  return {
    claimDocId: 'claim#PRIOR-1',
    billingProviderNpi: BILLING_NPI,
    memberId: MEMBER,
    serviceDate: DOS,
    procedureCode,
    modifiers: [],
    units: 1,
    chargeCents: 15_000,
    status: 'approved',
    ...over,
  };
}

/**
 * Facts for a 46-year-old woman with a no-cost-sharing plan and records supporting every
 * code given in `supported` (default: an encounter plus each code on the claim).
 */
export function facts(c: ClaimSubmission, over: Partial<ClaimFacts> = {}): ClaimFacts {
  const codes = [...new Set(c.lines.map((l) => l.procedureCode))];
  const dates = [...new Set(c.lines.map((l) => l.serviceDate))];
  return {
    memberId: c.memberId,
    member: { birthDate: '1980-03-15', sex: 'female' },
    coverages: [coverage()],
    treatments: dates.map((d) =>
      treatment(codes, { serviceDate: d, kind: 'encounter', recordId: `TR-${d}` }),
    ),
    accumulators: [],
    priorClaimLines: [],
    ...over,
  };
}

/** Trace steps of a rule (optionally on one line). */
export function steps(d: Decision, ruleId: string, lineNumber?: number): Decision['trace'] {
  return d.trace.filter(
    (s) => s.ruleId === ruleId && (lineNumber === undefined || s.lineNumber === lineNumber),
  );
}

/** True when the rule fired (on the given line, if any). */
export function fired(d: Decision, ruleId: string, lineNumber?: number): boolean {
  return steps(d, ruleId, lineNumber).some((s) => s.fired);
}

/** `GROUP-CARC` of each adjustment on a line, in order. */
export function codes(d: Decision, lineNumber: number): string[] {
  const l = d.lines.find((x) => x.lineNumber === lineNumber);
  return (l?.adjustments ?? []).map((a) => `${a.group}-${a.carc}${a.rarc ? `/${a.rarc}` : ''}`);
}

const MINI_MANIFEST = `name: mini
version: 1
fraud: { threshold: 50 }
files: [rules.yaml]
`;

const MINI_PRICE = `
  - id: price.charge
    phase: price
    description: Pays the charge.
    allow: { amount: line.chargeCents }
`;

/**
 * A small in-memory rule set: `rules` is the body of rules.yaml's rule list (indented by two
 * spaces); a price rule paying the charge is appended unless `price: false`.
 */
export function miniRuleSet(
  rules: string,
  opts: {
    manifestExtra?: string;
    files?: Record<string, string>;
    price?: boolean;
    evaluator?: 'compiled' | 'cel-js';
  } = {},
): RuleSet {
  const files = [
    { path: 'ruleset.yaml', content: MINI_MANIFEST + (opts.manifestExtra ?? '') },
    { path: 'rules.yaml', content: `rules:\n${rules}${opts.price === false ? '' : MINI_PRICE}` },
    ...Object.entries(opts.files ?? {}).map(([path, content]) => ({ path, content })),
  ];
  return loadRuleSetFromFiles(files, { evaluator: opts.evaluator ?? 'compiled' });
}
