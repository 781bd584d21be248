import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bitAt,
  bitLength,
  popCount,
  shiftRight,
  trailingZeros,
  xor,
} from '../../../functions/journal/bits.ts';
import {
  bytesEqual,
  concatBytes,
  EncodingError,
  fromBase64,
  fromHex,
  hasControlCharacter,
  toBase64,
  toHex,
  utf8Decode,
  utf8Encode,
} from '../../../functions/journal/bytes.ts';

describe('hex and base64', () => {
  it('round-trip and agree with Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const node = Buffer.from(bytes);
        expect(toHex(bytes)).toBe(node.toString('hex'));
        expect(fromHex(toHex(bytes))).toEqual(bytes);
        expect(fromHex(node.toString('hex').toUpperCase())).toEqual(bytes);
        expect(toBase64(bytes)).toBe(node.toString('base64'));
        expect(fromBase64(toBase64(bytes))).toEqual(bytes);
      }),
    );
  });

  it.each(['abc', '0g', 'zz'])('fromHex rejects %j', (text) => {
    expect(() => fromHex(text)).toThrow(EncodingError);
  });

  it.each([
    ['unpadded', 'AQ'],
    ['URL-safe', '-_8='],
    ['padding in the middle', 'AQ==AQ=='],
    ['three padding characters', 'A==='],
    ['whitespace', 'AQ== '],
    ['non-zero padding bits (1 byte)', 'AR=='],
    ['non-zero padding bits (2 bytes)', 'AQF='],
  ])('fromBase64 rejects %s', (_, text) => {
    expect(() => fromBase64(text)).toThrow(EncodingError);
  });
});

describe('UTF-8 and text checks', () => {
  it('decodes strictly and refuses lone surrogates', () => {
    expect(utf8Decode(utf8Encode('é€😀'))).toBe('é€😀');
    expect(() => utf8Decode(Uint8Array.of(0xed, 0xa0, 0x80))).toThrow('bytes are not valid UTF-8');
    expect(() => utf8Encode('\udfff')).toThrow('lone UTF-16 surrogate');
  });

  it('finds control characters other than newline', () => {
    expect(hasControlCharacter('a\nb')).toBe(false);
    expect(hasControlCharacter('a\u001fb')).toBe(true);
    expect(hasControlCharacter('\u007f')).toBe(false);
  });

  it('compares and concatenates bytes', () => {
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1), Uint8Array.of(1, 2))).toBe(false);
    expect(concatBytes(Uint8Array.of(1), new Uint8Array(0), Uint8Array.of(2, 3))).toEqual(
      Uint8Array.of(1, 2, 3),
    );
  });
});

describe('bit arithmetic beyond 32 bits', () => {
  const big = (n: number) => BigInt(n);

  it('matches BigInt arithmetic on safe integers', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.maxSafeNat(), fc.integer({ min: 0, max: 53 }), (a, b, k) => {
        expect(bitLength(a)).toBe(a.toString(2).replace(/^0$/, '').length);
        expect(popCount(a)).toBe([...a.toString(2)].filter((c) => c === '1').length);
        expect(shiftRight(a, k)).toBe(Number(big(a) >> big(k)));
        expect(bitAt(a, k)).toBe(Number((big(a) >> big(k)) & 1n));
        expect(xor(a, b)).toBe(Number(big(a) ^ big(b)));
        if (a > 0) expect(trailingZeros(a)).toBe(a.toString(2).length - 1 - a.toString(2).lastIndexOf('1'));
      }),
    );
  });

  it('refuses trailingZeros(0), which has no answer', () => {
    expect(() => trailingZeros(0)).toThrow(RangeError);
  });
});

describe('portability', () => {
  // The verifier side must run in a browser: no node: imports anywhere in its import graph, and
  // verify.ts itself depends on nothing but @noble/hashes.
  const browserSafe = ['verify.ts', 'note.ts', 'checkpoint.ts', 'entry.ts', 'canonical-json.ts'];
  const importsOf = (file: string): string[] => {
    const source = readFileSync(new URL(`../../../functions/journal/${file}`, import.meta.url), 'utf8');
    return [...source.matchAll(/^import [^;]*? from '([^']+)';/gms)].map((match) => match[1]!);
  };
  const graph = (file: string, seen = new Set<string>()): Set<string> => {
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith('./')) {
        const local = specifier.slice(2);
        if (!seen.has(local)) {
          seen.add(local);
          graph(local, seen);
        }
      } else {
        seen.add(specifier);
      }
    }
    return seen;
  };

  it.each(browserSafe)('%s imports nothing from Node', (file) => {
    const reachable = [...graph(file)];
    expect(reachable.length).toBeGreaterThan(0);
    expect(reachable.filter((specifier) => specifier.startsWith('node:'))).toEqual([]);
    expect(
      reachable.filter((specifier) => specifier.includes('merkle') || specifier.includes('local-signer')),
    ).toEqual([]);
  });

  it('verify.ts depends only on @noble/hashes and dependency-free helpers', () => {
    expect([...graph('verify.ts')].sort()).toEqual(['@noble/hashes/sha2.js', 'bits.ts', 'bytes.ts']);
  });
});
