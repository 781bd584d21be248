// RFC 9162 §2.1 Merkle tree math for the journal's writer side: hashing, proof generation and
// the bookkeeping an integrator needs to store complete subtrees. Node-only (node:crypto is
// several times faster than a JS SHA-256 when integrating batches); the portable verifier is
// verify.ts.
//
// Storage model: node (level L, index i) is the Merkle Tree Hash of leaves [i·2^L, (i+1)·2^L).
// It is "complete" in a tree of size n when (i+1)·2^L ≤ n, and from then on it never changes,
// so a store only ever writes complete nodes once. Any root or proof of a tree of size n needs
// O(log n) of them: the planners below say which.

import { createHash } from 'node:crypto';
import { bitAt, bitLength, isSafeNonNegativeInteger, shiftRight, trailingZeros, xor } from './bits.ts';
import { TILE_HEIGHT, TILE_WIDTH } from './tiles.ts';

/** Size of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** A stored node: the root of the complete subtree over leaves [index·2^level, (index+1)·2^level). */
export interface NodeId {
  level: number;
  index: number;
}

/** A node together with its hash, as an integrator persists it. */
export interface StoredNode extends NodeId {
  hash: Uint8Array;
}

/**
 * One element of a proof, as a storage read. `node` is a stored complete subtree. `ephemeral`
 * is the root of a right-edge range that is not (yet) a complete subtree; its hash is the
 * right fold of the listed complete nodes (see {@link rootFromRightEdge}).
 */
export type ProofStep = { kind: 'node'; node: NodeId } | { kind: 'ephemeral'; nodes: NodeId[] };

/** A proof as storage reads: `steps` in proof order, `reads` the nodes to fetch, flattened. */
export interface ProofPlan {
  steps: ProofStep[];
  reads: NodeId[];
}

/**
 * Port to the node store: returns the hashes of the given complete nodes, in request order.
 * A tile-backed store can group the requests by {@link tileCoordinatesForNode}.
 */
export type NodeReader = (nodes: NodeId[]) => Promise<Uint8Array[]>;

/** A leaf, node, size or range that the tree does not have. */
export class TreeRangeError extends Error {
  override name = 'TreeRangeError';
}

/** A {@link NodeReader} or caller supplied the wrong number of hashes, or a hash of the wrong size. */
export class NodeReadError extends Error {
  override name = 'NodeReadError';
}

const LEAF_PREFIX = new Uint8Array([0]);
const NODE_PREFIX = new Uint8Array([1]);

/** RFC 9162 MTH({}) = SHA-256 of the empty string, the root of the empty tree. */
export const EMPTY_ROOT: Uint8Array = digest(createHash('sha256'));

/** RFC 9162 leaf hash: SHA-256(0x00 ‖ data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  return digest(createHash('sha256').update(LEAF_PREFIX).update(data));
}

/** RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return digest(createHash('sha256').update(NODE_PREFIX).update(left).update(right));
}

/**
 * MTH over leaf hashes (RFC 9162 §2.1.1), computed level by level in O(n). For a power-of-two
 * count this is the hash of that complete subtree, e.g. of a node's span of a tile row.
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_ROOT;
  let level = [...leafHashes];
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    // An odd last node is carried up unchanged: that is where MTH splits at the largest power of two.
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? hashChildren(level[i]!, level[i + 1]!) : level[i]!);
    }
    level = next;
  }
  return level[0]!;
}

/**
 * The complete nodes whose right fold is the root of a tree of `size` leaves, highest level
 * first: one per set bit of `size`, so at most log2(size) + 1.
 */
export function rightEdgeNodes(size: number): NodeId[] {
  requireSize(size, 'tree size');
  return alignedRangeNodes(0, size);
}

/**
 * Root from the hashes of {@link rightEdgeNodes} (or of any aligned range's nodes), folded from
 * the right: MTH splits at the largest power of two, so the smaller subtrees combine first.
 */
export function rootFromRightEdge(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0) return EMPTY_ROOT;
  let root = hashes[hashes.length - 1]!;
  for (let i = hashes.length - 2; i >= 0; i--) root = hashChildren(hashes[i]!, root);
  return root;
}

/**
 * Plan of the RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in a tree of `size` leaves.
 * It reads at most 2·log2(size) nodes.
 */
export function inclusionProofNodes(index: number, size: number): ProofPlan {
  requireSize(size, 'tree size');
  requireSize(index, 'leaf index');
  if (index >= size) throw new TreeRangeError(`leaf index ${index} is outside a tree of size ${size}`);
  return toPlan(pathSteps(0, index, size));
}

/**
 * Plan of the RFC 9162 §2.1.4.1 consistency proof from the tree of `oldSize` leaves to the
 * tree of `newSize` leaves (1 ≤ oldSize ≤ newSize). It reads at most 2·log2(newSize) + 1 nodes.
 */
export function consistencyProofNodes(oldSize: number, newSize: number): ProofPlan {
  requireSize(oldSize, 'old tree size');
  requireSize(newSize, 'new tree size');
  if (oldSize < 1) {
    throw new TreeRangeError('old tree size must be at least 1: the empty tree is consistent with any tree');
  }
  if (oldSize > newSize) {
    throw new TreeRangeError(`old tree size ${oldSize} is larger than new tree size ${newSize}`);
  }
  if (oldSize === newSize) return toPlan([]);
  // The old tree's smallest right-edge subtree is complete in both trees; the proof is that
  // node (omitted when it is the whole old tree) followed by its inclusion path in the new tree.
  const level = trailingZeros(oldSize);
  const index = shiftRight(oldSize, level) - 1;
  const seed: ProofStep[] = index === 0 ? [] : [{ kind: 'node', node: { level, index } }];
  return toPlan([...seed, ...pathSteps(level, index, newSize)]);
}

/**
 * The proof hashes for `plan`, given the hashes of `plan.reads` in order.
 *
 * @throws NodeReadError when `hashes` does not match the plan.
 */
export function assembleProof(plan: ProofPlan, hashes: readonly Uint8Array[]): Uint8Array[] {
  checkHashes(plan.reads, hashes);
  const proof: Uint8Array[] = [];
  let next = 0;
  for (const step of plan.steps) {
    if (step.kind === 'node') {
      proof.push(hashes[next++]!);
    } else {
      proof.push(rootFromRightEdge(hashes.slice(next, next + step.nodes.length)));
      next += step.nodes.length;
    }
  }
  return proof;
}

/** Inclusion proof for leaf `index` in the tree of `size` leaves, in one call to `read`. */
export async function inclusionProof(index: number, size: number, read: NodeReader): Promise<Uint8Array[]> {
  const plan = inclusionProofNodes(index, size);
  return assembleProof(plan, await readNodes(plan.reads, read));
}

/** Consistency proof from `oldSize` to `newSize` leaves, in at most one call to `read`. */
export async function consistencyProof(
  oldSize: number,
  newSize: number,
  read: NodeReader,
): Promise<Uint8Array[]> {
  const plan = consistencyProofNodes(oldSize, newSize);
  return assembleProof(plan, await readNodes(plan.reads, read));
}

/** Root of the tree of `size` leaves, in at most one call to `read` of at most log2(size) + 1 nodes. */
export async function rootAt(size: number, read: NodeReader): Promise<Uint8Array> {
  const nodes = rightEdgeNodes(size);
  const hashes = await readNodes(nodes, read);
  checkHashes(nodes, hashes);
  return rootFromRightEdge(hashes);
}

/** A node that becomes complete by an append, and the two stored nodes it hashes (none for a leaf). */
export interface CompletedNode extends NodeId {
  children: readonly [left: NodeId, right: NodeId] | null;
}

/**
 * The nodes that become complete when leaf number `size` (0-based) is appended: the leaf
 * itself, then its ancestors for as long as they close a power-of-two span. Listed bottom-up,
 * so each node's children are stored or listed before it.
 */
export function nodesCompletedByAppend(size: number): CompletedNode[] {
  requireSize(size, 'tree size');
  if (size + 1 > Number.MAX_SAFE_INTEGER)
    throw new TreeRangeError('the tree cannot grow past 2^53 - 1 leaves');
  const completed: CompletedNode[] = [{ level: 0, index: size, children: null }];
  for (let level = 1; level <= trailingZeros(size + 1); level++) {
    const index = shiftRight(size + 1, level) - 1;
    completed.push({
      level,
      index,
      children: [
        { level: level - 1, index: 2 * index },
        { level: level - 1, index: 2 * index + 1 },
      ],
    });
  }
  return completed;
}

/**
 * The right edge of a tree: its size and the hashes of its {@link rightEdgeNodes}. Integration
 * starts from `{ size: 0, hashes: [] }`.
 */
export interface RightEdge {
  size: number;
  hashes: Uint8Array[];
}

/**
 * Folds a batch of leaf hashes into a tree given only its right edge (O(log n) hashes, one read
 * of {@link rightEdgeNodes}). Returns every node the batch completes, bottom-up per leaf, for
 * the store to persist, the new right edge and the new root.
 *
 * @throws NodeReadError when the right edge or a leaf hash is malformed.
 * @throws TreeRangeError when the size is invalid or the tree would outgrow 2^53 - 1 leaves.
 */
export function appendLeaves(
  edge: RightEdge,
  leafHashes: readonly Uint8Array[],
): { edge: RightEdge; completed: StoredNode[]; root: Uint8Array } {
  const edgeNodes = rightEdgeNodes(edge.size);
  checkHashes(edgeNodes, edge.hashes);
  if (edge.size + leafHashes.length > Number.MAX_SAFE_INTEGER) {
    throw new TreeRangeError('the tree cannot grow past 2^53 - 1 leaves');
  }
  const stack: StoredNode[] = edgeNodes.map((node, i) => ({ ...node, hash: edge.hashes[i]! }));
  const completed: StoredNode[] = [];
  let size = edge.size;
  for (const leaf of leafHashes) {
    checkHash(leaf, `leaf hash for index ${size}`);
    let node: StoredNode = { level: 0, index: size, hash: leaf };
    completed.push(node);
    // Equal-level neighbours on the edge are siblings: merge them into their parent.
    for (let left = stack.at(-1); left !== undefined && left.level === node.level; left = stack.at(-1)) {
      stack.pop();
      node = { level: node.level + 1, index: left.index / 2, hash: hashChildren(left.hash, node.hash) };
      completed.push(node);
    }
    stack.push(node);
    size++;
  }
  const hashes = stack.map((node) => node.hash);
  return { edge: { size, hashes }, completed, root: rootFromRightEdge(hashes) };
}

/**
 * Where a node lives in C2SP tlog-tiles storage. Tile (`tileLevel`, `tileIndex`) holds the
 * hashes of level `8·tileLevel`; the node is the subtree root over that row's hashes
 * [`offset`, `offset + width`), i.e. `rootFromLeafHashes(row.slice(offset, offset + width))`.
 */
export interface TileCoordinates {
  tileLevel: number;
  tileIndex: number;
  offset: number;
  width: number;
}

/** The tile holding node (`level`, `index`) and its span of the tile's row. */
export function tileCoordinatesForNode(level: number, index: number): TileCoordinates {
  requireSize(level, 'node level');
  requireSize(index, 'node index');
  if ((index + 1) * 2 ** level > 2 ** 53) {
    throw new TreeRangeError(`node (${level}, ${index}) lies beyond any tree of at most 2^53 - 1 leaves`);
  }
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const width = 2 ** (level % TILE_HEIGHT);
  const rowIndex = index * width;
  return { tileLevel, tileIndex: Math.floor(rowIndex / TILE_WIDTH), offset: rowIndex % TILE_WIDTH, width };
}

/** Number of hashes (0–256) tile (`tileLevel`, `tileIndex`) holds in a tree of `size` leaves. */
export function tileWidth(tileLevel: number, tileIndex: number, size: number): number {
  requireSize(tileLevel, 'tile level');
  requireSize(tileIndex, 'tile index');
  requireSize(size, 'tree size');
  const rowLength = Math.floor(size / TILE_WIDTH ** tileLevel);
  return Math.min(TILE_WIDTH, Math.max(0, rowLength - tileIndex * TILE_WIDTH));
}

/** The node's hash from its tile's row hashes (a full or partial tile). */
export function nodeHashFromTile(coordinates: TileCoordinates, rowHashes: readonly Uint8Array[]): Uint8Array {
  const { offset, width } = coordinates;
  if (rowHashes.length < offset + width) {
    throw new NodeReadError(`tile has ${rowHashes.length} hashes; the node needs ${offset + width}`);
  }
  const span = rowHashes.slice(offset, offset + width);
  for (const [i, hash] of span.entries()) checkHash(hash, `tile hash ${offset + i}`);
  return rootFromLeafHashes(span);
}

// Inclusion path of complete node (level, index) in a tree of `size` leaves: siblings from the
// node up to the root. Below `inner` the node and the tree's last node at that level differ, so
// the sibling exists; the topmost of those right siblings may cover the unfinished right edge.
// Above `inner` the path runs along the right edge, where only left siblings exist.
function pathSteps(level: number, index: number, size: number): ProofStep[] {
  const lastIndex = shiftRight(size - 1, level);
  const inner = bitLength(xor(index, lastIndex));
  const steps: ProofStep[] = [];
  for (let i = 0; i < inner; i++) {
    const nodeIndex = shiftRight(index, i);
    const nodeLevel = level + i;
    if (nodeIndex % 2 === 1) {
      steps.push({ kind: 'node', node: { level: nodeLevel, index: nodeIndex - 1 } });
    } else if (i < inner - 1) {
      steps.push({ kind: 'node', node: { level: nodeLevel, index: nodeIndex + 1 } });
    } else {
      steps.push(rangeStep((nodeIndex + 1) * 2 ** nodeLevel, size));
    }
  }
  for (let i = inner; shiftRight(index, i) > 0; i++) {
    if (bitAt(index, i) === 1)
      steps.push({ kind: 'node', node: { level: level + i, index: shiftRight(index, i) - 1 } });
  }
  return steps;
}

function rangeStep(start: number, end: number): ProofStep {
  const nodes = alignedRangeNodes(start, end);
  return nodes.length === 1 ? { kind: 'node', node: nodes[0]! } : { kind: 'ephemeral', nodes };
}

// Complete nodes covering [start, end), largest first; `start` must be aligned to the largest.
function alignedRangeNodes(start: number, end: number): NodeId[] {
  const length = end - start;
  const nodes: NodeId[] = [];
  let position = start;
  for (let level = bitLength(length) - 1; level >= 0; level--) {
    if (bitAt(length, level) === 1) {
      nodes.push({ level, index: position / 2 ** level });
      position += 2 ** level;
    }
  }
  return nodes;
}

function toPlan(steps: ProofStep[]): ProofPlan {
  return { steps, reads: steps.flatMap((step) => (step.kind === 'node' ? [step.node] : step.nodes)) };
}

async function readNodes(nodes: NodeId[], read: NodeReader): Promise<Uint8Array[]> {
  return nodes.length === 0 ? [] : read(nodes);
}

function checkHashes(nodes: readonly NodeId[], hashes: readonly Uint8Array[]): void {
  if (hashes.length !== nodes.length) {
    throw new NodeReadError(`expected ${nodes.length} node hashes, got ${hashes.length}`);
  }
  for (const [i, hash] of hashes.entries())
    checkHash(hash, `hash of node (${nodes[i]!.level}, ${nodes[i]!.index})`);
}

function checkHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new NodeReadError(`${what} must be ${HASH_SIZE} bytes`);
  }
}

function requireSize(value: number, what: string): void {
  if (!isSafeNonNegativeInteger(value))
    throw new TreeRangeError(`${what} must be a non-negative safe integer`);
}

function digest(hash: ReturnType<typeof createHash>): Uint8Array {
  // A plain Uint8Array rather than a Buffer, so results compare equal to the verifier's.
  return new Uint8Array(hash.digest());
}
