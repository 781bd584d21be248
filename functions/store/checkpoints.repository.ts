// Signed checkpoints of the journal (C2SP tlog-checkpoint in a C2SP signed note), stored as
// `pk=CHECKPOINT, sk=<12-digit size>` in the journal table so the newest is one Query away.
//
// The one rule that makes checkpoints worth anything: a log never signs a tree head that is
// inconsistent with one it signed before. So before signing, the publisher proves the new
// tree head consistent with the latest stored checkpoint using the portable verifier
// (verify.ts), which shares no code with the proof builder, and checks that the state's root is
// the one the stored nodes give. Only then does it sign.

import { bytesEqual, toHex } from '#journal/bytes.ts';
import { openCheckpoint, signCheckpoint } from '#journal/checkpoint.ts';
import { rootAt } from '#journal/merkle.ts';
import { type NoteSigner, verifierKeyString } from '#journal/note.ts';
import { CheckpointReads, type StoredCheckpoint } from './checkpoint-reads.ts';
import { type DocumentClient, PutCommand } from './dynamo.ts';
import { HeadMismatchError, proveExtends } from './head-consistency.ts';
import { checkpointKey } from './journal-keys.ts';
import type { JournalTreeRepository, TreeState } from './journal-tree.repository.ts';
import { conditionalWrite } from './transactions.ts';

export type { StoredCheckpoint } from './checkpoint-reads.ts';

/** The publisher refused to sign: the tree head is not shown consistent with what was signed before. */
export class InconsistentCheckpointError extends Error {
  override name = 'InconsistentCheckpointError';
}

/**
 * Signs, stores and reads the journal's checkpoints. Only the integrator signs; every other
 * function reads through {@link CheckpointReads}, which keeps the signing and note-verifying
 * code (and its Ed25519 library) out of their bundles.
 */
export class CheckpointsRepository extends CheckpointReads {
  /** The last note verified or signed here, under which key and origin, and what it signs. */
  private lastOpened:
    | { note: string; under: string; checkpoint: { size: number; rootHash: Uint8Array } }
    | undefined;

  constructor(
    client: DocumentClient,
    table: string,
    private readonly tree: JournalTreeRepository,
  ) {
    super(client, table);
  }

  /**
   * Signs and stores a checkpoint of the current integrated tree. The new tree head must be
   * consistent with the latest stored checkpoint (an RFC 9162 consistency proof, checked with
   * verify.ts) and its root must be the one the stored nodes give; a previous size of 0 is
   * trivially consistent. When the latest checkpoint already covers this tree, it is returned
   * as is, without a new signature.
   *
   * @throws InconsistentCheckpointError when any of those checks fails; nothing is signed.
   */
  async publishCheckpoint(signer: NoteSigner, origin: string): Promise<StoredCheckpoint> {
    const [state, previous] = await Promise.all([this.tree.treeState(), this.latest()]);
    // Idle (nothing integrated since): the same head, told by comparing roots, with no read.
    if (previous?.size === state.size && (await this.extension(previous, state, signer, origin)) === 'same') {
      return previous;
    }
    // A new head: both checks read stored nodes; they run at once (each is one BatchGet).
    const [extension, recomputed] = await Promise.allSettled([
      previous ? this.extension(previous, state, signer, origin) : Promise.resolve('extends' as const),
      // The state item alone is not trusted: its root must be the one the stored nodes give.
      rootAt(state.size, this.tree.nodeReader()),
    ]);
    // Not 'same': that needs the sizes equal, which returned (or threw) above.
    if (extension.status === 'rejected') throw extension.reason;
    if (recomputed.status === 'rejected') {
      throw new InconsistentCheckpointError(
        `cannot recompute the root of size ${state.size}: ${message(recomputed.reason)}`,
      );
    }
    if (!bytesEqual(recomputed.value, state.root)) {
      throw new InconsistentCheckpointError(
        `tree state root at size ${state.size} differs from the root of the stored nodes`,
      );
    }

    const note = await signCheckpoint({ origin, size: state.size, rootHash: state.root }, signer);
    const stored: StoredCheckpoint = { origin, size: state.size, rootHash: state.root, note };
    const written = await conditionalWrite(
      this.client,
      new PutCommand({
        TableName: this.table,
        Item: {
          ...checkpointKey(stored.size),
          origin,
          size: stored.size,
          rootHash: toHex(stored.rootHash),
          note,
          publishedAt: new Date().toISOString(),
        },
        // Once signed and stored, a checkpoint is never replaced.
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
    if (!written) {
      // A concurrent publisher stored this size first; the same tree gives the same root.
      const existing = await this.bySize(stored.size);
      if (existing && bytesEqual(existing.rootHash, stored.rootHash)) return existing;
      throw new InconsistentCheckpointError(
        `a different checkpoint of size ${stored.size} is already stored`,
      );
    }
    // signCheckpoint verified the note under the signer's key: the next round starts from it.
    this.lastOpened = {
      note,
      under: verifiedUnder(signer, origin),
      checkpoint: { size: stored.size, rootHash: stored.rootHash },
    };
    return stored;
  }

  /**
   * Whether the tree head `state` extends the stored checkpoint `previous` ('same' when it is
   * that head), by a consistency proof from the stored nodes, checked against what the
   * previous note signs.
   *
   * @throws InconsistentCheckpointError when it does not: a rollback, a fork or a bad proof.
   */
  private async extension(
    previous: StoredCheckpoint,
    state: TreeState,
    signer: NoteSigner,
    origin: string,
  ): Promise<'same' | 'extends'> {
    // The baseline is what the stored note signs, not the item's other attributes: a stored
    // checkpoint edited in place is no baseline.
    const baseline = this.opened(previous, signer, origin);
    try {
      // The idle case (nothing integrated since) is 'same': an equal root, no proof to build.
      return await proveExtends(this.tree, baseline, { size: state.size, rootHash: state.root });
    } catch (error: unknown) {
      if (!(error instanceof HeadMismatchError)) throw error;
      throw new InconsistentCheckpointError(
        {
          rollback: `tree size ${state.size} is smaller than the latest checkpoint's size ${baseline.size}`,
          fork: `tree head of size ${state.size} has another root than the checkpoint of the same size`,
          proof: `tree head of size ${state.size} is not consistent with the checkpoint of size ${baseline.size}: ${error.message}`,
        }[error.reason],
      );
    }
  }

  /**
   * What the stored note signs, verified under the signing key. The last note verified (or
   * signed here) is remembered by its text, key and origin: the publisher meets the same latest
   * note round after round, idle ones included, and the same text verifies the same way. An
   * edited note is other text, and is verified again.
   */
  private opened(
    previous: StoredCheckpoint,
    signer: NoteSigner,
    origin: string,
  ): { size: number; rootHash: Uint8Array } {
    const under = verifiedUnder(signer, origin);
    const last = this.lastOpened;
    if (last?.note === previous.note && last.under === under) return last.checkpoint;
    try {
      const { checkpoint } = openCheckpoint(previous.note, verifierKeyString(signer.name, signer.publicKey), {
        origin,
      });
      this.lastOpened = { note: previous.note, under, checkpoint };
      return checkpoint;
    } catch (error: unknown) {
      throw new InconsistentCheckpointError(
        `latest checkpoint (size ${previous.size}) does not verify under the signing key: ${message(error)}`,
      );
    }
  }
}

const verifiedUnder = (signer: NoteSigner, origin: string) =>
  `${verifierKeyString(signer.name, signer.publicKey)} ${origin}`;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
