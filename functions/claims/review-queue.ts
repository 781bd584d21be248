import { z } from 'zod';
import { externalId, isoDate, npi } from './claim.schema.ts';
import { type FieldIssue, ForbiddenError } from './errors.ts';
import type { Identity } from './identity.ts';
import { parameterIssues } from './journal-search.ts';
import type { ReviewQuery, ReviewRepositoryPort } from './ports.ts';
import { REVIEW_STATUSES, reviewSummary } from './review.ts';

/** Page size when none is asked for, and the most one page may hold (more is a 400, not clamped). */
export const DEFAULT_REVIEW_LIMIT = 25;
export const MAX_REVIEW_LIMIT = 100;

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a non-negative integer')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** GET /reviews query parameters. Unknown parameters are refused, so a typo never widens a query. */
const reviewQuerySchema = z
  .strictObject({
    status: z.enum(REVIEW_STATUSES).optional(),
    minScore: integer(0, 999_999).optional(),
    signal: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a signal name')
      .optional(),
    provider: npi.optional(),
    member: externalId.optional(),
    from: isoDate.optional(),
    to: isoDate.optional(),
    limit: integer(1, MAX_REVIEW_LIMIT).optional(),
    cursor: z.string().min(1).max(400).optional(),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    path: ['to'],
    message: 'is before from',
  });

/** The query a request asks for, or every problem with its parameters (named by parameter). */
export function parseReviewQuery(
  parameters: Record<string, string | undefined> | null,
): { query: ReviewQuery } | { issues: FieldIssue[] } {
  const parsed = reviewQuerySchema.safeParse(parameters ?? {});
  if (!parsed.success) {
    return {
      issues: parameterIssues(parsed.error),
    };
  }
  const { status, limit, minScore, signal, provider, member, from, to, cursor } = parsed.data;
  return {
    query: {
      status: status ?? 'open',
      limit: limit ?? DEFAULT_REVIEW_LIMIT,
      ...(minScore === undefined ? {} : { minScore }),
      ...(signal === undefined ? {} : { signal }),
      ...(provider === undefined ? {} : { provider }),
      ...(member === undefined ? {} : { member }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(cursor === undefined ? {} : { cursor }),
    },
  };
}

/** One page of the review queue: highest fraud score first, then the oldest. Analysts only. */
export async function listReviews(query: ReviewQuery, identity: Identity, reviews: ReviewRepositoryPort) {
  if (!identity.roles.includes('analyst')) throw new ForbiddenError('Only analysts work the review queue.');
  const page = await reviews.queue(query);
  return {
    status: query.status,
    limit: query.limit,
    reviews: page.reviews.map(reviewSummary),
    nextCursor: page.cursor,
  };
}
