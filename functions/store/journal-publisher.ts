import type { NoteSigner } from '#journal/note.ts';
import type { CheckpointsRepository, StoredCheckpoint } from './checkpoints.repository.ts';
import type { JournalRepository } from './journal.repository.ts';
import type { JournalSearchRepository } from './journal-search.repository.ts';
import type { JournalTreeRepository } from './journal-tree.repository.ts';

export interface JournalPublisher {
  /** Swept for entries crashed writers left pending, before integration. */
  journal: Pick<JournalRepository, 'sweepPending'>;
  tree: JournalTreeRepository;
  checkpoints: CheckpointsRepository;
  signer: NoteSigner;
  /** Checkpoint origin: the log's name, also the signing key's name. */
  origin: string;
  /** The search index each round brings up to the new checkpoint; none in bare tests. */
  search?: Pick<JournalSearchRepository, 'indexThrough'>;
}

/**
 * One integration round: sequence what crashed writers left pending, integrate every
 * sequenced entry into the Merkle tree, then sign a
 * checkpoint of it (publishCheckpoint refuses to sign a head inconsistent with the last one,
 * and returns the last one unchanged when the tree has not grown), then index the entries the
 * checkpoint covers for search, so every search hit is provable against a signed checkpoint.
 * Safe to run concurrently and to re-run after a crash at any step: an entry integrated but not
 * yet indexed is indexed by the next round (the index's watermark lags behind the tree).
 */
export async function integrateAndPublish(publisher: JournalPublisher): Promise<StoredCheckpoint> {
  await publisher.journal.sweepPending();
  await publisher.tree.integrateAll();
  const checkpoint = await publisher.checkpoints.publishCheckpoint(publisher.signer, publisher.origin);
  await publisher.search?.indexThrough(checkpoint.size);
  return checkpoint;
}
