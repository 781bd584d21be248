import type { ClaimStatus, ClaimSummary, ReviewRepositoryPort } from '#claims/ports.ts';
import type { StoredReview } from '#claims/review.ts';
import type { CompactLine } from './claims.repository.ts';
import { type DocumentClient, GetCommand, QueryCommand } from './dynamo.ts';

// The review's partition and main item; reviews.repository.ts describes the whole key design.
export const reviewPk = (claimId: string) => `REVIEW#${claimId}`;
export const MAIN_SK = 'REVIEW';

/**
 * A review and the claims around it, read only: what the review detail needs, without the
 * queue's planner or the write path (ReviewRepository extends it with those), so that its
 * bundle stays small.
 */
export class ReviewReads implements Pick<ReviewRepositoryPort, 'find' | 'recentClaims'> {
  constructor(
    protected readonly client: DocumentClient,
    protected readonly tables: { claims: string },
  ) {}

  async find(claimId: string): Promise<StoredReview | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.claims,
        Key: { pk: reviewPk(claimId), sk: MAIN_SK },
        ConsistentRead: true,
      }),
    );
    return Item ? fromItem(Item) : null;
  }

  async recentClaims(
    by: { memberId: string } | { billingProviderNpi: string },
    limit: number,
  ): Promise<ClaimSummary[]> {
    const member = 'memberId' in by;
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.tables.claims,
        IndexName: member ? 'by-member' : 'by-provider',
        KeyConditionExpression: member ? 'memberId = :key' : 'billingProviderNpi = :key',
        ExpressionAttributeValues: { ':key': member ? by.memberId : by.billingProviderNpi },
        ExpressionAttributeNames: { '#status': 'status' },
        ProjectionExpression:
          'id, #status, memberId, billingProviderNpi, createdAt, compactLines, submission.claimId, submission.serviceDateFrom',
        ScanIndexForward: false,
        Limit: limit,
      }),
    );
    return (out.Items ?? []).map((item) => {
      const lines = (item.compactLines ?? []) as CompactLine[];
      const submission = (item.submission ?? {}) as { claimId?: string; serviceDateFrom?: string };
      return {
        id: String(item.id),
        claimId: String(submission.claimId),
        status: item.status as ClaimStatus,
        billingProviderNpi: String(item.billingProviderNpi),
        memberId: String(item.memberId),
        serviceDateFrom: String(submission.serviceDateFrom),
        chargeCents: lines.reduce((sum, line) => sum + line.chargeCents, 0),
        procedureCodes: lines.map((line) => line.procedureCode),
        submittedAt: String(item.createdAt),
      };
    });
  }
}

export function fromItem(item: Record<string, unknown>): StoredReview {
  return {
    claimId: String(item.claimId),
    externalClaimId: String(item.externalClaimId),
    billingProviderNpi: String(item.billingProviderNpi),
    memberId: String(item.memberId),
    serviceDateFrom: String(item.serviceDateFrom),
    chargeCents: Number(item.chargeCents),
    score: Number(item.score),
    threshold: Number(item.threshold),
    signals: (item.signals ?? []) as string[],
    reasons: (item.reasons ?? []) as string[],
    status: item.status as StoredReview['status'],
    assignee: typeof item.assignee === 'string' ? item.assignee : null,
    escalations: Number(item.escalations ?? 0),
    outcome: (item.outcome ?? null) as StoredReview['outcome'],
    actions: (item.actions ?? []) as StoredReview['actions'],
    version: Number(item.version),
    createdAt: String(item.createdAt),
    updatedAt: String(item.updatedAt),
  };
}
