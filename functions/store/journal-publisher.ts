import type { NoteSigner } from '#journal/note.ts';
import type { CheckpointsRepository, StoredCheckpoint } from './checkpoints.repository.ts';
import type { JournalTreeRepository } from './journal-tree.repository.ts';

export interface JournalPublisher {
  tree: JournalTreeRepository;
  checkpoints: CheckpointsRepository;
  signer: NoteSigner;
  /** Checkpoint origin: the log's name, also the signing key's name. */
  origin: string;
}

/**
 * One integration round: integrate every sequenced entry into the Merkle tree, then sign a
 * checkpoint of it (publishCheckpoint refuses to sign a head inconsistent with the last one,
 * and returns the last one unchanged when the tree has not grown). Safe to run concurrently
 * and to re-run after a crash at any step.
 */
export async function integrateAndPublish(publisher: JournalPublisher): Promise<StoredCheckpoint> {
  await publisher.tree.integrateAll();
  return publisher.checkpoints.publishCheckpoint(publisher.signer, publisher.origin);
}
