import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  appendLeaves,
  assembleProof,
  consistencyProof,
  consistencyProofNodes,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  inclusionProof,
  inclusionProofNodes,
  NodeReadError,
  type NodeReader,
  nodeHashFromTile,
  nodesCompletedByAppend,
  type RightEdge,
  rightEdgeNodes,
  rootAt,
  rootFromLeafHashes,
  rootFromRightEdge,
  TreeRangeError,
  tileCoordinatesForNode,
  tileWidth,
} from '../../../functions/journal/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../../functions/journal/verify.ts';
import {
  buildNodeStore,
  hex,
  loadVectors,
  makeLeafHashes,
  recordingReader,
  refConsistencyProof,
  refInclusionProof,
  refLeafHash,
  refRoot,
  unhex,
  type VectorSet,
} from './support.ts';

interface Primitive {
  desc: string;
  kind: 'emptyRoot' | 'leafHash' | 'nodeHash';
  leafData?: string;
  left?: string;
  right?: string;
  output: string;
}
const { vectorSets, hashPrimitives } = loadVectors<{
  vectorSets: VectorSet[];
  hashPrimitives: { vectors: Primitive[] };
}>('leaves-and-roots.json');

const log2Ceil = (n: number): number => Math.ceil(Math.log2(n));

describe('hash primitives (RFC 9162 §2.1.1)', () => {
  it.each(hashPrimitives.vectors)('$desc', ({ kind, leafData, left, right, output }) => {
    const actual =
      kind === 'emptyRoot'
        ? EMPTY_ROOT
        : kind === 'leafHash'
          ? hashLeaf(unhex(leafData!))
          : hashChildren(unhex(left!), unhex(right!));
    expect(hex(actual)).toBe(output);
  });
});

describe('roots of the published trees', () => {
  describe.each(vectorSets)('$id', ({ leaves, roots }) => {
    const leafHashes = leaves.map((leaf) => hashLeaf(unhex(leaf)));
    const store = buildNodeStore(leafHashes);

    it.each(roots)('size $treeSize', async ({ treeSize, root }) => {
      expect(hex(rootFromLeafHashes(leafHashes.slice(0, treeSize)))).toBe(root);
      expect(hex(await rootAt(treeSize, recordingReader(store).read))).toBe(root);
      expect(hex(appendLeaves({ size: 0, hashes: [] }, leafHashes.slice(0, treeSize)).root)).toBe(root);
    });
  });

  it.each(vectorSets.filter((set) => set.nodeHashes !== undefined))(
    '$id: integration stores exactly the published complete-subtree hashes',
    ({ leaves, nodeHashes }) => {
      const { completed } = appendLeaves(
        { size: 0, hashes: [] },
        leaves.map((leaf) => hashLeaf(unhex(leaf))),
      );
      const published = nodeHashes!.levels.flatMap((hashes, level) =>
        hashes.map((hash, index) => `${level}/${index}=${hash}`),
      );
      const ours = completed.map((node) => `${node.level}/${node.index}=${hex(node.hash)}`);
      expect(ours.sort()).toEqual(published.sort());
    },
  );

  it('an empty tree has the empty root and needs no read', async () => {
    const reader = recordingReader(new Map());
    expect(await rootAt(0, reader.read)).toEqual(EMPTY_ROOT);
    expect(rootFromLeafHashes([])).toEqual(EMPTY_ROOT);
    expect(rootFromRightEdge([])).toEqual(EMPTY_ROOT);
    expect(reader.calls).toEqual([]);
  });
});

describe('proof generation from stored nodes', () => {
  const treeArb = fc.record({ size: fc.integer({ min: 1, max: 2000 }), seed: fc.nat() });

  it('inclusion proofs equal the RFC 9162 PATH and verify, with one read of O(log n) nodes', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, fc.nat(), async ({ size, seed }, pick) => {
        const index = pick % size;
        const leafHashes = makeLeafHashes(size, seed);
        const { read, calls } = recordingReader(buildNodeStore(leafHashes));

        const proof = await inclusionProof(index, size, read);

        expect(proof.map(hex)).toEqual(refInclusionProof(index, leafHashes).map(hex));
        expect(() =>
          verifyInclusion(leafHashes[index]!, index, size, proof, refRoot(leafHashes)),
        ).not.toThrow();
        expect(calls.length).toBeLessThanOrEqual(1);
        expect(calls.flat().length).toBeLessThanOrEqual(2 * log2Ceil(size));
      }),
      { numRuns: 150 },
    );
  });

  it('consistency proofs equal the RFC 9162 PROOF and verify, with one read of O(log n) nodes', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb, fc.nat(), async ({ size, seed }, pick) => {
        const oldSize = 1 + (pick % size);
        const leafHashes = makeLeafHashes(size, seed);
        const { read, calls } = recordingReader(buildNodeStore(leafHashes));

        const proof = await consistencyProof(oldSize, size, read);

        expect(proof.map(hex)).toEqual(refConsistencyProof(oldSize, leafHashes).map(hex));
        const oldRoot = refRoot(leafHashes.slice(0, oldSize));
        expect(() => verifyConsistency(oldSize, size, proof, oldRoot, refRoot(leafHashes))).not.toThrow();
        expect(calls.length).toBeLessThanOrEqual(1);
        expect(calls.flat().length).toBeLessThanOrEqual(2 * log2Ceil(size) + 1);
      }),
      { numRuns: 150 },
    );
  });

  it('every inclusion and consistency proof of a 70-leaf tree matches the reference', async () => {
    const leafHashes = makeLeafHashes(70);
    const { read } = recordingReader(buildNodeStore(leafHashes));
    for (let size = 1; size <= 70; size++) {
      const tree = leafHashes.slice(0, size);
      for (let index = 0; index < size; index++) {
        expect((await inclusionProof(index, size, read)).map(hex)).toEqual(
          refInclusionProof(index, tree).map(hex),
        );
      }
      for (let oldSize = 1; oldSize <= size; oldSize++) {
        expect((await consistencyProof(oldSize, size, read)).map(hex)).toEqual(
          refConsistencyProof(oldSize, tree).map(hex),
        );
      }
    }
  });

  it('plans read at most 2·ceil(log2 n) + 2 nodes for trees up to 10^6 leaves', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.nat(), fc.nat(), (size, a, b) => {
        const bound = 2 * log2Ceil(size) + 2;
        expect(inclusionProofNodes(a % size, size).reads.length).toBeLessThanOrEqual(bound);
        expect(consistencyProofNodes(1 + (b % size), size).reads.length).toBeLessThanOrEqual(bound);
        expect(rightEdgeNodes(size).length).toBeLessThanOrEqual(log2Ceil(size) + 1);
      }),
      { numRuns: 2000 },
    );
  });

  it('plans only complete nodes, and an ephemeral step for the unfinished right edge', () => {
    // Leaf 0 of 7 leaves: siblings leaf 1, node (1,1) and the right edge [4, 7) = (1,2) + leaf 6.
    expect(inclusionProofNodes(0, 7).steps).toEqual([
      { kind: 'node', node: { level: 0, index: 1 } },
      { kind: 'node', node: { level: 1, index: 1 } },
      {
        kind: 'ephemeral',
        nodes: [
          { level: 1, index: 2 },
          { level: 0, index: 6 },
        ],
      },
    ]);
    // 6 → 8: seed (1,2), its sibling (1,3), then (2,0) on the left.
    expect(consistencyProofNodes(6, 8).reads).toEqual([
      { level: 1, index: 2 },
      { level: 1, index: 3 },
      { level: 2, index: 0 },
    ]);
    // Old size a power of two: the seed is the old root itself and is left out.
    expect(consistencyProofNodes(4, 8).reads).toEqual([{ level: 2, index: 1 }]);
    expect(consistencyProofNodes(5, 5)).toEqual({ steps: [], reads: [] });
  });

  it('works for tree sizes beyond 2^32, where 32-bit bit operations would break', () => {
    const size = 2 ** 40 + 12_345;
    const plan = inclusionProofNodes(size - 1, size);
    for (const node of plan.reads) expect((node.index + 1) * 2 ** node.level).toBeLessThanOrEqual(size);
    expect(plan.reads.length).toBeLessThanOrEqual(2 * log2Ceil(size));
    expect(rightEdgeNodes(size).map((node) => node.level)).toEqual([40, 13, 12, 5, 4, 3, 0]);
    const consistency = consistencyProofNodes(2 ** 33 + 6, size);
    expect(consistency.reads[0]).toEqual({ level: 1, index: 2 ** 32 + 2 });
  });

  it('rejects positions the tree does not have', () => {
    expect(() => inclusionProofNodes(5, 5)).toThrow(TreeRangeError);
    expect(() => inclusionProofNodes(0, 0)).toThrow('leaf index 0 is outside a tree of size 0');
    expect(() => inclusionProofNodes(-1, 5)).toThrow('leaf index must be a non-negative safe integer');
    expect(() => inclusionProofNodes(0, 1.5)).toThrow('tree size must be a non-negative safe integer');
    expect(() => consistencyProofNodes(0, 5)).toThrow('old tree size must be at least 1');
    expect(() => consistencyProofNodes(6, 5)).toThrow('old tree size 6 is larger than new tree size 5');
    expect(() => consistencyProofNodes(1, Number.NaN)).toThrow(TreeRangeError);
    expect(() => rightEdgeNodes(2 ** 53)).toThrow(TreeRangeError);
  });

  it('rejects node reads that do not match the plan', async () => {
    const plan = inclusionProofNodes(0, 4);
    const good = [new Uint8Array(32), new Uint8Array(32)];
    expect(() => assembleProof(plan, good.slice(1))).toThrow(
      new NodeReadError('expected 2 node hashes, got 1'),
    );
    expect(() => assembleProof(plan, [good[0]!, new Uint8Array(31)])).toThrow(
      'hash of node (1, 1) must be 32 bytes',
    );
    const short: NodeReader = async () => [];
    await expect(inclusionProof(0, 4, short)).rejects.toThrow(NodeReadError);
    await expect(rootAt(3, short)).rejects.toThrow(NodeReadError);
  });
});

describe('integration bookkeeping', () => {
  it('nodesCompletedByAppend lists the leaf and the ancestors it closes, bottom-up', () => {
    expect(nodesCompletedByAppend(0)).toEqual([{ level: 0, index: 0, children: null }]);
    expect(nodesCompletedByAppend(6)).toEqual([{ level: 0, index: 6, children: null }]);
    expect(nodesCompletedByAppend(7)).toEqual([
      { level: 0, index: 7, children: null },
      {
        level: 1,
        index: 3,
        children: [
          { level: 0, index: 6 },
          { level: 0, index: 7 },
        ],
      },
      {
        level: 2,
        index: 1,
        children: [
          { level: 1, index: 2 },
          { level: 1, index: 3 },
        ],
      },
      {
        level: 3,
        index: 0,
        children: [
          { level: 2, index: 0 },
          { level: 2, index: 1 },
        ],
      },
    ]);
    expect(() => nodesCompletedByAppend(-1)).toThrow(TreeRangeError);
    expect(() => nodesCompletedByAppend(Number.MAX_SAFE_INTEGER)).toThrow('cannot grow past');
  });

  it('appending in any batches stores every complete node once, as nodesCompletedByAppend says', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 600 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 40 }),
        (size, batches) => {
          const leafHashes = makeLeafHashes(size, batches.length);
          const store = buildNodeStore(leafHashes);
          let edge: RightEdge = { size: 0, hashes: [] };
          const written: string[] = [];
          let start = 0;
          for (const batch of [...batches, size]) {
            const end = Math.min(size, start + batch);
            const result = appendLeaves(edge, leafHashes.slice(start, end));
            for (const node of result.completed) {
              expect(hex(node.hash)).toBe(hex(store.get(`${node.level}/${node.index}`)!));
              written.push(`${node.level}/${node.index}`);
            }
            expect(hex(result.root)).toBe(hex(refRoot(leafHashes.slice(0, end))));
            // The new edge is what a store would read back as the right edge of the tree.
            expect(result.edge.hashes.map(hex)).toEqual(
              rightEdgeNodes(end).map((node) => hex(store.get(`${node.level}/${node.index}`)!)),
            );
            edge = result.edge;
            start = end;
          }
          const expected = Array.from({ length: size }, (_, leaf) =>
            nodesCompletedByAppend(leaf).map((node) => `${node.level}/${node.index}`),
          ).flat();
          expect(written).toEqual(expected);
          expect(new Set(written).size).toBe(store.size);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects a malformed right edge or leaf hash', () => {
    const leaf = new Uint8Array(32);
    expect(() => appendLeaves({ size: 3, hashes: [leaf] }, [])).toThrow('expected 2 node hashes, got 1');
    expect(() => appendLeaves({ size: 0, hashes: [] }, [new Uint8Array(3)])).toThrow(
      'leaf hash for index 0 must be 32 bytes',
    );
    expect(() => appendLeaves({ size: 2 ** 53 - 2, hashes: Array(52).fill(leaf) }, [leaf, leaf])).toThrow(
      TreeRangeError,
    );
  });
});

describe('tiles (C2SP tlog-tiles, height 8)', () => {
  it('places nodes in tiles', () => {
    expect(tileCoordinatesForNode(0, 0)).toEqual({ tileLevel: 0, tileIndex: 0, offset: 0, width: 1 });
    expect(tileCoordinatesForNode(0, 300)).toEqual({ tileLevel: 0, tileIndex: 1, offset: 44, width: 1 });
    expect(tileCoordinatesForNode(3, 33)).toEqual({ tileLevel: 0, tileIndex: 1, offset: 8, width: 8 });
    expect(tileCoordinatesForNode(8, 5)).toEqual({ tileLevel: 1, tileIndex: 0, offset: 5, width: 1 });
    expect(tileCoordinatesForNode(15, 1)).toEqual({ tileLevel: 1, tileIndex: 0, offset: 128, width: 128 });
    expect(() => tileCoordinatesForNode(53, 1)).toThrow(TreeRangeError);
    expect(() => tileCoordinatesForNode(-1, 0)).toThrow(TreeRangeError);
  });

  it('computes every stored node from its tile row', () => {
    const leafHashes = makeLeafHashes(5_000);
    const store = buildNodeStore(leafHashes);
    const row = (tileLevel: number, tileIndex: number): Uint8Array[] => {
      const width = tileWidth(tileLevel, tileIndex, leafHashes.length);
      return Array.from({ length: width }, (_, i) => store.get(`${8 * tileLevel}/${tileIndex * 256 + i}`)!);
    };
    for (const [key, hash] of store) {
      const [level, index] = key.split('/').map(Number) as [number, number];
      const coordinates = tileCoordinatesForNode(level, index);
      const tile = row(coordinates.tileLevel, coordinates.tileIndex);
      expect(hex(nodeHashFromTile(coordinates, tile))).toBe(hex(hash));
    }
    expect(() =>
      nodeHashFromTile({ tileLevel: 0, tileIndex: 0, offset: 4, width: 4 }, row(0, 0).slice(0, 7)),
    ).toThrow('tile has 7 hashes; the node needs 8');
    expect(() =>
      nodeHashFromTile({ tileLevel: 0, tileIndex: 0, offset: 0, width: 1 }, [new Uint8Array(8)]),
    ).toThrow('tile hash 0 must be 32 bytes');
  });

  it('sizes tiles like the spec example (a tree of 70,000 leaves)', () => {
    const size = 70_000;
    expect(tileWidth(0, 272, size)).toBe(256);
    expect(tileWidth(0, 273, size)).toBe(112);
    expect(tileWidth(0, 274, size)).toBe(0);
    expect(tileWidth(1, 0, size)).toBe(256);
    expect(tileWidth(1, 1, size)).toBe(17);
    expect(tileWidth(2, 0, size)).toBe(1);
    expect(tileWidth(3, 0, size)).toBe(0);
    expect(tileWidth(1, 0, 256)).toBe(1);
  });
});

describe('reference sanity', () => {
  it('the naive reference and the writer agree on leaf hashing', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (data) => {
        expect(hashLeaf(data)).toEqual(refLeafHash(data));
      }),
    );
  });
});
