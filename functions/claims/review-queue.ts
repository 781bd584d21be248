import * as z from '#functions/zod.ts';
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
  z.pipe(
    z.pipe(
      z.string().check(z.regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a non-negative integer')),
      z.transform(Number),
    ),
    z.number().check(z.gte(min, `must be at least ${min}`), z.lte(max, `must be at most ${max}`)),
  );

/** GET /reviews query parameters. Unknown parameters are refused, so a typo never widens a query. */
const reviewQuerySchema = z
  .strictObject({
    status: z.optional(z.enum(REVIEW_STATUSES)),
    minScore: z.optional(integer(0, 999_999)),
    signal: z.optional(z.string().check(z.regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'must be a signal name'))),
    provider: z.optional(npi),
    member: z.optional(externalId),
    from: z.optional(isoDate),
    to: z.optional(isoDate),
    limit: z.optional(integer(1, MAX_REVIEW_LIMIT)),
    cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(400))),
  })
  .check(
    z.refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
      path: ['to'],
      message: 'is before from',
    }),
  );

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
