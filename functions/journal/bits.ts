// Bit arithmetic on tree sizes and indices. JavaScript's bitwise operators truncate to 32 bits,
// and a journal may outgrow 2^32 entries, so these work on any safe integer (< 2^53) with
// exact power-of-two division instead.

const TWO_32 = 2 ** 32;

/** True for integers in [0, 2^53 - 1], the range in which sizes and indices are exact. */
export function isSafeNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Number of bits needed to write `x` (0 for 0). */
export function bitLength(x: number): number {
  if (x < TWO_32) return 32 - Math.clz32(x);
  return 32 + bitLength(Math.floor(x / TWO_32));
}

/** Number of set bits in `x`. */
export function popCount(x: number): number {
  let count = 0;
  for (let rest = x; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/** Number of trailing zero bits of `x`, which must be positive. */
export function trailingZeros(x: number): number {
  if (!(x > 0)) throw new RangeError(`trailingZeros needs a positive integer, got ${x}`);
  let count = 0;
  for (let rest = x; rest % 2 === 0; rest /= 2) count++;
  return count;
}

/** `x >> k` for any safe integer. */
export function shiftRight(x: number, k: number): number {
  return Math.floor(x / 2 ** k);
}

/** Bit `i` of `x`. */
export function bitAt(x: number, i: number): number {
  return shiftRight(x, i) % 2;
}

/** `a ^ b` for any safe integers. */
export function xor(a: number, b: number): number {
  const high = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  const low = ((a % TWO_32) ^ (b % TWO_32)) >>> 0;
  return high * TWO_32 + low;
}
