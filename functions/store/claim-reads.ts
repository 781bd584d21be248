import { gunzipSync } from 'node:zlib';
import type { ClaimSubmission } from '#claims/claim.schema.ts';
import type { Decision } from '#claims/decision.ts';
import type { ClaimReadPort, JournalReceipt, StoredClaim } from '#claims/ports.ts';
import { type DocumentClient, GetCommand } from './dynamo.ts';
import type { JournalRepository } from './journal.repository.ts';

// The claim's item; claims.repository.ts describes the whole key design.
export const claimPk = (id: string) => `CLAIM#${id}`;
export const claimSk = 'CURRENT';

/**
 * A claim and its journal receipt, read only: what the read handlers need, without the facts
 * gathering and the decision's write path (ClaimRepository extends it with those), so that
 * their bundles stay small.
 */
export class ClaimReads implements ClaimReadPort {
  constructor(
    protected readonly client: DocumentClient,
    protected readonly tables: { claims: string },
    protected readonly journal: JournalRepository,
  ) {}

  async find(id: string): Promise<StoredClaim | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tables.claims,
        Key: { pk: claimPk(id), sk: claimSk },
        ConsistentRead: true,
      }),
    );
    if (!Item) return null;
    return {
      id: String(Item.id),
      revision: Number(Item.revision),
      status: Item.status,
      bodyHash: String(Item.bodyHash),
      submission: Item.submission as ClaimSubmission,
      decision: JSON.parse(gunzipSync(Item.decisionGz as Uint8Array).toString('utf8')) as Decision,
      submittedBy: String(Item.submittedBy),
      createdAt: String(Item.createdAt),
      updatedAt: String(Item.updatedAt),
      journalKey: String(Item.journalKey),
    };
  }

  receipt(journalKey: string): Promise<JournalReceipt | null> {
    return this.journal
      .findByKey(journalKey)
      .then((found) =>
        found?.index === undefined ? null : { index: found.index, leafHash: found.leafHash, key: journalKey },
      );
  }
}
