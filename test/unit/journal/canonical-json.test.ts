import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CanonicalJsonError,
  canonicalBytes,
  canonicalize,
  MAX_DEPTH,
} from '../../../functions/journal/canonical-json.ts';
import { hex } from './support.ts';

const fromIeee754 = (bits: string): number =>
  new DataView(Uint8Array.from(Buffer.from(bits, 'hex')).buffer).getFloat64(0);

describe('RFC 8785 examples', () => {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical serializations.
  it.each([
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ])('number %s serializes as %s', (bits, expected) => {
    expect(canonicalize(fromIeee754(bits))).toBe(expected);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])(
    'rejects the non-finite %s',
    (bits) => {
      expect(() => canonicalize(fromIeee754(bits))).toThrow(CanonicalJsonError);
    },
  );

  it('serializes the §3.2.2 example (literals, numbers, string escapes)', () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        ' "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",' +
        ' "literals": [null, true, false]}',
    );
    expect(canonicalize(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts keys by UTF-16 code units (the §3.2.3 example)', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    const values = Object.values(JSON.parse(canonicalize(input)) as Record<string, string>);
    // JSON.parse re-orders integer-like keys first, so read the order from the text instead.
    expect(values).toContain('One');
    const order = [...canonicalize(input).matchAll(/":"([^"]+)"/g)].map((match) => match[1]);
    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('encodes to UTF-8 bytes', () => {
    expect(hex(canonicalBytes({ b: 'é', a: [1] }))).toBe(hex(Buffer.from('{"a":[1],"b":"é"}')));
  });

  it('escapes only what JSON must (U+007F and U+2028 stay literal)', () => {
    expect(canonicalize('\u0000\u0008\u0009\u001f\u007f\u2028"\\')).toBe(
      '"\\u0000\\b\\t\\u001f\u007f\u2028\\"\\\\"',
    );
  });
});

describe('values without a canonical form', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  const holey: unknown[] = [];
  holey[0] = 1;
  holey[2] = 3;

  it.each([
    ['undefined', undefined, '$: undefined is not JSON'],
    ['an undefined property', { a: 1, b: undefined }, '$.b: undefined is not JSON'],
    ['a function', { f: () => 1 }, '$.f: function is not JSON'],
    ['a bigint', [1n], '$[0]: bigint is not JSON'],
    ['a symbol', Symbol('s'), '$: symbol is not JSON'],
    ['NaN', { n: Number.NaN }, '$.n: NaN is not a JSON number'],
    ['Infinity', [Number.POSITIVE_INFINITY], '$[0]: Infinity is not a JSON number'],
    ['a Date', { at: new Date(0) }, '$.at: Date is not a plain JSON object'],
    ['a Map', new Map(), '$: Map is not a plain JSON object'],
    ['a typed array', { bytes: new Uint8Array(2) }, '$.bytes: Uint8Array is not a plain JSON object'],
    [
      'an object without constructor',
      Object.create(Object.create(null)),
      '$: object is not a plain JSON object',
    ],
    ['an array hole', holey, '$[1]: array hole is not JSON'],
    ['a symbol key', { [Symbol('k')]: 1 }, '$: symbol-keyed properties are not JSON'],
    ['a lone surrogate in a value', { s: 'a\ud800' }, '$.s: string contains a lone UTF-16 surrogate'],
    ['a lone surrogate in a key', { '\udc00': 1 }, '$.\udc00: string contains a lone UTF-16 surrogate'],
    ['a cycle', cyclic, '$.self: value is cyclic'],
  ])('rejects %s', (_, value, message) => {
    expect(() => canonicalize(value)).toThrow(message);
  });

  it('rejects nesting deeper than MAX_DEPTH with a domain error, not a stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(() => canonicalize(deep)).toThrow(CanonicalJsonError);
    let allowed: unknown = 1;
    for (let i = 0; i < MAX_DEPTH; i++) allowed = { a: allowed };
    expect(canonicalize(allowed)).toHaveLength(MAX_DEPTH * 6 + 1);
  });

  it('accepts a shared (non-cyclic) sub-object twice and a null-prototype object', () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { z: shared, a: shared });
    expect(canonicalize(bare)).toBe('{"a":{"x":1},"z":{"x":1}}');
  });
});

describe('properties', () => {
  const shuffled = (value: unknown, seed: number): unknown => {
    if (Array.isArray(value)) return value.map((item, i) => shuffled(item, seed + i));
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    // Deterministic permutation of the insertion order.
    entries.sort((a, b) => ((hash(a[0]) ^ seed) >>> 0) - ((hash(b[0]) ^ seed) >>> 0));
    return Object.fromEntries(entries.map(([key, item]) => [key, shuffled(item, seed * 31 + 7)]));
  };
  const hash = (text: string): number => [...text].reduce((h, c) => (h * 33 + c.charCodeAt(0)) >>> 0, 5381);

  it('is stable under key permutation and parses back to an equal value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        const text = canonicalize(value);
        expect(canonicalize(shuffled(value, seed))).toBe(text);
        // JSON.parse(JSON.stringify(v)) is v with -0 read back as 0, the only lossy case.
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalize(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees with JSON.stringify on strings and finite numbers', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme' }), fc.double({ noNaN: true, noDefaultInfinity: true })),
        (v) => {
          expect(canonicalize(v)).toBe(JSON.stringify(v));
        },
      ),
    );
  });
});
