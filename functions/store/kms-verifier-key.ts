import { GetPublicKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { verifierKeyString } from '#journal/note.ts';
import { ed25519PublicKeyFromSpki } from './kms-signer.ts';

/**
 * The verifier key string (`<name>+<key id>+<key>`) of a KMS ECC_NIST_EDWARDS25519 key, read with
 * kms:GetPublicKey only: whoever holds it can verify checkpoints, not sign them.
 */
export async function kmsEd25519VerifierKey(name: string, keyId: string, client: KMSClient): Promise<string> {
  const { PublicKey, KeySpec } = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
  if (KeySpec !== 'ECC_NIST_EDWARDS25519' || !PublicKey) {
    throw new Error(`KMS key ${keyId} is ${KeySpec ?? 'unknown'}, not ECC_NIST_EDWARDS25519`);
  }
  return verifierKeyString(name, ed25519PublicKeyFromSpki(PublicKey));
}
