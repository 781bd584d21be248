import { randomUUID } from 'node:crypto';
import type { ReadAudit } from '#claims/audited-read.ts';
import type { JournalReadPort } from '#claims/ports.ts';
import { REPOSITORY_RULES_DIR } from '#engine/rule-files.ts';
import { once } from '#functions/once.ts';
import * as z from '#functions/zod.ts';
import { CheckpointReads } from '#store/checkpoint-reads.ts';
import { CheckpointsRepository } from '#store/checkpoints.repository.ts';
import { ClaimReads } from '#store/claim-reads.ts';
import { ClaimRepository } from '#store/claims.repository.ts';
import type { DynamoDocumentClient } from '#store/dynamo.ts';
import { createDocumentClient } from '#store/dynamo-client.ts';
import { JournalRepository } from '#store/journal.repository.ts';
import { journalReader } from '#store/journal-reader.ts';
import { JournalSearchRepository } from '#store/journal-search.repository.ts';
import { JournalTreeRepository } from '#store/journal-tree.repository.ts';
import { RecordRepository } from '#store/records.repository.ts';
import { ReviewReads } from '#store/review-reads.ts';
import { ReviewRepository } from '#store/reviews.repository.ts';

/** Configuration, read once at cold start; a missing variable fails fast with its name. */
const environment = z.object({
  CLAIMS_TABLE: z.string().check(z.minLength(1)),
  RECORDS_TABLE: z.string().check(z.minLength(1)),
  JOURNAL_TABLE: z.string().check(z.minLength(1)),
  /** Rule files; the Lambda bundle ships them beside the handler. */
  RULES_DIR: z._default(z.string().check(z.minLength(1)), REPOSITORY_RULES_DIR),
  /**
   * The content hash of the rule set this function was deployed with (set by the stack on the
   * functions that decide claims; unset locally, where rule files are edited freely).
   */
  RULE_SET_HASH: z.optional(z.string().check(z.regex(/^[0-9a-f]{64}$/))),
  /**
   * The rule files as recorded when they were checked (engine/recorded-source.ts), so that
   * deciding functions load them without a YAML parser: written beside the handler by synth,
   * and into the state directory by the local stack at start.
   */
  RULE_SOURCES: z.optional(z.string().check(z.minLength(1))),
  /**
   * Partitions staged journal entries are spread over (~166 appends/s each on DynamoDB). The
   * stack sets 16; locally 4 (fewer Queries per round). Never lower it on a live table:
   * entries staged in a dropped partition would wait for a sweep that no longer reads it.
   */
  JOURNAL_PENDING_SHARDS: z._default(z.coerce.number().check(z.int(), z.gte(1), z.lte(64)), 4),
  /** Set by the local server and tests; in the cloud the AWS client resolves the endpoint itself (store/aws-http.ts). */
  DYNAMODB_ENDPOINT: z.optional(z.string().check(z.url())),
});

export interface AppContext {
  /** The process's one DynamoDB client, shared by every repository (benchmarks count its requests). */
  dynamo: DynamoDocumentClient;
  claims: ClaimRepository;
  records: RecordRepository;
  /** The fraud-review queue (review items live in the claims table). */
  reviews: ReviewRepository;
  journal: JournalRepository;
  tree: JournalTreeRepository;
  /** Reads only: the integrator signs through signingCheckpoints. */
  checkpoints: CheckpointReads;
  /** The journal's read side: checkpoints, entries, proofs, document history. */
  journalRead: JournalReadPort;
  /** Journals analysts' reads of claims (record.read entries). */
  readAudit: ReadAudit;
  /** Journal search and provider rollups; kept up to date by every integration round. */
  journalSearch: JournalSearchRepository;
  clock: () => string;
}

// The composition root: each dependency is made on first use and then shared by the whole
// process. Handlers import only the getters they call, so a bundle carries only the
// repositories its route uses (a read of the journal does not bundle the review queue);
// the `@__PURE__` marks tell esbuild an unused getter can be dropped.

export const config = /* @__PURE__ */ once((): z.infer<typeof environment> => {
  const parsed = environment.safeParse(process.env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`Missing or invalid environment variables: ${names}`);
  }
  return parsed.data;
});

export const clock = (): string => new Date().toISOString();

export const dynamo = /* @__PURE__ */ once(() => {
  const endpoint = config().DYNAMODB_ENDPOINT;
  return createDocumentClient(endpoint ? { endpoint } : {});
});

export const journal = /* @__PURE__ */ once(
  () =>
    new JournalRepository(dynamo(), config().JOURNAL_TABLE, {
      pendingShards: config().JOURNAL_PENDING_SHARDS,
    }),
);

export const records = /* @__PURE__ */ once(
  () => new RecordRepository(dynamo(), config().RECORDS_TABLE, journal()),
);

export const claims = /* @__PURE__ */ once(() => {
  const env = config();
  return new ClaimRepository(
    dynamo(),
    { claims: env.CLAIMS_TABLE, records: env.RECORDS_TABLE },
    records(),
    journal(),
  );
});

export const reviews = /* @__PURE__ */ once(() => {
  const env = config();
  return new ReviewRepository(dynamo(), { claims: env.CLAIMS_TABLE, records: env.RECORDS_TABLE }, journal());
});

/** Claims read only (the read handlers): no facts gathering or decision write path in their bundles. */
export const claimReads = /* @__PURE__ */ once(
  () => new ClaimReads(dynamo(), { claims: config().CLAIMS_TABLE }, journal()),
);

/** Reviews read only (the review detail): no queue planner or write path in its bundle. */
export const reviewReads = /* @__PURE__ */ once(
  () => new ReviewReads(dynamo(), { claims: config().CLAIMS_TABLE }),
);

export const tree = /* @__PURE__ */ once(
  () => new JournalTreeRepository(dynamo(), config().JOURNAL_TABLE, journal()),
);

export const checkpoints = /* @__PURE__ */ once(() => new CheckpointReads(dynamo(), config().JOURNAL_TABLE));

/** Signs checkpoints: only the integrator uses it, so only its bundle carries Ed25519. */
export const signingCheckpoints = /* @__PURE__ */ once(
  () => new CheckpointsRepository(dynamo(), config().JOURNAL_TABLE, tree()),
);

export const journalRead = /* @__PURE__ */ once(() => journalReader(journal(), tree(), checkpoints()));

export const readAudit = /* @__PURE__ */ once(
  (): ReadAudit => ({ recordRead: (key, entry) => journal().append(key, entry), clock, newKey: randomUUID }),
);

export const journalSearch = /* @__PURE__ */ once(
  () => new JournalSearchRepository(dynamo(), config().JOURNAL_TABLE, journal()),
);

/** Everything at once, for the local stack and the benchmarks, which use every part. */
export async function appContext(): Promise<AppContext> {
  return {
    dynamo: dynamo(),
    claims: claims(),
    records: records(),
    reviews: reviews(),
    journal: journal(),
    tree: tree(),
    checkpoints: checkpoints(),
    journalRead: journalRead(),
    readAudit: readAudit(),
    journalSearch: journalSearch(),
    clock,
  };
}
