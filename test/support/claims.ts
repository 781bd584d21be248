import type { ClaimSubmission } from '../../functions/claims/claim.schema.ts';

/** A claim of one service on one day, one unit, the way most store-level tests need one. */
export function oneLineClaim(claim: {
  claimId: string;
  memberId: string;
  npi: string;
  date: string;
  procedureCode: string;
  diagnosisCode: string;
  chargeCents: number;
}): ClaimSubmission {
  return {
    claimId: claim.claimId,
    billingProviderNpi: claim.npi,
    memberId: claim.memberId,
    serviceDateFrom: claim.date,
    serviceDateTo: claim.date,
    diagnosisCodes: [claim.diagnosisCode],
    lines: [
      {
        procedureCode: claim.procedureCode,
        modifiers: [],
        units: 1,
        chargeCents: claim.chargeCents,
        serviceDate: claim.date,
        diagnosisPointers: [1],
      },
    ],
  };
}
