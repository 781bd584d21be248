// The S3 adapters against an in-memory stand-in for S3 that answers the way S3 does (412 on
// If-None-Match over an existing key, NoSuchKey on GET and a bare 404 on HEAD of a missing key).
// S3 itself cannot run here; what these check is how the adapters read S3's answers.

import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { encodeTile } from '../../../functions/journal/tiles.ts';
import { s3PublishedCheckpoints, s3PublishedTiles } from '../../../functions/store/checkpoint-bucket.ts';
import { MirrorConsistencyError } from '../../../functions/store/checkpoint-mirror.ts';
import { makeLeafHashes } from '../journal/support.ts';

interface StoredObject {
  body: Uint8Array;
  contentType: string | undefined;
  cacheControl: string | undefined;
}

function fakeS3(options: { denyHead?: boolean } = {}) {
  const objects = new Map<string, StoredObject>();
  const calls: string[] = [];
  const send = async (command: unknown) => {
    if (command instanceof PutObjectCommand) {
      const { Key, Body, IfNoneMatch, ContentType, CacheControl } = command.input;
      calls.push(`PUT ${Key}${IfNoneMatch ? ' if-none-match' : ''}`);
      if (IfNoneMatch === '*' && objects.has(Key!)) {
        throw new S3ServiceException({
          name: 'PreconditionFailed',
          $fault: 'client',
          $metadata: { httpStatusCode: 412 },
        });
      }
      const body =
        typeof Body === 'string' ? new TextEncoder().encode(Body) : new Uint8Array(Body as Uint8Array);
      objects.set(Key!, { body, contentType: ContentType, cacheControl: CacheControl });
      return {};
    }
    if (command instanceof GetObjectCommand) {
      const key = command.input.Key!;
      calls.push(`GET ${key}`);
      const object = objects.get(key);
      if (!object)
        throw new NoSuchKey({
          message: 'The specified key does not exist.',
          $metadata: { httpStatusCode: 404 },
        });
      return {
        Body: {
          transformToString: async () => new TextDecoder().decode(object.body),
          transformToByteArray: async () => new Uint8Array(object.body),
        },
      };
    }
    if (command instanceof HeadObjectCommand) {
      const key = command.input.Key!;
      calls.push(`HEAD ${key}`);
      if (options.denyHead) {
        throw new S3ServiceException({
          name: 'Forbidden',
          $fault: 'client',
          $metadata: { httpStatusCode: 403 },
        });
      }
      if (!objects.has(key)) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
      return {};
    }
    throw new Error('unexpected command');
  };
  return { client: { send } as unknown as S3Client, objects, calls };
}

describe('tiles in the checkpoint bucket', () => {
  const tile = { level: 0, index: 1_234_067, width: 3 };
  const bytes = encodeTile(makeLeafHashes(3));

  it('writes each tile once at its C2SP path, as immutable octets', async () => {
    const s3 = fakeS3();
    const tiles = s3PublishedTiles(s3.client, 'bucket');
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
    const s3 = fakeS3();
    const tiles = s3PublishedTiles(s3.client, 'bucket');
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
    const tiles = s3PublishedTiles(fakeS3({ denyHead: true }).client, 'bucket');
    await expect(tiles.has(tile)).rejects.toThrow(S3ServiceException);
  });
});

describe('checkpoints in the checkpoint bucket', () => {
  it('reads nothing before the first publication, then writes checkpoints/<size> once and replaces checkpoint', async () => {
    const s3 = fakeS3();
    const published = s3PublishedCheckpoints(s3.client, 'bucket');
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
