import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { bytesEqual } from '#journal/bytes.ts';
import { tilePath } from '#journal/tiles.ts';
import { MirrorConsistencyError, type PublishedCheckpoints } from './checkpoint-mirror.ts';
import type { PublishedTiles } from './tile-mirror.ts';

/** Key of the newest published checkpoint, as C2SP tlog-tiles names it. */
export const CURRENT_CHECKPOINT_KEY = 'checkpoint';

/** Key of the published checkpoint of tree size `size`. */
export const checkpointVersionKey = (size: number) => `checkpoints/${size}`;

const CONTENT_TYPE = 'text/plain; charset=utf-8';
const TILE_CONTENT_TYPE = 'application/octet-stream';
// C2SP tlog-tiles: tile resources are immutable, so caching may be long-lived.
const TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

const isStatus = (error: unknown, status: number): boolean =>
  error instanceof S3ServiceException && error.$metadata.httpStatusCode === status;

/**
 * Writes an object that may only ever hold one content (`If-None-Match: *`). Finding it already
 * there is a re-run after a crash and fine when the stored bytes are the same; different bytes
 * are a published object that disagrees with the journal, which is refused.
 */
async function putOnce(
  client: S3Client,
  bucket: string,
  object: { key: string; body: Uint8Array; contentType: string; cacheControl?: string; what: string },
): Promise<void> {
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: object.key,
        Body: object.body,
        ContentType: object.contentType,
        ...(object.cacheControl ? { CacheControl: object.cacheControl } : {}),
        IfNoneMatch: '*',
      }),
    );
  } catch (error: unknown) {
    if (!isStatus(error, 412)) throw error;
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.key }));
    const existing = await out.Body?.transformToByteArray();
    if (!existing || !bytesEqual(existing, object.body)) {
      throw new MirrorConsistencyError(`a different ${object.what} is already published at ${object.key}`);
    }
  }
}

/**
 * {@link PublishedCheckpoints} in an S3 bucket (Object Lock in compliance mode, versioned).
 * `checkpoints/<size>` is written with `If-None-Match: *`, so a size is published once; the SDK's
 * default request checksum satisfies Object Lock's integrity requirement on PUT.
 */
export function s3PublishedCheckpoints(client: S3Client, bucket: string): PublishedCheckpoints {
  const get = async (key: string): Promise<string | null> => {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await out.Body?.transformToString('utf-8')) ?? null;
    } catch (error: unknown) {
      if (error instanceof NoSuchKey) return null;
      throw error;
    }
  };
  return {
    current: () => get(CURRENT_CHECKPOINT_KEY),
    putVersion: (size, note) =>
      putOnce(client, bucket, {
        key: checkpointVersionKey(size),
        body: new TextEncoder().encode(note),
        contentType: CONTENT_TYPE,
        what: 'checkpoint',
      }),
    async putCurrent(note) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: CURRENT_CHECKPOINT_KEY,
          Body: note,
          ContentType: CONTENT_TYPE,
        }),
      );
    },
  };
}

/**
 * {@link PublishedTiles} in the checkpoint bucket, at the C2SP tlog-tiles paths
 * (`tile/<L>/<N>[.p/<W>]`). Every tile is written with `If-None-Match: *`: its name fixes its
 * content (a partial tile's name carries its width), so a tile is published once. Entry bundles
 * (`tile/entries/…`) are never written: journal entries carry PHI.
 */
export function s3PublishedTiles(client: S3Client, bucket: string): PublishedTiles {
  return {
    async has(tile) {
      try {
        await client.send(new HeadObjectCommand({ Bucket: bucket, Key: tilePath(tile) }));
        return true;
      } catch (error: unknown) {
        if (isStatus(error, 404)) return false;
        throw error;
      }
    },
    put: (tile, bytes) =>
      putOnce(client, bucket, {
        key: tilePath(tile),
        body: bytes,
        contentType: TILE_CONTENT_TYPE,
        cacheControl: TILE_CACHE_CONTROL,
        what: 'tile',
      }),
  };
}
