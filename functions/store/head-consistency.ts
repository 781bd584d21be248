import { bytesEqual } from '#journal/bytes.ts';
import { verifyConsistency } from '#journal/verify.ts';
import type { JournalTreeRepository } from './journal-tree.repository.ts';

/** A tree head: size and root, as a signed checkpoint or the tree state gives them. */
export interface TreeHead {
  size: number;
  rootHash: Uint8Array;
}

/** Why `next` does not extend `previous`: it is smaller, another root at the same size, or the proof fails. */
export class HeadMismatchError extends Error {
  override name = 'HeadMismatchError';
  constructor(
    readonly reason: 'rollback' | 'fork' | 'proof',
    detail = '',
  ) {
    super(detail || reason);
  }
}

/**
 * Shows that the tree head `next` extends `previous`, with an RFC 9162 consistency proof from
 * the stored tree checked by the portable verifier (which shares no code with the proof
 * builder). Both the checkpoint publisher and the checkpoint mirror decide with this, so the
 * rule that a log never moves to an inconsistent head lives in one place.
 *
 * @returns 'same' when `next` is `previous`, 'extends' when it grew consistently.
 * @throws HeadMismatchError otherwise.
 */
export async function proveExtends(
  tree: Pick<JournalTreeRepository, 'consistencyProof'>,
  previous: TreeHead,
  next: TreeHead,
): Promise<'same' | 'extends'> {
  if (next.size < previous.size) throw new HeadMismatchError('rollback');
  if (next.size === previous.size) {
    if (bytesEqual(next.rootHash, previous.rootHash)) return 'same';
    throw new HeadMismatchError('fork');
  }
  // Every tree extends the empty one.
  if (previous.size === 0) return 'extends';
  try {
    const proof = await tree.consistencyProof(previous.size, next.size);
    verifyConsistency(previous.size, next.size, proof, previous.rootHash, next.rootHash);
  } catch (error: unknown) {
    throw new HeadMismatchError('proof', error instanceof Error ? error.message : String(error));
  }
  return 'extends';
}
