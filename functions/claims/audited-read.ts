import type { JournalEntry } from '#journal/entry.ts';
import { actingRole, type Identity } from './identity.ts';
import type { Clock, JournalReceipt, StoredClaim } from './ports.ts';

/** Journals an analyst's read of a claim (HIPAA §164.312(b) audit controls). */
export interface ReadAudit {
  recordRead(key: string, entry: JournalEntry): Promise<JournalReceipt>;
  clock: Clock;
  newKey: () => string;
}

/** Which view of the claim was read: its detail, its history, or its review. */
export type ReadView = 'claim' | 'history' | 'review';

/** Journals a `record.read` of `claim`'s current revision by `identity`, before the data is returned. */
export async function journalRead(claim: StoredClaim, identity: Identity, audit: ReadAudit, view: ReadView) {
  await audit.recordRead(`read/${audit.newKey()}`, {
    type: 'record.read',
    docId: `claim/${claim.id}`,
    docRevision: claim.revision,
    actor: { sub: identity.sub, role: actingRole(identity) },
    at: audit.clock(),
    payload: { view },
  });
}
