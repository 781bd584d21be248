// Publishing signed checkpoints to the public mirror (the Object Lock bucket in the cloud).
//
// The mirror is what auditors read, so it is held to the rule a witness holds a log to: a
// checkpoint is published only if its signature verifies under the log's public key and the
// tree it names is provably an extension of the one published before (an RFC 9162 consistency
// proof, checked with the portable verifier). A rollback or a fork is refused and reported,
// never published.
//
// Before a checkpoint, the publisher writes the C2SP tlog-tiles it commits to (tile-mirror.ts),
// so a published checkpoint's tiles are always there. Entry bundles are not published (PHI).

import { type Checkpoint, openCheckpoint } from '#journal/checkpoint.ts';
import type { StoredCheckpoint } from './checkpoints.repository.ts';
import { HeadMismatchError, proveExtends } from './head-consistency.ts';
import {
  type PublishedTiles,
  publishTiles,
  type TileHashSource,
  TileMismatchError,
  tilesPublishedFor,
} from './tile-mirror.ts';

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
  /** Source of consistency proofs and tile hashes: the journal's tree. */
  tree: TileHashSource & { consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> };
  published: PublishedCheckpoints;
  /** The published tiles, beside the checkpoints (the same bucket in the cloud). */
  tiles: PublishedTiles;
  /** The log's verifier key string (`<name>+<key id>+<key>`), from the signing key's public half. */
  verifierKey: string;
  /** Checkpoint origin line the notes must carry. */
  origin: string;
}

export type MirrorResult =
  | { status: 'empty' }
  | { status: 'unchanged'; size: number; tiles: number }
  | { status: 'published'; size: number; previousSize: number | null; tiles: number };

/** The newest checkpoint cannot be published: it does not verify, or it contradicts the published one. */
export class MirrorConsistencyError extends Error {
  override name = 'MirrorConsistencyError';
}

/**
 * Publishes the newest stored checkpoint to the mirror if it verifies under `verifierKey` and is
 * consistent with the currently published one: first the tiles the new tree has beyond the
 * published one, then `checkpoints/<size>`, then `checkpoint`, so a checkpoint is never visible
 * before its tiles and `checkpoint` always names a size whose own copy exists. Idempotent; safe
 * to re-run after a failure at any step. `tiles` in the result counts the tiles written.
 *
 * When the published checkpoint's tiles are missing (a bucket from before tiles were
 * published), every tile of the tree is published, even if the checkpoint is unchanged.
 *
 * @throws MirrorConsistencyError on a bad signature or origin, a smaller tree than the published
 *   one (rollback), a different root at the same size (fork), a failed consistency proof, stored
 *   tree hashes that do not give the signed root, or a different tile already published.
 */
export async function mirrorLatestCheckpoint(mirror: CheckpointMirror): Promise<MirrorResult> {
  const latest = await mirror.checkpoints.latest();
  if (!latest) return { status: 'empty' };
  const next = open(latest.note, mirror, 'the newest stored checkpoint');

  const currentNote = await mirror.published.current();
  const current = currentNote === null ? null : open(currentNote, mirror, 'the published checkpoint');
  if (current) {
    let same: boolean;
    try {
      same = (await proveExtends(mirror.tree, current, next)) === 'same';
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
    if (same) {
      const tiles = (await tilesPublishedFor(mirror.tiles, next.size)) ? 0 : await tilesFor(mirror, next, 0);
      return { status: 'unchanged', size: next.size, tiles };
    }
  }

  // Tiles the published checkpoint already has are not read or written again.
  const fromSize = current && (await tilesPublishedFor(mirror.tiles, current.size)) ? current.size : 0;
  const tiles = await tilesFor(mirror, next, fromSize);
  await mirror.published.putVersion(next.size, latest.note);
  await mirror.published.putCurrent(latest.note);
  return { status: 'published', size: next.size, previousSize: current?.size ?? null, tiles };
}

async function tilesFor(mirror: CheckpointMirror, head: Checkpoint, fromSize: number): Promise<number> {
  try {
    return await publishTiles(mirror.tree, mirror.tiles, head, fromSize);
  } catch (error: unknown) {
    if (error instanceof TileMismatchError) throw new MirrorConsistencyError(error.message);
    throw error;
  }
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
