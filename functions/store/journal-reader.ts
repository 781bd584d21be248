import type { JournalReadPort } from '#claims/ports.ts';
import type { CheckpointReads } from './checkpoint-reads.ts';
import type { JournalRepository } from './journal.repository.ts';
import type { JournalTreeRepository } from './journal-tree.repository.ts';

/** The journal's read side over its three repositories (entries, tree, checkpoints). */
export function journalReader(
  journal: JournalRepository,
  tree: JournalTreeRepository,
  checkpoints: CheckpointReads,
): JournalReadPort {
  return {
    latestCheckpoint: () => checkpoints.latest(),
    treeSize: async () => (await tree.treeState()).size,
    entries: (indices) => journal.entries(indices),
    inclusionProof: (index, size) => tree.inclusionProof(index, size),
    inclusionProofs: (indices, size) => tree.inclusionProofs(indices, size),
    consistencyProof: (from, to) => tree.consistencyProof(from, to),
    documentEntries: (docId) => journal.documentEntries(docId),
  };
}
