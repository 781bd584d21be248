// The portable proof verifier (RFC 9162 §2.1.3.2 and §2.1.4.2). It imports nothing from Node
// and nothing from the writer side (merkle.ts), so the CLI, tests and a browser check proofs
// with code that shares no hashing or planning logic with the code that produced them.
//
// Every check either returns or throws ProofError with the reason: a verdict a caller cannot
// ignore by forgetting to test a boolean.

import { sha256 } from '@noble/hashes/sha2.js';
import {
  bitAt,
  bitLength,
  isSafeNonNegativeInteger,
  popCount,
  shiftRight,
  trailingZeros,
  xor,
} from './bits.ts';
import { bytesEqual } from './bytes.ts';

/** A proof that does not prove what it was checked against, or that is malformed. */
export class ProofError extends Error {
  override name = 'ProofError';
}

const HASH_SIZE = 32;
const NODE_PREFIX = new Uint8Array([1]);

function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256.create().update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * The root that an inclusion proof for `leafHash` at `index` in a tree of `size` leaves
 * implies. Compare it with a trusted root, or use {@link verifyInclusion}.
 *
 * @throws ProofError when the index is outside the tree or the proof has the wrong shape.
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  requireCount(size, 'tree size');
  requireCount(index, 'leaf index');
  if (index >= size) throw new ProofError(`leaf index ${index} is outside a tree of size ${size}`);
  requireHash(leafHash, 'leaf hash');
  requireProofHashes(proof);
  // Below `inner` the leaf's path and the tree's last leaf's path differ; above it both run
  // along the right edge, where every sibling is a left sibling (one per set bit of the index).
  const inner = bitLength(xor(index, size - 1));
  const expected = inner + popCount(shiftRight(index, inner));
  if (proof.length !== expected) {
    throw new ProofError(
      `an inclusion proof for leaf ${index} in a tree of size ${size} has ${expected} hashes, got ${proof.length}`,
    );
  }
  let root = leafHash;
  proof.forEach((sibling, i) => {
    root = i < inner && bitAt(index, i) === 0 ? hashChildren(root, sibling) : hashChildren(sibling, root);
  });
  return root;
}

/**
 * Checks that `leafHash` is leaf `index` of the tree of `size` leaves whose root is `root`.
 *
 * @throws ProofError saying why it is not.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  requireHash(root, 'root');
  if (!bytesEqual(rootFromInclusionProof(leafHash, index, size, proof), root)) {
    throw new ProofError(
      `inclusion proof for leaf ${index} does not lead to the root of the tree of size ${size}`,
    );
  }
}

/**
 * The new root that a consistency proof from the tree of `oldSize` leaves with root `oldRoot`
 * implies for the tree of `newSize` leaves, after checking that the proof reproduces `oldRoot`.
 *
 * The old tree must have at least one leaf: the empty tree is a prefix of every tree, so there
 * is nothing to prove (RFC 9162 defines consistency proofs for 0 < m ≤ n).
 *
 * @throws ProofError when the sizes are out of order or the proof does not match `oldRoot`.
 */
export function rootFromConsistencyProof(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
): Uint8Array {
  requireCount(oldSize, 'old tree size');
  requireCount(newSize, 'new tree size');
  if (oldSize < 1) throw new ProofError('old tree size must be at least 1: the empty tree needs no proof');
  if (oldSize > newSize)
    throw new ProofError(`old tree size ${oldSize} is larger than new tree size ${newSize}`);
  requireHash(oldRoot, 'old root');
  requireProofHashes(proof);
  if (oldSize === newSize) {
    if (proof.length !== 0) throw new ProofError('a consistency proof between equal tree sizes is empty');
    return oldRoot;
  }
  // The proof is the inclusion path, in the new tree, of the old tree's smallest right-edge
  // subtree (`seedLevel`, `seedIndex`), preceded by that subtree's hash unless it is the whole
  // old tree. Left siblings on the path rebuild the old root; all siblings the new one.
  const seedLevel = trailingZeros(oldSize);
  const seedIndex = shiftRight(oldSize, seedLevel) - 1;
  const lastIndex = shiftRight(newSize - 1, seedLevel);
  const inner = bitLength(xor(seedIndex, lastIndex));
  const hasSeed = seedIndex !== 0;
  const expected = (hasSeed ? 1 : 0) + inner + popCount(shiftRight(seedIndex, inner));
  if (proof.length !== expected) {
    throw new ProofError(
      `a consistency proof from size ${oldSize} to size ${newSize} has ${expected} hashes, got ${proof.length}`,
    );
  }
  const path = hasSeed ? proof.slice(1) : proof;
  let oldHash = hasSeed ? proof[0]! : oldRoot;
  let newHash = oldHash;
  path.forEach((sibling, i) => {
    if (i < inner && bitAt(seedIndex, i) === 0) {
      newHash = hashChildren(newHash, sibling);
    } else {
      oldHash = hashChildren(sibling, oldHash);
      newHash = hashChildren(sibling, newHash);
    }
  });
  if (!bytesEqual(oldHash, oldRoot)) {
    throw new ProofError(`consistency proof does not lead to the root of the tree of size ${oldSize}`);
  }
  return newHash;
}

/**
 * Checks that the tree of `oldSize` leaves with root `oldRoot` is a prefix of the tree of
 * `newSize` leaves with root `newRoot`.
 *
 * @throws ProofError saying why it is not shown to be.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  requireHash(newRoot, 'new root');
  const computed = rootFromConsistencyProof(oldSize, newSize, proof, oldRoot);
  if (!bytesEqual(computed, newRoot)) {
    throw new ProofError(
      oldSize === newSize
        ? `roots of the tree of size ${oldSize} differ`
        : `consistency proof does not lead to the root of the tree of size ${newSize}`,
    );
  }
}

function requireCount(value: number, what: string): void {
  if (!isSafeNonNegativeInteger(value)) throw new ProofError(`${what} must be a non-negative safe integer`);
}

function requireHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    throw new ProofError(`${what} must be a ${HASH_SIZE}-byte SHA-256 hash`);
  }
}

function requireProofHashes(proof: readonly Uint8Array[]): void {
  for (const [i, hash] of proof.entries()) requireHash(hash, `proof hash ${i}`);
}
