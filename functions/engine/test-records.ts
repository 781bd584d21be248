import * as z from '#functions/zod.ts';
import type { ClaimFacts } from '../claims/decision.ts';
import {
  coveragePeriodSchema,
  memberCoverageSchema,
  treatmentRecordSchema,
} from '../claims/records.schema.ts';

// The records a claim path would gather, as rule tests and `POST /rules/simulate` write them
// (no YAML here: the simulate function reads JSON and must not bundle a YAML parser).

const accumulatorSchema = z.strictObject({
  coverageId: z.string(),
  planYear: z.string(),
  deductibleMetCents: z._default(z.number().check(z.int(), z.gte(0)), 0),
  outOfPocketMetCents: z._default(z.number().check(z.int(), z.gte(0)), 0),
  paidCents: z._default(z.number().check(z.int(), z.gte(0)), 0),
  visits: z._default(z.number().check(z.int(), z.gte(0)), 0),
  version: z._default(z.number().check(z.int(), z.gte(0)), 1),
});

const priorLineSchema = z.strictObject({
  claimDocId: z.string(),
  billingProviderNpi: z.string(),
  memberId: z.string(),
  serviceDate: z.string(),
  procedureCode: z.string(),
  modifiers: z._default(z.array(z.string()), []),
  units: z._default(z.number().check(z.int(), z.gte(1)), 1),
  chargeCents: z._default(z.number().check(z.int(), z.gte(0)), 10_000),
  status: z._default(z.enum(['approved', 'denied', 'pended']), 'approved'),
});

export const recordsSchema = z.strictObject({
  /** Defaults to the claim's member id; set it to test facts gathered for someone else. */
  memberId: z.optional(z.string()),
  member: z._default(z.nullable(memberCoverageSchema.shape.member), null),
  coverages: z._default(z.array(coveragePeriodSchema), []),
  treatments: z._default(z.array(treatmentRecordSchema), []),
  accumulators: z._default(z.array(accumulatorSchema), []),
  priorClaimLines: z._default(z.array(priorLineSchema), []),
});

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// Fields holding codes and identifiers: analysts write `procedureCode: 99213` unquoted, which
// YAML reads as a number.
const codeFields = new Set([
  'procedureCode',
  'procedureCodes',
  'modifiers',
  'diagnosisCodes',
  'excludedProcedures',
  'priorAuthRequired',
  'billingProviderNpi',
  'renderingProviderNpi',
  'providerNpi',
  'claimId',
  'memberId',
  'recordId',
  'coverageId',
  'planId',
  'planYear',
  'priorAuthorizationNumber',
]);

export function codesAsText(value: unknown, key = ''): unknown {
  if (typeof value === 'number' && codeFields.has(key)) return String(value);
  if (Array.isArray(value)) return value.map((v) => codesAsText(v, key));
  if (isRecord(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, codesAsText(v, k)]));
  return value;
}

/**
 * Reads a records document (the `records` of a test case) into claim facts, for
 * `rules explain --records`. Codes written as numbers are taken as text.
 */
export function parseRecords(
  raw: unknown,
  claimMemberId: string,
): { ok: true; facts: ClaimFacts } | { ok: false; errors: string[] } {
  const parsed = recordsSchema.safeParse(codesAsText(raw));
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(records)'}: ${i.message}`),
    };
  }
  const { memberId, ...rest } = parsed.data;
  return { ok: true, facts: { memberId: memberId ?? claimMemberId, ...rest } };
}
