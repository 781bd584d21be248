// The journal's integrator on DynamoDB: folds sequenced entries into the RFC 9162 Merkle tree
// and stores its complete subtrees, so any root or proof costs O(log n) reads.
//
// Storage shape: one item per complete interior node, `pk=N#<level 2 digits>#<index 16 digits>`,
// `sk=N`, with `level`, `index` and `hash` (hex), in the journal table. Why nodes and not
// C2SP tiles as items:
// - A complete node never changes, so every node item is written once and never rewritten;
//   tile items would be partial tiles rewritten at growing sizes (up to 8 KB, i.e. 8 WCU, per
//   rewrite) on every integration batch, which costs more than the ~1 small item per entry
//   written here.
// - Each node has its own partition key, so integration writes spread over partitions and
//   never meet the 1,000 WCU/s per-partition limit.
// - A proof is one BatchGet of at most 2·log2(n) + 1 keys (≤ 100 for any n < 2^49).
// - C2SP tile resources can still be served from these items: tileCoordinatesForNode maps
//   each tile hash to a node.
// Level 0 is not duplicated: leaf hashes are read from the sequencer's entry items
// (`pk=E#<12-digit index>`, `leafHash`), which are immutable once sequenced; that halves
// integration writes. The integrator recomputes each leaf hash from the entry bytes before it
// folds it, so a stored leaf hash that disagrees with its entry never enters the tree.
//
// Crash safety: nodes are written before the tree state, and a node's hash depends only on the
// immutable entries below it. A crash between the two leaves extra, correct node items; the
// next run starts again from the old state, rewrites identical nodes and advances the state.
// The state advances with a conditional write on its previous size, so of two concurrent
// integrators exactly one moves it; the loser's node writes were identical anyway.

import { fromHex, toHex, utf8Encode } from '#journal/bytes.ts';
import {
  appendLeaves,
  consistencyProof as buildConsistencyProof,
  inclusionProof as buildInclusionProof,
  EMPTY_ROOT,
  hashLeaf,
  inclusionProofNodes,
  type NodeId,
  NodeReadError,
  type NodeReader,
  rootFromRightEdge,
  type StoredNode,
  TreeRangeError,
} from '#journal/merkle.ts';
import { type Tile, tileNodes } from '#journal/tiles.ts';
import { batchGetAll, batchPutAll } from './batch.ts';
import { type DocumentClient, GetCommand, UpdateCommand } from './dynamo.ts';
import type { JournalRepository } from './journal.repository.ts';
import { entryKey, treeNodeKey } from './journal-keys.ts';
import { conditionalWrite } from './transactions.ts';

/** The integrated tree: its size, root and right edge (hashes of `rightEdgeNodes(size)`). */
export interface TreeState {
  size: number;
  root: Uint8Array;
  edge: Uint8Array[];
}

/** What one {@link JournalTreeRepository.integrate} call did. */
export interface IntegrationResult {
  /** Tree state after the call (another integrator's, when this one lost the race). */
  state: TreeState;
  /** Entries this call integrated; 0 when there was nothing to do or another integrator won. */
  integrated: number;
}

/** Stored data the integrator refuses to build on: a leaf that disagrees with its entry, a gap, a bad state. */
export class JournalIntegrityError extends Error {
  override name = 'JournalIntegrityError';
}

const DEFAULT_MAX_BATCH = 1024;
const STATE_KEY = { pk: 'STATE', sk: 'TREE' };

/**
 * Integrator and proof source of the journal's Merkle tree, stored in the journal table.
 * Integration runs in-process locally and from the table's stream in the cloud; both call
 * {@link JournalTreeRepository.integrate}.
 */
export class JournalTreeRepository {
  constructor(
    private readonly client: DocumentClient,
    private readonly table: string,
    private readonly journal: JournalRepository,
  ) {}

  /** The integrated tree's state; the empty tree before the first integration. */
  async treeState(): Promise<TreeState> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: STATE_KEY, ConsistentRead: true }),
    );
    if (!Item) return { size: 0, root: EMPTY_ROOT, edge: [] };
    return {
      size: Number(Item.size),
      root: fromHex(String(Item.root)),
      edge: ((Item.edge as string[] | undefined) ?? []).map((hash) => fromHex(hash)),
    };
  }

  /**
   * Integrates up to `maxBatch` sequenced (and written) entries beyond the tree: reads them,
   * checks each leaf hash against its entry bytes, writes the nodes they complete, then
   * advances the tree state conditionally on its previous size. Idempotent and safe to re-run
   * after a crash.
   *
   * @throws JournalIntegrityError when an entry is missing or its leaf hash is wrong, or the
   *   stored state is self-inconsistent.
   */
  async integrate(maxBatch: number = DEFAULT_MAX_BATCH): Promise<IntegrationResult> {
    return this.integrateTowards(await this.journal.writtenSize(), maxBatch);
  }

  /**
   * Integrates until the tree covers every entry sequenced and written when the call started,
   * in batches of `maxBatch`. Returns the final state.
   */
  async integrateAll(maxBatch: number = DEFAULT_MAX_BATCH): Promise<TreeState> {
    // Both reads at once; each step then starts from the state the previous one wrote (its
    // conditional write catches another integrator having moved the tree meanwhile).
    let [target, state] = await Promise.all([this.journal.writtenSize(), this.treeState()]);
    for (;;) {
      ({ state } = await this.integrateTowards(target, maxBatch, state));
      if (state.size >= target) return state;
    }
  }

  /**
   * One {@link integrate} step, given how many entries are known to be sequenced, from the
   * stored tree state (read now unless the caller just read or wrote it).
   */
  private async integrateTowards(
    sequenced: number,
    maxBatch: number,
    known?: TreeState,
  ): Promise<IntegrationResult> {
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) {
      throw new TreeRangeError('maxBatch must be a positive integer');
    }
    const state = known ?? (await this.treeState());
    // The fold starts from the stored edge, so check it still produces the stored root:
    // integrating on a tampered or torn edge would bake the damage into every later root.
    if (toHex(rootFromRightEdge(state.edge)) !== toHex(state.root)) {
      throw new JournalIntegrityError(
        `tree state at size ${state.size}: right edge does not fold to the root`,
      );
    }
    const count = Math.min(sequenced - state.size, maxBatch);
    if (count <= 0) return { state, integrated: 0 };

    const indices = Array.from({ length: count }, (_, i) => state.size + i);
    const entries = await this.journal.entries(indices);
    const leafHashes = indices.map((index, i) => {
      const entry = entries[i];
      if (entry?.index !== index) throw new JournalIntegrityError(`sequenced entry ${index} is missing`);
      const computed = hashLeaf(utf8Encode(entry.entry));
      if (toHex(computed) !== entry.leafHash) {
        throw new JournalIntegrityError(`entry ${index}: stored leaf hash does not match the entry bytes`);
      }
      return computed;
    });

    let folded: ReturnType<typeof appendLeaves>;
    try {
      folded = appendLeaves({ size: state.size, hashes: state.edge }, leafHashes);
    } catch (error: unknown) {
      if (error instanceof NodeReadError) {
        throw new JournalIntegrityError(`tree state at size ${state.size} is malformed: ${error.message}`);
      }
      throw error;
    }
    await this.writeNodes(folded.completed.filter((node) => node.level > 0));

    const next: TreeState = { size: folded.edge.size, root: folded.root, edge: folded.edge.hashes };
    if (!(await this.advanceState(state.size, next))) return { state: await this.treeState(), integrated: 0 };
    return { state: next, integrated: count };
  }

  /**
   * A merkle.ts {@link NodeReader} over the stored nodes: one BatchGet (plus retries of
   * unprocessed keys) for up to 100 distinct nodes, which covers any proof. Level-0 nodes are
   * the entries' leaf hashes.
   *
   * @throws NodeReadError when a requested node is not stored.
   */
  nodeReader(): NodeReader {
    return async (nodes: NodeId[]) => {
      const keyOf = (node: NodeId) =>
        node.level === 0 ? entryKey(node.index) : treeNodeKey(node.level, node.index);
      const found = await batchGetAll(this.client, this.table, nodes.map(keyOf), {
        expression: 'pk, #hash, leafHash',
        names: { '#hash': 'hash' },
      });
      return nodes.map((node) => {
        const item = found.get(keyOf(node).pk);
        if (!item) throw new NodeReadError(`node (${node.level}, ${node.index}) is not stored`);
        return fromHex(String(node.level === 0 ? item.leafHash : item.hash));
      });
    };
  }

  /**
   * The hashes a C2SP tlog-tiles tile holds, in order: tree level 8·`tile.level`, nodes
   * `tile.index`·256 … + `tile.width` − 1 (entries' leaf hashes at level 0). Reads only those
   * `tile.width` items (BatchGets of 100), so publishing tiles costs reads in proportion to the
   * tiles published, not to the tree. The hashes are as stored: a publisher checks them against
   * a signed root before it trusts them.
   *
   * @throws NodeReadError when one of the nodes is not stored (not yet complete).
   */
  async tileHashes(tile: Tile): Promise<Uint8Array[]> {
    const { treeLevel, first, count } = tileNodes(tile);
    const nodes = Array.from({ length: count }, (_, i) => ({ level: treeLevel, index: first + i }));
    return this.nodeReader()(nodes);
  }

  /**
   * RFC 9162 inclusion proof of entry `index` in the tree of `size` entries.
   *
   * @throws TreeRangeError when `size` exceeds the integrated tree or `index` is outside it.
   */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    const [proof] = await this.inclusionProofs([index], size);
    return proof as Uint8Array[];
  }

  /**
   * Inclusion proofs of several entries in the tree of `size` entries, from one read of the
   * tree state and one read of the nodes they need together (BatchGets of 100): a claim's
   * history proves every revision at once, and revisions share most of their nodes.
   *
   * @throws TreeRangeError when `size` exceeds the integrated tree or an index is outside it.
   */
  async inclusionProofs(indices: readonly number[], size: number): Promise<Uint8Array[][]> {
    await this.requireIntegrated(size);
    const nodeId = (node: NodeId) => `${node.level}/${node.index}`;
    const needed = new Map(
      indices.flatMap((index) => inclusionProofNodes(index, size).reads).map((node) => [nodeId(node), node]),
    );
    const nodes = [...needed.values()];
    const hashes = nodes.length === 0 ? [] : await this.nodeReader()(nodes);
    const read = new Map(nodes.map((node, i) => [nodeId(node), hashes[i] as Uint8Array]));
    const prefetched: NodeReader = async (wanted) =>
      wanted.map((node) => read.get(nodeId(node)) as Uint8Array);
    return Promise.all(indices.map((index) => buildInclusionProof(index, size, prefetched)));
  }

  /**
   * RFC 9162 consistency proof from the tree of `oldSize` entries to the tree of `newSize`.
   *
   * @throws TreeRangeError when `newSize` exceeds the integrated tree or the sizes are invalid.
   */
  async consistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]> {
    await this.requireIntegrated(newSize);
    return buildConsistencyProof(oldSize, newSize, this.nodeReader());
  }

  private async requireIntegrated(size: number): Promise<void> {
    const state = await this.treeState();
    if (!Number.isSafeInteger(size) || size < 0 || size > state.size) {
      throw new TreeRangeError(`tree size ${size} is beyond the integrated tree of size ${state.size}`);
    }
  }

  // Plain overwrites are safe: a node's hash is a function of immutable entries, so a re-run
  // or a concurrent integrator writes the same value.
  private async writeNodes(nodes: readonly StoredNode[]): Promise<void> {
    await batchPutAll(
      this.client,
      this.table,
      nodes.map((node) => ({
        ...treeNodeKey(node.level, node.index),
        level: node.level,
        index: node.index,
        hash: toHex(node.hash),
      })),
    );
  }

  /** Moves the state from `previousSize` to `next`; false when another integrator moved it first. */
  private advanceState(previousSize: number, next: TreeState): Promise<boolean> {
    return conditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.table,
        Key: STATE_KEY,
        UpdateExpression: 'SET #size = :size, #root = :root, #edge = :edge, #at = :at',
        ConditionExpression: previousSize === 0 ? 'attribute_not_exists(#size)' : '#size = :previous',
        ExpressionAttributeNames: {
          '#size': 'size',
          '#root': 'root',
          '#edge': 'edge',
          '#at': 'integratedAt',
        },
        ExpressionAttributeValues: {
          ':size': next.size,
          ':root': toHex(next.root),
          ':edge': next.edge.map(toHex),
          ':at': new Date().toISOString(),
          ...(previousSize === 0 ? {} : { ':previous': previousSize }),
        },
      }),
    );
  }
}
