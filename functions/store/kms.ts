import { type AwsHttpClient, type AwsServiceOptions, lazyAwsHttpClient, sendJson } from './aws-http.ts';

/**
 * The two AWS KMS operations the journal uses (JSON protocol 1.1, `TrentService.<operation>`,
 * binary fields in base64), over {@link AwsHttpClient}.
 */
export class KmsClient {
  private readonly http: () => Promise<AwsHttpClient>;

  constructor(options: Omit<AwsServiceOptions, 'service' | 's3'> = {}) {
    this.http = lazyAwsHttpClient({ ...options, service: 'kms' });
  }

  /** The key's spec and its public key (DER SubjectPublicKeyInfo). */
  async getPublicKey(keyId: string): Promise<{ keySpec?: string; publicKey?: Uint8Array }> {
    const out = await this.call('GetPublicKey', { KeyId: keyId });
    return {
      ...(typeof out.KeySpec === 'string' ? { keySpec: out.KeySpec } : {}),
      ...(typeof out.PublicKey === 'string' ? { publicKey: fromBase64(out.PublicKey) } : {}),
    };
  }

  /** A signature of `message` itself (MessageType RAW) with the key's private key. */
  async sign(keyId: string, message: Uint8Array, algorithm: string): Promise<Uint8Array | undefined> {
    const out = await this.call('Sign', {
      KeyId: keyId,
      Message: Buffer.from(message).toString('base64'),
      MessageType: 'RAW',
      SigningAlgorithm: algorithm,
    });
    return typeof out.Signature === 'string' ? fromBase64(out.Signature) : undefined;
  }

  private async call(operation: string, input: Record<string, string>): Promise<Record<string, unknown>> {
    const { output } = await sendJson(await this.http(), {
      target: `TrentService.${operation}`,
      version: '1.1',
      body: JSON.stringify(input),
    });
    return output;
  }
}

const fromBase64 = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));
