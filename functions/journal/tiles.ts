// C2SP tlog-tiles planning: which tiles a tree of a given size has, what each one holds, where
// it is published and which of them a publication must add. Pure and dependency-free (no
// hashing, no Node, no AWS), so the publisher, tests and an auditor's browser share it.
//
// Tile (L, N) of width W holds the hashes of tree level 8·L, nodes N·256 … N·256 + W − 1: at
// level 0 the leaf hashes, above that the Merkle Tree Hash of each full tile of the level below.
// A tile is full at 256 hashes and then never changes; the rightmost tile of a level is partial
// (1–255 hashes) and its name carries the width (`.p/<W>`), so every published object, full or
// partial, is immutable.
//
// Entry bundles (`tile/entries/…`) are deliberately not part of this: journal entries carry PHI
// (member ids, diagnoses), so only hashes are published.

/** Tree levels one tile spans. */
export const TILE_HEIGHT = 8;
/** Hashes in a full tile (2^TILE_HEIGHT). */
export const TILE_WIDTH = 256;
/** Bytes of one hash (SHA-256): a full tile is 8,192 bytes. */
export const TILE_HASH_SIZE = 32;

const MAX_TILE_LEVEL = 63;

/** A published tile: level `level`, index `index` in that level, `width` hashes (256 when full). */
export interface Tile {
  level: number;
  index: number;
  width: number;
}

/** A size, index, width or path that names no tile. */
export class TileError extends RangeError {
  override name = 'TileError';
}

/** True when the tile holds all 256 hashes. */
export const isFullTile = (tile: Tile): boolean => tile.width === TILE_WIDTH;

/**
 * The tile's resource path, e.g. `tile/0/x001/x234/067` or `tile/1/000.p/17`: the index in
 * zero-padded 3-digit path elements, all but the last prefixed with `x`.
 */
export function tilePath(tile: Tile): string {
  requireTile(tile);
  const groups: string[] = [];
  let rest = tile.index;
  do {
    groups.unshift(String(rest % 1000).padStart(3, '0'));
    rest = Math.floor(rest / 1000);
  } while (rest > 0);
  const index = groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
  return `tile/${tile.level}/${index}${isFullTile(tile) ? '' : `.p/${tile.width}`}`;
}

const PATH = /^tile\/(0|[1-9]\d?)\/((?:x\d{3}\/)*)(\d{3})(?:\.p\/([1-9]\d{0,2}))?$/;

/**
 * The tile a canonical resource path names. Entry bundles (`tile/entries/…`) and non-canonical
 * spellings (extra leading `x000/` groups, leading zeroes, width 256 as partial) are refused.
 *
 * @throws TileError when `path` is not a canonical hash-tile path.
 */
export function parseTilePath(path: string): Tile {
  const match = PATH.exec(path);
  if (!match) throw new TileError(`not a tile path: ${JSON.stringify(path)}`);
  const [, level, prefix, last, width] = match;
  const groups = [...(prefix ?? '').split('/').filter(Boolean), last ?? ''].map((group) =>
    Number(group.replace(/^x/, '')),
  );
  const index = groups.reduce((sum, group) => sum * 1000 + group, 0);
  let tile: Tile;
  try {
    tile = { level: Number(level), index, width: width === undefined ? TILE_WIDTH : Number(width) };
    if (width !== undefined && tile.width >= TILE_WIDTH) throw new TileError('a partial tile is 1–255 wide');
    if (tilePath(tile) !== path) throw new TileError('not in canonical form');
  } catch (error: unknown) {
    throw new TileError(`not a tile path: ${JSON.stringify(path)} (${(error as Error).message})`);
  }
  return tile;
}

/** Hashes at tile level `level` in a tree of `size` leaves: ⌊size / 256^level⌋. */
export function rowLength(level: number, size: number): number {
  requireCount(level, 'tile level');
  requireCount(size, 'tree size');
  return Math.floor(size / TILE_WIDTH ** level);
}

/**
 * The tile that holds hash `position` of tile level `level`, at the width it has in a tree of
 * `size` leaves.
 *
 * @throws TileError when the tree has no such hash yet.
 */
export function tileAt(level: number, position: number, size: number): Tile {
  requireCount(position, 'row position');
  const length = rowLength(level, size);
  if (position >= length) {
    throw new TileError(
      `a tree of size ${size} has ${length} hashes at tile level ${level}, not ${position + 1}`,
    );
  }
  const index = Math.floor(position / TILE_WIDTH);
  return { level, index, width: Math.min(TILE_WIDTH, length - index * TILE_WIDTH) };
}

/**
 * Where complete node (`level`, `index`) of a tree of `size` leaves is read from: the tile
 * holding its row, and its span [`offset`, `offset + width`) of that tile's hashes. The node's
 * hash is the Merkle Tree Hash of that span (the span's single hash when `level` is a multiple
 * of 8).
 *
 * @throws TileError when the node is not complete in a tree of `size` leaves.
 */
export function tileForNode(
  level: number,
  index: number,
  size: number,
): { tile: Tile; offset: number; width: number } {
  requireCount(level, 'node level');
  requireCount(index, 'node index');
  requireCount(size, 'tree size');
  if ((index + 1) * 2 ** level > size) {
    throw new TileError(`node (${level}, ${index}) is not complete in a tree of size ${size}`);
  }
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const width = 2 ** (level % TILE_HEIGHT);
  const position = index * width;
  return { tile: tileAt(tileLevel, position, size), offset: position % TILE_WIDTH, width };
}

/** The tree nodes a tile holds: level `treeLevel`, indices [`first`, `first + count`). */
export function tileNodes(tile: Tile): { treeLevel: number; first: number; count: number } {
  requireTile(tile);
  return { treeLevel: TILE_HEIGHT * tile.level, first: tile.index * TILE_WIDTH, count: tile.width };
}

/**
 * Where a full tile's own Merkle Tree Hash sits one level up: tile level `level + 1`, row
 * position `index`. That is how a full tile is checked against the tree above it.
 */
export function parentPosition(tile: Tile): { level: number; position: number } {
  requireTile(tile);
  if (!isFullTile(tile)) throw new TileError('a partial tile is not hashed into the level above');
  return { level: tile.level + 1, position: tile.index };
}

/** The partial tiles of a tree of `size` leaves, lowest level first (none for size 0). */
export function partialTiles(size: number): Tile[] {
  const tiles: Tile[] = [];
  for (let level = 0; rowLength(level, size) > 0; level++) {
    const length = rowLength(level, size);
    if (length % TILE_WIDTH !== 0) {
      tiles.push({ level, index: Math.floor(length / TILE_WIDTH), width: length % TILE_WIDTH });
    }
  }
  return tiles;
}

/**
 * The tiles a tree of `newSize` leaves has and the tree of `oldSize` leaves does not: the full
 * tiles completed in between and the partial tiles at `newSize` whose width changed. With
 * `oldSize` 0 these are all the tiles of the tree.
 *
 * Listed in publication order: highest level first, and within a level full tiles by index, then
 * the partial tile. So when `oldSize` < `newSize` the last tile listed is the level-0 tile
 * holding leaf `newSize − 1` ({@link tileAt}(0, newSize − 1, newSize)): a publisher that writes
 * them in order has written every one of them once that one exists.
 *
 * @throws TileError when `oldSize` > `newSize` or a size is not a safe non-negative integer.
 */
export function tilesToPublish(oldSize: number, newSize: number): Tile[] {
  requireCount(oldSize, 'old tree size');
  requireCount(newSize, 'new tree size');
  if (oldSize > newSize)
    throw new TileError(`old tree size ${oldSize} is larger than new tree size ${newSize}`);
  const levels: Tile[][] = [];
  for (let level = 0; rowLength(level, newSize) > 0; level++) {
    const oldLength = rowLength(level, oldSize);
    const newLength = rowLength(level, newSize);
    const tiles: Tile[] = [];
    for (
      let index = Math.floor(oldLength / TILE_WIDTH);
      index < Math.floor(newLength / TILE_WIDTH);
      index++
    ) {
      tiles.push({ level, index, width: TILE_WIDTH });
    }
    if (newLength % TILE_WIDTH !== 0 && newLength !== oldLength) {
      tiles.push({ level, index: Math.floor(newLength / TILE_WIDTH), width: newLength % TILE_WIDTH });
    }
    levels.push(tiles);
  }
  return levels.reverse().flat();
}

/** A tile's bytes: its hashes concatenated. */
export function encodeTile(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length < 1 || hashes.length > TILE_WIDTH) {
    throw new TileError(`a tile holds 1–${TILE_WIDTH} hashes, got ${hashes.length}`);
  }
  const bytes = new Uint8Array(hashes.length * TILE_HASH_SIZE);
  hashes.forEach((hash, i) => {
    if (hash.length !== TILE_HASH_SIZE) throw new TileError(`tile hash ${i} must be ${TILE_HASH_SIZE} bytes`);
    bytes.set(hash, i * TILE_HASH_SIZE);
  });
  return bytes;
}

/**
 * The hashes in the bytes of `tile`.
 *
 * @throws TileError when the length is not exactly the tile's width in hashes.
 */
export function decodeTile(tile: Tile, bytes: Uint8Array): Uint8Array[] {
  requireTile(tile);
  if (bytes.length !== tile.width * TILE_HASH_SIZE) {
    throw new TileError(
      `${tilePath(tile)} must be ${tile.width * TILE_HASH_SIZE} bytes (${tile.width} hashes), got ${bytes.length}`,
    );
  }
  return Array.from({ length: tile.width }, (_, i) =>
    bytes.slice(i * TILE_HASH_SIZE, (i + 1) * TILE_HASH_SIZE),
  );
}

function requireTile(tile: Tile): void {
  requireCount(tile.level, 'tile level');
  requireCount(tile.index, 'tile index');
  if (tile.level > MAX_TILE_LEVEL) throw new TileError(`tile level ${tile.level} is above ${MAX_TILE_LEVEL}`);
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) {
    throw new TileError(`tile width must be 1–${TILE_WIDTH}, got ${tile.width}`);
  }
}

function requireCount(value: number, what: string): void {
  if (!(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
    throw new TileError(`${what} must be a non-negative safe integer, got ${value}`);
  }
}
