import type { ClaimLine, ClaimSubmission } from '../functions/claims/claim.schema.ts';
import type { Accumulators, ClaimFacts, PriorClaimLine } from '../functions/claims/decision.ts';
import type { CoveragePeriod, TreatmentRecord } from '../functions/claims/records.schema.ts';
import { npiCheckDigit } from '../functions/engine/npi.ts';

/**
 * A deterministic corpus of professional claims with realistic codes and the facts the claim
 * path would gather for them: most claims are clean, a few carry the problems the default
 * rules look for (bundled pairs, excess units, duplicates, unsupported lines, excluded
 * providers, lapsed coverage, malformed codes).
 */

export interface CorpusItem {
  claim: ClaimSubmission;
  facts: ClaimFacts;
}

/** mulberry32: small, fast, seedable; the corpus is the same on every run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Appends the NPI check digit to nine payload digits. */
export function withCheckDigit(nine: string): string {
  return `${nine}${npiCheckDigit(nine)}`;
}

// Codes by how often a mixed primary-care and therapy practice bills them, with typical charges.
const services: { code: string; weight: number; charge: number; maxUnits: number }[] = [
  { code: '99213', weight: 18, charge: 14_000, maxUnits: 1 },
  { code: '99214', weight: 14, charge: 20_000, maxUnits: 1 },
  { code: '99212', weight: 4, charge: 9_000, maxUnits: 1 },
  { code: '99215', weight: 3, charge: 28_000, maxUnits: 1 },
  { code: '99203', weight: 3, charge: 17_000, maxUnits: 1 },
  { code: '36415', weight: 10, charge: 2_500, maxUnits: 1 },
  { code: '80053', weight: 6, charge: 4_500, maxUnits: 1 },
  { code: '85025', weight: 6, charge: 3_000, maxUnits: 1 },
  { code: '80061', weight: 4, charge: 5_000, maxUnits: 1 },
  { code: '83036', weight: 3, charge: 4_000, maxUnits: 1 },
  { code: '84443', weight: 3, charge: 6_000, maxUnits: 1 },
  { code: '81001', weight: 2, charge: 1_500, maxUnits: 1 },
  { code: '97110', weight: 6, charge: 6_000, maxUnits: 4 },
  { code: '97140', weight: 4, charge: 5_500, maxUnits: 3 },
  { code: '97530', weight: 3, charge: 6_500, maxUnits: 3 },
  { code: '97112', weight: 2, charge: 6_500, maxUnits: 2 },
  { code: '20610', weight: 2, charge: 30_000, maxUnits: 1 },
  { code: '93000', weight: 2, charge: 6_000, maxUnits: 1 },
  { code: '71046', weight: 2, charge: 12_000, maxUnits: 1 },
  { code: '90471', weight: 2, charge: 3_500, maxUnits: 1 },
  { code: '90686', weight: 2, charge: 4_000, maxUnits: 1 },
  { code: '90834', weight: 2, charge: 18_000, maxUnits: 1 },
  { code: '90837', weight: 1, charge: 25_000, maxUnits: 1 },
  { code: '96372', weight: 1, charge: 4_000, maxUnits: 1 },
  { code: 'J3301', weight: 1, charge: 1_200, maxUnits: 4 },
];
const totalWeight = services.reduce((s, x) => s + x.weight, 0);
const diagnoses = ['I10', 'E11.9', 'E78.5', 'M17.11', 'M54.50', 'J06.9', 'Z00.00', 'F41.1', 'R51.9', 'K21.9'];
const LEIE_SAMPLE = ['1003005315', '1003011644', '1003016742'];

export interface CorpusOptions {
  claims: number;
  seed?: number;
  /** Claims per member history and provider history to draw duplicates from. */
  members?: number;
  providers?: number;
}

export function generateCorpus(opts: CorpusOptions): CorpusItem[] {
  const r = rng(opts.seed ?? 2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const chance = (p: number) => r() < p;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const service = () => {
    let x = r() * totalWeight;
    for (const s of services) {
      x -= s.weight;
      if (x <= 0) return s;
    }
    return services[0]!;
  };
  const providers = Array.from({ length: opts.providers ?? 200 }, (_, i) =>
    withCheckDigit(`1${String(100_000_00 + i * 7919).padStart(8, '0')}`),
  );
  const memberCount = opts.members ?? 2_000;
  const members = Array.from({ length: memberCount }, (_, i) => {
    const year = 1940 + int(0, 80);
    const coverage: CoveragePeriod = {
      coverageId: `COV-${i}`,
      planId: pick(['PPO-GOLD', 'HMO-SILVER', 'HDHP-BRONZE']),
      status: 'active',
      start: chance(0.02) ? '2026-06-01' : '2025-01-01',
      ...(chance(0.02) ? { end: '2026-03-31' } : {}),
      planYearStartMonth: chance(0.2) ? 7 : 1,
      benefits: {
        deductibleCents: pick([0, 50_000, 150_000, 300_000]),
        outOfPocketMaxCents: pick([300_000, 600_000, 900_000]),
        coinsuranceBps: pick([0, 1_000, 2_000, 3_000]),
        copayCents: pick([0, 2_000, 3_000]),
        ...(chance(0.3) ? { annualVisitLimit: 20 } : {}),
        ...(chance(0.1) ? { annualBenefitMaxCents: 5_000_000 } : {}),
      },
      excludedProcedures: chance(0.05) ? ['97530'] : [],
      priorAuthRequired: chance(0.1) ? ['20610', '71046'] : [],
    };
    return {
      memberId: `M-${String(i).padStart(6, '0')}`,
      member: {
        birthDate: `${year}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}`,
        sex: pick(['female', 'male'] as const),
      },
      coverage,
    };
  });
  const items: CorpusItem[] = [];
  for (let n = 0; n < opts.claims; n++) {
    const m = members[int(0, memberCount - 1)]!;
    const billing = chance(0.005) ? pick(LEIE_SAMPLE) : pick(providers);
    const lineCount = int(1, 10);
    const firstDay = int(0, 150);
    const dates = Array.from({ length: int(1, 3) }, (_, i) =>
      new Date(Date.UTC(2026, 3, 1 + firstDay + i * int(1, 5))).toISOString().slice(0, 10),
    ).sort();
    const lines: ClaimLine[] = [];
    const used = new Set<string>();
    while (lines.length < lineCount) {
      const s = service();
      const date = pick(dates);
      const key = `${s.code}|${date}`;
      if (used.has(key)) continue;
      used.add(key);
      lines.push({
        procedureCode: chance(0.005) ? `${s.code.slice(0, 4)}` : s.code,
        modifiers: s.code.startsWith('97') && chance(0.5) ? ['GP'] : chance(0.05) ? ['25'] : [],
        units: chance(0.01) ? s.maxUnits + 5 : int(1, s.maxUnits),
        chargeCents: Math.round(s.charge * (0.8 + r() * 0.6)),
        serviceDate: date,
        diagnosisPointers: [1, ...(chance(0.3) ? [2] : [])],
      });
    }
    const dx = [pick(diagnoses), pick(diagnoses)];
    const claim: ClaimSubmission = {
      claimId: `CLM-${n}`,
      billingProviderNpi: billing,
      renderingProviderNpi: billing,
      memberId: m.memberId,
      serviceDateFrom: dates[0]!,
      serviceDateTo: dates[dates.length - 1]!,
      diagnosisCodes: dx,
      ...(chance(0.5) ? { priorAuthorizationNumber: `PA-${n}` } : {}),
      lines,
    };
    const treatments: TreatmentRecord[] = dates.map((d, i) => ({
      recordId: `TR-${n}-${i}`,
      memberId: m.memberId,
      providerNpi: billing,
      serviceDate: d,
      kind: 'encounter',
      procedureCodes: lines.filter((l) => l.serviceDate === d && !chance(0.01)).map((l) => l.procedureCode),
      diagnosisCodes: dx,
    }));
    const planYear = m.coverage.planYearStartMonth === 7 ? '2025-07' : '2026';
    const accumulators: Accumulators[] = [
      {
        coverageId: m.coverage.coverageId,
        planYear,
        deductibleMetCents: int(0, m.coverage.benefits.deductibleCents),
        outOfPocketMetCents: int(0, 100_000),
        paidCents: int(0, 500_000),
        visits: int(0, 12),
        version: int(1, 40),
      },
    ];
    const prior: PriorClaimLine[] = [];
    for (let p = int(0, 12); p > 0; p--) {
      const s = service();
      prior.push({
        claimDocId: `claim#H-${n}-${p}`,
        billingProviderNpi: chance(0.7) ? billing : pick(providers),
        memberId: chance(0.5) ? m.memberId : pick(members).memberId,
        serviceDate: new Date(Date.UTC(2026, 2, 1 + int(0, 150))).toISOString().slice(0, 10),
        procedureCode: s.code,
        modifiers: [],
        units: 1,
        chargeCents: s.charge,
        status: chance(0.9) ? 'approved' : 'denied',
      });
    }
    // About 2% of claims resubmit a line already paid.
    if (chance(0.02)) {
      const l = lines[0]!;
      prior.push({
        claimDocId: `claim#DUP-${n}`,
        billingProviderNpi: billing,
        memberId: m.memberId,
        serviceDate: l.serviceDate,
        procedureCode: l.procedureCode,
        modifiers: l.modifiers,
        units: l.units,
        chargeCents: l.chargeCents,
        status: 'approved',
      });
    }
    items.push({
      claim,
      facts: {
        memberId: m.memberId,
        member: m.member,
        coverages: [m.coverage],
        treatments,
        accumulators,
        priorClaimLines: prior,
      },
    });
  }
  return items;
}
