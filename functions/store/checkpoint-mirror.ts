// Publishing signed checkpoints to the public mirror (the Object Lock bucket in the cloud).
//
// The mirror is what auditors read, so it is held to the rule a witness holds a log to: a
// checkpoint is published only if its signature verifies under the log's public key and the
// tree it names is provably an extension of the one published before (an RFC 9162 consistency
// proof, checked with the portable verifier). A rollback or a fork is refused and reported,
// never published.

import { type Checkpoint, openCheckpoint } from '#journal/checkpoint.ts';
import type { StoredCheckpoint } from './checkpoints.repository.ts';
import { HeadMismatchError, proveExtends } from './head-consistency.ts';

/** Port to the published copies: `checkpoint` (the newest) and `checkpoints/<size>` (each one). */
export interface PublishedCheckpoints {
  /** The signed note at `checkpoint`, or null before the first publication. */
  current(): Promise<string | null>;
  /**
   * Writes `checkpoints/<size>` once. Writing the same note again is a no-op.
   *
   * @throws MirrorConsistencyError when a different note is already published at that size.
   */
  putVersion(size: number, note: string): Promise<void>;
  /** Replaces `checkpoint` with `note`. */
  putCurrent(note: string): Promise<void>;
}

/** What the mirror use case reads and writes. */
export interface CheckpointMirror {
  /** Source of signed checkpoints: the journal's checkpoint store. */
  checkpoints: { latest(): Promise<StoredCheckpoint | null> };
  /** Source of consistency proofs: the journal's tree. */
  tree: { consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> };
  published: PublishedCheckpoints;
  /** The log's verifier key string (`<name>+<key id>+<key>`), from the signing key's public half. */
  verifierKey: string;
  /** Checkpoint origin line the notes must carry. */
  origin: string;
}

export type MirrorResult =
  | { status: 'empty' }
  | { status: 'unchanged'; size: number }
  | { status: 'published'; size: number; previousSize: number | null };

/** The newest checkpoint cannot be published: it does not verify, or it contradicts the published one. */
export class MirrorConsistencyError extends Error {
  override name = 'MirrorConsistencyError';
}

/**
 * Publishes the newest stored checkpoint to the mirror if it verifies under `verifierKey` and is
 * consistent with the currently published one: first `checkpoints/<size>`, then `checkpoint`,
 * so `checkpoint` always names a size whose own copy exists. Idempotent; safe to re-run after
 * a failure at any step.
 *
 * @throws MirrorConsistencyError on a bad signature or origin, a smaller tree than the published
 *   one (rollback), a different root at the same size (fork), or a failed consistency proof.
 */
export async function mirrorLatestCheckpoint(mirror: CheckpointMirror): Promise<MirrorResult> {
  const latest = await mirror.checkpoints.latest();
  if (!latest) return { status: 'empty' };
  const next = open(latest.note, mirror, 'the newest stored checkpoint');

  const currentNote = await mirror.published.current();
  const current = currentNote === null ? null : open(currentNote, mirror, 'the published checkpoint');
  if (current) {
    try {
      if ((await proveExtends(mirror.tree, current, next)) === 'same')
        return { status: 'unchanged', size: next.size };
    } catch (error: unknown) {
      if (!(error instanceof HeadMismatchError)) throw error;
      throw new MirrorConsistencyError(
        {
          rollback: `the newest stored checkpoint (size ${next.size}) is older than the published one (size ${current.size})`,
          fork: `two different roots are signed for tree size ${next.size}`,
          proof: `the checkpoint of size ${next.size} is not consistent with the published one of size ${current.size}: ${error.message}`,
        }[error.reason],
      );
    }
  }

  await mirror.published.putVersion(next.size, latest.note);
  await mirror.published.putCurrent(latest.note);
  return { status: 'published', size: next.size, previousSize: current?.size ?? null };
}

// The values that count are the signed ones: the note is verified and parsed, and the stored
// item's other attributes are not trusted.
function open(note: string, mirror: CheckpointMirror, what: string): Checkpoint {
  try {
    return openCheckpoint(note, mirror.verifierKey, { origin: mirror.origin }).checkpoint;
  } catch (error: unknown) {
    throw new MirrorConsistencyError(`${what} does not verify under the log key: ${message(error)}`);
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
