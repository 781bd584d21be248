import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { z } from 'zod';
import type { ReadAudit } from '#claims/audited-read.ts';
import type { JournalReadPort } from '#claims/ports.ts';
import { CheckpointsRepository } from '#store/checkpoints.repository.ts';
import { ClaimRepository } from '#store/claims.repository.ts';
import { createDocumentClient } from '#store/dynamo-client.ts';
import { JournalRepository } from '#store/journal.repository.ts';
import { journalReader } from '#store/journal-reader.ts';
import { JournalSearchRepository } from '#store/journal-search.repository.ts';
import { JournalTreeRepository } from '#store/journal-tree.repository.ts';
import { RecordRepository } from '#store/records.repository.ts';
import { ReviewRepository } from '#store/reviews.repository.ts';

/** Configuration, read once at cold start; a missing variable fails fast with its name. */
const environment = z.object({
  CLAIMS_TABLE: z.string().min(1),
  RECORDS_TABLE: z.string().min(1),
  JOURNAL_TABLE: z.string().min(1),
  /** Rule files; the Lambda bundle ships them beside the handler. */
  RULES_DIR: z
    .string()
    .min(1)
    .default(fileURLToPath(new URL('../../rules', import.meta.url))),
  /** Set by the local server and tests; in the cloud the SDK resolves the endpoint itself. */
  DYNAMODB_ENDPOINT: z.string().url().optional(),
});

export interface AppContext {
  /** The process's one DynamoDB client, shared by every repository (benchmarks count its requests). */
  dynamo: DynamoDBDocumentClient;
  claims: ClaimRepository;
  records: RecordRepository;
  /** The fraud-review queue (review items live in the claims table). */
  reviews: ReviewRepository;
  journal: JournalRepository;
  tree: JournalTreeRepository;
  checkpoints: CheckpointsRepository;
  /** The journal's read side: checkpoints, entries, proofs, document history. */
  journalRead: JournalReadPort;
  /** Journals analysts' reads of claims (record.read entries). */
  readAudit: ReadAudit;
  /** Journal search and provider rollups; kept up to date by every integration round. */
  journalSearch: JournalSearchRepository;
  clock: () => string;
}

let context: Promise<AppContext> | undefined;

/** The composition root shared by all handlers of one process: clients and repositories, once. */
export function appContext(): Promise<AppContext> {
  context ??= Promise.resolve().then(build);
  return context;
}

export function config(): z.infer<typeof environment> {
  const parsed = environment.safeParse(process.env);
  if (!parsed.success) {
    const names = parsed.error.issues.map((i) => i.path.join('.')).join(', ');
    throw new Error(`Missing or invalid environment variables: ${names}`);
  }
  return parsed.data;
}

function build(): AppContext {
  const env = config();
  const client = createDocumentClient(env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT } : {});
  const journal = new JournalRepository(client, env.JOURNAL_TABLE);
  const records = new RecordRepository(client, env.RECORDS_TABLE, journal);
  const claims = new ClaimRepository(
    client,
    { claims: env.CLAIMS_TABLE, records: env.RECORDS_TABLE },
    records,
    journal,
  );
  const tree = new JournalTreeRepository(client, env.JOURNAL_TABLE, journal);
  const checkpoints = new CheckpointsRepository(client, env.JOURNAL_TABLE, tree);
  const reviews = new ReviewRepository(
    client,
    { claims: env.CLAIMS_TABLE, records: env.RECORDS_TABLE },
    journal,
  );
  const journalSearch = new JournalSearchRepository(client, env.JOURNAL_TABLE, journal);
  const clock = () => new Date().toISOString();
  return {
    dynamo: client,
    claims,
    records,
    reviews,
    journal,
    tree,
    checkpoints,
    journalRead: journalReader(journal, tree, checkpoints),
    readAudit: { recordRead: (key, entry) => journal.append(key, entry), clock, newKey: randomUUID },
    journalSearch,
    clock,
  };
}
