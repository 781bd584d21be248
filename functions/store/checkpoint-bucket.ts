import {
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { MirrorConsistencyError, type PublishedCheckpoints } from './checkpoint-mirror.ts';

/** Key of the newest published checkpoint, as C2SP tlog-tiles names it. */
export const CURRENT_CHECKPOINT_KEY = 'checkpoint';

/** Key of the published checkpoint of tree size `size`. */
export const checkpointVersionKey = (size: number) => `checkpoints/${size}`;

const CONTENT_TYPE = 'text/plain; charset=utf-8';

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
    async putVersion(size, note) {
      const key = checkpointVersionKey(size);
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: note,
            ContentType: CONTENT_TYPE,
            IfNoneMatch: '*',
          }),
        );
      } catch (error: unknown) {
        if (!(error instanceof S3ServiceException && error.$metadata.httpStatusCode === 412)) throw error;
        // Already published (a re-run after a crash): fine if it is the same note.
        if ((await get(key)) !== note) {
          throw new MirrorConsistencyError(`a different checkpoint is already published at ${key}`);
        }
      }
    },
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
