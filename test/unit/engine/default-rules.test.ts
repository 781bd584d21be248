import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../../functions/claims/claim.schema.ts';
import type { ClaimFacts, Decision } from '../../../functions/claims/decision.ts';
import type { CoveragePeriod } from '../../../functions/claims/records.schema.ts';
import type { RuleSet } from '../../../functions/engine/rule-set.ts';
import {
  claim,
  codes,
  coverage,
  defaultRuleSet,
  EXCLUDED_NPI,
  facts,
  fired,
  line,
  OTHER_NPI,
  prior,
  treatment,
} from './fixtures.ts';

let rules: RuleSet;
beforeAll(async () => {
  rules = await defaultRuleSet();
});

const decide = (c: ClaimSubmission, f: ClaimFacts = facts(c)): Decision => rules.evaluate(c, f);

describe('a clean claim', () => {
  it('is approved at the fee schedule amount with CO-45 for the rest of the charge', () => {
    const c = claim([line('99213', { chargeCents: 15_000 })]);
    const d = decide(c);
    expect(d.outcome).toBe('approved');
    expect(d.lines[0]).toMatchObject({ status: 'approved', allowedCents: 9_200, paidCents: 9_200 });
    expect(codes(d, 1)).toEqual(['CO-45']);
    expect(d.lines[0]!.adjustments[0]!.amountCents).toBe(5_800);
    expect(d.ruleSetHash).toBe(rules.hash);
    expect(d.reasons).toEqual([]);
  });
});

describe('provider checks (claim level)', () => {
  it('denies every line when the billing NPI fails the check digit', () => {
    const c = claim([line('99213'), line('36415')], { billingProviderNpi: '1234567890' });
    const d = decide(c);
    expect(d.outcome).toBe('denied');
    expect(codes(d, 1)).toEqual(['CO-16/N257']);
    expect(codes(d, 2)).toEqual(['CO-16/N257']);
    expect(d.reasons.map((r) => r.code)).toEqual(['CO-16']);
  });

  it('does not fire on a valid billing NPI', () => {
    expect(fired(decide(claim([line('99213')])), 'provider.billing-npi-check-digit')).toBe(false);
  });

  it('denies when the rendering NPI fails the check digit, and ignores an absent one', () => {
    const bad = decide(claim([line('99213')], { renderingProviderNpi: '1245319590' }));
    expect(codes(bad, 1)).toEqual(['CO-16/N290']);
    const { renderingProviderNpi: _, ...noRendering } = claim([line('99213')]);
    const ok = decide(noRendering as ClaimSubmission);
    expect(fired(ok, 'provider.rendering-npi-check-digit')).toBe(false);
    expect(ok.outcome).toBe('approved');
  });

  it('denies an excluded provider (LEIE) with CO-B7 and pends the claim on the fraud signal', () => {
    const c = claim([line('99213')], { billingProviderNpi: EXCLUDED_NPI });
    const d = decide(c);
    expect(codes(d, 1)).toEqual(['CO-B7']);
    expect(d.fraud.signals.map((s) => s.signal)).toEqual(['excluded-provider']);
    expect(d.fraud.score).toBeGreaterThanOrEqual(d.fraud.threshold);
    expect(d.outcome).toBe('pended');
    expect(d.reasons.map((r) => r.code)).toContain('fraud-review');
    expect(d.accumulatorDeltas).toEqual([]);
  });

  it('uses the exclusion date: services before the month of exclusion are not caught', () => {
    // 1003035395 is on the LEIE from 08/2025.
    const before = decide(
      claim([line('99213', { serviceDate: '2025-07-15' })], { billingProviderNpi: '1003035395' }),
      {
        ...facts(claim([line('99213', { serviceDate: '2025-07-15' })])),
        coverages: [coverage({ start: '2025-01-01' })],
      },
    );
    expect(fired(before, 'provider.excluded')).toBe(false);
    const after = decide(claim([line('99213')], { billingProviderNpi: '1003035395' }));
    expect(fired(after, 'provider.excluded')).toBe(true);
  });

  it('pends when the facts were gathered for another member', () => {
    const c = claim([line('99213')]);
    const d = decide(c, { ...facts(c), memberId: 'M-OTHER' });
    expect(fired(d, 'eligibility.member-mismatch')).toBe(true);
    expect(d.outcome).toBe('pended');
    expect(d.reasons.map((r) => r.code)).toContain('member-mismatch');
  });
});

describe('data validity', () => {
  it.each([
    ['9921', true],
    ['ABCDE', true],
    ['99213', false],
    ['3008F', false],
    ['0001U', false],
    ['G0103', false],
    ['W1234', true],
  ])('procedure code %s invalid: %s', (code, invalid) => {
    const d = decide(claim([line(code)]));
    expect(fired(d, 'validity.procedure-code', 1)).toBe(invalid);
    if (invalid) expect(codes(d, 1)).toEqual(['CO-16/M51']);
  });

  it('denies a malformed modifier with CO-182 and accepts a proper one', () => {
    expect(codes(decide(claim([line('99213', { modifiers: ['lt'] })])), 1)).toEqual(['CO-182']);
    expect(fired(decide(claim([line('99213', { modifiers: ['25'] })])), 'validity.modifier')).toBe(false);
  });

  it('denies a diagnosis pointer past the diagnosis list', () => {
    const d = decide(claim([line('99213', { diagnosisPointers: [1, 4] })]));
    expect(codes(d, 1)).toEqual(['CO-16/M76']);
    expect(
      fired(decide(claim([line('99213', { diagnosisPointers: [3] })])), 'validity.diagnosis-pointer'),
    ).toBe(false);
  });

  it('denies a pointed-at diagnosis that is not shaped like ICD-10-CM', () => {
    const bad = claim([line('99213', { diagnosisPointers: [2] })], { diagnosisCodes: ['M17.11', '2500'] });
    expect(codes(decide(bad), 1)).toEqual(['CO-146/M76']);
    const ok = claim([line('99213', { diagnosisPointers: [1, 2] })], { diagnosisCodes: ['M1711', 'U07.1'] });
    expect(fired(decide(ok), 'validity.diagnosis-code')).toBe(false);
    // A malformed code no line points at is not the line's problem.
    const unpointed = claim([line('99213', { diagnosisPointers: [1] })], {
      diagnosisCodes: ['M17.11', '2500'],
    });
    expect(fired(decide(unpointed), 'validity.diagnosis-code')).toBe(false);
  });
});

describe('eligibility (decision table)', () => {
  it('denies with CO-31 when there is no member record', () => {
    const c = claim([line('99213')]);
    const d = decide(c, { ...facts(c), member: null, coverages: [] });
    expect(codes(d, 1)).toEqual(['CO-31/N382']);
    expect(d.outcome).toBe('denied');
  });

  it('denies with PR-26 before coverage starts', () => {
    const c = claim([line('99213')]);
    const d = decide(c, { ...facts(c), coverages: [coverage({ start: '2026-06-01' })] });
    expect(codes(d, 1)).toEqual(['PR-26']);
    expect(d.lines[0]!.memberResponsibilityCents).toBe(15_000);
    expect(d.fraud.signals.map((s) => s.signal)).toEqual(['outside-coverage']);
  });

  it('denies with PR-27 after coverage ended, or when it was cancelled', () => {
    const c = claim([line('99213')]);
    const ended = decide(c, {
      ...facts(c),
      coverages: [coverage({ start: '2025-01-01', end: '2026-03-31' })],
    });
    expect(codes(ended, 1)).toEqual(['PR-27']);
    const cancelled = decide(c, { ...facts(c), coverages: [coverage({ status: 'cancelled' })] });
    expect(codes(cancelled, 1)).toEqual(['PR-27']);
  });

  it('decides each line on its own date of service', () => {
    const c = claim([
      line('99213', { serviceDate: '2026-05-04' }),
      line('36415', { serviceDate: '2026-05-06' }),
    ]);
    const d = decide(c, { ...facts(c), coverages: [coverage({ end: '2026-05-05' })] });
    expect(d.lines.map((l) => l.status)).toEqual(['approved', 'denied']);
    expect(codes(d, 2)).toEqual(['PR-27']);
    expect(d.outcome).toBe('partially_approved');
  });

  it('does not fire for a covered member', () => {
    const d = decide(claim([line('99213')]));
    expect(fired(d, 'eligibility.coverage-on-date', 1)).toBe(false);
  });
});

describe('plan rules', () => {
  it('denies an excluded procedure as PR-204', () => {
    const c = claim([line('97110')]);
    const d = decide(c, { ...facts(c), coverages: [coverage({ excludedProcedures: ['97110'] })] });
    expect(codes(d, 1)).toEqual(['PR-204/N130']);
    expect(fired(decide(c), 'plan.excluded-procedure')).toBe(false);
  });

  it('denies CO-197 when prior authorization is required and missing, and pays with a number', () => {
    const c = claim([line('20610')]);
    const f = { ...facts(c), coverages: [coverage({ priorAuthRequired: ['20610'] })] };
    expect(codes(decide(c, f), 1)).toEqual(['CO-197/M62']);
    const withAuth = claim([line('20610')], { priorAuthorizationNumber: 'PA-2026-0042' });
    const d = decide(withAuth, f);
    expect(fired(d, 'plan.prior-auth-missing')).toBe(false);
    expect(d.outcome).toBe('approved');
  });
});

describe('coding edits', () => {
  it('denies a duplicate of an earlier claim line (CO-18) with a fraud signal', () => {
    const c = claim([line('99213')]);
    const d = decide(c, { ...facts(c), priorClaimLines: [prior('99213')] });
    expect(codes(d, 1)).toEqual(['CO-18/N111']);
    expect(d.fraud.signals[0]).toMatchObject({
      signal: 'duplicate',
      evidence: { earlierClaims: ['claim#PRIOR-1'] },
    });
  });

  it('is not a duplicate when the earlier line was denied, or carried other modifiers', () => {
    const c = claim([line('99213')]);
    expect(
      fired(
        decide(c, { ...facts(c), priorClaimLines: [prior('99213', { status: 'denied' })] }),
        'coding.duplicate',
      ),
    ).toBe(false);
    expect(
      fired(
        decide(c, { ...facts(c), priorClaimLines: [prior('99213', { modifiers: ['25'] })] }),
        'coding.duplicate',
      ),
    ).toBe(false);
  });

  it('denies the second of two identical lines on one claim', () => {
    const d = decide(claim([line('97110'), line('97110')]));
    expect(d.lines.map((l) => l.status)).toEqual(['approved', 'denied']);
    expect(codes(d, 2)).toEqual(['CO-18/N111']);
  });

  it('denies a PTP column-two code with modifier indicator 0 even with modifier 59 (CO-97)', () => {
    const d = decide(claim([line('80053'), line('80048', { modifiers: ['59'] })]));
    expect(d.lines.map((l) => l.status)).toEqual(['approved', 'denied']);
    expect(codes(d, 2)).toEqual(['CO-97/N20']);
    expect(d.lines[1]!.adjustments[0]!.message).toContain('80053');
  });

  it('does not apply a PTP edit across different days', () => {
    const d = decide(claim([line('80053'), line('80048', { serviceDate: '2026-05-05' })]));
    expect(fired(d, 'coding.ptp-bundled', 2)).toBe(false);
  });

  it('denies modifier-indicator-1 pairs without an NCCI modifier (CO-236), pays them with 25', () => {
    const bare = decide(claim([line('20610'), line('99213')]));
    expect(codes(bare, 2)).toEqual(['CO-236/N20']);
    expect(bare.outcome).toBe('partially_approved');
    const with25 = decide(claim([line('20610'), line('99213', { modifiers: ['25'] })]));
    expect(fired(with25, 'coding.ptp-modifier-required')).toBe(false);
    expect(with25.outcome).toBe('approved');
  });

  it('never applies modifier-indicator-9 edits, nor deleted edits', () => {
    expect(fired(decide(claim([line('96372'), line('99211')])), 'coding.ptp-modifier-required')).toBe(false);
    // 97530/97116 was deleted on 2025-01-01.
    expect(fired(decide(claim([line('97530'), line('97116')])), 'coding.ptp-modifier-required')).toBe(false);
  });

  it('applies PTP against an earlier claim of the same provider on the same day', () => {
    const c = claim([line('99213')]);
    const d = decide(c, { ...facts(c), priorClaimLines: [prior('20610')] });
    expect(codes(d, 1)).toEqual(['CO-236/N20']);
  });

  it('denies units above the MUE (CO-151), summing lines of the same day', () => {
    expect(codes(decide(claim([line('80053', { units: 2 })])), 1)).toEqual(['CO-151/N362']);
    expect(fired(decide(claim([line('80053', { units: 1 })])), 'coding.mue-units')).toBe(false);
    // 97110: MUE 6 a day. 4 + 3 units on two lines exceed it; both lines are denied.
    const split = decide(
      claim([line('97110', { units: 4 }), line('97110', { units: 3, modifiers: ['GP'] })]),
    );
    expect(split.lines.map((l) => l.status)).toEqual(['denied', 'denied']);
    expect(codes(split, 1)).toEqual(['CO-151/N362']);
  });

  it('does not apply the 2026 Q2 MUE table before it took effect', () => {
    const c = claim([line('80053', { units: 2, serviceDate: '2026-03-02' })]);
    expect(fired(decide(c), 'coding.mue-units')).toBe(false);
  });

  it('denies a sex conflict (CO-7) and an age conflict (CO-6, N129) from the decision table', () => {
    const ob = claim([line('59400')]);
    expect(codes(decide(ob, { ...facts(ob), member: { birthDate: '1980-03-15', sex: 'male' } }), 1)).toEqual([
      'CO-7',
    ]);
    expect(fired(decide(ob), 'coding.age-sex')).toBe(false);
    const senior = decide(claim([line('99387')]));
    expect(codes(senior, 1)).toEqual(['CO-6/N129']);
    expect(senior.lines[0]!.adjustments[0]!.message).toContain('aged 46');
    expect(fired(decide(claim([line('99386')])), 'coding.age-sex')).toBe(false);
  });
});

describe('documentation', () => {
  it('pends a line no treatment record supports, with OA-133/N29 and a signal', () => {
    const c = claim([line('99213'), line('80053')]);
    const d = decide(c, { ...facts(c), treatments: [treatment([], { kind: 'encounter' })] });
    expect(d.lines.map((l) => l.status)).toEqual(['pended', 'pended']);
    expect(codes(d, 2)).toEqual(['OA-133/N29']);
    expect(fired(d, 'documentation.supported-by-record', 1)).toBe(false);
    expect(fired(d, 'documentation.supported-by-record', 2)).toBe(true);
    expect(d.outcome).toBe('pended');
    expect(d.reasons.map((r) => r.code)).toEqual(['unsupported-by-records']);
    expect(d.accumulatorDeltas).toEqual([]);
  });

  it('does not match a record of another day', () => {
    const c = claim([line('20610')]);
    const d = decide(c, { ...facts(c), treatments: [treatment(['20610'], { serviceDate: '2026-05-01' })] });
    expect(fired(d, 'documentation.supported-by-record', 1)).toBe(true);
  });
});

describe('fraud signals', () => {
  it('flags a near duplicate from another provider without denying', () => {
    const c = claim([line('99213')]);
    const d = decide(c, {
      ...facts(c),
      priorClaimLines: [prior('99213', { billingProviderNpi: OTHER_NPI })],
    });
    expect(d.fraud.signals.map((s) => s.signal)).toEqual(['near-duplicate']);
    expect(d.outcome).toBe('approved');
    expect(fired(decide(c), 'fraud.near-duplicate')).toBe(false);
  });

  it('flags an impossible day and pends the claim', () => {
    const c = claim([line('90837')]);
    const others = Array.from({ length: 24 }, (_, i) =>
      prior('90837', { memberId: `M-${i}`, claimDocId: `claim#P${i}` }),
    );
    const d = decide(c, { ...facts(c), priorClaimLines: others });
    expect(d.fraud.signals.find((s) => s.signal === 'impossible-day')?.evidence).toMatchObject({
      minutes: 25 * 60,
    });
    expect(d.outcome).toBe('pended');
    const fewer = decide(c, { ...facts(c), priorClaimLines: others.slice(0, 20) });
    expect(fired(fewer, 'fraud.impossible-day')).toBe(false);
  });

  it('flags member velocity: six other claims within seven days', () => {
    const c = claim([line('99213')]);
    const recent = ['2026-04-28', '2026-04-29', '2026-04-30', '2026-05-01', '2026-05-02', '2026-05-11'].map(
      (d, i) => prior('85025', { serviceDate: d, claimDocId: `claim#V${i}` }),
    );
    const d = decide(c, { ...facts(c), priorClaimLines: recent });
    expect(d.fraud.signals.map((s) => s.signal)).toContain('member-velocity');
    const older = recent.map((p, i) => (i === 5 ? { ...p, serviceDate: '2026-05-12' } : p));
    expect(fired(decide(c, { ...facts(c), priorClaimLines: older }), 'fraud.member-velocity')).toBe(false);
  });

  it('flags provider velocity: sixty members seen by the provider on the day', () => {
    const c = claim([line('99213')]);
    const many = Array.from({ length: 60 }, (_, i) =>
      prior('99212', { memberId: `M-${i}`, claimDocId: `claim#W${i}` }),
    );
    expect(decide(c, { ...facts(c), priorClaimLines: many }).fraud.signals.map((s) => s.signal)).toContain(
      'provider-velocity',
    );
    expect(fired(decide(c, { ...facts(c), priorClaimLines: many.slice(1) }), 'fraud.provider-velocity')).toBe(
      false,
    );
  });

  it('flags a 99215 from a provider whose level-5 share is far above peers', () => {
    const c = claim([line('99215')]);
    const history = Array.from({ length: 20 }, (_, i) =>
      prior(i < 5 ? '99215' : '99213', {
        memberId: `M-${i}`,
        claimDocId: `claim#H${i}`,
        serviceDate: '2026-04-01',
      }),
    );
    expect(decide(c, { ...facts(c), priorClaimLines: history }).fraud.signals.map((s) => s.signal)).toContain(
      'upcoding-outlier',
    );
    const typical = history.map((p, i) => (i > 0 && i < 5 ? { ...p, procedureCode: '99214' } : p));
    expect(fired(decide(c, { ...facts(c), priorClaimLines: typical }), 'fraud.upcoding-outlier')).toBe(false);
  });
});

describe('pricing', () => {
  it('uses a modifier-specific amount, units, and the lesser of charge and fee', () => {
    const bilateral = decide(claim([line('20610', { modifiers: ['50'], chargeCents: 40_000 })]));
    expect(bilateral.lines[0]!.allowedCents).toBe(9_900);
    const units = decide(claim([line('97110', { units: 3, chargeCents: 20_000 })]));
    expect(units.lines[0]!.allowedCents).toBe(8_700);
    const cheap = decide(claim([line('36415', { chargeCents: 250 })]));
    expect(cheap.lines[0]).toMatchObject({ allowedCents: 250, paidCents: 250, adjustments: [] });
  });

  it('pends a code the fee schedule does not price for manual pricing', () => {
    const d = decide(claim([line('99499')]));
    expect(fired(d, 'pricing.manual-review', 1)).toBe(true);
    expect(d.outcome).toBe('pended');
    expect(d.reasons.map((r) => r.code)).toEqual(['manual-pricing']);
    expect(fired(decide(claim([line('99213')])), 'pricing.manual-review')).toBe(false);
  });
});

describe('benefits', () => {
  const plan = (benefits: Partial<CoveragePeriod['benefits']>) => coverage({ benefits });

  it('takes the deductible first, then coinsurance, and records accumulator deltas', () => {
    const c = claim([line('20610', { chargeCents: 30_000 })]);
    const d = decide(c, {
      ...facts(c),
      coverages: [plan({ deductibleCents: 50_000, coinsuranceBps: 2_000, outOfPocketMaxCents: 600_000 })],
      accumulators: [
        {
          coverageId: 'COV-1',
          planYear: '2026',
          deductibleMetCents: 48_000,
          outOfPocketMetCents: 48_000,
          paidCents: 0,
          visits: 0,
          version: 3,
        },
      ],
    });
    // allowed 6600: deductible 2000 left, then 20% of 4600 = 920.
    expect(codes(d, 1)).toEqual(['CO-45', 'PR-1', 'PR-2']);
    expect(d.lines[0]!.adjustments.map((a) => a.amountCents)).toEqual([23_400, 2_000, 920]);
    expect(d.lines[0]).toMatchObject({
      allowedCents: 6_600,
      paidCents: 3_680,
      memberResponsibilityCents: 2_920,
    });
    expect(d.accumulatorDeltas).toEqual([
      {
        coverageId: 'COV-1',
        planYear: '2026',
        deductibleCents: 2_000,
        outOfPocketCents: 2_920,
        paidCents: 3_680,
        visits: 0,
      },
    ]);
  });

  it('runs the deductible across the lines of one claim', () => {
    const c = claim([line('99214', { chargeCents: 20_000 }), line('80053', { chargeCents: 5_000 })]);
    const d = decide(c, { ...facts(c), coverages: [plan({ deductibleCents: 14_000 })] });
    expect(d.lines.map((l) => l.memberResponsibilityCents)).toEqual([13_000, 1_000]);
    expect(d.lines.map((l) => l.paidCents)).toEqual([0, 300]);
    expect(d.accumulatorDeltas[0]).toMatchObject({ deductibleCents: 14_000, paidCents: 300, visits: 1 });
  });

  it('charges the copay on office visits only, and skips deductible and coinsurance there', () => {
    const c = claim([line('99213'), line('85025')]);
    const d = decide(c, { ...facts(c), coverages: [plan({ copayCents: 2_500, deductibleCents: 100_000 })] });
    expect(codes(d, 1)).toEqual(['CO-45', 'PR-3']);
    expect(d.lines[0]!.paidCents).toBe(6_700);
    expect(codes(d, 2)).toEqual(['CO-45', 'PR-1']);
    expect(fired(d, 'benefits.copay', 2)).toBe(false);
  });

  it('caps member cost sharing at the out-of-pocket maximum', () => {
    const c = claim([line('20610')]);
    const d = decide(c, {
      ...facts(c),
      coverages: [plan({ coinsuranceBps: 5_000, outOfPocketMaxCents: 300_000 })],
      accumulators: [
        {
          coverageId: 'COV-1',
          planYear: '2026',
          deductibleMetCents: 0,
          outOfPocketMetCents: 299_000,
          paidCents: 0,
          visits: 0,
          version: 1,
        },
      ],
    });
    expect(d.lines[0]).toMatchObject({ memberResponsibilityCents: 1_000, paidCents: 5_600 });
  });

  it('denies office visits past the annual visit limit (PR-119) and counts visits under it', () => {
    const c = claim([line('99213')]);
    const acc = (visits: number) => [
      {
        coverageId: 'COV-1',
        planYear: '2026',
        deductibleMetCents: 0,
        outOfPocketMetCents: 0,
        paidCents: 0,
        visits,
        version: 1,
      },
    ];
    const over = decide(c, {
      ...facts(c),
      coverages: [plan({ annualVisitLimit: 10 })],
      accumulators: acc(10),
    });
    expect(codes(over, 1)).toEqual(['PR-119/N130']);
    const under = decide(c, {
      ...facts(c),
      coverages: [plan({ annualVisitLimit: 10 })],
      accumulators: acc(9),
    });
    expect(under.outcome).toBe('approved');
    expect(under.accumulatorDeltas[0]!.visits).toBe(1);
    expect(fired(under, 'benefits.count-visit', 1)).toBe(true);
    expect(fired(decide(claim([line('80053')])), 'benefits.count-visit')).toBe(false);
  });

  it('makes the member responsible beyond the annual benefit maximum (PR-119)', () => {
    const c = claim([line('20610')]);
    const d = decide(c, {
      ...facts(c),
      coverages: [plan({ annualBenefitMaxCents: 100_000 })],
      accumulators: [
        {
          coverageId: 'COV-1',
          planYear: '2026',
          deductibleMetCents: 0,
          outOfPocketMetCents: 0,
          paidCents: 98_000,
          visits: 0,
          version: 1,
        },
      ],
    });
    expect(codes(d, 1)).toEqual(['CO-45', 'PR-119/N130']);
    expect(d.lines[0]).toMatchObject({ paidCents: 2_000, memberResponsibilityCents: 4_600 });
    expect(fired(decide(claim([line('20610')])), 'benefits.annual-maximum')).toBe(false);
  });

  it('uses the plan year of the date of service for July plan years', () => {
    const c = claim([line('80053', { serviceDate: '2026-05-04' })]);
    const d = decide(c, {
      ...facts(c),
      coverages: [coverage({ planYearStartMonth: 7, benefits: { deductibleCents: 500 } })],
    });
    expect(d.accumulatorDeltas[0]).toMatchObject({ planYear: '2025-07', deductibleCents: 500 });
  });
});

describe('outcomes and trace', () => {
  it('records every rule evaluated per line, with the facts it read and the effect', () => {
    const d = decide(claim([line('99213'), line('20610')]));
    const lineOne = d.trace.filter((s) => s.lineNumber === 1).map((s) => s.ruleId);
    expect(lineOne).toContain('validity.procedure-code');
    expect(lineOne).toContain('coding.ptp-modifier-required');
    // Line 1 is denied, so it is never priced; line 2 goes through every phase.
    expect(lineOne).not.toContain('pricing.fee-schedule');
    const lineTwo = d.trace.filter((s) => s.lineNumber === 2).map((s) => s.ruleId);
    expect(lineTwo).toContain('pricing.fee-schedule');
    expect(lineTwo).toContain('benefits.deductible');
    expect(d.trace.find((s) => s.ruleId === 'benefits.deductible')).toMatchObject({ fired: false });
    const ptp = d.trace.find((s) => s.ruleId === 'coding.ptp-modifier-required' && s.lineNumber === 1)!;
    expect(ptp).toMatchObject({ fired: true, effect: 'deny CO-236 (N20); signal unbundling (+15)' });
    expect(ptp.facts).toMatchObject({
      'line.procedureCode': '99213',
      // Only the fields of the same-day lines the rule looks at are shown.
      sameDayLines: [{ procedureCode: '20610', modifiers: [] }],
      lookups: expect.arrayContaining(["ptp('ncci-ptp', '20610', '99213') = 1"]),
    });
    const outcome = d.trace.at(-1)!;
    expect(outcome).toMatchObject({ ruleId: 'engine.outcome', effect: 'partially_approved' });
  });

  it('is JSON-serialisable (no bigint anywhere)', () => {
    const d = decide(claim([line('99213'), line('97110', { units: 2 })]));
    expect(() => JSON.stringify(d)).not.toThrow();
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});
