import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { ed25519KeyId, type NoteSigner } from '#journal/note.ts';

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
  client = new KMSClient({}),
): Promise<NoteSigner> {
  const { PublicKey, KeySpec } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (KeySpec !== 'ECC_NIST_EDWARDS25519' || !PublicKey) {
    throw new Error(`KMS key ${keyId} is ${KeySpec ?? 'unknown'}, not ECC_NIST_EDWARDS25519`);
  }
  const publicKey = ed25519PublicKeyFromSpki(PublicKey);
  return {
    name,
    keyId: ed25519KeyId(name, publicKey),
    publicKey,
    sign: async (message) => {
      const { Signature } = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: message,
          MessageType: 'RAW',
          SigningAlgorithm: 'ED25519_SHA_512',
        }),
      );
      if (Signature?.length !== 64) throw new Error('KMS returned no Ed25519 signature');
      return Signature;
    },
  };
}

/** The raw 32-byte key inside a DER SubjectPublicKeyInfo of an Ed25519 key. */
export function ed25519PublicKeyFromSpki(spki: Uint8Array): Uint8Array {
  const header = spki.subarray(0, SPKI_HEADER.length);
  if (spki.length !== SPKI_HEADER.length + 32 || !header.every((byte, i) => byte === SPKI_HEADER[i])) {
    throw new Error('not a DER SubjectPublicKeyInfo of an Ed25519 key');
  }
  return spki.slice(SPKI_HEADER.length);
}
