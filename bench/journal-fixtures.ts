/**
 * Fixtures for bench/journal.bench.ts: journal entries shaped like the ones the claim path
 * writes, a request counter on the document client, an in-memory Merkle tree that knows the
 * hash of every complete node, and a bulk writer of the items the integrator would store.
 */
import { fileURLToPath } from 'node:url';
import { claimSubmissionSchema } from '../functions/claims/claim.schema.ts';
import { contentHash } from '../functions/claims/hashing.ts';
import { decisionSummary } from '../functions/claims/submit-claim.ts';
import { loadRuleSet } from '../functions/engine/loader.ts';
import { toHex } from '../functions/journal/bytes.ts';
import { encodeEntry, type JournalEntry } from '../functions/journal/entry.ts';
import {
  hashChildren,
  hashLeaf,
  type NodeId,
  rightEdgeNodes,
  rootFromRightEdge,
} from '../functions/journal/merkle.ts';
import { demoClaim, demoMembers, demoProviders, demoTreatments } from '../functions/local/demo-seed.ts';
import {
  BatchWriteCommand,
  type DocumentClient,
  type DynamoDocumentClient,
} from '../functions/store/dynamo.ts';
import { entryKey, treeNodeKey } from '../functions/store/journal-keys.ts';

/**
 * A `claim.decided` entry factory built the way submit-claim.ts builds one: the demo claim
 * decided by the default rule set on the demo member's records, summarised with
 * `decisionSummary`. Only the claim id (and so docId, payload ids and hash) and `at` vary.
 */
export async function decidedEntries(): Promise<(n: number) => JournalEntry> {
  const ruleSet = await loadRuleSet(fileURLToPath(new URL('../rules/', import.meta.url)));
  const member = demoMembers.M1001!;
  const claim = claimSubmissionSchema.parse(demoClaim);
  const decision = ruleSet.evaluate(claim, {
    memberId: claim.memberId,
    member: member.member,
    coverages: member.coverages,
    treatments: demoTreatments.filter((t) => t.memberId === claim.memberId),
    accumulators: [],
    priorClaimLines: [],
  });
  const summary = decisionSummary(decision);
  return (n) => {
    const submission = { ...claim, claimId: `BENCH-${n}` };
    return {
      type: 'claim.decided',
      docId: `claim/c${contentHash({ n }).slice(0, 31)}`,
      docRevision: 1,
      ruleSetHash: decision.ruleSetHash,
      actor: { sub: 'riverside-billing', role: 'provider' },
      at: new Date().toISOString(),
      payload: {
        claimId: submission.claimId,
        billingProviderNpi: demoProviders.familyClinic.npi,
        memberId: submission.memberId,
        submissionHash: contentHash(submission),
        ...summary,
      },
    };
  };
}

/**
 * Canonical bytes of leaf `n` of a bulk-built tree, without running the encoder a million
 * times: the RFC 8785 encoding of a template entry whose varying values are fixed-width digit
 * strings, so substituting them keeps the text canonical. {@link checkLeafTemplate} proves it
 * against `encodeEntry` on samples.
 */
export function leafTemplate(base: JournalEntry): {
  text: (n: number) => string;
  entry: (n: number) => JournalEntry;
} {
  const marker = '9999999999';
  const entry = (n: number): JournalEntry => {
    const id = String(n).padStart(10, '0');
    return {
      ...base,
      docId: `claim/tree-${id}`,
      at: '2026-03-02T12:00:00.000Z',
      payload: { ...base.payload, claimId: `TREE-${id}` },
    };
  };
  const template = Buffer.from(encodeEntry(entry(Number(marker)))).toString('utf8');
  const parts = template.split(marker);
  return { text: (n) => parts.join(String(n).padStart(10, '0')), entry };
}

export function checkLeafTemplate(template: ReturnType<typeof leafTemplate>, samples: number[]): void {
  for (const n of samples) {
    const expected = Buffer.from(encodeEntry(template.entry(n))).toString('utf8');
    if (template.text(n) !== expected) throw new Error(`leaf template is not canonical for leaf ${n}`);
  }
}

/** Counts requests (by command), BatchGet keys and sequencing transactions sent through a document client. */
export function countRequests(client: DynamoDocumentClient) {
  const counts = new Map<string, number>();
  let batchGetKeys = 0;
  // Sequencing transactions: the ones that move the size counter (STATE/SEQUENCE); `entries`
  // is how many entry items (E#) each tried to write.
  const sequencing: { items: number; entries: number }[] = [];
  client.onRequest((name, request) => {
    counts.set(name, (counts.get(name) ?? 0) + 1);
    const input = request as {
      RequestItems?: Record<string, { Keys?: unknown[] }>;
      TransactItems?: {
        Put?: { Item?: { pk?: unknown; entries?: unknown[] } };
        Update?: { Key?: { pk?: unknown; sk?: unknown } };
      }[];
    };
    if (name === 'BatchGetItem') {
      for (const table of Object.values(input.RequestItems ?? {})) batchGetKeys += table.Keys?.length ?? 0;
    }
    const items = input.TransactItems ?? [];
    if (items.some((t) => t.Update?.Key?.pk === 'STATE' && t.Update.Key.sk === 'SEQUENCE')) {
      // Entry items in the transaction, or the entries of the manifest it commits.
      const entries = items.reduce((n, t) => {
        const pk = String(t.Put?.Item?.pk ?? '');
        return n + (pk.startsWith('E#') ? 1 : pk.startsWith('M#') ? (t.Put?.Item?.entries?.length ?? 0) : 0);
      }, 0);
      sequencing.push({ items: items.length, entries });
    }
  });
  return {
    snapshot() {
      return { requests: Object.fromEntries(counts), batchGetKeys, sequencing: [...sequencing] };
    },
    reset() {
      counts.clear();
      batchGetKeys = 0;
      sequencing.length = 0;
    },
    total() {
      let sum = 0;
      for (const v of counts.values()) sum += v;
      return sum;
    },
  };
}

/**
 * Every complete node of a tree of `leaves.length` leaves, level by level in flat buffers
 * (32 bytes a hash): what the integrator would have stored, computed with merkle.ts hashing.
 */
export class CompleteTree {
  readonly levels: Buffer[] = [];

  constructor(leafHashes: Buffer) {
    this.levels.push(leafHashes);
    for (let level = leafHashes; level.length >= 64; ) {
      const count = Math.floor(level.length / 64);
      const next = Buffer.allocUnsafe(count * 32);
      for (let i = 0; i < count; i++) {
        next.set(
          hashChildren(level.subarray(i * 64, i * 64 + 32), level.subarray(i * 64 + 32, i * 64 + 64)),
          i * 32,
        );
      }
      this.levels.push(next);
      level = next;
    }
  }

  get size(): number {
    return this.levels[0]!.length / 32;
  }

  node(level: number, index: number): Uint8Array {
    const row = this.levels[level];
    if (!row || (index + 1) * 32 > row.length) throw new Error(`node (${level}, ${index}) is not complete`);
    return new Uint8Array(row.subarray(index * 32, index * 32 + 32));
  }

  edge(size: number): Uint8Array[] {
    return rightEdgeNodes(size).map((n) => this.node(n.level, n.index));
  }

  root(size: number): Uint8Array {
    return rootFromRightEdge(this.edge(size));
  }

  /** Interior nodes (level ≥ 1), bottom-up. */
  *interiorNodes(): Generator<NodeId> {
    for (let level = 1; level < this.levels.length; level++) {
      const count = this.levels[level]!.length / 32;
      for (let index = 0; index < count; index++) yield { level, index };
    }
  }
}

/** Leaf hashes of leaves [0, count), from their canonical text; progress every 10^5. */
export function leafHashes(count: number, text: (n: number) => string, progress: (done: number) => void) {
  const out = Buffer.allocUnsafe(count * 32);
  for (let n = 0; n < count; n++) {
    out.set(hashLeaf(Buffer.from(text(n), 'utf8')), n * 32);
    if ((n + 1) % 100_000 === 0) progress(n + 1);
  }
  return out;
}

export function entryItem(index: number, text: string, leafHash: Uint8Array): Record<string, unknown> {
  return {
    ...entryKey(index),
    index,
    key: `bench-tree/${index}`,
    entry: text,
    leafHash: toHex(leafHash),
  };
}

export function nodeItem(level: number, index: number, hash: Uint8Array): Record<string, unknown> {
  return { ...treeNodeKey(level, index), level, index, hash: toHex(hash) };
}

/** BatchWrite of `items` (25 a request, unprocessed items retried) with `concurrency` workers. */
export async function bulkWrite(
  client: DocumentClient,
  table: string,
  items: Iterable<Record<string, unknown>>,
  options: { concurrency?: number; progress?: (written: number) => void } = {},
): Promise<number> {
  const iterator = items[Symbol.iterator]();
  let written = 0;
  let lastReport = 0;
  const take = () => {
    const chunk: Record<string, unknown>[] = [];
    for (let r = iterator.next(); !r.done; r = iterator.next()) {
      chunk.push(r.value);
      if (chunk.length === 25) break;
    }
    return chunk;
  };
  const worker = async () => {
    for (let chunk = take(); chunk.length > 0; chunk = take()) {
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 10 * 2 ** attempt)));
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] as typeof requests | undefined) ?? [];
      }
      written += chunk.length;
      if (options.progress && written - lastReport >= 20_000) {
        lastReport = written;
        options.progress(written);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 6 }, worker));
  return written;
}
