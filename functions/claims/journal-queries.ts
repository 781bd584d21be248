import { toHex } from '#journal/bytes.ts';
import { journalRead, type ReadAudit, type ReadView } from './audited-read.ts';
import { NotFoundError, ValidationError } from './errors.ts';
import type { Identity } from './identity.ts';
import type { ClaimReadPort, JournalReadPort, PublishedCheckpoint, StoredClaim } from './ports.ts';

// The journal's read side (QLDB's digest, revision proof and history(), as transparency-log
// checkpoints and RFC 9162 proofs). Proofs are hex SHA-256 hashes, in RFC 9162 order.

function checkpointView(checkpoint: PublishedCheckpoint) {
  return {
    origin: checkpoint.origin,
    size: checkpoint.size,
    rootHash: toHex(checkpoint.rootHash),
    note: checkpoint.note,
  };
}

/** The newest signed checkpoint. */
export async function latestCheckpoint(journal: JournalReadPort) {
  const checkpoint = await journal.latestCheckpoint();
  if (!checkpoint) throw new NotFoundError('No checkpoint has been published yet.');
  return checkpointView(checkpoint);
}

/** One sequenced entry, decoded. Entries past the sequenced journal do not exist: 404. */
export async function journalEntry(index: number, journal: JournalReadPort) {
  const [stored] = await journal.entries([index]);
  if (!stored) throw new NotFoundError(`Journal entry ${index} does not exist.`);
  return {
    index: stored.index,
    leafHash: stored.leafHash,
    entry: JSON.parse(stored.entry) as unknown,
  };
}

/**
 * Inclusion proof of entry `index` in the tree of `size` entries (default: the latest
 * checkpoint's size, so the proof checks against a root the log signed).
 */
export async function inclusionProof(index: number, size: number | undefined, journal: JournalReadPort) {
  const checkpoint = size === undefined ? await journal.latestCheckpoint() : null;
  const treeSize = size ?? checkpoint?.size;
  if (treeSize === undefined) throw new NotFoundError('No checkpoint has been published yet.');
  const integrated = await journal.treeSize();
  if (treeSize > integrated) {
    throw outOfRange('size', `size ${treeSize} is beyond the tree, which has ${integrated} entries`);
  }
  if (index >= treeSize) {
    throw outOfRange('index', `entry ${index} is not in the tree of size ${treeSize}`);
  }
  const [stored] = await journal.entries([index]);
  const proof = await journal.inclusionProof(index, treeSize);
  return {
    index,
    size: treeSize,
    leafHash: stored?.leafHash,
    proof: proof.map(toHex),
    ...(checkpoint ? { checkpoint: checkpointView(checkpoint) } : {}),
  };
}

/** Consistency proof between the trees of `from` and `to` entries (1 ≤ from ≤ to ≤ tree size). */
export async function consistencyProof(from: number, to: number, journal: JournalReadPort) {
  if (from < 1)
    throw outOfRange('from', 'from must be at least 1: every tree is consistent with the empty one');
  if (from > to) throw outOfRange('from', `from (${from}) must not be greater than to (${to})`);
  const integrated = await journal.treeSize();
  if (to > integrated)
    throw outOfRange('to', `to (${to}) is beyond the tree, which has ${integrated} entries`);
  const proof = await journal.consistencyProof(from, to);
  return { from, to, proof: proof.map(toHex) };
}

/** The read itself is journaled: who looked at a claim's full history is part of that history. */
export interface ClaimHistoryPorts extends ReadAudit {
  claims: ClaimReadPort;
  journal: JournalReadPort;
}

/**
 * Every revision of a claim with its journal entry and, once integrated, its inclusion proof
 * in the latest checkpoint: what QLDB's history() gave, plus the proof. Analysts only; the
 * read is journaled first (a `record.read` entry), so it appears in the history it returns.
 */
export async function claimHistory(id: string, identity: Identity, ports: ClaimHistoryPorts) {
  if (!identity.roles.includes('analyst')) throw new NotFoundError(`Claim ${id} was not found.`);
  const claim = await ports.claims.find(id);
  if (!claim) throw new NotFoundError(`Claim ${id} was not found.`);
  return historyOf(claim, identity, ports, 'history');
}

/** {@link claimHistory} of a claim already loaded and authorized, journaled as read in `view`. */
export async function historyOf(
  claim: StoredClaim,
  identity: Identity,
  ports: ClaimHistoryPorts,
  view: ReadView,
) {
  const docId = `claim/${claim.id}`;
  await journalRead(claim, identity, ports, view);
  const { journal } = ports;
  const [refs, checkpoint] = await Promise.all([journal.documentEntries(docId), journal.latestCheckpoint()]);
  const sequenced = refs.flatMap((ref) => (ref.index === undefined ? [] : [ref.index]));
  // Revisions the latest checkpoint covers get a proof in it, all read together.
  const provable = checkpoint ? sequenced.filter((index) => index < checkpoint.size) : [];
  const [stored, proofs] = await Promise.all([
    journal.entries(sequenced),
    checkpoint && provable.length > 0 ? journal.inclusionProofs(provable, checkpoint.size) : [],
  ]);
  const entries = new Map(stored.map((e) => [e.index, e]));
  const proofOf = new Map(provable.map((index, i) => [index, proofs[i] as Uint8Array[]]));
  const revisions = refs.map((ref) => {
    const entry = ref.index === undefined ? undefined : entries.get(ref.index);
    const proof = ref.index === undefined ? undefined : proofOf.get(ref.index);
    return {
      index: ref.index ?? null,
      leafHash: ref.leafHash,
      entry: entry ? (JSON.parse(entry.entry) as unknown) : null,
      proof: proof ? proof.map(toHex) : null,
    };
  });
  return {
    docId,
    currentRevision: claim.revision,
    checkpoint: checkpoint ? checkpointView(checkpoint) : null,
    revisions,
  };
}

function outOfRange(parameter: string, message: string): ValidationError {
  return new ValidationError(message, [{ path: parameter, message }]);
}
