import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../../functions/claims/claim.schema.ts';
import type { ClaimFacts } from '../../../functions/claims/decision.ts';
import type { TreatmentRecord } from '../../../functions/claims/records.schema.ts';
import { holdsOf } from '../../../functions/claims/review-rules.ts';
import { loadRuleSet } from '../../../functions/engine/loader.ts';
import { reviewRuleSet } from '../../../functions/engine/review-rule-set.ts';
import type { RuleSet } from '../../../functions/engine/rule-set.ts';
import { demoMembers, demoProviders, demoReviewClaim } from '../../../functions/local/demo-seed.ts';

let rules: RuleSet;
beforeAll(async () => {
  rules = await loadRuleSet(fileURLToPath(new URL('../../../rules', import.meta.url)));
});

const member = demoMembers.M1001!;
const facts = (treatments: TreatmentRecord[] = []): ClaimFacts => ({
  memberId: 'M1001',
  member: member.member,
  coverages: member.coverages,
  treatments,
  accumulators: [
    {
      coverageId: 'COV-1001-26',
      planYear: '2026',
      deductibleMetCents: 49_900,
      outOfPocketMetCents: 49_900,
      paidCents: 0,
      visits: 3,
      version: 4,
    },
  ],
  priorClaimLines: [],
});
const record = (codes: string[], date = demoReviewClaim.serviceDateFrom): TreatmentRecord => ({
  recordId: 'ENC-1',
  memberId: 'M1001',
  providerNpi: demoProviders.familyClinic.npi,
  serviceDate: date,
  kind: 'encounter',
  procedureCodes: codes,
  diagnosisCodes: ['E11.9'],
});
const claim = demoReviewClaim as ClaimSubmission;

describe('releasing a review’s holds', () => {
  it('prices and cost-shares an undocumented claim exactly as the documented one is decided', () => {
    const pended = rules.evaluate(claim, facts());
    expect(pended.outcome).toBe('pended');
    const holds = holdsOf(pended);
    expect(holds).toEqual({ rules: ['documentation.supported-by-record'], fraud: false });

    const released = reviewRuleSet(rules).releasing(holds).evaluate(claim, facts());
    const documented = rules.evaluate(claim, facts([record(['99213', '36415', '80053'])]));
    expect(documented.outcome).toBe('approved');
    expect(released.outcome).toBe('approved');
    expect(released.lines).toEqual(documented.lines);
    expect(released.accumulatorDeltas).toEqual(documented.accumulatorDeltas);
    expect(released.ruleSetHash).toBe(rules.hash);
    // The accumulators running across lines: $1 of deductible left, then coinsurance.
    expect(released.accumulatorDeltas).toEqual([
      {
        coverageId: 'COV-1001-26',
        planYear: '2026',
        deductibleCents: 100,
        outOfPocketCents: 2_500 + 100 + 40 + 260,
        paidCents: 6_700 + 160 + 1_040,
        visits: 1,
      },
    ]);
    // The signal still counts; only the hold is gone.
    expect(released.fraud.signals.map((s) => s.signal)).toContain('unsupported-service');
  });

  it('lifts the fraud threshold only for a fraud hold; rule denials still stand', () => {
    const excluded = { ...claim, billingProviderNpi: demoProviders.excluded.npi };
    const pended = rules.evaluate(excluded, facts([record(['99213', '36415', '80053'])]));
    expect(pended.outcome).toBe('pended');
    const holds = holdsOf(pended);
    expect(holds).toEqual({ rules: [], fraud: true });
    const released = reviewRuleSet(rules)
      .releasing(holds)
      .evaluate(excluded, facts([record(['99213', '36415', '80053'])]));
    expect(released.outcome).toBe('denied');
    for (const line of released.lines) expect(line.adjustments.map((a) => a.carc)).toEqual(['B7']);
    expect(released.accumulatorDeltas).toEqual([]);
    // Without the fraud hold released, the same claim pends again.
    const unreleased = reviewRuleSet(rules)
      .releasing({ rules: [], fraud: false })
      .evaluate(excluded, facts());
    expect(unreleased.outcome).toBe('pended');
  });

  it('does not release a hold the review never saw: the claim still pends (the approval is refused)', () => {
    const unpriced: ClaimSubmission = {
      ...claim,
      lines: [
        {
          procedureCode: '99499',
          modifiers: [],
          units: 1,
          chargeCents: 10_000,
          serviceDate: claim.serviceDateFrom,
          diagnosisPointers: [1],
        },
      ],
    };
    const pended = rules.evaluate(unpriced, facts());
    const holds = holdsOf(pended);
    expect(holds.rules).toEqual(['documentation.supported-by-record']);
    // With the documentation hold released, pricing finds no fee and pends for manual pricing.
    const released = reviewRuleSet(rules).releasing(holds).evaluate(unpriced, facts());
    expect(released.outcome).toBe('pended');
    expect(released.reasons.map((r) => r.code)).toEqual(['manual-pricing']);
    expect(released.accumulatorDeltas).toEqual([]);
  });

  it('releases only the named rules', () => {
    const pended = rules.evaluate(claim, facts());
    const released = reviewRuleSet(rules)
      .releasing({ rules: ['pricing.manual-review'], fraud: false })
      .evaluate(claim, facts());
    expect(released).toEqual(pended);
  });
});
