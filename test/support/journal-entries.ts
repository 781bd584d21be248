import type { JournalEntry } from '../../functions/journal/entry.ts';
import { type DocumentClient, TransactWriteCommand } from '../../functions/store/dynamo.ts';
import type { JournalRepository } from '../../functions/store/journal.repository.ts';

/** The n-th entry of a test journal: distinct content and a timestamp that orders with n. */
export const testEntry = (n: number, extra: Record<string, unknown> = {}): JournalEntry => ({
  type: 'treatment.put',
  docId: `member/M${n}/treatment/T${n}`,
  docRevision: 1,
  actor: { sub: 'writer', role: 'analyst' },
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
  payload: { n, ...extra },
});

/**
 * Grows a test journal: each call appends `entryOf(n)` under key `${keyPrefix}${n}`, with 8
 * concurrent writers, until `size` entries are appended, continuing where the last call stopped.
 */
export function journalGrower(
  journal: Pick<JournalRepository, 'append'>,
  keyPrefix: string,
  entryOf: (n: number) => JournalEntry = testEntry,
): (size: number) => Promise<void> {
  let next = 0;
  return async (size) => {
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < size) {
          const n = next++;
          await journal.append(`${keyPrefix}${n}`, entryOf(n));
        }
      }),
    );
  };
}

/**
 * Stages `entry` under `key` the way an append's transaction does, and no more: the entry of
 * a writer that died right after staging. Returns its leaf hash.
 */
export async function stageOrphan(
  doc: DocumentClient,
  journal: Pick<JournalRepository, 'stage'>,
  key: string,
  entry: JournalEntry,
): Promise<{ key: string; leafHash: string }> {
  const staged = journal.stage(key, entry);
  await doc.send(new TransactWriteCommand({ TransactItems: staged.items }));
  return { key, leafHash: staged.leafHash };
}
