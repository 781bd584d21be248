import { createHash } from 'node:crypto';
import {
  type AwsHttpClient,
  type AwsResponse,
  type AwsServiceOptions,
  awsEndpoint,
  configuredEndpoint,
  type DecodedError,
  lazyAwsHttpClient,
} from './aws-http.ts';

export interface PutObject {
  key: string;
  body: Uint8Array;
  contentType: string;
  cacheControl?: string;
  /** Write only if no object has the key (`If-None-Match: *`); S3 answers 412 otherwise. */
  ifAbsent?: boolean;
}

/**
 * The three object operations the checkpoint publisher uses on one bucket (S3's REST protocol),
 * over {@link AwsHttpClient}. AWS endpoints are virtual-hosted (`<bucket>.s3.<region>…`); a
 * configured one (LocalStack) is addressed path-style (`<endpoint>/<bucket>`).
 */
export class S3Bucket {
  private readonly http: () => Promise<AwsHttpClient>;

  constructor(
    readonly bucket: string,
    options: Omit<AwsServiceOptions, 'service' | 's3' | 'endpoint'> & { endpoint?: string } = {},
  ) {
    const configured = options.endpoint ?? configuredEndpoint('s3');
    this.http = lazyAwsHttpClient({
      ...options,
      service: 's3',
      s3: true,
      endpoint:
        configured === undefined
          ? (region) => virtualHostedEndpoint(bucket, region)
          : `${configured.replace(/\/$/, '')}/${encodeURIComponent(bucket)}`,
    });
  }

  /**
   * Writes an object with its SHA-256 and MD5 checksums, which S3 verifies on arrival (a bucket
   * with Object Lock refuses a PUT without an integrity header).
   */
  async put(object: PutObject): Promise<void> {
    await (await this.http()).send(
      {
        operation: 'PutObject',
        method: 'PUT',
        path: objectPath(object.key),
        headers: {
          'content-type': object.contentType,
          'content-md5': createHash('md5').update(object.body).digest('base64'),
          'x-amz-checksum-sha256': createHash('sha256').update(object.body).digest('base64'),
          'x-amz-sdk-checksum-algorithm': 'SHA256',
          ...(object.cacheControl ? { 'cache-control': object.cacheControl } : {}),
          ...(object.ifAbsent ? { 'if-none-match': '*' } : {}),
        },
        body: object.body,
      },
      decodeXmlError,
    );
  }

  /** The object's bytes, or null if there is no object under `key`. */
  async get(key: string): Promise<Uint8Array | null> {
    try {
      const response = await (await this.http()).send(
        { operation: 'GetObject', method: 'GET', path: objectPath(key), headers: {} },
        decodeXmlError,
      );
      return response.body;
    } catch (error: unknown) {
      if (isStatus(error, 404)) return null;
      throw error;
    }
  }

  /** Whether an object exists under `key`; a denied HEAD is an error, not an absence. */
  async has(key: string): Promise<boolean> {
    try {
      await (await this.http()).send(
        { operation: 'HeadObject', method: 'HEAD', path: objectPath(key), headers: {} },
        decodeXmlError,
      );
      return true;
    } catch (error: unknown) {
      if (isStatus(error, 404)) return false;
      throw error;
    }
  }
}

/** `https://<bucket>.s3.<region>.amazonaws.com/` (or its FIPS or China form). */
export function virtualHostedEndpoint(bucket: string, region: string): string {
  const url = new URL(awsEndpoint('s3', region));
  url.hostname = `${bucket}.${url.hostname}`;
  return url.href;
}

export const isStatus = (error: unknown, status: number): boolean =>
  typeof error === 'object' &&
  error !== null &&
  '$metadata' in error &&
  (error.$metadata as { httpStatusCode?: number }).httpStatusCode === status;

/** `/<key>`, each segment escaped once (S3 signs the path as sent). */
const objectPath = (key: string) => `/${key.split('/').map(encodeURIComponent).join('/')}`;

/** S3's `<Error><Code>…</Code><Message>…</Message></Error>`; a HEAD answer has no body. */
function decodeXmlError(response: AwsResponse): DecodedError {
  const xml = new TextDecoder().decode(response.body);
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  const fallback =
    response.status === 404
      ? 'NotFound'
      : response.status === 412
        ? 'PreconditionFailed'
        : `Http${response.status}`;
  const name = field('Code') ?? fallback;
  return { name, message: field('Message') ?? name };
}
