import { z } from 'zod';
import { cents, externalId, isoDate, npi } from './claim.schema.ts';

/** Plan benefits the engine applies; percentages in basis points so money math stays integer. */
export const benefitsSchema = z.strictObject({
  deductibleCents: cents,
  outOfPocketMaxCents: cents,
  /** Member's share after the deductible, in basis points (2000 = 20%). */
  coinsuranceBps: z.number().int().min(0).max(10_000),
  /** Fixed member share per visit line (E/M office visits), applied before coinsurance. */
  copayCents: cents.default(0),
  /** Covered visits per plan year; absent = unlimited. */
  annualVisitLimit: z.number().int().min(0).optional(),
  /** Plan's paid amount per plan year; absent = unlimited. */
  annualBenefitMaxCents: cents.optional(),
});

export const coveragePeriodSchema = z
  .strictObject({
    coverageId: externalId,
    planId: externalId,
    /** Payer's group/policy number the plan is sold under. */
    groupNumber: externalId.optional(),
    status: z.enum(['active', 'cancelled']),
    start: isoDate,
    end: isoDate.optional(),
    /** First month (1-12) of the plan year; accumulators reset then. */
    planYearStartMonth: z.number().int().min(1).max(12).default(1),
    benefits: benefitsSchema,
    /** Procedure codes the plan never covers (CARC 204). */
    excludedProcedures: z.array(z.string().min(1).max(8)).max(300).default([]),
    /** Procedure codes that need a prior authorization number on the claim (CARC 197). */
    priorAuthRequired: z.array(z.string().min(1).max(8)).max(300).default([]),
  })
  .refine((c) => c.end === undefined || c.end >= c.start, { path: ['end'], message: 'is before start' });

/** Body of PUT /members/{memberId}/coverage: the member's demographics and every coverage period. */
export const memberCoverageSchema = z.strictObject({
  member: z.strictObject({
    birthDate: isoDate,
    sex: z.enum(['female', 'male', 'other', 'unknown']),
  }),
  coverages: z.array(coveragePeriodSchema).min(1).max(20),
});

/** Body of POST /treatments: a clinical record that a billed service can be matched against. */
export const treatmentRecordSchema = z.strictObject({
  recordId: externalId,
  memberId: externalId,
  providerNpi: npi,
  serviceDate: isoDate,
  kind: z.enum(['encounter', 'procedure', 'medication', 'observation']),
  procedureCodes: z.array(z.string().min(1).max(8)).max(50).default([]),
  diagnosisCodes: z.array(z.string().min(1).max(8)).max(50).default([]),
});

export type Benefits = z.infer<typeof benefitsSchema>;
export type CoveragePeriod = z.infer<typeof coveragePeriodSchema>;
export type MemberCoverage = z.infer<typeof memberCoverageSchema>;
export type TreatmentRecord = z.infer<typeof treatmentRecordSchema>;
