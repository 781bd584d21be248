import * as z from '#functions/zod.ts';
import { backgroundHandler } from '#http/lambda-observability.ts';
import { log } from '#http/logger.ts';
import { s3PublishedCheckpoints, s3PublishedTiles } from '#store/checkpoint-bucket.ts';
import {
  type CheckpointMirror,
  MirrorConsistencyError,
  mirrorLatestCheckpoint,
} from '#store/checkpoint-mirror.ts';
import { CheckpointReads } from '#store/checkpoint-reads.ts';
import { createDocumentClient } from '#store/dynamo-client.ts';
import { JournalRepository } from '#store/journal.repository.ts';
import { JournalTreeRepository } from '#store/journal-tree.repository.ts';
import { KmsClient } from '#store/kms.ts';
import { kmsEd25519VerifierKey } from '#store/kms-verifier-key.ts';
import { S3Bucket } from '#store/s3-bucket.ts';

const environment = z.object({
  JOURNAL_TABLE: z.string().check(z.minLength(1)),
  JOURNAL_SIGNING_KEY_ID: z.string().check(z.minLength(1)),
  JOURNAL_ORIGIN: z.string().check(z.regex(/^[^\s+]+$/)),
  CHECKPOINT_BUCKET: z.string().check(z.minLength(1)),
});

let mirror: Promise<CheckpointMirror> | undefined;

/** Composition root, once per cold start: only what publishing needs, not the whole app context. */
async function build(): Promise<CheckpointMirror> {
  const env = environment.parse(process.env);
  const doc = createDocumentClient();
  const tree = new JournalTreeRepository(
    doc,
    env.JOURNAL_TABLE,
    new JournalRepository(doc, env.JOURNAL_TABLE),
  );
  const bucket = new S3Bucket(env.CHECKPOINT_BUCKET);
  return {
    checkpoints: new CheckpointReads(doc, env.JOURNAL_TABLE),
    tree,
    published: s3PublishedCheckpoints(bucket),
    tiles: s3PublishedTiles(bucket),
    verifierKey: await kmsEd25519VerifierKey(env.JOURNAL_ORIGIN, env.JOURNAL_SIGNING_KEY_ID, new KmsClient()),
    origin: env.JOURNAL_ORIGIN,
  };
}

/**
 * Every 5 minutes (EventBridge): publish the newest signed checkpoint to the checkpoint bucket
 * after checking it against the published one, preceded by the C2SP tlog-tiles it commits to
 * (hashes only: entry bundles are not published, entries carry PHI). A refusal is logged as `inconsistent-checkpoint`
 * (a metric filter turns it into the consistency alarm) and rethrown, so the run counts as failed.
 */
export const handler = backgroundHandler(async () => {
  mirror ??= build().catch((error: unknown) => {
    mirror = undefined;
    throw error;
  });
  const component = 'checkpoint-publisher';
  try {
    const result = await mirrorLatestCheckpoint(await mirror);
    const message =
      result.status === 'empty'
        ? 'no checkpoint yet'
        : `${result.status} at size ${result.size}, ${result.tiles} tiles written`;
    log('info', { component, message });
  } catch (error: unknown) {
    const problem = error instanceof MirrorConsistencyError ? 'inconsistent-checkpoint' : 'publish-failed';
    log('error', { component, problem, error: error instanceof Error ? error.message : String(error) });
    throw error;
  }
});
