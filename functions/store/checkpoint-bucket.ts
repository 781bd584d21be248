import { bytesEqual } from '#journal/bytes.ts';
import { tilePath } from '#journal/tiles.ts';
import { MirrorConsistencyError, type PublishedCheckpoints } from './checkpoint-mirror.ts';
import { isStatus, type S3Bucket } from './s3-bucket.ts';
import type { PublishedTiles } from './tile-mirror.ts';

/** Key of the newest published checkpoint, as C2SP tlog-tiles names it. */
export const CURRENT_CHECKPOINT_KEY = 'checkpoint';

/** Key of the published checkpoint of tree size `size`. */
export const checkpointVersionKey = (size: number) => `checkpoints/${size}`;

const CONTENT_TYPE = 'text/plain; charset=utf-8';
const TILE_CONTENT_TYPE = 'application/octet-stream';
// C2SP tlog-tiles: tile resources are immutable, so caching may be long-lived.
const TILE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * Writes an object that may only ever hold one content (`If-None-Match: *`). Finding it already
 * there is a re-run after a crash and fine when the stored bytes are the same; different bytes
 * are a published object that disagrees with the journal, which is refused.
 */
async function putOnce(
  bucket: S3Bucket,
  object: { key: string; body: Uint8Array; contentType: string; cacheControl?: string; what: string },
): Promise<void> {
  const { what, ...put } = object;
  try {
    await bucket.put({ ...put, ifAbsent: true });
  } catch (error: unknown) {
    if (!isStatus(error, 412)) throw error;
    const existing = await bucket.get(object.key);
    if (!existing || !bytesEqual(existing, object.body)) {
      throw new MirrorConsistencyError(`a different ${what} is already published at ${object.key}`);
    }
  }
}

/**
 * {@link PublishedCheckpoints} in an S3 bucket (Object Lock in compliance mode, versioned).
 * `checkpoints/<size>` is written with `If-None-Match: *`, so a size is published once.
 */
export function s3PublishedCheckpoints(bucket: S3Bucket): PublishedCheckpoints {
  const encode = (note: string) => new TextEncoder().encode(note);
  return {
    async current() {
      const bytes = await bucket.get(CURRENT_CHECKPOINT_KEY);
      return bytes === null ? null : new TextDecoder().decode(bytes);
    },
    putVersion: (size, note) =>
      putOnce(bucket, {
        key: checkpointVersionKey(size),
        body: encode(note),
        contentType: CONTENT_TYPE,
        what: 'checkpoint',
      }),
    putCurrent: (note) =>
      bucket.put({ key: CURRENT_CHECKPOINT_KEY, body: encode(note), contentType: CONTENT_TYPE }),
  };
}

/**
 * {@link PublishedTiles} in the checkpoint bucket, at the C2SP tlog-tiles paths
 * (`tile/<L>/<N>[.p/<W>]`). Every tile is written with `If-None-Match: *`: its name fixes its
 * content (a partial tile's name carries its width), so a tile is published once. Entry bundles
 * (`tile/entries/…`) are never written: journal entries carry PHI.
 */
export function s3PublishedTiles(bucket: S3Bucket): PublishedTiles {
  return {
    has: (tile) => bucket.has(tilePath(tile)),
    put: (tile, bytes) =>
      putOnce(bucket, {
        key: tilePath(tile),
        body: bytes,
        contentType: TILE_CONTENT_TYPE,
        cacheControl: TILE_CACHE_CONTROL,
        what: 'tile',
      }),
  };
}
