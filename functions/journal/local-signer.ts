// Ed25519 note signing with a key held in process (development and tests; the cloud signs
// through KMS behind the same NoteSigner port). Node-only: it uses node:crypto.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { concatBytes, fromBase64, toBase64, toHex } from './bytes.ts';
import { ED25519_SIGNATURE_TYPE, ed25519KeyId, NoteError, type NoteSigner } from './note.ts';

/** An Ed25519 key pair as raw bytes: the 32-byte RFC 8032 private key (seed) and public key. */
export interface Ed25519KeyPair {
  privateKey: Uint8Array;
  publicKey: Uint8Array;
}

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 / SPKI (RFC 8410).
const PKCS8_PREFIX = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);
const SPKI_PREFIX_LENGTH = 12;
const SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';

/** A fresh random Ed25519 key pair. */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const seed = new Uint8Array(pkcs8.subarray(PKCS8_PREFIX.length));
  return { privateKey: seed, publicKey: publicKeyOf(privateKey) };
}

/** The public key of a 32-byte Ed25519 private key. */
export function ed25519PublicKey(privateKey: Uint8Array): Uint8Array {
  return publicKeyOf(toKeyObject(privateKey));
}

/** A {@link NoteSigner} over an in-process Ed25519 private key. */
export function localEd25519Signer(name: string, privateKey: Uint8Array): NoteSigner {
  const key = toKeyObject(privateKey);
  const publicKey = publicKeyOf(key);
  return {
    name,
    keyId: ed25519KeyId(name, publicKey),
    publicKey,
    sign: async (message) => new Uint8Array(sign(null, message, key)),
  };
}

/**
 * Signer key string `PRIVATE+KEY+<name>+<key ID hex>+<base64(0x01 ‖ private key)>`, the format
 * Go's golang.org/x/mod/sumdb/note uses, so a dev key file is one line of text.
 */
export function signerKeyString(name: string, privateKey: Uint8Array): string {
  const keyId = ed25519KeyId(name, ed25519PublicKey(privateKey));
  return `${SIGNER_KEY_PREFIX}${name}+${toHex(keyId)}+${toBase64(concatBytes(Uint8Array.of(ED25519_SIGNATURE_TYPE), privateKey))}`;
}

/**
 * A {@link NoteSigner} from a signer key string (see {@link signerKeyString}).
 *
 * @throws NoteError when the string is not an Ed25519 signer key or its key ID does not match.
 */
export function localSignerFromKeyString(skey: string): NoteSigner {
  // Split on the first two '+' only: names and hex IDs have none, base64 may.
  const rest = skey.startsWith(SIGNER_KEY_PREFIX) ? skey.slice(SIGNER_KEY_PREFIX.length) : '';
  const first = rest.indexOf('+');
  const second = rest.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new NoteError('signer key must be PRIVATE+KEY+<name>+<key id>+<key>');
  const name = rest.slice(0, first);
  const idHex = rest.slice(first + 1, second);
  let key: Uint8Array;
  try {
    key = fromBase64(rest.slice(second + 1));
  } catch {
    throw new NoteError('signer key is not standard padded base64');
  }
  if (key[0] !== ED25519_SIGNATURE_TYPE || key.length !== 33) {
    throw new NoteError('signer key must be an Ed25519 (0x01) key of 32 bytes');
  }
  const signer = localEd25519Signer(name, key.slice(1));
  if (toHex(signer.keyId) !== idHex.toLowerCase())
    throw new NoteError(`signer key ID ${idHex} does not match its key`);
  return signer;
}

function toKeyObject(privateKey: Uint8Array): KeyObject {
  if (privateKey.length !== 32) throw new NoteError('Ed25519 private key must be 32 bytes');
  return createPrivateKey({
    key: Buffer.from(concatBytes(PKCS8_PREFIX, privateKey)),
    format: 'der',
    type: 'pkcs8',
  });
}

function publicKeyOf(privateKey: KeyObject): Uint8Array {
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX_LENGTH));
}
