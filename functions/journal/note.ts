// C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures (type 0x01), the only
// type the journal signs with. Browser-safe: verification uses @noble only. Signing goes
// through the NoteSigner port (KMS in the cloud, local-signer.ts in development).

import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  bytesEqual,
  concatBytes,
  fromBase64,
  hasControlCharacter,
  hasLoneSurrogate,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from './bytes.ts';

/** A malformed note or key, or a note that does not verify. */
export class NoteError extends Error {
  override name = 'NoteError';
}

/** Signature type byte of Ed25519 signatures in signed notes. */
export const ED25519_SIGNATURE_TYPE = 0x01;

/**
 * More signature lines than this make a note malformed. The spec asks verifiers to accept at
 * least 16 and to apply some limit; 100 is what Go's golang.org/x/mod/sumdb/note applies.
 */
export const MAX_SIGNATURES = 100;

/** One signature line: key name, 4-byte key ID and the signature proper. */
export interface NoteSignature {
  name: string;
  keyId: Uint8Array;
  signature: Uint8Array;
}

/** A parsed, not yet verified, signed note. `text` includes its final newline. */
export interface SignedNote {
  text: string;
  signatures: NoteSignature[];
}

/** A trusted Ed25519 note key, usually from a verifier key string (see {@link parseVerifierKey}). */
export interface NoteVerifierKey {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * Port to an Ed25519 signing key (AWS KMS ECC_NIST_EDWARDS25519 in the cloud, a key file
 * locally). `sign` returns the 64-byte RFC 8032 signature of `message`.
 */
export interface NoteSigner {
  name: string;
  keyId: Uint8Array;
  publicKey: Uint8Array;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A note whose text may be trusted: at least one trusted key verified it, none failed. */
export interface VerifiedNote {
  text: string;
  /** Signatures by trusted keys, all verified. */
  verified: NoteSignature[];
  /** Signatures by keys not in the trusted set: ignored, as the spec requires. */
  unverified: NoteSignature[];
}

const SIGNATURE_PREFIX = '\u2014 ';
const ED25519_PUBLIC_KEY_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;

/** Key ID of an Ed25519 note key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)[:4]. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): Uint8Array {
  requireKeyName(name);
  requirePublicKey(publicKey);
  const material = concatBytes(utf8Encode(`${name}\n`), new Uint8Array([ED25519_SIGNATURE_TYPE]), publicKey);
  return sha256(material).slice(0, 4);
}

/** Verifier key string `<name>+<key ID hex>+<base64(0x01 ‖ public key)>`, as clients configure it. */
export function verifierKeyString(name: string, publicKey: Uint8Array): string {
  const keyId = ed25519KeyId(name, publicKey);
  return `${name}+${toHex(keyId)}+${toBase64(concatBytes(new Uint8Array([ED25519_SIGNATURE_TYPE]), publicKey))}`;
}

/**
 * Parses a verifier key string. Only Ed25519 (type 0x01) keys are accepted, and the key ID must
 * be the one the name and key imply.
 *
 * @throws NoteError naming what is wrong with the key.
 */
export function parseVerifierKey(vkey: string): NoteVerifierKey {
  const first = vkey.indexOf('+');
  const second = vkey.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new NoteError('verifier key must be <name>+<key id>+<key>');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  requireKeyName(name);
  if (!/^[0-9a-fA-F]{8}$/.test(idHex)) throw new NoteError('verifier key ID must be 8 hex digits');
  let key: Uint8Array;
  try {
    key = fromBase64(vkey.slice(second + 1));
  } catch {
    throw new NoteError('verifier key is not standard padded base64');
  }
  if (key[0] !== ED25519_SIGNATURE_TYPE) {
    throw new NoteError(
      `unsupported signature type 0x${toHex(key.slice(0, 1))}: only Ed25519 (0x01) keys are accepted`,
    );
  }
  const publicKey = key.slice(1);
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE)
    throw new NoteError('Ed25519 public key must be 32 bytes');
  const keyId = ed25519KeyId(name, publicKey);
  if (toHex(keyId) !== idHex.toLowerCase())
    throw new NoteError(`verifier key ID ${idHex} does not match its key`);
  return { name, keyId, publicKey };
}

/**
 * The signed note: text, blank line, one `— <name> <base64(key ID ‖ signature)>` line per signature.
 *
 * @throws NoteError when the text or a signature cannot appear in a signed note.
 */
export function formatSignedNote(text: string, signatures: readonly NoteSignature[]): string {
  requireNoteText(text);
  if (signatures.length === 0) throw new NoteError('a signed note needs at least one signature');
  if (signatures.length > MAX_SIGNATURES)
    throw new NoteError(`a note carries at most ${MAX_SIGNATURES} signatures`);
  const lines = signatures.map(({ name, keyId, signature }) => {
    requireKeyName(name);
    if (keyId.length !== 4) throw new NoteError('key ID must be 4 bytes');
    if (signature.length === 0) throw new NoteError('signature must not be empty');
    return `${SIGNATURE_PREFIX}${name} ${toBase64(concatBytes(keyId, signature))}\n`;
  });
  return `${text}\n${lines.join('')}`;
}

/**
 * Splits a signed note into text and signatures, checking its syntax only.
 *
 * @throws NoteError when the note is malformed.
 */
export function parseSignedNote(note: Uint8Array | string): SignedNote {
  let message: string;
  if (typeof note === 'string') {
    if (hasLoneSurrogate(note)) throw new NoteError('malformed note: contains a lone UTF-16 surrogate');
    message = note;
  } else {
    try {
      message = utf8Decode(note);
    } catch {
      throw new NoteError('malformed note: not valid UTF-8');
    }
  }
  if (hasControlCharacter(message)) throw new NoteError('malformed note: contains a control character');
  // The text may itself contain blank lines: the signatures start after the last one.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note: no blank line before the signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) {
    throw new NoteError(
      'malformed note: signature lines must follow the blank line, each ending in a newline',
    );
  }
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_SIGNATURES)
    throw new NoteError(`malformed note: more than ${MAX_SIGNATURES} signatures`);
  return { text, signatures: lines.map(parseSignatureLine) };
}

function parseSignatureLine(line: string): NoteSignature {
  if (!line.startsWith(SIGNATURE_PREFIX))
    throw new NoteError('malformed note: a signature line must start with "— "');
  const rest = line.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = rest.slice(0, space < 0 ? rest.length : space);
  if (!isKeyName(name) || space < 0) throw new NoteError('malformed note: bad key name in a signature line');
  let bytes: Uint8Array;
  try {
    bytes = fromBase64(rest.slice(space + 1));
  } catch {
    throw new NoteError(`malformed note: signature of ${name} is not base64`);
  }
  if (bytes.length < 5) throw new NoteError(`malformed note: signature of ${name} is too short`);
  return { name, keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
}

/**
 * Verifies a note against trusted keys, following the spec: signatures from unknown keys are
 * ignored, every signature from a trusted key must verify, and at least one must. Identical
 * signature lines count once. A signature matching two trusted keys (same name and key ID) is
 * an error, since it cannot be attributed.
 *
 * @throws NoteError when the note must be rejected.
 */
export function verifyNote(
  note: SignedNote,
  keys: string | NoteVerifierKey | readonly (string | NoteVerifierKey)[],
): VerifiedNote {
  const list: readonly (string | NoteVerifierKey)[] = Array.isArray(keys)
    ? keys
    : [keys as string | NoteVerifierKey];
  const trusted = list.map((key) => (typeof key === 'string' ? parseVerifierKey(key) : key));
  const message = utf8Encode(note.text);
  const verified: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const signature of note.signatures) {
    const line = `${signature.name} ${toHex(signature.keyId)} ${toHex(signature.signature)}`;
    if (seen.has(line)) continue;
    seen.add(line);
    const matches = trusted.filter(
      (key) => key.name === signature.name && bytesEqual(key.keyId, signature.keyId),
    );
    const label = `${signature.name}+${toHex(signature.keyId)}`;
    if (matches.length === 0) {
      unverified.push(signature);
    } else if (matches.length > 1) {
      throw new NoteError(`ambiguous key ${label}: it is trusted more than once`);
    } else if (!ed25519Verifies(signature.signature, message, matches[0]!.publicKey)) {
      throw new NoteError(`invalid signature for key ${label}`);
    } else {
      verified.push(signature);
    }
  }
  if (verified.length === 0) throw new NoteError('note has no verifiable signatures');
  return { text: note.text, verified, unverified };
}

/** {@link parseSignedNote} then {@link verifyNote}. */
export function openNote(
  note: Uint8Array | string,
  keys: string | NoteVerifierKey | readonly (string | NoteVerifierKey)[],
): VerifiedNote {
  return verifyNote(parseSignedNote(note), keys);
}

/**
 * Signs `text` with every signer. Each signature is checked against the signer's public key
 * before it is used, so a misconfigured key (e.g. a KMS key that is not the published one)
 * fails here instead of producing a note no client can verify.
 *
 * @throws NoteError when the text cannot be signed or a signer misbehaves.
 */
export async function signNote(text: string, signers: NoteSigner | readonly NoteSigner[]): Promise<string> {
  requireNoteText(text);
  const list: readonly NoteSigner[] = Array.isArray(signers) ? signers : [signers as NoteSigner];
  const message = utf8Encode(text);
  const signatures: NoteSignature[] = [];
  for (const signer of list) {
    if (!bytesEqual(signer.keyId, ed25519KeyId(signer.name, signer.publicKey))) {
      throw new NoteError(`signer ${signer.name} has a key ID that does not match its name and public key`);
    }
    const signature = await signer.sign(message);
    if (!ed25519Verifies(signature, message, signer.publicKey)) {
      throw new NoteError(
        `signer ${signer.name} returned a signature that does not verify under its public key`,
      );
    }
    signatures.push({ name: signer.name, keyId: signer.keyId, signature });
  }
  return formatSignedNote(text, signatures);
}

function ed25519Verifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    // Strict RFC 8032 rules (no ZIP-215 leniency): one message, one valid signature per key.
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

function requireNoteText(text: string): void {
  if (!text.endsWith('\n')) throw new NoteError('note text must end with a newline');
  if (hasControlCharacter(text)) throw new NoteError('note text must not contain control characters');
  if (hasLoneSurrogate(text)) throw new NoteError('note text must not contain lone UTF-16 surrogates');
}

function isKeyName(name: string): boolean {
  return name !== '' && !/[\s+]/u.test(name);
}

function requireKeyName(name: string): void {
  if (!isKeyName(name))
    throw new NoteError(`key name must be non-empty, without spaces or "+": ${JSON.stringify(name)}`);
}

function requirePublicKey(publicKey: Uint8Array): void {
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE)
    throw new NoteError('Ed25519 public key must be 32 bytes');
}
