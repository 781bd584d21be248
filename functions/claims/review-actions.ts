import type { JournalEntry } from '#journal/entry.ts';
import { type ClaimFacts, type Decision, decisionTotals, type LineDecision } from './decision.ts';
import { AccumulatorConflictError, ConflictError, ForbiddenError, NotFoundError } from './errors.ts';
import { contentHash } from './hashing.ts';
import { actingRole, type Identity } from './identity.ts';
import {
  type ClaimRepositoryPort,
  type Clock,
  type JournalReceipt,
  type ReviewRepositoryPort,
  RevisionConflictError,
  type StoredClaim,
} from './ports.ts';
import { type ReviewAction, type ReviewDecisionBody, StaleReviewError, type StoredReview } from './review.ts';
import { type Holds, holdsOf, type ReviewRuleSetPort } from './review-rules.ts';
import { decisionSummary } from './submit-claim.ts';

export interface ReviewActionPorts {
  claims: ClaimRepositoryPort;
  reviews: ReviewRepositoryPort;
  clock: Clock;
}

export interface ReviewDecisionPorts extends ReviewActionPorts {
  /** The active rule set, able to release a review's holds (only an approval evaluates). */
  ruleSet: ReviewRuleSetPort;
}

export interface ReviewActionResult {
  review: StoredReview;
  claim: StoredClaim;
  /** Null when the action changed nothing (assigning a review already assigned to the caller). */
  receipt: JournalReceipt | null;
}

/** What one attempt of an action writes: the claim's next revision and what goes with it. */
interface Step {
  status: StoredClaim['status'];
  decision: Decision;
  review: Omit<StoredReview, 'version' | 'updatedAt' | 'actions'>;
  facts: ClaimFacts | null;
  payload: Record<string, unknown>;
  holds?: Holds;
}

const MAX_ATTEMPTS = 8;
/** Notes are ≤ 2,000 characters (≤ 8 KB in UTF-8): 30 actions keep a review item below 400 KB. */
const MAX_ACTIONS_PER_REVIEW = 30;
// An approval that loses an accumulator race to a concurrent claim of the member re-gathers
// facts and re-evaluates after a short jittered pause, as submitting a claim does.
const backoff = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(250, 10 * 2 ** attempt)));

/**
 * The caller takes the review (status `assigned`). Assigning a review already assigned to the
 * caller changes nothing, so a retried request is harmless.
 */
export function assignReview(
  claimId: string,
  expectedVersions: number[],
  identity: Identity,
  ports: ReviewActionPorts,
  note?: string,
): Promise<ReviewActionResult> {
  return act(claimId, expectedVersions, identity, ports, 'assign', note, async (claim, review) => {
    if (review.status === 'assigned' && review.assignee === identity.sub) return null;
    return {
      status: claim.status,
      decision: claim.decision,
      review: { ...review, status: 'assigned', assignee: identity.sub },
      facts: null,
      payload: { previousAssignee: review.assignee },
    };
  });
}

/**
 * An analyst's decision on a review:
 * - approve: the claim is evaluated again by the active rule set with its holds released
 *   (review-rules.ts) on freshly gathered facts, so pricing, cost sharing and the accumulator
 *   updates are exactly an automatic approval's, against the accumulators as they are now;
 * - deny: every pended line is denied with the analyst's CARC (group CO: the provider's
 *   liability), nothing is paid or accumulated;
 * - escalate: the claim stays pended and the review goes back to the queue, unassigned, flagged.
 */
export function decideReview(
  claimId: string,
  body: ReviewDecisionBody,
  expectedVersions: number[],
  identity: Identity,
  ports: ReviewDecisionPorts,
): Promise<ReviewActionResult> {
  return act(claimId, expectedVersions, identity, ports, body.outcome, body.note, async (claim, review) => {
    if (review.status === 'assigned' && review.assignee !== identity.sub) {
      throw new ConflictError(
        `The review is assigned to ${review.assignee}; assign it to yourself before deciding it.`,
      );
    }
    if (claim.status !== 'pended') throw new ConflictError(`Claim ${claim.id} is not pended.`);
    const reason = body.reason === undefined ? {} : { reason: body.reason };
    switch (body.outcome) {
      case 'escalate':
        return {
          status: 'pended',
          decision: claim.decision,
          review: { ...review, status: 'open', assignee: null, escalations: review.escalations + 1 },
          facts: null,
          payload: reason,
        };
      case 'deny': {
        const decision = denied(claim.decision, body.reason ?? '', identity);
        return {
          status: decision.outcome,
          decision,
          review: { ...review, status: 'closed', assignee: identity.sub, outcome: 'deny' },
          facts: null,
          payload: { ...reason, ...decisionSummary(decision) },
        };
      }
      case 'approve': {
        const holds = holdsOf(claim.decision);
        const gathered = await ports.claims.gatherFacts(claim.submission);
        // The claim is stored already, pended: it must not count as its own prior claim
        // (duplicate, velocity and same-day checks), just as it did not when first decided.
        const facts = {
          ...gathered,
          priorClaimLines: gathered.priorClaimLines.filter((line) => line.claimDocId !== claim.id),
        };
        const decision = ports.ruleSet.releasing(holds).evaluate(claim.submission, facts);
        if (decision.outcome === 'pended') {
          const why = decision.reasons.map((r) => r.code).join(', ');
          throw new ConflictError(
            `Claim ${claim.id} still pends under the current facts and rules (${why}), for reasons this review did not hold it for; deny or escalate it.`,
          );
        }
        decision.trace.push({
          ruleId: 'review.approve',
          fired: true,
          facts: { analyst: identity.sub, releasedRules: holds.rules, releasedFraudHold: holds.fraud },
          effect: `${decision.outcome} after review`,
        });
        return {
          status: decision.outcome,
          decision,
          review: { ...review, status: 'closed', assignee: identity.sub, outcome: 'approve' },
          facts,
          payload: { ...reason, released: holds, ...decisionSummary(decision) },
          holds,
        };
      }
    }
  });
}

/** Load, check the version, build the next revision, write it all at once; retry accumulator races. */
async function act(
  claimId: string,
  expectedVersions: number[],
  identity: Identity,
  ports: ReviewActionPorts,
  action: ReviewAction['action'],
  note: string | undefined,
  next: (claim: StoredClaim, review: StoredReview) => Promise<Step | null>,
): Promise<ReviewActionResult> {
  if (!identity.roles.includes('analyst')) throw new ForbiddenError('Only analysts work the review queue.');
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const [claim, review] = await Promise.all([ports.claims.find(claimId), ports.reviews.find(claimId)]);
    if (!claim || !review) throw new NotFoundError(`No review exists for claim ${claimId}.`);
    if (!expectedVersions.includes(review.version)) {
      throw new StaleReviewError(
        `The review is at version ${review.version} (ETag "${review.version}"); reload it and try again.`,
      );
    }
    if (review.status === 'closed') throw new ConflictError(`The review of claim ${claimId} is closed.`);
    // Actions and their notes live on the review item, which must stay under DynamoDB's item
    // limit; a review escalated this often needs a supervisor, not another action.
    if (review.actions.length >= MAX_ACTIONS_PER_REVIEW) {
      throw new ConflictError(
        `The review of claim ${claimId} has reached ${MAX_ACTIONS_PER_REVIEW} actions; it can take no more.`,
      );
    }
    const step = await next(claim, review);
    if (step === null) return { review, claim, receipt: null };

    const now = ports.clock();
    const revision = claim.revision + 1;
    const journalKey = `claim.reviewed/${claim.id}/${revision}`;
    const nextClaim: StoredClaim = {
      ...claim,
      revision,
      status: step.status,
      decision: step.decision,
      updatedAt: now,
      journalKey,
    };
    const nextReview: StoredReview = {
      ...step.review,
      version: review.version + 1,
      updatedAt: now,
      actions: [
        ...review.actions,
        {
          action,
          by: identity.sub,
          at: now,
          ...('reason' in step.payload ? { reason: String(step.payload.reason) } : {}),
          ...(note === undefined ? {} : { note }),
          journalKey,
        },
      ],
    };
    const entry: JournalEntry = {
      type: 'claim.reviewed',
      docId: `claim/${claim.id}`,
      docRevision: revision,
      ...(step.holds ? { ruleSetHash: step.decision.ruleSetHash } : {}),
      actor: { sub: identity.sub, role: actingRole(identity) },
      at: now,
      payload: {
        action,
        claimId: claim.submission.claimId,
        billingProviderNpi: claim.submission.billingProviderNpi,
        memberId: claim.submission.memberId,
        reviewVersion: nextReview.version,
        status: step.status,
        reviewStatus: nextReview.status,
        // The note stays on the review (it is free text and may hold PHI); the journal proves
        // which note was written without making it impossible ever to redact.
        ...(note === undefined ? {} : { noteSha256: contentHash(note) }),
        ...step.payload,
      },
    };
    try {
      const receipt = await ports.reviews.saveAction({
        claim: nextClaim,
        previousRevision: claim.revision,
        review: nextReview,
        expectedVersion: review.version,
        facts: step.facts,
        entry,
      });
      return { review: nextReview, claim: nextClaim, receipt };
    } catch (error: unknown) {
      if (error instanceof AccumulatorConflictError || error instanceof RevisionConflictError) {
        await backoff(attempt);
        continue;
      }
      throw error;
    }
  }
  throw new ConflictError(
    'The member’s benefit accumulators kept changing under concurrent claims; try the approval again.',
  );
}

/** The decision after a denial on review: pended lines denied with the analyst's CARC. */
function denied(decision: Decision, carc: string, identity: Identity): Decision {
  const message = `Denied after review (CARC ${carc})`;
  const lines: LineDecision[] = decision.lines.map((line) =>
    line.status !== 'pended'
      ? line
      : {
          lineNumber: line.lineNumber,
          status: 'denied',
          chargeCents: line.chargeCents,
          allowedCents: 0,
          paidCents: 0,
          memberResponsibilityCents: 0,
          adjustments:
            line.chargeCents > 0
              ? [{ group: 'CO', carc, amountCents: line.chargeCents, ruleId: 'review.deny', message }]
              : [],
        },
  );
  const reasons = new Map<string, string>();
  for (const line of lines) {
    if (line.status !== 'denied') continue;
    for (const a of line.adjustments) reasons.set(`${a.group}-${a.carc}`, a.message);
  }
  const totals = decisionTotals(lines);
  return {
    ...decision,
    // A pended claim pays nothing on any line, so denying its pended lines denies the claim.
    outcome: 'denied',
    lines,
    totals,
    reasons: [...reasons].map(([code, text]) => ({ code, message: text })),
    accumulatorDeltas: [],
    trace: [
      ...decision.trace,
      {
        ruleId: 'review.deny',
        fired: true,
        facts: { analyst: identity.sub, carc },
        effect: `denied after review, CO-${carc}`,
      },
    ],
  };
}
