import type { Identity } from './identity.ts';
import type { JournalReceipt, StoredClaim } from './ports.ts';

/**
 * What a caller sees of a claim. Providers get the decision and its reasons; the rule trace
 * and fraud signals are internals for analysts (a provider must not learn how to evade them).
 */
export function claimView(claim: StoredClaim, receipt: JournalReceipt | null, identity: Identity) {
  const { decision } = claim;
  const analyst = identity.roles.includes('analyst') || identity.roles.includes('rules-admin');
  return {
    id: claim.id,
    claimId: claim.submission.claimId,
    status: claim.status,
    revision: claim.revision,
    submittedAt: claim.createdAt,
    updatedAt: claim.updatedAt,
    submission: claim.submission,
    decision: {
      outcome: decision.outcome,
      ruleSetHash: decision.ruleSetHash,
      totals: decision.totals,
      lines: decision.lines,
      reasons: decision.reasons,
      ...(analyst ? { fraud: decision.fraud, trace: decision.trace } : {}),
    },
    journal: receipt === null ? null : { index: receipt.index, leafHash: receipt.leafHash },
  };
}
