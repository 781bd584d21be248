import { createHash } from 'node:crypto';
import { AccumulatorConflictError } from '#claims/errors.ts';
import {
  type JournalReceipt,
  type ReviewChange,
  type ReviewPage,
  type ReviewQuery,
  type ReviewRepositoryPort,
  RevisionConflictError,
} from '#claims/ports.ts';
import { InvalidCursorError, StaleReviewError, type StoredReview } from '#claims/review.ts';
import * as z from '#functions/zod.ts';
import { accumulatorUpdates, claimItem, memberClaimItem, memberVersionBump } from './claims.repository.ts';
import { type DocumentClient, QueryCommand } from './dynamo.ts';
import type { DocTransactItem, JournalRepository } from './journal.repository.ts';
import { fromItem, MAIN_SK, ReviewReads, reviewPk } from './review-reads.ts';
import { failedConditions, isContention } from './transactions.ts';

// Key design of reviews, in one place (keys in review-reads.ts). A review lives in the claims table beside its claim:
//   pk REVIEW#<claimId>  sk REVIEW           the review itself (version = ETag)
//   pk REVIEW#<claimId>  sk QUEUE#provider   a copy, indexed under its billing provider
//   pk REVIEW#<claimId>  sk QUEUE#member     a copy, indexed under its member
// All three are written in every transaction that changes the review, and all three carry the
// one `review-queue` GSI's attributes (GSI overloading, so the table needs a single new index):
//   queueKey   STATUS#<status> | PROVIDER#<npi>#<status> | MEMBER#<memberId>#<status>
//   queueSort  <999999 - score, 6 digits>#<pended at>#<claimId>
// so a Query on one queueKey returns the highest score first, then the oldest, and a minimum
// score is a key condition (queueSort < bound), not a filter.
export const REVIEW_INDEX = 'review-queue';
const PROVIDER_SK = 'QUEUE#provider';
const MEMBER_SK = 'QUEUE#member';
const MAX_SCORE = 999_999;

const pad6 = (n: number) => n.toString().padStart(6, '0');
const clampScore = (score: number) => Math.min(MAX_SCORE, Math.max(0, Math.trunc(score)));

/** The queue order: highest score first, then oldest, then claim id (a total order). */
export const queueSort = (review: Pick<StoredReview, 'score' | 'createdAt' | 'claimId'>) =>
  `${pad6(MAX_SCORE - clampScore(review.score))}#${review.createdAt}#${review.claimId}`;

/** The review's three items, as transaction Puts; only the main one carries a condition. */
export function reviewPutItems(
  table: string,
  review: StoredReview,
  condition: { expectedVersion: number } | 'new' = 'new',
): DocTransactItem[] {
  const { actions, ...summary } = review;
  const sort = queueSort(review);
  const main: DocTransactItem = {
    Put: {
      TableName: table,
      Item: {
        pk: reviewPk(review.claimId),
        sk: MAIN_SK,
        ...review,
        queueKey: `STATUS#${review.status}`,
        queueSort: sort,
      },
      ...(condition === 'new'
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : {
            ConditionExpression: 'version = :expected',
            ExpressionAttributeValues: { ':expected': condition.expectedVersion },
          }),
    },
  };
  const copy = (sk: string, queueKey: string): DocTransactItem => ({
    Put: {
      TableName: table,
      Item: { pk: reviewPk(review.claimId), sk, ...summary, queueKey, queueSort: sort },
    },
  });
  return [
    main,
    copy(PROVIDER_SK, `PROVIDER#${review.billingProviderNpi}#${review.status}`),
    copy(MEMBER_SK, `MEMBER#${review.memberId}#${review.status}`),
  ];
}

/** How much one list request may read. */
export interface QueueBudget {
  /** Index Queries per request, at most: a filtered page may come back short, with a cursor. */
  maxQueries: number;
  /** Items one filtered Query reads. */
  filteredPageSize: number;
}

const DEFAULT_BUDGET: QueueBudget = { maxQueries: 8, filteredPageSize: 100 };

/** The cursor's content: which query it continues, and the last queue position returned. */
const cursorSchema = z.strictObject({
  v: z.literal(1),
  q: z.string().check(z.regex(/^[0-9a-f]{16}$/)),
  s: z
    .string()
    .check(
      z.regex(/^\d{6}#\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z#c[0-9a-f]{31}$/),
      z.maxLength(120),
    ),
});

interface QueryPlan {
  sk: string;
  queueKey: string;
  /** Exclusive upper bound of queueSort for a minimum score. */
  below?: string;
  filters: string[];
  values: Record<string, unknown>;
}

/**
 * What each filter costs: status, a minimum score, a provider or a member are index-backed
 * (the key of the Query); signal and the date range are FilterExpressions on that Query, and
 * so is the provider when a member is given too (the member's partition is the smaller one).
 */
function plan(query: ReviewQuery): QueryPlan {
  const filters: string[] = [];
  const values: Record<string, unknown> = {};
  let sk = MAIN_SK;
  let queueKey = `STATUS#${query.status}`;
  if (query.member !== undefined) {
    sk = MEMBER_SK;
    queueKey = `MEMBER#${query.member}#${query.status}`;
    if (query.provider !== undefined) {
      filters.push('billingProviderNpi = :provider');
      values[':provider'] = query.provider;
    }
  } else if (query.provider !== undefined) {
    sk = PROVIDER_SK;
    queueKey = `PROVIDER#${query.provider}#${query.status}`;
  }
  if (query.signal !== undefined) {
    filters.push('contains(signals, :signal)');
    values[':signal'] = query.signal;
  }
  if (query.from !== undefined) {
    filters.push('createdAt >= :from');
    values[':from'] = query.from;
  }
  if (query.to !== undefined) {
    // ISO instants sort as text: every instant on day `to` ("<to>T<digits>...") sorts before
    // "<to>T~", and every later day after it.
    filters.push('createdAt < :to');
    values[':to'] = `${query.to}T~`;
  }
  const minScore = query.minScore === undefined ? 0 : clampScore(query.minScore);
  return {
    sk,
    queueKey,
    ...(minScore > 0 ? { below: pad6(MAX_SCORE - minScore + 1) } : {}),
    filters,
    values,
  };
}

/** Which query a cursor belongs to: every filter, not the page size. */
function fingerprint(query: ReviewQuery): string {
  const { limit: _limit, cursor: _cursor, ...filters } = query;
  const canonical = JSON.stringify(Object.entries(filters).sort(([a], [b]) => a.localeCompare(b)));
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * A cursor is base64url JSON of (query fingerprint, last queue position). It is not secret:
 * it can only name a position inside the query the caller is already allowed to run, and it is
 * validated strictly, so a foreign, stale-format or tampered one is a 400, never a DynamoDB
 * error. An HMAC would add nothing an analyst could not already do by changing the filters.
 */
function encodeCursor(query: ReviewQuery, sort: string): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint(query), s: sort })).toString('base64url');
}

function decodeCursor(query: ReviewQuery, queryPlan: QueryPlan, cursor: string): Record<string, unknown> {
  if (cursor.length > 400 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidCursorError('The cursor is not one this API issued.');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('The cursor is not one this API issued.');
  }
  const parsed = cursorSchema.safeParse(value);
  if (!parsed.success) throw new InvalidCursorError('The cursor is not one this API issued.');
  const { q, s } = parsed.data;
  if (q !== fingerprint(query)) {
    throw new InvalidCursorError('The cursor belongs to a query with other filters; start again without it.');
  }
  // DynamoDB refuses a start key outside the key condition; refuse it first, as bad input.
  if (queryPlan.below !== undefined && s >= queryPlan.below) {
    throw new InvalidCursorError('The cursor is outside this query.');
  }
  const claimId = s.slice(s.lastIndexOf('#') + 1);
  return { pk: reviewPk(claimId), sk: queryPlan.sk, queueKey: queryPlan.queueKey, queueSort: s };
}

/** The review queue over DynamoDB: Queries on the `review-queue` index only, never a Scan. */
export class ReviewRepository extends ReviewReads implements ReviewRepositoryPort {
  constructor(
    client: DocumentClient,
    protected override readonly tables: { claims: string; records: string },
    private readonly journal: JournalRepository,
    private readonly budget: QueueBudget = DEFAULT_BUDGET,
  ) {
    super(client, tables);
  }

  async queue(query: ReviewQuery): Promise<ReviewPage> {
    const queryPlan = plan(query);
    let start = query.cursor === undefined ? undefined : decodeCursor(query, queryPlan, query.cursor);
    const filtered = queryPlan.filters.length > 0;
    const found: Record<string, unknown>[] = [];
    for (let page = 0; page < this.budget.maxQueries; page++) {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tables.claims,
          IndexName: REVIEW_INDEX,
          KeyConditionExpression: `queueKey = :key${queryPlan.below ? ' AND queueSort < :below' : ''}`,
          ...(filtered ? { FilterExpression: queryPlan.filters.join(' AND ') } : {}),
          ExpressionAttributeValues: {
            ':key': queryPlan.queueKey,
            ...(queryPlan.below ? { ':below': queryPlan.below } : {}),
            ...queryPlan.values,
          },
          // One more than needed tells whether another page exists.
          Limit: filtered ? this.budget.filteredPageSize : query.limit + 1 - found.length,
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (found.length > query.limit || start === undefined) break;
    }
    const reviews = found.slice(0, query.limit).map(fromItem);
    const last = reviews.at(-1);
    let cursor: string | null = null;
    // Read past the page: continue after its last review. Stopped at the read budget with the
    // index not exhausted: continue after the last item read, matching or not.
    if (found.length > query.limit && last) cursor = encodeCursor(query, queueSort(last));
    else if (start !== undefined) cursor = encodeCursor(query, String(start.queueSort));
    return { reviews, cursor };
  }

  async saveAction(change: ReviewChange): Promise<JournalReceipt> {
    const { claim, review, facts } = change;
    const claimPut: DocTransactItem = {
      Put: {
        TableName: this.tables.claims,
        Item: claimItem(claim),
        ConditionExpression: 'revision = :previous',
        ExpressionAttributeValues: { ':previous': change.previousRevision },
      },
    };
    const reviewItems = reviewPutItems(this.tables.claims, review, {
      expectedVersion: change.expectedVersion,
    });
    // The member's view of the claim's lines follows the claim (statuses change on review).
    const memberPut: DocTransactItem = {
      Put: { TableName: this.tables.claims, Item: memberClaimItem(claim) },
    };
    const accumulatorItems = facts
      ? accumulatorUpdates(
          this.tables.records,
          claim.submission.memberId,
          claim.decision.accumulatorDeltas,
          facts.accumulators,
        )
      : [];
    try {
      return await this.journal.append(claim.journalKey, change.entry, [
        claimPut,
        ...reviewItems,
        memberPut,
        memberVersionBump(this.tables.claims, claim.submission.memberId),
        ...accumulatorItems,
      ]);
    } catch (error: unknown) {
      const failed = failedConditions(error);
      if (failed?.includes(0) || failed?.includes(1)) {
        throw new StaleReviewError(`review of claim ${claim.id} changed concurrently`);
      }
      if (failed?.length)
        throw new AccumulatorConflictError(`accumulators of ${claim.submission.memberId} moved`);
      // Another transaction held one of these items: reload and check the version again.
      if (isContention(error)) throw new RevisionConflictError(`claim ${claim.id} is being written`);
      throw error;
    }
  }
}
