import type { JournalEntry } from '../../functions/journal/entry.ts';

/** The n-th entry of a test journal: distinct content and a timestamp that orders with n. */
export const testEntry = (n: number, extra: Record<string, unknown> = {}): JournalEntry => ({
  type: 'treatment.put',
  docId: `member/M${n}/treatment/T${n}`,
  docRevision: 1,
  actor: { sub: 'writer', role: 'analyst' },
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
  payload: { n, ...extra },
});
