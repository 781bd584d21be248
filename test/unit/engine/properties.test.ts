import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ClaimSubmission, claimSubmissionSchema } from '../../../functions/claims/claim.schema.ts';
import type { ClaimFacts, Decision } from '../../../functions/claims/decision.ts';
import { coveragePeriodSchema, treatmentRecordSchema } from '../../../functions/claims/records.schema.ts';
import { loadRuleSet } from '../../../functions/engine/loader.ts';
import type { RuleSet } from '../../../functions/engine/rule-set.ts';
import {
  BILLING_NPI,
  defaultRuleSet,
  EXCLUDED_NPI,
  OTHER_NPI,
  RENDERING_NPI,
  RULES_DIR,
} from './fixtures.ts';

let rules: RuleSet;
beforeAll(async () => {
  rules = await defaultRuleSet();
});

// Real codes the default tables know, a few they do not, and some malformed ones.
const procedureCodes = [
  '99202',
  '99203',
  '99211',
  '99212',
  '99213',
  '99214',
  '99215',
  '99386',
  '99387',
  '80053',
  '80048',
  '82947',
  '85025',
  '36415',
  '93000',
  '93010',
  '97110',
  '97140',
  '97530',
  '20610',
  '20605',
  '71046',
  '90837',
  '59400',
  'G0103',
  '99499',
  'J3301',
  '9921',
  'ABCDE',
];
const diagnosisCodes = ['M17.11', 'E11.9', 'I10', 'Z00.00', 'J06.9', 'M54.5', '2500', 'U07.1'];
const modifiers = ['25', '59', 'LT', 'RT', '50', '26', 'XU', 'GP', 'lt'];
const npis = [BILLING_NPI, RENDERING_NPI, OTHER_NPI, EXCLUDED_NPI, '1234567890'];

/** Mostly `usual`, sometimes anything from `rare`: edge cases without drowning the happy path. */
const mostly = <T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: usual, weight: 6 }, { arbitrary: rare, weight: 1 });

const goodCodes = procedureCodes.slice(0, 24);

const day = fc.integer({ min: 0, max: 150 }).map((n) => {
  const d = new Date(Date.UTC(2026, 1, 1 + n));
  return d.toISOString().slice(0, 10);
});

const lineArb = fc.record({
  procedureCode: mostly(fc.constantFrom(...goodCodes), fc.constantFrom(...procedureCodes)),
  modifiers: mostly(
    fc.constant<string[]>([]),
    fc.uniqueArray(fc.constantFrom(...modifiers), { maxLength: 2 }),
  ),
  units: fc.integer({ min: 1, max: 8 }),
  chargeCents: fc.integer({ min: 0, max: 200_000 }),
  serviceDate: day,
  diagnosisPointers: mostly(
    fc.constant<number[]>([1]),
    fc.uniqueArray(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
  ),
});

const claimArb: fc.Arbitrary<ClaimSubmission> = fc
  .record({
    billingProviderNpi: mostly(fc.constant(BILLING_NPI), fc.constantFrom(...npis)),
    renderingProviderNpi: mostly(
      fc.constant(RENDERING_NPI),
      fc.option(fc.constantFrom(...npis), { nil: undefined }),
    ),
    diagnosisCodes: mostly(
      fc.constant<string[]>(['M17.11', 'E11.9']),
      fc.array(fc.constantFrom(...diagnosisCodes), { minLength: 1, maxLength: 4 }),
    ),
    priorAuthorizationNumber: fc.option(fc.constant('PA-1'), { nil: undefined }),
    lines: fc.array(lineArb, { minLength: 1, maxLength: 8 }),
  })
  .map((c) => {
    const dates = c.lines.map((l) => l.serviceDate).sort();
    return claimSubmissionSchema.parse({
      claimId: 'CLM-P',
      memberId: 'M-1',
      serviceDateFrom: dates[0],
      serviceDateTo: dates[dates.length - 1],
      ...Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)),
    });
  });

const benefitsArb = fc.record({
  deductibleCents: fc.integer({ min: 0, max: 300_000 }),
  outOfPocketMaxCents: fc.integer({ min: 0, max: 900_000 }),
  coinsuranceBps: fc.integer({ min: 0, max: 10_000 }),
  copayCents: fc.integer({ min: 0, max: 5_000 }),
  annualVisitLimit: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  annualBenefitMaxCents: fc.option(fc.integer({ min: 0, max: 2_000_000 }), { nil: undefined }),
});

const factsArb = (c: ClaimSubmission): fc.Arbitrary<ClaimFacts> =>
  fc
    .record({
      member: mostly(
        fc.record({
          birthDate: fc.integer({ min: 0, max: 90 }).map((y) => `${1936 + y}-06-15`),
          sex: fc.constantFrom('female' as const, 'male' as const, 'other' as const, 'unknown' as const),
        }),
        fc.constant(null),
      ),
      coverages: fc.array(
        fc.record({
          start: mostly(fc.constant('2026-01-01'), day),
          length: mostly(
            fc.constant(undefined),
            fc.option(fc.integer({ min: 0, max: 200 }), { nil: undefined }),
          ),
          status: mostly(fc.constant('active' as const), fc.constant('cancelled' as const)),
          planYearStartMonth: fc.constantFrom(1, 1, 7),
          benefits: benefitsArb,
          excludedProcedures: mostly(fc.constant<string[]>([]), fc.subarray(['97110', '20610', '99214'])),
          priorAuthRequired: mostly(fc.constant<string[]>([]), fc.subarray(['20610', '71046'])),
        }),
        { minLength: 1, maxLength: 2 },
      ),
      supported: mostly(
        fc.constant(c.lines.map((l) => l.procedureCode)),
        fc.subarray(c.lines.map((l) => l.procedureCode)),
      ),
      met: fc.record({
        deductibleMetCents: fc.integer({ min: 0, max: 300_000 }),
        outOfPocketMetCents: fc.integer({ min: 0, max: 900_000 }),
        paidCents: fc.integer({ min: 0, max: 2_000_000 }),
        visits: fc.integer({ min: 0, max: 30 }),
      }),
      // Member with no accumulator record yet, or with one.
      hasAccumulators: fc.boolean(),
      prior: fc.array(
        fc.record({
          procedureCode: fc.constantFrom(...procedureCodes),
          serviceDate: day,
          billingProviderNpi: fc.constantFrom(...npis),
          status: fc.constantFrom('approved' as const, 'denied' as const, 'pended' as const),
          units: fc.integer({ min: 1, max: 4 }),
        }),
        { maxLength: 6 },
      ),
    })
    .map((f) => {
      const coverages = f.coverages.map((cv, i) =>
        coveragePeriodSchema.parse({
          coverageId: `COV-${i}`,
          planId: 'PLAN',
          status: cv.status,
          start: cv.start,
          ...(cv.length === undefined
            ? {}
            : {
                end: new Date(Date.parse(`${cv.start}T00:00:00Z`) + cv.length * 86_400_000)
                  .toISOString()
                  .slice(0, 10),
              }),
          planYearStartMonth: cv.planYearStartMonth,
          benefits: Object.fromEntries(Object.entries(cv.benefits).filter(([, v]) => v !== undefined)),
          excludedProcedures: cv.excludedProcedures,
          priorAuthRequired: cv.priorAuthRequired,
        }),
      );
      return {
        memberId: c.memberId,
        member: f.member,
        coverages,
        treatments: [...new Set(c.lines.map((l) => l.serviceDate))].map((d, i) =>
          treatmentRecordSchema.parse({
            recordId: `TR-${i}`,
            memberId: c.memberId,
            providerNpi: RENDERING_NPI,
            serviceDate: d,
            kind: i % 2 === 0 ? 'encounter' : 'procedure',
            procedureCodes: f.supported,
          }),
        ),
        accumulators: (f.hasAccumulators ? coverages : []).flatMap((cv) =>
          ['2026', '2025-07', '2026-07'].map((planYear) => ({
            coverageId: cv.coverageId,
            planYear,
            ...f.met,
            version: 1,
          })),
        ),
        priorClaimLines: f.prior.map((p, i) => ({
          claimDocId: `claim#P${i}`,
          memberId: c.memberId,
          modifiers: [],
          chargeCents: 10_000,
          ...p,
        })),
      };
    });

const claimAndFacts = claimArb.chain((c) => factsArb(c).map((f) => [c, f] as const));

function checkMoney(d: Decision): void {
  const totals = { chargeCents: 0, allowedCents: 0, paidCents: 0, memberResponsibilityCents: 0 };
  for (const l of d.lines) {
    const adjusted = l.adjustments.reduce((s, a) => s + a.amountCents, 0);
    const pr = l.adjustments.filter((a) => a.group === 'PR').reduce((s, a) => s + a.amountCents, 0);
    // The identity every line keeps, as on an 835: charge = paid + adjustments.
    expect(l.chargeCents).toBe(l.paidCents + adjusted);
    expect(l.memberResponsibilityCents).toBe(pr);
    for (const a of l.adjustments) expect(a.amountCents).toBeGreaterThan(0);
    for (const v of [l.paidCents, l.allowedCents, l.memberResponsibilityCents]) {
      expect(Number.isSafeInteger(v) && v >= 0).toBe(true);
    }
    if (l.status === 'approved') {
      // Default rules: every cost-sharing adjustment is PR, so allowed splits into paid + member share.
      expect(l.allowedCents).toBeLessThanOrEqual(l.chargeCents);
      expect(l.allowedCents).toBe(l.paidCents + l.memberResponsibilityCents);
    } else {
      expect(l.paidCents).toBe(0);
      expect(l.allowedCents).toBe(0);
    }
    totals.chargeCents += l.chargeCents;
    totals.allowedCents += l.allowedCents;
    totals.paidCents += l.paidCents;
    totals.memberResponsibilityCents += l.memberResponsibilityCents;
  }
  expect(d.totals).toEqual(totals);
  const deltaPaid = d.accumulatorDeltas.reduce((s, x) => s + x.paidCents, 0);
  expect(deltaPaid).toBe(d.outcome === 'pended' ? 0 : totals.paidCents);
}

describe('properties of evaluation over generated claims and facts', () => {
  it('never throws, always returns a decision for every line', () => {
    fc.assert(
      fc.property(claimAndFacts, ([c, f]) => {
        const d = rules.evaluate(c, f);
        expect(d.lines).toHaveLength(c.lines.length);
        expect(['approved', 'partially_approved', 'denied', 'pended']).toContain(d.outcome);
        expect(d.ruleSetHash).toBe(rules.hash);
      }),
      { numRuns: 300 },
    );
  });

  it('conserves money on every line and in the totals', () => {
    fc.assert(
      fc.property(claimAndFacts, ([c, f]) => checkMoney(rules.evaluate(c, f))),
      { numRuns: 300 },
    );
  });

  it('keeps outcome, line statuses and accumulators consistent', () => {
    fc.assert(
      fc.property(claimAndFacts, ([c, f]) => {
        const d = rules.evaluate(c, f);
        const statuses = d.lines.map((l) => l.status);
        if (d.outcome === 'pended') {
          expect(statuses).not.toContain('approved');
          expect(d.accumulatorDeltas).toEqual([]);
        } else {
          expect(statuses).not.toContain('pended');
          expect(d.fraud.score < d.fraud.threshold || d.fraud.signals.length === 0).toBe(true);
        }
        if (d.outcome === 'approved') expect(statuses.every((s) => s === 'approved')).toBe(true);
        if (d.outcome === 'denied') expect(statuses.every((s) => s === 'denied')).toBe(true);
        if (d.outcome === 'partially_approved') {
          expect(statuses).toContain('approved');
          expect(statuses).toContain('denied');
        }
        for (const delta of d.accumulatorDeltas) {
          const cov = f.coverages.find((x) => x.coverageId === delta.coverageId)!;
          const opening = f.accumulators.find(
            (a) => a.coverageId === delta.coverageId && a.planYear === delta.planYear,
          );
          const dedMet = opening?.deductibleMetCents ?? 0;
          const oopMet = opening?.outOfPocketMetCents ?? 0;
          expect(delta.deductibleCents).toBeLessThanOrEqual(
            Math.max(0, cov.benefits.deductibleCents - dedMet),
          );
          expect(delta.outOfPocketCents).toBeLessThanOrEqual(
            Math.max(0, cov.benefits.outOfPocketMaxCents - oopMet),
          );
          expect(delta.deductibleCents).toBeLessThanOrEqual(delta.outOfPocketCents);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('is deterministic: same inputs give identical decisions, whatever ran before', async () => {
    const second = await loadRuleSet(RULES_DIR);
    fc.assert(
      fc.property(claimAndFacts, claimAndFacts, ([c, f], [other, otherFacts]) => {
        const first = rules.evaluate(c, f);
        rules.evaluate(other, otherFacts);
        expect(rules.evaluate(c, f)).toEqual(first);
        expect(second.evaluate(c, f)).toEqual(first);
        expect(JSON.stringify(second.evaluate(c, f))).toBe(JSON.stringify(first));
      }),
      { numRuns: 100 },
    );
  });

  it('does not mutate its inputs', () => {
    fc.assert(
      fc.property(claimAndFacts, ([c, f]) => {
        const before = JSON.stringify([c, f]);
        rules.evaluate(c, f);
        expect(JSON.stringify([c, f])).toBe(before);
      }),
      { numRuns: 50 },
    );
  });
});
