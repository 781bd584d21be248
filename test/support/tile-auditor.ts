// What an auditor does with published tiles: turn the nodes a proof needs into tile fetches and
// recompute each node's hash from its tile. Used by the tests to prove proofs from the bucket
// alone, with the proof planners of merkle.ts and the portable verifier.

import { type NodeReader, rootFromLeafHashes } from '../../functions/journal/merkle.ts';
import { decodeTile, type Tile, tileForNode, tilePath } from '../../functions/journal/tiles.ts';

/**
 * A merkle.ts NodeReader for the tree of `size` leaves that reads nothing but published tiles,
 * through `fetch(path)`, each tile once. `fetched` lists the paths it read.
 */
export function tileNodeReader(
  size: number,
  fetch: (path: string) => Promise<Uint8Array>,
): { read: NodeReader; fetched: string[] } {
  const fetched: string[] = [];
  const tiles = new Map<string, Promise<Uint8Array[]>>();
  const hashesOf = (tile: Tile): Promise<Uint8Array[]> => {
    const path = tilePath(tile);
    let hashes = tiles.get(path);
    if (!hashes) {
      fetched.push(path);
      hashes = fetch(path).then((bytes) => decodeTile(tile, bytes));
      tiles.set(path, hashes);
    }
    return hashes;
  };
  const read: NodeReader = (nodes) =>
    Promise.all(
      nodes.map(async ({ level, index }) => {
        const { tile, offset, width } = tileForNode(level, index, size);
        return rootFromLeafHashes((await hashesOf(tile)).slice(offset, offset + width));
      }),
    );
  return { read, fetched };
}
