import * as z from '#functions/zod.ts';

/** ISO calendar date (YYYY-MM-DD) that is a real day. */
export const isoDate = z.string().check(
  z.regex(/^\d{4}-\d{2}-\d{2}$/, 'must be an ISO date (YYYY-MM-DD)'),
  z.refine((s: string) => {
    const d = new Date(`${s}T00:00:00Z`);
    return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(s);
  }, 'is not a calendar date'),
);

/** Money is always integer cents (DESIGN.md decision 8). */
export const cents = z.number().check(z.int('must be integer cents'), z.gte(0), z.lte(100_000_000_00));

// Ten digits; the check digit (Luhn over 80840 + NPI) is a rule, so a typo gets a CARC, not a 422.
export const npi = z.string().check(z.regex(/^\d{10}$/, 'must be a 10-digit NPI'));

/** Identifiers chosen by callers: printable, bounded, safe in keys and URLs. */
export const externalId = z
  .string()
  .check(
    z.minLength(1),
    z.maxLength(64),
    z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'may contain only letters, digits, ".", "_" and "-"'),
  );

// The schema checks structure only (a bounded code token). Whether a code is a well-formed,
// valid CPT/HCPCS or ICD-10-CM code is the rule set's business: payers answer that with a
// CARC (16/146/181/182) on the line, not by refusing the claim.
const codeToken = (what: string, max: number) =>
  z
    .string()
    .check(z.regex(new RegExp(`^[A-Za-z0-9.]{1,${max}}$`), `must be a ${what} (letters, digits, ".")`));
const procedureCode = codeToken('CPT/HCPCS code', 8);
const diagnosisCode = codeToken('ICD-10-CM code', 8);
const modifier = codeToken('modifier', 2);

export const claimLineSchema = z.strictObject({
  procedureCode,
  modifiers: z._default(z.array(modifier).check(z.maxLength(4)), []),
  units: z.number().check(z.int(), z.gte(1), z.lte(9999)),
  chargeCents: cents,
  serviceDate: isoDate,
  diagnosisPointers: z
    .array(z.number().check(z.int(), z.gte(1), z.lte(12)))
    .check(z.minLength(1), z.maxLength(4)),
});

/**
 * A professional claim as a provider's billing system submits it. Strict: a field the
 * provider may not set (status, decision, score...) is a 422, not silently dropped.
 */
export const claimSubmissionSchema = z
  .strictObject({
    claimId: externalId,
    billingProviderNpi: npi,
    renderingProviderNpi: z.optional(npi),
    memberId: externalId,
    serviceDateFrom: isoDate,
    serviceDateTo: isoDate,
    diagnosisCodes: z.array(diagnosisCode).check(z.minLength(1), z.maxLength(12)),
    priorAuthorizationNumber: z.optional(externalId),
    lines: z.array(claimLineSchema).check(z.minLength(1), z.maxLength(50)),
  })
  .check(
    z.superRefine((claim, ctx) => {
      if (claim.serviceDateTo < claim.serviceDateFrom) {
        ctx.addIssue({ code: 'custom', path: ['serviceDateTo'], message: 'is before serviceDateFrom' });
      }
      claim.lines.forEach((line, i) => {
        if (line.serviceDate < claim.serviceDateFrom || line.serviceDate > claim.serviceDateTo) {
          ctx.addIssue({
            code: 'custom',
            path: ['lines', i, 'serviceDate'],
            message: 'is outside the claim’s dates of service',
          });
        }
      });
    }),
  );

export type ClaimSubmission = z.infer<typeof claimSubmissionSchema>;
export type ClaimLine = z.infer<typeof claimLineSchema>;
