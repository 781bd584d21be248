import { claimView } from './claim-view.ts';
import { NotFoundError } from './errors.ts';
import type { Identity } from './identity.ts';
import { type ClaimHistoryPorts, historyOf } from './journal-queries.ts';
import type { ClaimSummary, ReviewRepositoryPort } from './ports.ts';
import { reviewSummary, type StoredReview } from './review.ts';

export interface ReviewDetailPorts extends ClaimHistoryPorts {
  reviews: Pick<ReviewRepositoryPort, 'find' | 'recentClaims'>;
}

/** How many of the member's and of the provider's other claims the detail lists. */
export const RECENT_CLAIMS = 10;

/**
 * Everything an analyst needs to decide a review: the review and its actions, the claim with
 * its decision, rule trace and fraud signals (with their evidence), the member's and the
 * provider's recent claims, and the claim's journal history with inclusion proofs.
 *
 * The read is journaled first (`record.read`, payload `{view: "review"}`: HIPAA §164.312(b)
 * audit controls), so the history returned already shows it. Another role gets a 404, as for
 * claim history: a provider cannot learn that a claim is under review.
 */
export async function reviewDetail(claimId: string, identity: Identity, ports: ReviewDetailPorts) {
  if (!identity.roles.includes('analyst')) throw new NotFoundError(`No review exists for claim ${claimId}.`);
  const review = await ports.reviews.find(claimId);
  if (!review) throw new NotFoundError(`No review exists for claim ${claimId}.`);
  const claim = await ports.claims.find(claimId);
  if (!claim) throw new NotFoundError(`No review exists for claim ${claimId}.`);
  const history = await historyOf(claim, identity, ports, 'review');
  const [receipt, memberClaims, providerClaims] = await Promise.all([
    ports.claims.receipt(claim.journalKey),
    ports.reviews.recentClaims({ memberId: review.memberId }, RECENT_CLAIMS + 1),
    ports.reviews.recentClaims({ billingProviderNpi: review.billingProviderNpi }, RECENT_CLAIMS + 1),
  ]);
  const others = (claims: ClaimSummary[]) => claims.filter((c) => c.id !== claimId).slice(0, RECENT_CLAIMS);
  return {
    review: reviewDetailView(review),
    claim: claimView(claim, receipt, identity),
    fraud: claim.decision.fraud,
    memberClaims: others(memberClaims),
    providerClaims: others(providerClaims),
    history,
  };
}

/** The review with every action taken on it. */
export function reviewDetailView(review: StoredReview) {
  return { ...reviewSummary(review), actions: review.actions };
}
