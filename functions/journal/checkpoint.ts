// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): the signed tree head of the journal.
// Browser-safe, like note.ts.

import { bytesEqual, fromBase64, hasControlCharacter, toBase64 } from './bytes.ts';
import {
  type NoteSigner,
  type NoteVerifierKey,
  openNote,
  parseVerifierKey,
  signNote,
  type VerifiedNote,
} from './note.ts';

/** A checkpoint body that does not follow tlog-checkpoint, or a checkpoint that must not be trusted. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** A parsed checkpoint body. */
export interface Checkpoint {
  /** The log's identity, e.g. `claimledger.example.com/journal`. */
  origin: string;
  /** Number of leaves in the tree. */
  size: number;
  /** RFC 9162 root hash of the tree at `size` (32 bytes). */
  rootHash: Uint8Array;
  /** Opaque extension lines (without newlines); NOT RECOMMENDED by the spec. */
  extensions: readonly string[];
}

/** A checkpoint to format or sign; extension lines are optional. */
export interface CheckpointInput {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  extensions?: readonly string[];
}

/** A checkpoint whose note verified, with the note's signatures. */
export interface OpenedCheckpoint {
  checkpoint: Checkpoint;
  note: VerifiedNote;
}

const ROOT_HASH_SIZE = 32;

/**
 * The checkpoint body: origin, decimal size and base64 root hash, then any extension lines,
 * each line ending in a newline.
 *
 * @throws CheckpointError when a field cannot appear in a checkpoint.
 */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  requireLine(origin, 'origin');
  if (!Number.isSafeInteger(size) || size < 0)
    throw new CheckpointError('tree size must be a non-negative safe integer');
  if (rootHash.length !== ROOT_HASH_SIZE)
    throw new CheckpointError(`root hash must be ${ROOT_HASH_SIZE} bytes`);
  for (const extension of extensions) requireLine(extension, 'extension line');
  return [origin, String(size), toBase64(rootHash), ...extensions].map((line) => `${line}\n`).join('');
}

/**
 * Parses a checkpoint body strictly per C2SP tlog-checkpoint: non-empty origin, size in decimal
 * without leading zeros, a base64 32-byte SHA-256 root, non-empty extension lines, final newline.
 *
 * @throws CheckpointError naming the first problem.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) throw new CheckpointError('checkpoint must end with a newline');
  if (hasControlCharacter(text)) throw new CheckpointError('checkpoint must not contain control characters');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    throw new CheckpointError('checkpoint needs an origin, a tree size and a root hash line');
  }
  if (origin === '') throw new CheckpointError('checkpoint origin must not be empty');
  if (!/^(0|[1-9][0-9]*)$/.test(sizeLine)) {
    throw new CheckpointError('checkpoint tree size must be a decimal number without leading zeros');
  }
  const size = Number(sizeLine);
  if (!Number.isSafeInteger(size)) throw new CheckpointError('checkpoint tree size is too large');
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64(rootLine);
  } catch {
    throw new CheckpointError('checkpoint root hash must be standard padded base64');
  }
  if (rootHash.length !== ROOT_HASH_SIZE) {
    throw new CheckpointError(`checkpoint root hash must be ${ROOT_HASH_SIZE} bytes, got ${rootHash.length}`);
  }
  if (extensions.includes('')) throw new CheckpointError('checkpoint extension lines must not be empty');
  return { origin, size, rootHash, extensions };
}

/**
 * The signed checkpoint note. The caller is responsible for the spec's rule that a log never
 * signs a checkpoint inconsistent with one it signed before (check it with a consistency proof).
 *
 * @throws CheckpointError or NoteError when the checkpoint or a signer is invalid.
 */
export async function signCheckpoint(
  checkpoint: CheckpointInput,
  signers: NoteSigner | readonly NoteSigner[],
): Promise<string> {
  return signNote(formatCheckpoint(checkpoint), signers);
}

/**
 * Verifies a signed checkpoint and parses it. The log's key must have signed it; signatures of
 * `cosignerKeys` (witnesses) must verify too when present, and others are ignored. The origin
 * must equal `origin`, which defaults to the log key's name (the spec says they SHOULD match).
 *
 * @throws NoteError when the note is malformed or a trusted signature fails.
 * @throws CheckpointError when the log did not sign it, the body is invalid or the origin differs.
 */
export function openCheckpoint(
  note: Uint8Array | string,
  logKey: string | NoteVerifierKey,
  options: { origin?: string; cosignerKeys?: readonly (string | NoteVerifierKey)[] } = {},
): OpenedCheckpoint {
  const key = typeof logKey === 'string' ? parseVerifierKey(logKey) : logKey;
  const opened = openNote(note, [key, ...(options.cosignerKeys ?? [])]);
  if (
    !opened.verified.some(
      (signature) => signature.name === key.name && bytesEqual(signature.keyId, key.keyId),
    )
  ) {
    throw new CheckpointError(`checkpoint is not signed by the log key ${key.name}`);
  }
  const checkpoint = parseCheckpoint(opened.text);
  const origin = options.origin ?? key.name;
  if (checkpoint.origin !== origin) {
    throw new CheckpointError(
      `checkpoint origin ${JSON.stringify(checkpoint.origin)} is not ${JSON.stringify(origin)}`,
    );
  }
  return { checkpoint, note: opened };
}

function requireLine(line: string, what: string): void {
  if (line === '' || line.includes('\n') || hasControlCharacter(line)) {
    throw new CheckpointError(`${what} must be a non-empty line without control characters`);
  }
}
