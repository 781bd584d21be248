import * as z from '#functions/zod.ts';
import { backgroundHandler } from '#http/lambda-observability.ts';
import { log } from '#http/logger.ts';
import { integrateAndPublish } from '#store/journal-publisher.ts';
import { kmsEd25519Signer } from '#store/kms-signer.ts';
import * as app from './app-context.ts';

/** The signing key (KMS, ECC_NIST_EDWARDS25519) and the log's name, which is also the key's. */
const environment = z.object({
  JOURNAL_SIGNING_KEY_ID: z.string().check(z.minLength(1)),
  JOURNAL_ORIGIN: z.string().check(z.regex(/^[^\s+]+$/)),
});

let signer: ReturnType<typeof kmsEd25519Signer> | undefined;

/**
 * Triggered by the journal table's stream when entries are sequenced (the CDK filter passes
 * only new `E#` items and changes of the sequence counter: a manifest's entries count once its
 * mark is cleared). The records themselves are not read: one round sweeps (finishing a manifest
 * a dead sequencer left), integrates whatever is written and signs a checkpoint, so a batch of
 * any size costs one round, and a failed round is retried by the stream with nothing lost.
 */
export const handler = backgroundHandler(async () => {
  const env = environment.parse(process.env);
  signer ??= kmsEd25519Signer(env.JOURNAL_ORIGIN, env.JOURNAL_SIGNING_KEY_ID);
  const startedAt = Date.now();
  const checkpoint = await integrateAndPublish({
    journal: app.journal(),
    tree: app.tree(),
    checkpoints: app.signingCheckpoints(),
    signer: await signer,
    origin: env.JOURNAL_ORIGIN,
    search: app.journalSearch(),
  });
  log('info', {
    component: 'journal-integrator',
    durationMs: Date.now() - startedAt,
    message: `checkpoint at size ${checkpoint.size}`,
  });
});
