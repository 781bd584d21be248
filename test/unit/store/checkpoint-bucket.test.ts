// The S3 adapters against a local HTTP stand-in for S3 that answers the way S3 does (412 on
// If-None-Match over an existing key, NoSuchKey on GET and a bare 404 on HEAD of a missing key,
// BadDigest when a checksum does not match) and refuses a request whose SigV4 signature does
// not hold. S3 itself cannot run here; what these check is what our client puts on the wire and
// how the adapters read S3's answers.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeTile } from '../../../functions/journal/tiles.ts';
import { AwsServiceError } from '../../../functions/store/aws-http.ts';
import { s3PublishedCheckpoints, s3PublishedTiles } from '../../../functions/store/checkpoint-bucket.ts';
import { MirrorConsistencyError } from '../../../functions/store/checkpoint-mirror.ts';
import { S3Bucket } from '../../../functions/store/s3-bucket.ts';
import {
  type ReceivedRequest,
  STAND_IN_CREDENTIALS,
  type StandInAnswer,
  standInOptions,
  startStandIn,
} from '../../support/aws-stand-in.ts';
import { makeLeafHashes } from '../journal/support.ts';

interface StoredObject {
  body: Uint8Array;
  contentType: string | undefined;
  cacheControl: string | undefined;
}

const BUCKET = 'checkpoints-bucket';
const xmlError = (status: number, code: string, message: string): StandInAnswer => ({
  status,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>R</RequestId></Error>`,
});

async function standInS3(options: { denyHead?: boolean; slowDowns?: number } = {}) {
  const objects = new Map<string, StoredObject>();
  const calls: string[] = [];
  let slowDowns = options.slowDowns ?? 0;
  const answer = (request: ReceivedRequest): StandInAnswer => {
    const prefix = `/${BUCKET}/`;
    if (!request.path.startsWith(prefix))
      return xmlError(404, 'NoSuchBucket', 'The specified bucket does not exist');
    const key = decodeURIComponent(request.path.slice(prefix.length));
    const ifNoneMatch = request.headers['if-none-match'];
    calls.push(`${request.method} ${key}${ifNoneMatch ? ' if-none-match' : ''}`);
    if (slowDowns-- > 0) return xmlError(503, 'SlowDown', 'Please reduce your request rate.');
    if (request.method === 'PUT') {
      const md5 = createHash('md5').update(request.body).digest('base64');
      const sha256 = createHash('sha256').update(request.body).digest('base64');
      if (request.headers['content-md5'] !== md5 || request.headers['x-amz-checksum-sha256'] !== sha256) {
        return xmlError(
          400,
          'BadDigest',
          'The Content-MD5 or checksum value you specified did not match what we received.',
        );
      }
      if (ifNoneMatch === '*' && objects.has(key)) {
        return xmlError(
          412,
          'PreconditionFailed',
          'At least one of the pre-conditions you specified did not hold',
        );
      }
      objects.set(key, {
        body: new Uint8Array(request.body),
        contentType: request.headers['content-type'],
        cacheControl: request.headers['cache-control'],
      });
      return { status: 200 };
    }
    if (request.method === 'GET') {
      const object = objects.get(key);
      if (!object) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
      return { status: 200, body: object.body };
    }
    if (request.method === 'HEAD') {
      if (options.denyHead) return { status: 403 };
      return { status: objects.has(key) ? 200 : 404 };
    }
    return xmlError(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  };
  const server = await startStandIn('s3', answer);
  const bucket = new S3Bucket(BUCKET, standInOptions(server.endpoint));
  return { bucket, objects, calls, requests: server.requests };
}

describe('tiles in the checkpoint bucket', () => {
  const tile = { level: 0, index: 1_234_067, width: 3 };
  const bytes = encodeTile(makeLeafHashes(3));

  it('writes each tile once at its C2SP path, as immutable octets', async () => {
    const s3 = await standInS3();
    const tiles = s3PublishedTiles(s3.bucket);
    expect(await tiles.has(tile)).toBe(false);
    await tiles.put(tile, bytes);
    expect(await tiles.has(tile)).toBe(true);
    expect(s3.calls).toEqual([
      'HEAD tile/0/x001/x234/067.p/3',
      'PUT tile/0/x001/x234/067.p/3 if-none-match',
      'HEAD tile/0/x001/x234/067.p/3',
    ]);
    expect(s3.objects.get('tile/0/x001/x234/067.p/3')).toEqual({
      body: bytes,
      contentType: 'application/octet-stream',
      cacheControl: 'public, max-age=31536000, immutable',
    });
  });

  it('accepts the same tile again and refuses different bytes under the same name', async () => {
    const s3 = await standInS3();
    const tiles = s3PublishedTiles(s3.bucket);
    await tiles.put(tile, bytes);
    await tiles.put(tile, new Uint8Array(bytes));
    const other = encodeTile(makeLeafHashes(3, 1));
    await expect(tiles.put(tile, other)).rejects.toThrow(MirrorConsistencyError);
    await expect(tiles.put(tile, other)).rejects.toThrow(
      'a different tile is already published at tile/0/x001/x234/067.p/3',
    );
    expect(s3.objects.get('tile/0/x001/x234/067.p/3')?.body).toEqual(bytes);
  });

  it('does not take a denied HEAD for a missing tile', async () => {
    const tiles = s3PublishedTiles((await standInS3({ denyHead: true })).bucket);
    await expect(tiles.has(tile)).rejects.toThrow(AwsServiceError);
  });
});

describe('checkpoints in the checkpoint bucket', () => {
  it('reads nothing before the first publication, then writes checkpoints/<size> once and replaces checkpoint', async () => {
    const s3 = await standInS3();
    const published = s3PublishedCheckpoints(s3.bucket);
    expect(await published.current()).toBeNull();
    await published.putVersion(5, 'note 5\n');
    await published.putVersion(5, 'note 5\n');
    await expect(published.putVersion(5, 'another note\n')).rejects.toThrow(MirrorConsistencyError);
    await published.putCurrent('note 5\n');
    await published.putCurrent('note 6\n');
    expect(await published.current()).toBe('note 6\n');
    expect(new TextDecoder().decode(s3.objects.get('checkpoints/5')?.body)).toBe('note 5\n');
    expect(s3.objects.get('checkpoint')?.contentType).toBe('text/plain; charset=utf-8');
  });
});

describe('the S3 client under the adapters', () => {
  it('signs every request so that S3 accepts it, and checksums every body it puts', async () => {
    const s3 = await standInS3();
    await s3PublishedCheckpoints(s3.bucket).putVersion(7, 'note 7\n');
    const [put] = s3.requests;
    expect(put?.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIASTANDIN\/\d{8}\/eu-west-1\/s3\/aws4_request, SignedHeaders=[^,]*content-md5;[^,]*host;[^,]*x-amz-checksum-sha256;x-amz-content-sha256;x-amz-date;/,
    );
    expect(put?.path).toBe(`/${BUCKET}/checkpoints/7`);

    const forged = new S3Bucket(BUCKET, {
      ...standInOptions(`http://${put?.headers.host}`),
      credentials: { ...STAND_IN_CREDENTIALS, secretAccessKey: 'not-the-secret' },
    });
    const refused = await forged.has('checkpoints/7').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AwsServiceError);
    expect((refused as AwsServiceError).$metadata.httpStatusCode).toBe(403);
  });

  it('retries when S3 asks it to slow down, then writes once', async () => {
    const s3 = await standInS3({ slowDowns: 2 });
    await s3PublishedCheckpoints(s3.bucket).putCurrent('note 8\n');
    expect(s3.calls).toEqual(['PUT checkpoint', 'PUT checkpoint', 'PUT checkpoint']);
    expect(new TextDecoder().decode(s3.objects.get('checkpoint')?.body)).toBe('note 8\n');
  });
});
