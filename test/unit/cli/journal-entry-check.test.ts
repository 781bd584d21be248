import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as z from '#functions/zod.ts';
import { isCanonicalEntry } from '../../../functions/cli/journal-entry-check.ts';
import { entryProblem } from '../../../functions/cli/journal-verifier.ts';
import { utf8Encode } from '../../../functions/journal/bytes.ts';
import { canonicalize, MAX_DEPTH } from '../../../functions/journal/canonical-json.ts';
import { decodeEntry, ENTRY_TYPES, journalEntrySchema } from '../../../functions/journal/entry.ts';

/** The reference verdict: whether decodeEntry accepts the text's UTF-8 bytes. */
function decodes(text: string): boolean {
  try {
    decodeEntry(utf8Encode(text));
    return true;
  } catch {
    return false;
  }
}

/** Both verdicts, which must agree; the reference's is returned. */
function verdict(text: string): boolean {
  const expected = decodes(text);
  expect(isCanonicalEntry(text), text).toBe(expected);
  expect(entryProblem(text) === null, text).toBe(expected);
  return expected;
}

const base = {
  actor: { role: 'analyst', sub: 'writer' },
  at: '2026-01-01T00:00:00.000Z',
  docId: 'claim/CLM-1',
  docRevision: 1,
  payload: { n: 1 },
  type: 'claim.decided',
};

/** Canonical text of `base` with `changes` (an `undefined` removes the field). */
const textWith = (changes: Record<string, unknown>, payload?: string): string => {
  const value: Record<string, unknown> = { ...base, ...changes };
  for (const key of Object.keys(value)) if (value[key] === undefined) delete value[key];
  const text = canonicalize(value);
  return payload === undefined ? text : text.replace('"payload":{"n":1}', `"payload":${payload}`);
};

// --- generators --------------------------------------------------------------------------------

/** One UTF-16 code unit or pair, biased towards the ones canonical JSON treats specially. */
const cleanUnit = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom('"', '\\', '/', '\u007f', '\u00e9', '\u2028', '\ufeff', '\uffff', '\ue000'),
  },
  { weight: 2, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)) },
);
/** The same, with lone surrogates (no UTF-8 encoding) too. */
const unit = fc.oneof(
  { weight: 8, arbitrary: cleanUnit },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
);
const text = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.oneof(
    { weight: 9, arbitrary: fc.string({ unit: cleanUnit, maxLength: 8, ...constraints }) },
    { weight: 1, arbitrary: fc.string({ unit, maxLength: 8, ...constraints }) },
  );

/** Mostly `valid`, sometimes `invalid`. */
const mostly = <T, U>(valid: fc.Arbitrary<T>, ...invalid: fc.Arbitrary<U>[]) =>
  fc.oneof(
    { weight: 10 * invalid.length, arbitrary: valid as fc.Arbitrary<T | U> },
    ...invalid.map((arbitrary) => ({ weight: 1, arbitrary: arbitrary as fc.Arbitrary<T | U> })),
  );

/** Strings of about `n` UTF-16 code units, in ways that make escapes and pairs count. */
const lengthAround = (n: number) =>
  fc
    .tuple(
      fc.integer({ min: n - 2, max: n + 2 }),
      fc.constantFrom('x', '\n', '\u0001', '"', '\u{1f600}', 'é'),
    )
    .map(([length, char]) => char.repeat(Math.max(0, Math.ceil(length / char.length))));

const numbers = fc.oneof(
  { weight: 4, arbitrary: fc.integer() },
  { weight: 3, arbitrary: fc.double() },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      0,
      -0,
      0.1,
      1.5,
      -1,
      1e21,
      1e-7,
      123e-20,
      5e-324,
      2 ** 53,
      2 ** 53 - 1,
      Number.MAX_VALUE,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ),
  },
);

const keys = fc.oneof(
  { weight: 4, arbitrary: text({ maxLength: 4 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      '1',
      '10',
      '2',
      'a',
      'A',
      '\n',
      '\uffff',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom('\u{1f600}', '\ue000', 'b\u0000', 'b', 'a\\', 'a"') },
);

const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.constant(null),
    fc.boolean(),
    numbers,
    text(),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.dictionary(keys, tie('json'), { maxKeys: 5 }),
  ),
}));

const isoVariants = [
  (s: string) => s.replace(/\.\d+Z$/, 'Z'),
  (s: string) => s.replace(/Z$/, '123Z'),
  (s: string) => s.replace(/Z$/, '+00:00'),
  (s: string) => s.replace(/:\d\d\.\d+Z$/, 'Z'),
  (s: string) => s.replace('T', 't'),
  (s: string) => s.replace(/Z$/, 'z'),
  (s: string) => `${s} `,
];
const years0to9999 = {
  noInvalidDate: true,
  min: new Date(-62_167_219_200_000),
  max: new Date(253_402_300_799_999),
};
const at = mostly(
  fc.date(years0to9999).map((d) => d.toISOString()),
  fc
    .tuple(fc.date(years0to9999), fc.constantFrom(...isoVariants))
    .map(([date, variant]) => variant(date.toISOString())),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom(
    '2024-02-29T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2000-02-29T12:00:00.5Z',
    '1900-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00.Z',
    '2026-01-01T00:00:00\nZ',
  ),
  text({ maxLength: 30 }),
);

/** Entries, mostly valid, some with a field out of the schema. */
const entries = fc
  .record({
    type: mostly(
      fc.constantFrom(...ENTRY_TYPES),
      fc.constantFrom('claim.Decided', 'claim.decided ', 'record.rea'),
      text(),
    ),
    docId: mostly(
      text({ minLength: 1, maxLength: 20 }),
      lengthAround(512),
      lengthAround(512),
      fc.constant(''),
    ),
    docRevision: mostly(
      fc.integer({ min: 1, max: 100_000 }),
      fc.constantFrom(2 ** 53 - 1, 2 ** 53, 0, -1, 1.5, 1e21),
      numbers,
      json,
    ),
    ruleSetHash: fc.oneof(
      { weight: 10, arbitrary: fc.constant(undefined) },
      { weight: 10, arbitrary: text({ minLength: 1, maxLength: 20 }) },
      { weight: 2, arbitrary: lengthAround(256) },
      { weight: 1, arbitrary: fc.constantFrom('', null, 7) },
    ),
    actor: mostly(
      fc.record({ sub: text({ minLength: 1 }), role: text({ minLength: 1 }) }),
      fc.record({ sub: text(), role: text() }),
      fc.record({ sub: text({ minLength: 1 }), role: text({ minLength: 1 }), extra: json }),
      json,
    ),
    at,
    payload: mostly(fc.dictionary(keys, json, { maxKeys: 6 }), json),
    extra: mostly(fc.constant(null), fc.tuple(keys, json)),
    drop: mostly(
      fc.constant(null),
      fc.constantFrom('type', 'docId', 'docRevision', 'actor', 'at', 'payload', 'ruleSetHash'),
    ),
  })
  .map(({ extra, drop, ...fields }) => {
    const value: Record<string, unknown> = { ...fields };
    if (value.ruleSetHash === undefined) delete value.ruleSetHash;
    if (extra !== null) Object.defineProperty(value, extra[0], { value: extra[1], enumerable: true });
    if (drop !== null) delete value[drop];
    return value;
  });

/** Text for a value: canonical when it has a canonical form, else the nearest JSON.stringify gives. */
type Spelling = 'canonical' | 'unsorted' | 'spaced';

function spell(value: unknown, how: Spelling): string {
  if (how === 'unsorted') return JSON.stringify(value) ?? 'null';
  if (how === 'spaced') return JSON.stringify(value, null, 1) ?? 'null';
  try {
    return canonicalize(value);
  } catch {
    return JSON.stringify(sortKeys(value)) ?? 'null';
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    Object.defineProperty(sorted, key, {
      value: sortKeys((value as Record<string, unknown>)[key]),
      enumerable: true,
    });
  }
  return sorted;
}

/** Small edits: the spellings a canonical text must not have, and plain corruption. */
const PIECES = [
  '\\',
  '"',
  '\u0000',
  '\u001f',
  ' ',
  '\n',
  '\ud800',
  '\udc00',
  '0',
  '-',
  'e',
  'E',
  '.',
  '+',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  'u',
  '/',
  '\\u0000',
  '\\u00e9',
  '\\u001F',
  '\\/',
  '\\ud800',
  '\\ud83d\\ude00',
  '\\n',
  '\\u000a',
  '"__proto__":1,',
  'null',
];
const REWRITES: ((s: string) => string)[] = [
  (s) => s.replace(/(?<=[:,[])(\d+)(?=[,}\]])/, '$1.0'),
  (s) => s.replace(/(?<=[:,[])(\d+)(?=[,}\]])/, '$1e0'),
  (s) => s.replace(/(?<=[:,[])(\d+)(?=[,}\]])/, '0$1'),
  (s) => s.replace(/(?<=[:,[])(\d+)(?=[,}\]])/, '-$1'),
  (s) => s.replace(/(?<=[:,[])0(?=[,}\]])/, '-0'),
  (s) => s.replace('e+', 'E+'),
  (s) => s.replace('e+', 'e'),
  (s) => s.replace('\\n', '\\u000a'),
  (s) => s.replace(/\\u00[0-9a-f]{2}/, (sequence) => sequence.toUpperCase().replace('\\U', '\\u')),
  (s) => s.replace(/"docRevision":(\d+)/, '"docRevision":$1.5'),
  (s) => s.replace('"payload":{', '"payload":{"__proto__":0,'),
  (s) => s.replace('"payload":{}', '"payload":[]'),
  (s) => s.replace(',"type"', ',"zzz":1,"type"'),
  (s) => s.replace('"actor":{', '"actor":{"a":1,'),
  (s) => `${s} `,
  (s) => `\ufeff${s}`,
];
const edits = fc.oneof(
  { weight: 3, arbitrary: fc.constant((s: string) => s) },
  {
    weight: 3,
    arbitrary: fc.tuple(fc.nat(), fc.constantFrom(...PIECES), fc.nat(2)).map(
      ([at, piece, remove]) =>
        (s: string) =>
          s.slice(0, at % (s.length + 1)) + piece + s.slice((at % (s.length + 1)) + remove),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.nat().map((at) => (s: string) => s.slice(0, at % s.length) + s.slice((at % s.length) + 1)),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...REWRITES),
  },
);

// --- the proofs ---------------------------------------------------------------------------------

describe('isCanonicalEntry', () => {
  it('is written for this journalEntrySchema (update the scanner with the schema)', () => {
    expect(z.toJSONSchema(journalEntrySchema)).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: {
        type: { type: 'string', enum: [...ENTRY_TYPES] },
        docId: { type: 'string', minLength: 1, maxLength: 512 },
        docRevision: { type: 'integer', minimum: 1, maximum: 9007199254740991 },
        ruleSetHash: { type: 'string', minLength: 1, maxLength: 256 },
        actor: {
          type: 'object',
          properties: { sub: { type: 'string', minLength: 1 }, role: { type: 'string', minLength: 1 } },
          required: ['sub', 'role'],
          additionalProperties: false,
        },
        at: {
          type: 'string',
          format: 'date-time',
          pattern: expect.any(String),
        },
        payload: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: {} },
      },
      required: ['type', 'docId', 'docRevision', 'actor', 'at', 'payload'],
      additionalProperties: false,
    });
    expect([...ENTRY_TYPES]).toEqual([
      'claim.decided',
      'claim.reviewed',
      'coverage.put',
      'treatment.put',
      'ruleset.activated',
      'record.read',
    ]);
    expect(MAX_DEPTH).toBe(1000);
  });

  it('agrees with decodeEntry on generated entries, canonical or not', () => {
    let accepted = 0;
    fc.assert(
      fc.property(
        entries,
        fc.constantFrom<Spelling[]>('canonical', 'canonical', 'canonical', 'unsorted', 'spaced'),
        (value, how) => {
          if (verdict(spell(value, how))) accepted++;
        },
      ),
      { numRuns: 3000 },
    );
    // The generators must exercise acceptance, not only rejection.
    expect(accepted).toBeGreaterThan(600);
  });

  it('agrees with decodeEntry on edited entries', () => {
    let accepted = 0;
    fc.assert(
      fc.property(entries, edits, edits, (value, first, second) => {
        if (verdict(second(first(spell(value, 'canonical'))))) accepted++;
      }),
      { numRuns: 4000 },
    );
    expect(accepted).toBeGreaterThan(200);
  });

  it('agrees with decodeEntry on one-character changes of a valid entry', () => {
    const valid = textWith({
      ruleSetHash: 'sha256:ab',
      payload: { a: [1, -2.5, 'x\n', true, null, {}], b: 'é' },
    });
    expect(verdict(valid)).toBe(true);
    fc.assert(
      fc.property(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 0xffff }), (at, code) => {
        verdict(valid.slice(0, at) + String.fromCharCode(code) + valid.slice(at + 1));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with decodeEntry on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (s) => {
        verdict(s);
        verdict(`{"actor":{"role":${s}`);
        verdict(textWith({}, s));
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['a valid entry', textWith({}), true],
    ['with a rule set hash', textWith({ ruleSetHash: 'sha256:00' }), true],
    ['an empty payload', textWith({}, '{}'), true],
    ['integer-like payload keys in string order', textWith({}, '{"1":1,"10":2,"2":3}'), true],
    ['integer-like payload keys in number order', textWith({}, '{"1":1,"2":3,"10":2}'), false],
    ['duplicate payload keys', textWith({}, '{"a":1,"a":1}'), false],
    ['escaped keys sorted by their decoded text', textWith({}, '{"\\n":1,"A":2}'), true],
    ['escaped keys sorted by their escaped text', textWith({}, '{"A":2,"\\n":1}'), false],
    ['keys sorted by UTF-16 code units', textWith({}, '{"\u{1f600}":1,"\uffff":2}'), true],
    ['keys sorted by code points', textWith({}, '{"\uffff":2,"\u{1f600}":1}'), false],
    ['a prefix key first', textWith({}, '{"a":1,"ab":2}'), true],
    ['a prefix key last', textWith({}, '{"ab":1,"a":2}'), false],
    ['"__proto__" in the payload', textWith({}, '{"__proto__":1}'), false],
    ['"__proto__" deeper in the payload', textWith({}, '{"a":{"__proto__":1}}'), true],
    ['"constructor" in the payload', textWith({}, '{"constructor":{}}'), true],
    ['an array payload', textWith({}, '[]'), false],
    ['a null payload', textWith({}, 'null'), false],
    ['-0', textWith({}, '{"n":-0}'), false],
    ['1.0', textWith({}, '{"n":1.0}'), false],
    ['1e21', textWith({}, '{"n":1e+21}'), true],
    ['1E+21', textWith({}, '{"n":1E+21}'), false],
    ['1e400', textWith({}, '{"n":1e400}'), false],
    ['a 16-digit integer', textWith({}, '{"n":1234567890123456}'), true],
    ['a rounded 17-digit integer', textWith({}, '{"n":12345678901234567}'), false],
    ['docRevision 2^53 - 1', textWith({ docRevision: 2 ** 53 - 1 }), true],
    ['docRevision 2^53', textWith({ docRevision: 2 ** 53 }), false],
    ['docRevision 0', textWith({ docRevision: 0 }), false],
    ['docRevision 1e21', textWith({ docRevision: 1e21 }), false],
    ['a 512-unit docId', textWith({ docId: 'x'.repeat(512) }), true],
    ['a 513-unit docId', textWith({ docId: 'x'.repeat(513) }), false],
    ['a docId of 512 escaped units', textWith({ docId: '\n'.repeat(512) }), true],
    // zod measures strings in code points, not UTF-16 units.
    ['a docId of 512 pairs', textWith({ docId: '\u{1f600}'.repeat(512) }), true],
    ['a docId of 513 pairs', textWith({ docId: '\u{1f600}'.repeat(513) }), false],
    ['255 pairs and a unit of hash', textWith({ ruleSetHash: `${'\u{1f600}'.repeat(255)}x` }), true],
    ['256 pairs and a unit of hash', textWith({ ruleSetHash: `${'\u{1f600}'.repeat(256)}x` }), false],
    ['a 256-unit rule set hash', textWith({ ruleSetHash: 'x'.repeat(256) }), true],
    ['a 257-unit rule set hash', textWith({ ruleSetHash: 'x'.repeat(257) }), false],
    ['an empty rule set hash', textWith({ ruleSetHash: '' }), false],
    ['an empty actor role', textWith({ actor: { role: '', sub: 'a' } }), false],
    ['an actor with an extra field', textWith({ actor: { role: 'r', sub: 'a', x: 1 } }), false],
    ['a leap day', textWith({ at: '2024-02-29T00:00:00Z' }), true],
    ['no leap day', textWith({ at: '2023-02-29T00:00:00Z' }), false],
    ['an offset', textWith({ at: '2026-01-01T00:00:00+00:00' }), false],
    ['an unknown type', textWith({ type: 'claim.deleted' }), false],
    ['each type', textWith({ type: 'record.read' }), true],
    ['a short escape', textWith({}, '{"s":"\\b\\f\\n\\r\\t\\"\\\\"}'), true],
    ['a long escape with a short form', textWith({}, '{"s":"\\u0008"}'), false],
    ['a long escape', textWith({}, '{"s":"\\u001f"}'), true],
    ['an uppercase long escape', textWith({}, '{"s":"\\u001F"}'), false],
    ['an escaped slash', textWith({}, '{"s":"\\/"}'), false],
    ['an escaped letter', textWith({}, '{"s":"\\u0041"}'), false],
    ['an escaped surrogate pair', textWith({}, '{"s":"\\ud83d\\ude00"}'), false],
    ['a surrogate pair', textWith({}, '{"s":"\u{1f600}"}'), true],
    ['a lone high surrogate', textWith({}, '{"s":"\ud83d"}'), false],
    ['a lone low surrogate', textWith({}, '{"s":"\ude00"}'), false],
    ['a raw control character', textWith({}, '{"s":"\u0001"}'), false],
    ['DEL and U+2028 unescaped', textWith({}, '{"s":"\u007f\u2028"}'), true],
    ['trailing whitespace', `${textWith({})} `, false],
    ['trailing text', `${textWith({})}{}`, false],
    ['a byte order mark', `\ufeff${textWith({})}`, false],
    ['an empty text', '', false],
  ])('%s', (_what, entry, expected) => {
    expect(verdict(entry)).toBe(expected);
  });

  it('nests as deep as canonicalize allows, and no deeper', () => {
    // The entry is one container and the payload a second, so the innermost array sits under
    // `1 + arrays` containers.
    const nested = (arrays: number) => textWith({}, `{"a":${'['.repeat(arrays)}${']'.repeat(arrays)}}`);
    expect(verdict(nested(MAX_DEPTH - 2))).toBe(true);
    expect(verdict(nested(MAX_DEPTH - 1))).toBe(false);
    expect(verdict(nested(MAX_DEPTH))).toBe(false);
    expect(verdict(nested(100_000))).toBe(false);
  });
});
