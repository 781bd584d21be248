import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeTile,
  isFullTile,
  partialTiles,
  type Tile,
  tileNodes,
  tilePath,
  tilesToPublish,
} from '../../../functions/journal/tiles.ts';
import {
  type PublishedTiles,
  publishTiles,
  type TileHashSource,
  TileMismatchError,
  tilesPublishedFor,
} from '../../../functions/store/tile-mirror.ts';
import { buildNodeStore, flipBit, hex, makeLeafHashes, refRoot } from '../journal/support.ts';

/** A write-once tile bucket in memory; `failAfter` makes the n-th next put fail. */
function memoryTiles(): PublishedTiles & {
  objects: Map<string, Uint8Array>;
  puts: string[];
  failAfter: number | undefined;
} {
  const objects = new Map<string, Uint8Array>();
  const bucket = {
    objects,
    puts: [] as string[],
    failAfter: undefined as number | undefined,
    has: async (tile: Tile) => objects.has(tilePath(tile)),
    async put(tile: Tile, bytes: Uint8Array) {
      if (bucket.failAfter !== undefined && bucket.failAfter-- <= 0) throw new Error('network down');
      const path = tilePath(tile);
      const existing = objects.get(path);
      if (existing && hex(existing) !== hex(bytes)) throw new Error(`different bytes at ${path}`);
      bucket.puts.push(path);
      objects.set(path, bytes);
    },
  };
  return bucket;
}

/** The tree's hashes as storage holds them, recording which tiles were read. */
function treeSource(leafHashes: readonly Uint8Array[]): TileHashSource & {
  store: Map<string, Uint8Array>;
  reads: string[];
} {
  const store = buildNodeStore(leafHashes);
  const reads: string[] = [];
  return {
    store,
    reads,
    async tileHashes(tile) {
      reads.push(tilePath(tile));
      const { treeLevel, first, count } = tileNodes(tile);
      return Array.from({ length: count }, (_, i) => store.get(`${treeLevel}/${first + i}`)!);
    },
  };
}

const head = (leafHashes: readonly Uint8Array[], size: number) => ({
  size,
  rootHash: refRoot(leafHashes.slice(0, size)),
});

/** Every tile of the tree of `size` leaves is in the bucket, holding the tree's hashes. */
function expectComplete(
  bucket: ReturnType<typeof memoryTiles>,
  store: Map<string, Uint8Array>,
  size: number,
): void {
  for (const tile of tilesToPublish(0, size)) {
    const bytes = bucket.objects.get(tilePath(tile));
    expect(bytes, tilePath(tile)).toBeDefined();
    const { treeLevel, first } = tileNodes(tile);
    expect(decodeTile(tile, bytes!).map(hex)).toEqual(
      Array.from({ length: tile.width }, (_, i) => hex(store.get(`${treeLevel}/${first + i}`)!)),
    );
  }
}

describe('publishing tiles', () => {
  it('publishes, as a tree grows, every tile of each published size, reading only new and partial tiles', async () => {
    const leafHashes = makeLeafHashes(3_000);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: leafHashes.length }), { minLength: 1, maxLength: 5 }),
        async (sizes) => {
          const source = treeSource(leafHashes);
          const bucket = memoryTiles();
          let previous = 0;
          for (const size of [...sizes].sort((a, b) => a - b)) {
            source.reads.length = 0;
            bucket.puts.length = 0;
            const written = await publishTiles(source, bucket, head(leafHashes, size), previous);
            const expected = tilesToPublish(previous, size).map(tilePath);
            expect(bucket.puts).toEqual(expected);
            expect(written).toBe(expected.length);
            expect(new Set(source.reads)).toEqual(
              new Set([...expected, ...partialTiles(size).map(tilePath)].filter(() => expected.length > 0)),
            );
            expectComplete(bucket, source.store, size);
            expect(await tilesPublishedFor(bucket, size)).toBe(true);
            previous = size;
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('checks full level-1 tiles against the level above (a tree of 70,000 leaves)', async () => {
    const leafHashes = makeLeafHashes(70_000, 1);
    const source = treeSource(leafHashes);
    const bucket = memoryTiles();
    expect(await publishTiles(source, bucket, head(leafHashes, 65_000), 0)).toBe(
      tilesToPublish(0, 65_000).length,
    );
    expect(await publishTiles(source, bucket, head(leafHashes, 70_000), 65_000)).toBe(
      tilesToPublish(65_000, 70_000).length,
    );
    expect(bucket.objects.has('tile/1/000')).toBe(true);
    expectComplete(bucket, source.store, 70_000);
  }, 30_000);

  it('refuses stored hashes that do not give the signed root, writing only tiles checked before', async () => {
    const leafHashes = makeLeafHashes(600);
    const good = treeSource(leafHashes).store;
    // Leaves rewritten inside the tiles that become full and in the partial tile, and a stored
    // interior node of level 8 (the hash of tile 0/000, in tile 1/000.p/2).
    for (const [node, tampered] of [
      ['0/10', 'tile/0/000'],
      ['0/300', 'tile/0/001'],
      ['0/590', 'tile/0/002.p/88'],
      ['8/0', 'tile/1/000.p/2'],
    ] as const) {
      const source = treeSource(leafHashes);
      source.store.set(node, flipBit(source.store.get(node)!, 5));
      const bucket = memoryTiles();
      await expect(publishTiles(source, bucket, head(leafHashes, 600), 250), node).rejects.toThrow(
        TileMismatchError,
      );
      expect(bucket.objects.has(tampered), node).toBe(false);
      // Whatever was written before the refusal was checked against the signed root: it is right.
      for (const [path] of bucket.objects) {
        const tile = tilesToPublish(0, 600).find((t) => tilePath(t) === path)!;
        const { treeLevel, first } = tileNodes(tile);
        expect(decodeTile(tile, bucket.objects.get(path)!).map(hex), `${node}: ${path}`).toEqual(
          Array.from({ length: tile.width }, (_, i) => hex(good.get(`${treeLevel}/${first + i}`)!)),
        );
      }
    }
    const source = treeSource(leafHashes);
    await expect(
      publishTiles(source, memoryTiles(), { size: 600, rootHash: refRoot(leafHashes.slice(0, 599)) }, 0),
    ).rejects.toThrow('the stored tree hashes do not give the signed root of tree size 600');
  });

  it('refuses a storage answer of the wrong shape', async () => {
    const leafHashes = makeLeafHashes(10);
    const short: TileHashSource = { tileHashes: async (tile) => makeLeafHashes(tile.width - 1) };
    await expect(publishTiles(short, memoryTiles(), head(leafHashes, 10), 0)).rejects.toThrow(
      'storage returned a malformed tile/0/000.p/10',
    );
  });

  it('writes nothing when the size did not change', async () => {
    const leafHashes = makeLeafHashes(300);
    const source = treeSource(leafHashes);
    const bucket = memoryTiles();
    await publishTiles(source, bucket, head(leafHashes, 300), 0);
    source.reads.length = 0;
    bucket.puts.length = 0;
    expect(await publishTiles(source, bucket, head(leafHashes, 300), 300)).toBe(0);
    expect(bucket.puts).toEqual([]);
    expect(source.reads).toEqual([]);
  });

  it('resumes a backfill that failed half-way without reading the level-0 tiles it already wrote', async () => {
    const leafHashes = makeLeafHashes(2_000);
    const source = treeSource(leafHashes);
    const bucket = memoryTiles();
    bucket.failAfter = 4;
    await expect(publishTiles(source, bucket, head(leafHashes, 2_000), 0)).rejects.toThrow('network down');
    // Level 1 first, then level-0 tiles in order: 1/000.p/7, 0/000, 0/001, 0/002.
    expect(bucket.puts).toEqual(['tile/1/000.p/7', 'tile/0/000', 'tile/0/001', 'tile/0/002']);
    expect(await tilesPublishedFor(bucket, 2_000)).toBe(false);

    bucket.failAfter = undefined;
    source.reads.length = 0;
    bucket.puts.length = 0;
    expect(await publishTiles(source, bucket, head(leafHashes, 2_000), 0)).toBe(6);
    expect(source.reads.filter((path) => ['tile/0/000', 'tile/0/001', 'tile/0/002'].includes(path))).toEqual(
      [],
    );
    expectComplete(bucket, source.store, 2_000);
    expect(await tilesPublishedFor(bucket, 2_000)).toBe(true);
  });

  it('takes the last level-0 tile as the mark that a size is fully published', async () => {
    const bucket = memoryTiles();
    expect(await tilesPublishedFor(bucket, 0)).toBe(true);
    expect(await tilesPublishedFor(bucket, 512)).toBe(false);
    await bucket.put({ level: 0, index: 1, width: 256 }, new Uint8Array(8192));
    expect(await tilesPublishedFor(bucket, 512)).toBe(true);
    expect(await tilesPublishedFor(bucket, 513)).toBe(false);
    expect(isFullTile({ level: 0, index: 2, width: 1 })).toBe(false);
  });
});
