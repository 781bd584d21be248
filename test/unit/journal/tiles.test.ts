import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistencyProof, hashLeaf, inclusionProof, rootAt } from '../../../functions/journal/merkle.ts';
import {
  decodeTile,
  encodeTile,
  isFullTile,
  parentPosition,
  parseTilePath,
  partialTiles,
  rowLength,
  type Tile,
  TileError,
  tileAt,
  tileForNode,
  tileNodes,
  tilePath,
  tilesToPublish,
} from '../../../functions/journal/tiles.ts';
import { tileNodeReader } from '../../support/tile-auditor.ts';
import {
  buildNodeStore,
  type ConsistencyVector,
  hex,
  type InclusionVector,
  loadVectors,
  makeLeafHashes,
  refConsistencyProof,
  refInclusionProof,
  refRoot,
  unhex,
  type VectorSet,
} from './support.ts';

const key = (tile: Tile) => `${tile.level}/${tile.index}/${tile.width}`;

/**
 * Every tile of a tree of `size` leaves, straight from the spec: tile n of level l spans the
 * hashes MTH(D[(n·256 + i)·256^l : (n·256 + i + 1)·256^l]) that exist, and empty tiles do not exist.
 */
function specTiles(size: number): Set<string> {
  const tiles = new Set<string>();
  for (let level = 0; 256 ** level <= size; level++) {
    for (let n = 0; ; n++) {
      let width = 0;
      while (width < 256 && (n * 256 + width + 1) * 256 ** level <= size) width++;
      if (width === 0) break;
      tiles.add(key({ level, index: n, width }));
    }
  }
  return tiles;
}

/** The published objects of a tree over `leafHashes`: path → bytes, from its complete nodes. */
function publishedTree(leafHashes: readonly Uint8Array[]): (path: string) => Promise<Uint8Array> {
  const store = buildNodeStore(leafHashes);
  return async (path) => {
    const tile = parseTilePath(path);
    const { treeLevel, first, count } = tileNodes(tile);
    const hashes = Array.from({ length: count }, (_, i) => store.get(`${treeLevel}/${first + i}`));
    if (hashes.some((hash) => hash === undefined)) throw new Error(`${path} is not published`);
    return encodeTile(hashes as Uint8Array[]);
  };
}

const arbitraryTile = fc
  .record({
    level: fc.integer({ min: 0, max: 63 }),
    index: fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.maxSafeNat()),
    width: fc.integer({ min: 1, max: 256 }),
  })
  .map((tile): Tile => tile);

describe('tile paths (C2SP tlog-tiles)', () => {
  it('names tiles like the spec', () => {
    expect(tilePath({ level: 0, index: 1_234_067, width: 256 })).toBe('tile/0/x001/x234/067');
    expect(tilePath({ level: 0, index: 0, width: 256 })).toBe('tile/0/000');
    expect(tilePath({ level: 1, index: 1, width: 17 })).toBe('tile/1/001.p/17');
    expect(tilePath({ level: 2, index: 1000, width: 1 })).toBe('tile/2/x001/000.p/1');
    expect(tilePath({ level: 2, index: 1000, width: 17 })).toBe('tile/2/x001/000.p/17');
    expect(() => tilePath({ level: 64, index: 0, width: 256 })).toThrow('tile level 64 is above 63');
    expect(() => tilePath({ level: 0, index: 0, width: 0 })).toThrow('tile width must be 1–256');
    expect(() => tilePath({ level: 0, index: 0, width: 257 })).toThrow(TileError);
    expect(() => tilePath({ level: 0, index: -1, width: 1 })).toThrow(TileError);
    expect(() => tilePath({ level: 0, index: 1.5, width: 1 })).toThrow(TileError);
  });

  it('parses canonical paths back', () => {
    fc.assert(
      fc.property(arbitraryTile, (tile) => {
        expect(parseTilePath(tilePath(tile))).toEqual(tile);
      }),
    );
  });

  it.each([
    'tile/entries/000',
    'tile/entries/000.p/5',
    'tile/0/x000/001',
    'tile/00/000',
    'tile/64/000',
    'tile/0/1',
    'tile/0/0001',
    'tile/0/001/002',
    'tile/0/x001',
    'tile/0/000.p/256',
    'tile/0/000.p/0',
    'tile/0/000.p/07',
    'tile/0/000.p/',
    '/tile/0/000',
    'tile/0/000/',
    'tile/0/x9999999/999/999',
  ])('refuses %j', (path) => {
    expect(() => parseTilePath(path)).toThrow(TileError);
  });
});

describe('the tiles of a tree', () => {
  it('matches the spec example of a tree of 70,000 leaves', () => {
    const tiles = tilesToPublish(0, 70_000);
    expect(tiles).toHaveLength(273 + 1 + 1 + 1 + 1);
    expect(tiles.slice(0, 3)).toEqual([
      { level: 2, index: 0, width: 1 },
      { level: 1, index: 0, width: 256 },
      { level: 1, index: 1, width: 17 },
    ]);
    expect(tiles.slice(3, -1)).toEqual(
      Array.from({ length: 273 }, (_, index) => ({ level: 0, index, width: 256 })),
    );
    expect(tiles.at(-1)).toEqual({ level: 0, index: 273, width: 112 });
    expect(partialTiles(70_000)).toEqual([
      { level: 0, index: 273, width: 112 },
      { level: 1, index: 1, width: 17 },
      { level: 2, index: 0, width: 1 },
    ]);
    expect([rowLength(0, 70_000), rowLength(1, 70_000), rowLength(2, 70_000), rowLength(3, 70_000)]).toEqual([
      70_000, 273, 1, 0,
    ]);
  });

  it('matches the spec example of a tree of 256 leaves, and has no tiles at size 0', () => {
    expect(tilesToPublish(0, 256)).toEqual([
      { level: 1, index: 0, width: 1 },
      { level: 0, index: 0, width: 256 },
    ]);
    expect(tilesToPublish(255, 256)).toEqual(tilesToPublish(0, 256));
    expect(tilesToPublish(256, 257)).toEqual([{ level: 0, index: 1, width: 1 }]);
    expect(tilesToPublish(0, 0)).toEqual([]);
    expect(tilesToPublish(70_000, 70_000)).toEqual([]);
    expect(partialTiles(0)).toEqual([]);
    expect(partialTiles(65_536)).toEqual([{ level: 2, index: 0, width: 1 }]);
  });

  it('publishes exactly the tiles the new tree has and the old one lacks, ending with the last leaf tile', () => {
    const size = fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: 0, max: 300_000 }));
    fc.assert(
      fc.property(size, size, (a, b) => {
        const [oldSize, newSize] = a <= b ? [a, b] : [b, a];
        const tiles = tilesToPublish(oldSize, newSize);
        const old = specTiles(oldSize);
        const expected = [...specTiles(newSize)].filter((tile) => !old.has(tile));
        expect(tiles.map(key).sort()).toEqual(expected.sort());
        // Top level first, level 0 last, ending with the tile of the newest leaf.
        const levels = tiles.map((tile) => tile.level);
        expect(levels).toEqual([...levels].sort((x, y) => y - x));
        if (oldSize < newSize) expect(tiles.at(-1)).toEqual(tileAt(0, newSize - 1, newSize));
      }),
      { numRuns: 60 },
    );
  });

  it('publishes every full tile once and every partial tile at most once over a growing tree', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 8 }), (sizes) => {
        const sorted = [...sizes].sort((x, y) => x - y);
        const published: string[] = [];
        let previous = 0;
        for (const size of sorted) {
          published.push(...tilesToPublish(previous, size).map(key));
          previous = size;
        }
        expect(new Set(published).size).toBe(published.length);
        const all = new Set(published);
        for (const tile of specTiles(previous)) expect(all.has(tile)).toBe(true);
      }),
      { numRuns: 40 },
    );
  });

  it('places each complete node in a tile of the tree, whose span gives its hash', () => {
    const leafHashes = makeLeafHashes(1_100);
    const store = buildNodeStore(leafHashes);
    const fetch = publishedTree(leafHashes);
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: leafHashes.length }),
        fc.integer({ min: 0, max: 10 }),
        fc.nat(),
        async (size, level, seed) => {
          fc.pre(2 ** level <= size);
          const index = seed % Math.floor(size / 2 ** level);
          const { tile, offset, width } = tileForNode(level, index, size);
          expect(specTiles(size).has(key(tile))).toBe(true);
          expect(offset + width).toBeLessThanOrEqual(tile.width);
          const { read } = tileNodeReader(size, fetch);
          const [hash] = await read([{ level, index }]);
          expect(hex(hash!)).toBe(hex(store.get(`${level}/${index}`)!));
        },
      ),
      { numRuns: 150 },
    );
    expect(() => tileForNode(1, 5, 11)).toThrow('node (1, 5) is not complete in a tree of size 11');
    expect(() => tileAt(0, 11, 11)).toThrow(TileError);
  });

  it('says where a full tile is hashed into the level above', () => {
    expect(parentPosition({ level: 0, index: 300, width: 256 })).toEqual({ level: 1, position: 300 });
    expect(() => parentPosition({ level: 0, index: 300, width: 5 })).toThrow(TileError);
    expect(isFullTile({ level: 3, index: 0, width: 256 })).toBe(true);
    expect(tileNodes({ level: 1, index: 2, width: 3 })).toEqual({ treeLevel: 8, first: 512, count: 3 });
  });

  it('refuses sizes out of order or out of range', () => {
    expect(() => tilesToPublish(5, 3)).toThrow('old tree size 5 is larger than new tree size 3');
    expect(() => tilesToPublish(-1, 3)).toThrow(TileError);
    expect(() => tilesToPublish(0, 2 ** 53)).toThrow(TileError);
    expect(() => partialTiles(Number.NaN)).toThrow(TileError);
  });
});

describe('tile bytes', () => {
  it('are the hashes concatenated, exactly the tile width long', () => {
    const hashes = makeLeafHashes(3);
    const bytes = encodeTile(hashes);
    expect(bytes).toHaveLength(96);
    expect(decodeTile({ level: 0, index: 0, width: 3 }, bytes).map(hex)).toEqual(hashes.map(hex));
    expect(() => decodeTile({ level: 0, index: 0, width: 4 }, bytes)).toThrow(
      'tile/0/000.p/4 must be 128 bytes (4 hashes), got 96',
    );
    expect(() => decodeTile({ level: 0, index: 0, width: 256 }, bytes)).toThrow(TileError);
    expect(() => encodeTile([])).toThrow(TileError);
    expect(() => encodeTile(makeLeafHashes(257))).toThrow(TileError);
    expect(() => encodeTile([new Uint8Array(31)])).toThrow('tile hash 0 must be 32 bytes');
  });
});

describe('proofs from tiles alone', () => {
  it('equal the RFC 9162 reference proofs, across tile boundaries', async () => {
    const leafHashes = makeLeafHashes(1_300, 7);
    const fetch = publishedTree(leafHashes);
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: leafHashes.length }),
        fc.integer({ min: 1, max: leafHashes.length }),
        fc.nat(),
        async (a, b, seed) => {
          const [oldSize, newSize] = a <= b ? [a, b] : [b, a];
          const tree = leafHashes.slice(0, newSize);
          const index = seed % newSize;
          const { read, fetched } = tileNodeReader(newSize, fetch);
          expect((await inclusionProof(index, newSize, read)).map(hex)).toEqual(
            refInclusionProof(index, tree).map(hex),
          );
          expect((await consistencyProof(oldSize, newSize, read)).map(hex)).toEqual(
            refConsistencyProof(oldSize, tree).map(hex),
          );
          expect(hex(await rootAt(newSize, read))).toBe(hex(refRoot(tree)));
          // Only tiles the tree of newSize has, each fetched once.
          const published = specTiles(newSize);
          for (const path of fetched) expect(published.has(key(parseTilePath(path)))).toBe(true);
          expect(new Set(fetched).size).toBe(fetched.length);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('equal the reference proofs in the spec example tree of 70,000 leaves (full and partial level-1 tiles)', async () => {
    const leafHashes = makeLeafHashes(70_000, 3);
    const fetch = publishedTree(leafHashes);
    const { read, fetched } = tileNodeReader(70_000, fetch);
    for (const index of [0, 255, 256, 65_535, 65_536, 69_887, 69_999]) {
      expect((await inclusionProof(index, 70_000, read)).map(hex), `leaf ${index}`).toEqual(
        refInclusionProof(index, leafHashes).map(hex),
      );
    }
    for (const oldSize of [1, 256, 65_535, 65_536, 65_537, 69_999]) {
      expect((await consistencyProof(oldSize, 70_000, read)).map(hex), `from ${oldSize}`).toEqual(
        refConsistencyProof(oldSize, leafHashes).map(hex),
      );
    }
    expect(hex(await rootAt(70_000, read))).toBe(hex(refRoot(leafHashes)));
    expect(fetched).toContain('tile/1/000');
    expect(fetched).toContain('tile/1/001.p/17');
    expect(fetched).toContain('tile/2/000.p/1');
  }, 30_000);

  describe('the published vectors', () => {
    const { vectorSets } = loadVectors<{ vectorSets: VectorSet[] }>('leaves-and-roots.json');
    const inclusion = loadVectors<{ vectors: InclusionVector[] }>('inclusion-proofs.json').vectors;
    const consistency = loadVectors<{ vectors: ConsistencyVector[] }>('consistency-proofs.json').vectors;
    const trees = vectorSets.map((set) => ({
      set,
      leafHashes: set.leaves.map((leaf) => hashLeaf(unhex(leaf))),
    }));
    /** The vector set whose first `size` leaves have root `root`: the tree a proof vector was made on. */
    const treeWith = (size: number, root: string) =>
      trees.find(({ set }) => set.roots.some((r) => r.treeSize === size && r.root === root));

    it.each(trees.map((tree) => [tree.set.id, tree] as const))(
      'roots of %s from its tiles',
      async (_, { set, leafHashes }) => {
        for (const { treeSize, root } of set.roots.filter((r) => r.treeSize > 0)) {
          const { read } = tileNodeReader(treeSize, publishedTree(leafHashes.slice(0, treeSize)));
          expect(hex(await rootAt(treeSize, read)), `size ${treeSize}`).toBe(root);
        }
      },
    );

    it('inclusion and consistency proofs recomputed from tiles equal the valid vectors', async () => {
      let checked = 0;
      for (const vector of inclusion.filter((v) => v.valid)) {
        const tree = treeWith(vector.treeSize, vector.root);
        if (!tree) continue;
        const leafHash = vector.leafHash ?? hex(hashLeaf(unhex(vector.leafData!)));
        expect(hex(tree.leafHashes[vector.leafIndex]!), vector.id).toBe(leafHash);
        const { read } = tileNodeReader(
          vector.treeSize,
          publishedTree(tree.leafHashes.slice(0, vector.treeSize)),
        );
        expect((await inclusionProof(vector.leafIndex, vector.treeSize, read)).map(hex), vector.id).toEqual(
          vector.proof,
        );
        checked++;
      }
      for (const vector of consistency.filter((v) => v.valid)) {
        const tree = treeWith(vector.size2, vector.root2);
        if (!tree) continue;
        const { read } = tileNodeReader(vector.size2, publishedTree(tree.leafHashes.slice(0, vector.size2)));
        expect((await consistencyProof(vector.size1, vector.size2, read)).map(hex), vector.id).toEqual(
          vector.proof,
        );
        checked++;
      }
      // 5 + 5 transparency-dev happy paths over their 8 leaves, the transmute interop proofs.
      expect(checked).toBeGreaterThanOrEqual(14);
    });
  });
});
