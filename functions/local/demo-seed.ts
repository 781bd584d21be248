import type { Identity } from '#claims/identity.ts';
import type { RecordRepositoryPort } from '#claims/ports.ts';
import type { MemberCoverage, TreatmentRecord } from '#claims/records.schema.ts';
import { addTreatment, putCoverage } from '#claims/records.ts';

/** Demo providers: NPIs with valid check digits; the last one is on the HHS-OIG exclusion list. */
export const demoProviders = {
  familyClinic: { npi: '1234567893', name: 'Riverside Family Clinic' },
  orthoGroup: { npi: '1452637980', name: 'Lakeside Orthopedics' },
  excluded: { npi: '1003005315', name: 'Excluded provider (LEIE, January 2026)' },
} as const;

const standardPpo = {
  deductibleCents: 50_000,
  outOfPocketMaxCents: 300_000,
  coinsuranceBps: 2_000,
  copayCents: 2_500,
  annualVisitLimit: 30,
};

/** Three members: an active PPO, a high-deductible plan, and coverage that ended last year. */
export const demoMembers: Record<string, MemberCoverage> = {
  M1001: {
    member: { birthDate: '1980-04-12', sex: 'female' },
    coverages: [
      {
        coverageId: 'COV-1001-26',
        planId: 'PPO-GOLD',
        groupNumber: 'GRP-ACME',
        status: 'active',
        start: '2026-01-01',
        end: '2026-12-31',
        planYearStartMonth: 1,
        benefits: standardPpo,
        excludedProcedures: ['15780'],
        priorAuthRequired: ['72148'],
      },
    ],
  },
  M1002: {
    member: { birthDate: '1962-09-30', sex: 'male' },
    coverages: [
      {
        coverageId: 'COV-1002-26',
        planId: 'HDHP-BRONZE',
        status: 'active',
        start: '2026-01-01',
        planYearStartMonth: 1,
        benefits: {
          deductibleCents: 300_000,
          outOfPocketMaxCents: 700_000,
          coinsuranceBps: 3_000,
          copayCents: 0,
        },
        excludedProcedures: [],
        priorAuthRequired: [],
      },
    ],
  },
  M1003: {
    member: { birthDate: '1975-01-20', sex: 'female' },
    coverages: [
      {
        coverageId: 'COV-1003-25',
        planId: 'PPO-GOLD',
        status: 'active',
        start: '2025-01-01',
        end: '2025-12-31',
        planYearStartMonth: 1,
        benefits: standardPpo,
        excludedProcedures: [],
        priorAuthRequired: [],
      },
    ],
  },
};

export const demoTreatments: TreatmentRecord[] = [
  {
    recordId: 'ENC-5001',
    memberId: 'M1001',
    providerNpi: demoProviders.familyClinic.npi,
    serviceDate: '2026-03-02',
    kind: 'encounter',
    procedureCodes: ['99213', '36415', '80053'],
    diagnosisCodes: ['E11.9', 'I10'],
  },
  {
    recordId: 'ENC-5002',
    memberId: 'M1002',
    providerNpi: demoProviders.orthoGroup.npi,
    serviceDate: '2026-03-05',
    kind: 'procedure',
    procedureCodes: ['99214', '20610'],
    diagnosisCodes: ['M17.11'],
  },
];

/** A claim the demo's curl example submits: matches M1001's encounter above. */
export const demoClaim = {
  claimId: 'DEMO-0001',
  billingProviderNpi: demoProviders.familyClinic.npi,
  memberId: 'M1001',
  serviceDateFrom: '2026-03-02',
  serviceDateTo: '2026-03-02',
  diagnosisCodes: ['E11.9', 'I10'],
  lines: [
    {
      procedureCode: '99213',
      units: 1,
      chargeCents: 18_500,
      serviceDate: '2026-03-02',
      diagnosisPointers: [1, 2],
    },
    {
      procedureCode: '36415',
      units: 1,
      chargeCents: 2_500,
      serviceDate: '2026-03-02',
      diagnosisPointers: [1],
    },
    {
      procedureCode: '80053',
      units: 1,
      chargeCents: 6_800,
      serviceDate: '2026-03-02',
      diagnosisPointers: [1],
    },
  ],
};

/**
 * A claim no treatment record supports (M1001 has no encounter on 2026-03-09): the rules pend
 * it (unsupported-by-records) and it enters the fraud-review queue, for the review demo.
 */
export const demoReviewClaim = {
  ...demoClaim,
  claimId: 'DEMO-REVIEW-0001',
  serviceDateFrom: '2026-03-09',
  serviceDateTo: '2026-03-09',
  lines: demoClaim.lines.map((line) => ({ ...line, serviceDate: '2026-03-09' })),
};

const seeder: Identity = { sub: 'demo-seed', roles: ['analyst'], npis: [] };

/** Loads the demo records through the same use cases the API uses, so they are journaled too. */
export async function seedDemo(ports: { records: RecordRepositoryPort; clock: () => string }): Promise<void> {
  for (const [memberId, coverage] of Object.entries(demoMembers)) {
    await putCoverage(memberId, coverage, seeder, ports);
  }
  for (const record of demoTreatments) await addTreatment(record, seeder, ports);
}
