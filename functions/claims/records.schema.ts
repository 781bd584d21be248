import * as z from '#functions/zod.ts';
import { cents, externalId, isoDate, npi } from './claim.schema.ts';

/** Plan benefits the engine applies; percentages in basis points so money math stays integer. */
export const benefitsSchema = z.strictObject({
  deductibleCents: cents,
  outOfPocketMaxCents: cents,
  /** Member's share after the deductible, in basis points (2000 = 20%). */
  coinsuranceBps: z.number().check(z.int(), z.gte(0), z.lte(10_000)),
  /** Fixed member share per visit line (E/M office visits), applied before coinsurance. */
  copayCents: z._default(cents, 0),
  /** Covered visits per plan year; absent = unlimited. */
  annualVisitLimit: z.optional(z.number().check(z.int(), z.gte(0))),
  /** Plan's paid amount per plan year; absent = unlimited. */
  annualBenefitMaxCents: z.optional(cents),
});

/** Procedure codes of a record or plan list: short code tokens, at most `max` of them. */
const codeList = (max: number) =>
  z._default(z.array(z.string().check(z.minLength(1), z.maxLength(8))).check(z.maxLength(max)), []);

export const coveragePeriodSchema = z
  .strictObject({
    coverageId: externalId,
    planId: externalId,
    /** Payer's group/policy number the plan is sold under. */
    groupNumber: z.optional(externalId),
    status: z.enum(['active', 'cancelled']),
    start: isoDate,
    end: z.optional(isoDate),
    /** First month (1-12) of the plan year; accumulators reset then. */
    planYearStartMonth: z._default(z.number().check(z.int(), z.gte(1), z.lte(12)), 1),
    benefits: benefitsSchema,
    /** Procedure codes the plan never covers (CARC 204). */
    excludedProcedures: codeList(300),
    /** Procedure codes that need a prior authorization number on the claim (CARC 197). */
    priorAuthRequired: codeList(300),
  })
  .check(
    z.refine((c) => c.end === undefined || c.end >= c.start, { path: ['end'], message: 'is before start' }),
  );

/** Body of PUT /members/{memberId}/coverage: the member's demographics and every coverage period. */
export const memberCoverageSchema = z.strictObject({
  member: z.strictObject({
    birthDate: isoDate,
    sex: z.enum(['female', 'male', 'other', 'unknown']),
  }),
  coverages: z.array(coveragePeriodSchema).check(z.minLength(1), z.maxLength(20)),
});

/** Body of POST /treatments: a clinical record that a billed service can be matched against. */
export const treatmentRecordSchema = z.strictObject({
  recordId: externalId,
  memberId: externalId,
  providerNpi: npi,
  serviceDate: isoDate,
  kind: z.enum(['encounter', 'procedure', 'medication', 'observation']),
  procedureCodes: codeList(50),
  diagnosisCodes: codeList(50),
});

export type Benefits = z.infer<typeof benefitsSchema>;
export type CoveragePeriod = z.infer<typeof coveragePeriodSchema>;
export type MemberCoverage = z.infer<typeof memberCoverageSchema>;
export type TreatmentRecord = z.infer<typeof treatmentRecordSchema>;
