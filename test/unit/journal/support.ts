// Shared test fixtures: the published vectors, a naive RFC 9162 reference written straight from
// the recursive definitions (independent of merkle.ts and verify.ts), and an in-memory node store.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { NodeId, NodeReader } from '../../../functions/journal/merkle.ts';

// The shared folder is a sibling of the repository (CI clones it beside the repo).
const VECTORS = new URL('../../../../shared/data/merkle-vectors/', import.meta.url);

/** A vector file, parsed. */
export function loadVectors<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, VECTORS), 'utf8')) as T;
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
export const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A copy of `bytes` with bit `bit` (0 = most significant of byte 0) flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[Math.floor(bit / 8)]! ^= 0x80 >> (bit % 8);
  return copy;
}

// ---- Naive RFC 9162 §2.1 reference -----------------------------------------------------------

function sha256(...parts: Uint8Array[]): Uint8Array {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

export const refLeafHash = (data: Uint8Array): Uint8Array => sha256(Uint8Array.of(0), data);
const refNodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array =>
  sha256(Uint8Array.of(1), left, right);

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes, by the recursive definition. */
export function refRoot(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return sha256();
  if (leafHashes.length === 1) return leafHashes[0]!;
  const k = largestPowerOfTwoBelow(leafHashes.length);
  return refNodeHash(refRoot(leafHashes.slice(0, k)), refRoot(leafHashes.slice(k)));
}

/** PATH(m, D[n]), RFC 9162 §2.1.3.1. */
export function refInclusionProof(index: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  if (leafHashes.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leafHashes.length);
  return index < k
    ? [...refInclusionProof(index, leafHashes.slice(0, k)), refRoot(leafHashes.slice(k))]
    : [...refInclusionProof(index - k, leafHashes.slice(k)), refRoot(leafHashes.slice(0, k))];
}

/** PROOF(m, D[n]) = SUBPROOF(m, D[n], true), RFC 9162 §2.1.4.1. */
export function refConsistencyProof(oldSize: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  return subproof(oldSize, leafHashes, true);
}

function subproof(m: number, leafHashes: readonly Uint8Array[], complete: boolean): Uint8Array[] {
  const n = leafHashes.length;
  if (m === n) return complete ? [] : [refRoot(leafHashes)];
  const k = largestPowerOfTwoBelow(n);
  return m <= k
    ? [...subproof(m, leafHashes.slice(0, k), complete), refRoot(leafHashes.slice(k))]
    : [...subproof(m - k, leafHashes.slice(k), false), refRoot(leafHashes.slice(0, k))];
}

/** Distinct leaf hashes for a tree of `size` leaves, varied by `seed`. */
export function makeLeafHashes(size: number, seed = 0): Uint8Array[] {
  return Array.from({ length: size }, (_, i) => refLeafHash(utf8(`entry ${seed}/${i}`)));
}

// ---- In-memory node store ---------------------------------------------------------------------

/** Every complete node of a tree over `leafHashes`, built bottom-up, keyed `level/index`. */
export function buildNodeStore(leafHashes: readonly Uint8Array[]): Map<string, Uint8Array> {
  const store = new Map<string, Uint8Array>();
  let level = [...leafHashes];
  for (let l = 0; level.length > 0; l++) {
    for (const [i, hash] of level.entries()) store.set(`${l}/${i}`, hash);
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(refNodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return store;
}

/** A NodeReader over `store` that records each call's requests. */
export function recordingReader(store: Map<string, Uint8Array>): { read: NodeReader; calls: NodeId[][] } {
  const calls: NodeId[][] = [];
  const read: NodeReader = async (nodes) => {
    calls.push(nodes);
    return nodes.map((node) => {
      const hash = store.get(`${node.level}/${node.index}`);
      if (hash === undefined) throw new Error(`node (${node.level}, ${node.index}) is not stored`);
      return hash;
    });
  };
  return { read, calls };
}

/** Shapes of the published vector files in ../shared/data/merkle-vectors. */
export interface VectorSet {
  id: string;
  leaves: string[];
  roots: { treeSize: number; root: string }[];
  nodeHashes?: { levels: string[][] };
}
export interface InclusionVector {
  id: string;
  desc: string;
  treeSize: number;
  leafIndex: number;
  leafHash?: string;
  leafData?: string;
  proof: string[];
  root: string;
  valid: boolean;
}
export interface ConsistencyVector {
  id: string;
  desc: string;
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[];
  valid: boolean;
}
