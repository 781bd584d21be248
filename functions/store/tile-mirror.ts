// Publishing the journal's Merkle tree as C2SP tlog-tiles (`tile/<L>/<N>[.p/<W>]`) beside the
// signed checkpoints, so an auditor holding a published checkpoint can fetch the hashes of any
// inclusion or consistency proof from the bucket alone.
//
// Entry bundles (`tile/entries/…`) are NOT published: journal entries carry PHI (member ids,
// diagnoses). Only hashes leave the account; an auditor gets an entry from whoever showed it to
// them (a receipt, an export) and checks it against the tiles.
//
// Every tile is written once (its name carries its width), so nothing published ever changes.
// Before any tile is written, the hashes read from storage are checked against the checkpoint's
// signed root: the partial tiles hold the tree's right edge and must fold to the root, and each
// full tile must hash to its entry in the (already checked) level above. So a node rewritten in
// the table is refused, not frozen into a write-once object.

import { bytesEqual } from '#journal/bytes.ts';
import { rightEdgeNodes, rootFromLeafHashes, rootFromRightEdge } from '#journal/merkle.ts';
import {
  encodeTile,
  isFullTile,
  partialTiles,
  TILE_HASH_SIZE,
  TILE_WIDTH,
  type Tile,
  tileAt,
  tileForNode,
  tilePath,
  tilesToPublish,
} from '#journal/tiles.ts';
import type { TreeHead } from './head-consistency.ts';

/** Port to the published tiles: write-once objects at {@link tilePath}. */
export interface PublishedTiles {
  /** True when the tile is published. */
  has(tile: Tile): Promise<boolean>;
  /**
   * Writes the tile once. Writing the same bytes again is a no-op.
   *
   * @throws MirrorConsistencyError when different bytes are already published under its name.
   */
  put(tile: Tile, bytes: Uint8Array): Promise<void>;
}

/** Source of the hashes to publish: the journal's tree ({@link JournalTreeRepository.tileHashes}). */
export interface TileHashSource {
  tileHashes(tile: Tile): Promise<Uint8Array[]>;
}

/** The stored hashes do not give the signed tree: nothing was published. */
export class TileMismatchError extends Error {
  override name = 'TileMismatchError';
}

/**
 * True when every tile of the tree of `size` leaves is published. {@link publishTiles} writes
 * in {@link tilesToPublish} order, which ends with the level-0 tile holding the last leaf, so
 * that tile stands for all of them. False for a bucket whose checkpoints predate tiles.
 */
export async function tilesPublishedFor(published: PublishedTiles, size: number): Promise<boolean> {
  return size === 0 || published.has(tileAt(0, size - 1, size));
}

/**
 * Publishes the tiles the tree `head` has beyond the tree of `fromSize` leaves (all of them when
 * `fromSize` is 0), after checking the stored hashes against `head.rootHash`. Reads the new
 * tiles and the partial tiles at `head.size`, nothing else. Idempotent: a re-run after a
 * failure rewrites identical objects.
 *
 * When `fromSize` is 0 (a first publication, or a bucket that predates tiles), level-0 tiles
 * already in the bucket are skipped unread, so a long backfill that times out resumes where it
 * stopped: level-0 tiles are written in index order, after every higher level.
 *
 * @returns the number of tiles written.
 * @throws TileMismatchError when the stored hashes do not give `head`.
 */
export async function publishTiles(
  source: TileHashSource,
  published: PublishedTiles,
  head: TreeHead,
  fromSize: number,
): Promise<number> {
  const tiles = tilesToPublish(fromSize, head.size);
  if (tiles.length === 0) return 0;

  // The partial tiles hold every node of the right edge; their hashes must give the signed root.
  const partial = new Map<number, { tile: Tile; hashes: Uint8Array[] }>();
  for (const tile of partialTiles(head.size))
    partial.set(tile.level, { tile, hashes: await read(source, tile) });
  const edge = rightEdgeNodes(head.size).map(({ level, index }) => {
    const { tile, offset, width } = tileForNode(level, index, head.size);
    const row = partial.get(tile.level);
    if (row?.tile.index !== tile.index) throw new Error(`node (${level}, ${index}) is not in a partial tile`);
    return rootFromLeafHashes(row.hashes.slice(offset, offset + width));
  });
  if (!bytesEqual(rootFromRightEdge(edge), head.rootHash)) {
    throw new TileMismatchError(
      `the stored tree hashes do not give the signed root of tree size ${head.size}`,
    );
  }

  // Top down: a new full tile's own hash is a hash of the level above, checked before it. A new
  // full tile at level L sits in a new full tile or the partial tile of level L + 1.
  let written = 0;
  let above = new Map<number, Uint8Array>();
  let row = new Map<number, Uint8Array>();
  let level = Number.POSITIVE_INFINITY;
  for (const tile of tiles) {
    if (tile.level !== level) {
      // Levels come top down; a level with new full tiles always follows the one just above it.
      above = tile.level + 1 === level ? row : new Map();
      row = new Map();
      level = tile.level;
      const edgeTile = partial.get(level);
      edgeTile?.hashes.forEach((hash, i) => {
        row.set(edgeTile.tile.index * TILE_WIDTH + i, hash);
      });
    }
    if (!isFullTile(tile)) {
      // Checked with the root above; tilesToPublish lists it only when it is the partial tile here.
      await published.put(tile, encodeTile(partial.get(level)!.hashes));
      written++;
      continue;
    }
    if (fromSize === 0 && level === 0 && (await published.has(tile))) continue;
    const hashes = await read(source, tile);
    const expected = above.get(tile.index);
    if (!expected) throw new Error(`${tilePath(tile)} has no hash at tile level ${level + 1}`);
    if (!bytesEqual(rootFromLeafHashes(hashes), expected)) {
      throw new TileMismatchError(
        `the stored hashes of ${tilePath(tile)} do not give its hash at tile level ${level + 1}`,
      );
    }
    await published.put(tile, encodeTile(hashes));
    written++;
    if (level > 0) {
      hashes.forEach((hash, i) => {
        row.set(tile.index * TILE_WIDTH + i, hash);
      });
    }
  }
  return written;
}

async function read(source: TileHashSource, tile: Tile): Promise<Uint8Array[]> {
  const hashes = await source.tileHashes(tile);
  if (hashes.length !== tile.width || hashes.some((hash) => hash.length !== TILE_HASH_SIZE)) {
    throw new TileMismatchError(`storage returned a malformed ${tilePath(tile)}`);
  }
  return hashes;
}
