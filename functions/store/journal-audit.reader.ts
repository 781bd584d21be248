// Read-only access to the journal table for the journal CLI: what a whole-journal verifier and
// an export need beyond the repositories' point reads.
//
// It reads raw items on purpose. JournalRepository.entries() keys its answer by the item's own
// `index` attribute and the node reader throws at the first missing node, which is right for
// serving proofs and wrong for an audit: here an entry is reported under the key it is stored
// at (and a differing `index` attribute is itself a finding), a missing node is a finding, and
// every checkpoint item is listed, not just the newest. The key shapes are the ones
// journal.repository.ts, journal-tree.repository.ts and checkpoints.repository.ts write; this
// module never writes.

import { type CheckpointRecord, type EntryRecord, nodeKey } from '#journal/audit-records.ts';
import { batchGetAll } from './batch.ts';
import { CheckpointsRepository } from './checkpoints.repository.ts';
import type { DocumentClient } from './dynamo.ts';
import { JournalRepository } from './journal.repository.ts';
import { CHECKPOINT_PK, entryKey, sequencingKey, treeNodeKey } from './journal-keys.ts';
import { JournalTreeRepository } from './journal-tree.repository.ts';
import { queryAll } from './query-all.ts';

/** Entries per page: one BatchGet. */
export const PAGE_SIZE = 100;

/** One page of the journal: its entries in index order and the stored nodes they complete. */
export interface JournalPage {
  from: number;
  to: number;
  records: EntryRecord[];
  /** Stored node hashes, lowercase hex, by nodeKey. */
  nodes: Map<string, string>;
}

/** What {@link JournalStorage.readPage} reads besides the entries. */
export interface PageOptions {
  /** Also read the key records and the stored nodes (for verification, not for export). */
  audit?: boolean;
  /** Size of the integrated tree: only its nodes are stored. */
  treeSize?: number;
}

/** The journal table, read for auditing. */
export class JournalStorage {
  readonly journal: JournalRepository;
  readonly tree: JournalTreeRepository;
  readonly checkpoints: CheckpointsRepository;

  constructor(
    private readonly client: DocumentClient,
    readonly table: string,
  ) {
    this.journal = new JournalRepository(client, table);
    this.tree = new JournalTreeRepository(client, table, this.journal);
    this.checkpoints = new CheckpointsRepository(client, table, this.tree);
  }

  /** Every stored checkpoint item, by size, as the verifier takes them. */
  async listCheckpoints(): Promise<CheckpointRecord[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': CHECKPOINT_PK },
      ConsistentRead: true,
    });
    return items.map((item) => ({
      note: typeof item.note === 'string' ? item.note : '',
      source: `checkpoint item ${String(item.sk)}`,
      stored: { size: Number(item.size), rootHash: String(item.rootHash), origin: String(item.origin) },
    }));
  }

  /**
   * Entries [from, to); with `audit`, also what the sequencer recorded for their keys and the
   * stored interior nodes these leaves complete within a tree of `treeSize`. Missing entries
   * are absent from `records`.
   */
  async readPage(from: number, to: number, options: PageOptions = {}): Promise<JournalPage> {
    const indices = Array.from({ length: to - from }, (_, i) => from + i);
    const nodeIds = options.audit ? completedNodes(from, to, options.treeSize ?? 0) : [];
    const [entryItems, nodeItems] = await Promise.all([
      batchGetAll(this.client, this.table, indices.map(entryKey)),
      batchGetAll(
        this.client,
        this.table,
        nodeIds.map(({ level, index }) => treeNodeKey(level, index)),
      ),
    ]);
    const records = indices.flatMap((index): EntryRecord[] => {
      const item = entryItems.get(entryKey(index).pk);
      if (!item) return [];
      const record: EntryRecord = {
        index,
        key: String(item.key),
        leafHash: typeof item.leafHash === 'string' ? item.leafHash : '',
        entry: typeof item.entry === 'string' ? item.entry : '',
      };
      if (item.index !== undefined) record.claimedIndex = Number(item.index);
      return [record];
    });
    if (options.audit) await this.attachSequencing(records);
    const nodes = new Map<string, string>();
    for (const { level, index } of nodeIds) {
      const item = nodeItems.get(treeNodeKey(level, index).pk);
      if (item) nodes.set(nodeKey(level, index), String(item.hash).toLowerCase());
    }
    return { from, to, records, nodes };
  }

  /** Indices in [from, to) that have an entry item. */
  async presentEntries(from: number, to: number): Promise<number[]> {
    const indices = Array.from({ length: to - from }, (_, i) => from + i);
    const items = await batchGetAll(this.client, this.table, indices.map(entryKey), { expression: 'pk' });
    return indices.filter((index) => items.has(entryKey(index).pk));
  }

  private async attachSequencing(records: EntryRecord[]): Promise<void> {
    const keys = [...new Set(records.map((record) => record.key))];
    const items = await batchGetAll(this.client, this.table, keys.map(sequencingKey));
    for (const record of records) {
      const item = items.get(sequencingKey(record.key).pk);
      record.sequencing = item
        ? {
            leafHash: String(item.leafHash),
            ...(item.index === undefined ? {} : { index: Number(item.index) }),
          }
        : null;
    }
  }
}

/**
 * Pages [0, end) in order, reading up to `ahead` pages ahead so the verifier hashes one page
 * while the next ones are in flight.
 */
export async function* journalPages(
  storage: JournalStorage,
  end: number,
  options: PageOptions & { ahead?: number; pageSize?: number } = {},
): AsyncGenerator<JournalPage> {
  const pageSize = options.pageSize ?? PAGE_SIZE;
  const ahead = options.ahead ?? 4;
  const inFlight: Promise<JournalPage>[] = [];
  let next = 0;
  const launch = () => {
    while (inFlight.length < ahead && next < end) {
      const from = next;
      const to = Math.min(end, from + pageSize);
      const page = storage.readPage(from, to, options);
      // Awaited in order below; this only keeps a failure of a page read ahead from being
      // reported as unhandled before its turn comes.
      page.catch(() => {});
      inFlight.push(page);
      next = to;
    }
  };
  launch();
  while (inFlight.length > 0) {
    const page = await inFlight.shift()!;
    launch();
    yield page;
  }
}

/** Interior nodes (level ≥ 1) that leaves [from, to) complete, within a tree of `treeSize`. */
function completedNodes(from: number, to: number, treeSize: number): { level: number; index: number }[] {
  const nodes: { level: number; index: number }[] = [];
  for (let leaf = from; leaf < Math.min(to, treeSize); leaf++) {
    // Leaf `leaf` completes the nodes whose span ends at it: one per trailing one bit.
    for (let level = 1, span = 2; (leaf + 1) % span === 0; level++, span *= 2) {
      nodes.push({ level, index: (leaf + 1) / span - 1 });
    }
  }
  return nodes;
}
