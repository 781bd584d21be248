import { ed25519KeyId, type NoteSigner } from '#journal/note.ts';
import { KmsClient } from './kms.ts';

// An Ed25519 SPKI (RFC 8410) is a fixed 12-byte DER header followed by the 32-byte key.
const SPKI_HEADER = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

/**
 * A {@link NoteSigner} backed by an AWS KMS key of spec ECC_NIST_EDWARDS25519: the private key
 * never leaves KMS. ED25519_SHA_512 over the RAW message is PureEdDSA (RFC 8032), the same
 * signature the local key file produces, so verifiers cannot tell the two apart.
 */
export async function kmsEd25519Signer(
  name: string,
  keyId: string,
  client = new KmsClient(),
): Promise<NoteSigner> {
  const publicKey = await kmsEd25519PublicKey(keyId, client);
  return {
    name,
    keyId: ed25519KeyId(name, publicKey),
    publicKey,
    sign: async (message) => {
      const signature = await client.sign(keyId, message, 'ED25519_SHA_512');
      if (signature?.length !== 64) throw new Error('KMS returned no Ed25519 signature');
      return signature;
    },
  };
}

/** The raw public key of a KMS key, refused unless its spec is ECC_NIST_EDWARDS25519. */
export async function kmsEd25519PublicKey(keyId: string, client: KmsClient): Promise<Uint8Array> {
  const { keySpec, publicKey } = await client.getPublicKey(keyId);
  if (keySpec !== 'ECC_NIST_EDWARDS25519' || !publicKey) {
    throw new Error(`KMS key ${keyId} is ${keySpec ?? 'unknown'}, not ECC_NIST_EDWARDS25519`);
  }
  return ed25519PublicKeyFromSpki(publicKey);
}

/** The raw 32-byte key inside a DER SubjectPublicKeyInfo of an Ed25519 key. */
export function ed25519PublicKeyFromSpki(spki: Uint8Array): Uint8Array {
  const header = spki.subarray(0, SPKI_HEADER.length);
  if (spki.length !== SPKI_HEADER.length + 32 || !header.every((byte, i) => byte === SPKI_HEADER[i])) {
    throw new Error('not a DER SubjectPublicKeyInfo of an Ed25519 key');
  }
  return spki.slice(SPKI_HEADER.length);
}
