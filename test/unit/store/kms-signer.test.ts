import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { GetPublicKeyCommand, type KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { openCheckpoint, signCheckpoint } from '../../../functions/journal/checkpoint.ts';
import { localEd25519Signer } from '../../../functions/journal/local-signer.ts';
import { verifierKeyString } from '../../../functions/journal/note.ts';
import { ed25519PublicKeyFromSpki, kmsEd25519Signer } from '../../../functions/store/kms-signer.ts';

// KMS cannot run here, so this stand-in answers the two calls the signer makes the way KMS
// documents them (GetPublicKey: DER SPKI; Sign with ED25519_SHA_512 over RAW: PureEdDSA),
// using node:crypto. What is under test is our side: SPKI parsing, the request and key IDs.
function kmsStandIn(keySpec = 'ECC_NIST_EDWARDS25519') {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const requests: unknown[] = [];
  const client = {
    send: async (command: unknown) => {
      if (command instanceof GetPublicKeyCommand) {
        return {
          KeySpec: keySpec,
          PublicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
        };
      }
      if (command instanceof SignCommand) {
        requests.push(command.input);
        return { Signature: new Uint8Array(sign(null, command.input.Message as Uint8Array, privateKey)) };
      }
      throw new Error('unexpected KMS call');
    },
  } as unknown as KMSClient;
  const seed = new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(16));
  return { client, requests, seed };
}

describe('KMS Ed25519 note signer', () => {
  it('signs checkpoints that verify with the verifier key, exactly as the local key file would', async () => {
    const kms = kmsStandIn();
    const origin = 'claimledger.dev/test/journal';
    const signer = await kmsEd25519Signer(origin, 'arn:aws:kms:eu-west-1:1:key/k', kms.client);
    const local = localEd25519Signer(origin, kms.seed);
    expect(signer.keyId).toEqual(local.keyId);
    expect(signer.publicKey).toEqual(local.publicKey);

    const rootHash = new Uint8Array(32).fill(7);
    const note = await signCheckpoint({ origin, size: 42, rootHash }, signer);
    const opened = openCheckpoint(note, verifierKeyString(origin, signer.publicKey));
    expect(opened.checkpoint.size).toBe(42);
    expect(note).toBe(await signCheckpoint({ origin, size: 42, rootHash }, local));
    expect(kms.requests).toEqual([
      expect.objectContaining({
        MessageType: 'RAW',
        SigningAlgorithm: 'ED25519_SHA_512',
        KeyId: 'arn:aws:kms:eu-west-1:1:key/k',
      }),
    ]);
  });

  it('refuses a KMS key that is not Ed25519', async () => {
    await expect(kmsEd25519Signer('log', 'k', kmsStandIn('ECC_NIST_P256').client)).rejects.toThrow(
      /not ECC_NIST_EDWARDS25519/,
    );
  });

  it('reads the raw key from an Ed25519 SPKI and rejects anything else', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const spki = new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }));
    const raw = ed25519PublicKeyFromSpki(spki);
    expect(raw).toHaveLength(32);
    expect(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).asymmetricKeyType).toBe(
      'ed25519',
    );
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({
      format: 'der',
      type: 'spki',
    });
    expect(() => ed25519PublicKeyFromSpki(new Uint8Array(p256))).toThrow(/Ed25519/);
    expect(() => ed25519PublicKeyFromSpki(spki.slice(0, 40))).toThrow(/Ed25519/);
  });
});
