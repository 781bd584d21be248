import * as z from '#functions/zod.ts';
import type { StoredClaim } from './ports.ts';

/**
 * The fraud-review queue's model. A claim decided `pended` gets a review in the same atomic
 * write as the claim (ClaimRepositoryPort.saveDecided); analysts assign it, then approve, deny
 * or escalate it. Every action is a `claim.reviewed` journal entry and a new claim revision.
 */

/** Where a review is in the queue. Escalation sends a review back to `open`, flagged. */
export const REVIEW_STATUSES = ['open', 'assigned', 'closed'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

export type ReviewOutcome = 'approve' | 'deny' | 'escalate';

/** One analyst action on a review, kept on the review for the detail view. */
export interface ReviewAction {
  action: 'assign' | ReviewOutcome;
  by: string;
  at: string;
  reason?: string;
  note?: string;
  /** Journal key of the action's `claim.reviewed` entry. */
  journalKey: string;
}

/** A review as stored. `version` is the optimistic-concurrency token (the ETag). */
export interface StoredReview {
  /** The claim's document id (`c` + 31 hex). */
  claimId: string;
  /** The provider's own claim id. */
  externalClaimId: string;
  billingProviderNpi: string;
  memberId: string;
  serviceDateFrom: string;
  chargeCents: number;
  /** Fraud score and threshold of the decision that pended the claim. */
  score: number;
  threshold: number;
  /** Distinct fraud signal names, for display and the `signal` filter. */
  signals: string[];
  /** Pend reason codes of the decision (e.g. `unsupported-by-records`, `fraud-review`). */
  reasons: string[];
  status: ReviewStatus;
  assignee: string | null;
  escalations: number;
  /** The final outcome once closed. */
  outcome: 'approve' | 'deny' | null;
  actions: ReviewAction[];
  version: number;
  /** When the claim was pended (the review's age). */
  createdAt: string;
  updatedAt: string;
}

/** The review a pended claim opens with: version 1, unassigned. */
export function openReview(claim: StoredClaim): StoredReview {
  const { submission, decision } = claim;
  return {
    claimId: claim.id,
    externalClaimId: submission.claimId,
    billingProviderNpi: submission.billingProviderNpi,
    memberId: submission.memberId,
    serviceDateFrom: submission.serviceDateFrom,
    chargeCents: decision.totals.chargeCents,
    score: decision.fraud.score,
    threshold: decision.fraud.threshold,
    signals: [...new Set(decision.fraud.signals.map((s) => s.signal))].sort(),
    reasons: decision.reasons.map((r) => r.code),
    status: 'open',
    assignee: null,
    escalations: 0,
    outcome: null,
    actions: [],
    version: 1,
    createdAt: claim.createdAt,
    updatedAt: claim.createdAt,
  };
}

/** What the queue and the detail view show of a review (the actions only in the detail). */
export function reviewSummary(review: StoredReview) {
  return {
    claimId: review.claimId,
    externalClaimId: review.externalClaimId,
    billingProviderNpi: review.billingProviderNpi,
    memberId: review.memberId,
    serviceDateFrom: review.serviceDateFrom,
    chargeCents: review.chargeCents,
    score: review.score,
    threshold: review.threshold,
    signals: review.signals,
    reasons: review.reasons,
    status: review.status,
    escalated: review.escalations > 0,
    assignee: review.assignee,
    outcome: review.outcome,
    version: review.version,
    createdAt: review.createdAt,
    updatedAt: review.updatedAt,
  };
}

/**
 * A Claim Adjustment Reason Code as X12 835 CAS writes them: 1-3 digits (1..299...) or a
 * letter and 1-2 digits (A0..A8, B1..B23, D1.., P1..P32, W1..W9, Y1..Y3). The unit tests check
 * every code of the published list matches.
 */
export const CARC_PATTERN = /^(?:[1-9][0-9]{0,2}|[A-Z][0-9]{1,2})$/;

/**
 * Body of POST /reviews/{claimId}/decision. `reason` is a code, journaled as is: a CARC for a
 * denial (required), any short code otherwise (e.g. `records-received`). `note` is free text,
 * kept on the review and journaled only as its hash (it may hold PHI).
 */
export const reviewDecisionSchema = z
  .strictObject({
    outcome: z.enum(['approve', 'deny', 'escalate']),
    reason: z.optional(
      z
        .string()
        .check(
          z.regex(
            /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
            'must be a reason code (letters, digits, ".", "_", "-")',
          ),
        ),
    ),
    note: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
  })
  .check(
    z.superRefine((body, ctx) => {
      if (body.outcome !== 'deny') return;
      if (body.reason === undefined) {
        ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a denial needs a CARC as its reason' });
      } else if (!CARC_PATTERN.test(body.reason)) {
        ctx.addIssue({
          code: 'custom',
          path: ['reason'],
          message: 'must be a Claim Adjustment Reason Code (e.g. "50", "B7")',
        });
      }
    }),
  );

export type ReviewDecisionBody = z.infer<typeof reviewDecisionSchema>;

/** Body of POST /reviews/{claimId}/assign: the caller takes the review; nothing else to say. */
export const reviewAssignSchema = z.strictObject({
  note: z.optional(z.string().check(z.minLength(1), z.maxLength(2000))),
});

/** The strong entity tag of a review version (RFC 9110 §8.8.3). */
export const reviewETag = (version: number): string => `"${version}"`;

/**
 * The review versions an If-Match header names: `"3"` or a list `"3", "4"`. Weak tags never
 * match for If-Match (RFC 9110 §13.1.1), and `*` is refused too: it would defeat the lost-update
 * check this header exists for. Returns null when the header is absent or names no version.
 */
export function versionsFromIfMatch(header: string | undefined): number[] | null {
  if (header === undefined || header.trim() === '') return null;
  const versions: number[] = [];
  for (const part of header.split(',')) {
    const match = /^\s*"(0|[1-9][0-9]{0,14})"\s*$/.exec(part);
    if (match?.[1] !== undefined) versions.push(Number(match[1]));
  }
  return versions;
}

/** The caller's If-Match does not name the review's current version: reload and decide again. */
export class StaleReviewError extends Error {
  override name = 'StaleReviewError';
}

/** A list cursor that this API did not issue for this query (or that was tampered with). */
export class InvalidCursorError extends Error {
  override name = 'InvalidCursorError';
}
