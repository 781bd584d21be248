import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError } from '../../../functions/journal/canonical-json.ts';
import {
  decodeEntry,
  ENTRY_TYPES,
  EntryError,
  encodeEntry,
  type JournalEntry,
  journalEntrySchema,
  leafHash,
} from '../../../functions/journal/entry.ts';
import { hashLeaf } from '../../../functions/journal/merkle.ts';
import { flipBit, hex, utf8 } from './support.ts';

const decided: JournalEntry = {
  type: 'claim.decided',
  docId: 'claim/c0123456789abcdef',
  docRevision: 1,
  ruleSetHash: 'a'.repeat(64),
  actor: { sub: 'provider-123', role: 'provider' },
  at: '2025-03-01T12:00:00.000Z',
  payload: { outcome: 'paid', totals: { paidCents: 12_345 }, lines: [{ lineNumber: 1, carc: null }] },
};

describe('encodeEntry', () => {
  it('is the RFC 8785 canonical JSON of the entry', () => {
    expect(new TextDecoder().decode(encodeEntry(decided))).toBe(
      '{"actor":{"role":"provider","sub":"provider-123"},"at":"2025-03-01T12:00:00.000Z",' +
        '"docId":"claim/c0123456789abcdef","docRevision":1,' +
        '"payload":{"lines":[{"carc":null,"lineNumber":1}],"outcome":"paid","totals":{"paidCents":12345}},' +
        `"ruleSetHash":"${'a'.repeat(64)}","type":"claim.decided"}`,
    );
  });

  it('encodes an absent and an explicitly undefined ruleSetHash alike', () => {
    const { ruleSetHash: _, ...withoutHash } = decided;
    const bytes = encodeEntry(withoutHash);
    expect(new TextDecoder().decode(bytes)).not.toContain('ruleSetHash');
    expect(encodeEntry({ ...withoutHash, ruleSetHash: undefined })).toEqual(bytes);
  });

  it('accepts every entry type', () => {
    for (const type of ENTRY_TYPES) expect(() => encodeEntry({ ...decided, type })).not.toThrow();
  });

  it.each([
    ['an unknown type', { type: 'claim.deleted' }, 'type'],
    ['an empty docId', { docId: '' }, 'docId'],
    ['revision 0', { docRevision: 0 }, 'docRevision'],
    ['a fractional revision', { docRevision: 1.5 }, 'docRevision'],
    ['a local time', { at: '2025-03-01T12:00:00+01:00' }, 'at'],
    ['an impossible date', { at: '2025-02-30T12:00:00Z' }, 'at'],
    ['an actor without role', { actor: { sub: 'x' } }, 'actor.role'],
    ['an actor with extra fields', { actor: { sub: 'x', role: 'y', name: 'z' } }, 'actor'],
    ['an unknown field', { comment: 'x' }, 'entry'],
    ['an array payload', { payload: [] }, 'payload'],
    ['a payload with a "__proto__" key', { payload: JSON.parse('{"__proto__":{"x":1}}') }, 'payload'],
  ])('rejects %s', (_, change, path) => {
    const entry = { ...decided, ...change } as JournalEntry;
    expect(() => encodeEntry(entry)).toThrow(EntryError);
    expect(() => encodeEntry(entry)).toThrow(
      new RegExp(`invalid journal entry: ${path.replace('.', '\\.')}: `),
    );
  });

  it('rejects a payload value that JSON cannot represent', () => {
    expect(() => encodeEntry({ ...decided, payload: { at: new Date(0) } })).toThrow(
      new CanonicalJsonError('$.payload.at', 'Date is not a plain JSON object'),
    );
  });
});

describe('decodeEntry', () => {
  it('round-trips', () => {
    expect(decodeEntry(encodeEntry(decided))).toEqual(decided);
  });

  it.each([
    ['invalid UTF-8', Uint8Array.of(0xff), 'bytes are not valid UTF-8'],
    ['not JSON', utf8('{"type":'), 'bytes are not JSON'],
    ['not an entry', utf8('{"type":"x"}'), 'invalid journal entry: type'],
    ['a non-canonical encoding', utf8(JSON.stringify(decided)), 'not the RFC 8785 canonical encoding'],
  ])('rejects %s', (_, bytes, message) => {
    expect(() => decodeEntry(bytes)).toThrow(EntryError);
    expect(() => decodeEntry(bytes)).toThrow(message);
  });
});

describe('leafHash', () => {
  it('is the RFC 9162 leaf hash of the entry bytes', () => {
    const bytes = encodeEntry(decided);
    expect(hex(leafHash(bytes))).toBe(hex(hashLeaf(bytes)));
    // Published RFC 6962 vector: leaf hash of the empty leaf.
    expect(hex(leafHash(new Uint8Array(0)))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
  });

  it('changes when any byte of an entry changes', () => {
    const entryArb = fc.record({
      type: fc.constantFrom(...ENTRY_TYPES),
      docId: fc.string({ minLength: 1, maxLength: 40 }),
      docRevision: fc.integer({ min: 1, max: 1_000_000 }),
      actor: fc.record({ sub: fc.string({ minLength: 1 }), role: fc.constantFrom('provider', 'analyst') }),
      at: fc.date({ min: new Date(0), max: new Date(4e12), noInvalidDate: true }).map((d) => d.toISOString()),
      payload: fc.dictionary(
        fc.string().filter((k) => k !== '__proto__'),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    });
    fc.assert(
      fc.property(entryArb, fc.nat(), (entry, bit) => {
        const bytes = encodeEntry(entry);
        const original = leafHash(bytes);
        const tampered = flipBit(bytes, bit % (bytes.length * 8));
        expect(hex(leafHash(tampered))).not.toBe(hex(original));
      }),
      { numRuns: 300 },
    );
  });
});

describe('journalEntrySchema', () => {
  it('is the single source of the entry type', () => {
    const parsed: JournalEntry = journalEntrySchema.parse(decided);
    expect(parsed).toEqual(decided);
  });
});
