import type { JournalEntry } from '#journal/entry.ts';
import { ConflictError } from './errors.ts';
import { contentHash } from './hashing.ts';
import { actingRole, type Identity } from './identity.ts';
import {
  type Clock,
  type JournalReceipt,
  type RecordRepositoryPort,
  RevisionConflictError,
  type StoredCoverage,
} from './ports.ts';
import type { MemberCoverage, TreatmentRecord } from './records.schema.ts';

/**
 * Replaces a member's coverage document (demographics and every coverage period) as a new
 * revision, journaled as `coverage.put`. Unchanged content is a no-op that keeps the revision.
 */
export async function putCoverage(
  memberId: string,
  body: MemberCoverage,
  identity: Identity,
  ports: { records: RecordRepositoryPort; clock: Clock },
): Promise<{ coverage: StoredCoverage; receipt: JournalReceipt | null; changed: boolean }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await ports.records.findCoverage(memberId);
    if (
      current &&
      contentHash({ member: current.member, coverages: current.coverages }) === contentHash(body)
    ) {
      return { coverage: current, receipt: null, changed: false };
    }
    const at = ports.clock();
    const revision = (current?.revision ?? 0) + 1;
    const coverage: StoredCoverage = { memberId, ...body, revision, updatedAt: at };
    const entry: JournalEntry = {
      type: 'coverage.put',
      docId: `member/${memberId}/coverage`,
      docRevision: revision,
      actor: { sub: identity.sub, role: actingRole(identity) },
      at,
      payload: { memberId, contentHash: contentHash(body), coverages: body.coverages },
    };
    try {
      const receipt = await ports.records.saveCoverage(coverage, current?.revision ?? 0, entry);
      return { coverage, receipt, changed: true };
    } catch (error: unknown) {
      if (!(error instanceof RevisionConflictError)) throw error;
    }
  }
  throw new ConflictError(`Coverage of member ${memberId} is being changed concurrently; try again.`);
}

/**
 * Records a treatment. Records are immutable: posting the same record again is a no-op,
 * posting different content under an existing record id is a conflict.
 */
export async function addTreatment(
  record: TreatmentRecord,
  identity: Identity,
  ports: { records: RecordRepositoryPort; clock: Clock },
): Promise<{ receipt: JournalReceipt | null; created: boolean }> {
  const bodyHash = contentHash(record);
  const existing = await ports.records.findTreatment(record.memberId, record.recordId);
  if (existing) {
    if (existing.bodyHash === bodyHash) return { receipt: null, created: false };
    throw new ConflictError(`Treatment record ${record.recordId} already exists with different content.`);
  }
  const at = ports.clock();
  const entry: JournalEntry = {
    type: 'treatment.put',
    docId: `member/${record.memberId}/treatment/${record.recordId}`,
    docRevision: 1,
    actor: { sub: identity.sub, role: actingRole(identity) },
    at,
    payload: { ...record, contentHash: bodyHash },
  };
  try {
    return { receipt: await ports.records.saveTreatment(record, bodyHash, entry), created: true };
  } catch (error: unknown) {
    if (error instanceof RevisionConflictError) return addTreatment(record, identity, ports);
    throw error;
  }
}
