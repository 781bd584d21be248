import { verifierKeyString } from '#journal/note.ts';
import type { KmsClient } from './kms.ts';
import { kmsEd25519PublicKey } from './kms-signer.ts';

/**
 * The verifier key string (`<name>+<key id>+<key>`) of a KMS ECC_NIST_EDWARDS25519 key, read with
 * kms:GetPublicKey only: whoever holds it can verify checkpoints, not sign them.
 */
export async function kmsEd25519VerifierKey(name: string, keyId: string, client: KmsClient): Promise<string> {
  return verifierKeyString(name, await kmsEd25519PublicKey(keyId, client));
}
