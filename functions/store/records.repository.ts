import type { Accumulators } from '#claims/decision.ts';
import {
  type JournalReceipt,
  type RecordRepositoryPort,
  RevisionConflictError,
  type StoredCoverage,
} from '#claims/ports.ts';
import type { TreatmentRecord } from '#claims/records.schema.ts';
import type { JournalEntry } from '#journal/entry.ts';
import { type DocumentClient, GetCommand } from './dynamo.ts';
import type { DocTransactItem, JournalRepository } from './journal.repository.ts';
import { queryAll } from './query-all.ts';
import { failedConditions, isContention } from './transactions.ts';

// Key design of the records table, in one place: one partition per member holds its coverage
// document, treatment records (by date, plus an id item for idempotency) and accumulators.
export const memberPk = (memberId: string) => `MEMBER#${memberId}`;
export const coverageSk = 'COVERAGE';
export const treatmentSk = (serviceDate: string, recordId: string) => `TREATMENT#${serviceDate}#${recordId}`;
export const treatmentIdSk = (recordId: string) => `TREATMENT-ID#${recordId}`;
export const accumulatorSk = (coverageId: string, planYear: string) => `ACCUM#${coverageId}#${planYear}`;

export class RecordRepository implements RecordRepositoryPort {
  constructor(
    private readonly client: DocumentClient,
    private readonly table: string,
    private readonly journal: JournalRepository,
  ) {}

  async findCoverage(memberId: string): Promise<StoredCoverage | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: memberPk(memberId), sk: coverageSk },
        ConsistentRead: true,
      }),
    );
    if (!Item) return null;
    return {
      memberId,
      member: Item.member,
      coverages: Item.coverages,
      revision: Number(Item.revision),
      updatedAt: String(Item.updatedAt),
    } as StoredCoverage;
  }

  async saveCoverage(
    coverage: StoredCoverage,
    expectedRevision: number,
    entry: JournalEntry,
  ): Promise<JournalReceipt> {
    const put: DocTransactItem = {
      Put: {
        TableName: this.table,
        Item: { pk: memberPk(coverage.memberId), sk: coverageSk, ...coverage },
        ...(expectedRevision === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: 'revision = :expected',
              ExpressionAttributeValues: { ':expected': expectedRevision },
            }),
      },
    };
    return this.appendWith(put, entry);
  }

  async findTreatment(
    memberId: string,
    recordId: string,
  ): Promise<(TreatmentRecord & { bodyHash: string }) | null> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: memberPk(memberId), sk: treatmentIdSk(recordId) },
        ConsistentRead: true,
      }),
    );
    return Item
      ? ({ ...Item.record, bodyHash: String(Item.bodyHash) } as TreatmentRecord & { bodyHash: string })
      : null;
  }

  async saveTreatment(
    record: TreatmentRecord,
    bodyHash: string,
    entry: JournalEntry,
  ): Promise<JournalReceipt> {
    const pk = memberPk(record.memberId);
    const idItem: DocTransactItem = {
      Put: {
        TableName: this.table,
        Item: { pk, sk: treatmentIdSk(record.recordId), record, bodyHash },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const byDate: DocTransactItem = {
      Put: {
        TableName: this.table,
        Item: { pk, sk: treatmentSk(record.serviceDate, record.recordId), record },
      },
    };
    return this.appendWith(idItem, entry, [byDate]);
  }

  /** Treatment records of a member with a date of service in [from, to]. */
  async treatments(memberId: string, from: string, to: string): Promise<TreatmentRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      ConsistentRead: true,
      KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
      ExpressionAttributeValues: {
        ':pk': memberPk(memberId),
        ':from': `TREATMENT#${from}`,
        ':to': `TREATMENT#${to}#~`,
      },
    });
    return items.map((item) => item.record as TreatmentRecord);
  }

  async accumulators(memberId: string): Promise<Accumulators[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      ConsistentRead: true,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :accum)',
      ExpressionAttributeValues: { ':pk': memberPk(memberId), ':accum': 'ACCUM#' },
    });
    return items.map((item) => ({
      coverageId: String(item.coverageId),
      planYear: String(item.planYear),
      deductibleMetCents: Number(item.deductibleMetCents),
      outOfPocketMetCents: Number(item.outOfPocketMetCents),
      paidCents: Number(item.paidCents),
      visits: Number(item.visits),
      version: Number(item.version),
    }));
  }

  /** Writes `guarded` (whose condition protects the revision) and the entry in one transaction. */
  private async appendWith(guarded: DocTransactItem, entry: JournalEntry, alongside: DocTransactItem[] = []) {
    const key = `${entry.type}/${entry.docId}/${entry.docRevision}`;
    try {
      return await this.journal.append(key, entry, [guarded, ...alongside]);
    } catch (error: unknown) {
      if (failedConditions(error)?.length || isContention(error))
        throw new RevisionConflictError(`${entry.docId} changed concurrently`);
      throw error;
    }
  }
}
