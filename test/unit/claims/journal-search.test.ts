import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../functions/claims/identity.ts';
import {
  csvRow,
  EXPORT_MAX_ROWS,
  exportJournal,
  type JournalSearchPort,
  type JournalSearchQuery,
  parseSearchQuery,
  type SearchRecord,
  searchKeys,
  searchRecord,
} from '../../../functions/claims/journal-search.ts';
import type { JournalEntry } from '../../../functions/journal/entry.ts';

const analyst: Identity = { sub: 'ana', roles: ['analyst'], npis: [] };
const CLAIM = `c${'a'.repeat(31)}`;

const decided: JournalEntry = {
  type: 'claim.decided',
  docId: `claim/${CLAIM}`,
  docRevision: 1,
  ruleSetHash: 'sha256:x',
  actor: { sub: 'billing', role: 'provider' },
  at: '2026-03-02T10:11:12.5Z',
  payload: {
    claimId: 'DEMO-1',
    billingProviderNpi: '1234567893',
    memberId: 'M1001',
    outcome: 'pended',
    totals: { chargeCents: 18_500, allowedCents: 9_000, paidCents: 0, memberResponsibilityCents: 0 },
    lines: [
      { adjustments: [{ ruleId: 'documentation.supported-by-record' }, { ruleId: 'benefits.copay' }] },
      { adjustments: [{ ruleId: 'documentation.supported-by-record' }, { ruleId: 'Not A Rule' }] },
    ],
    fraudScore: 40,
    fraudSignals: ['unsupported-service', 'near-duplicate', 'unsupported-service'],
  },
};

describe('parseSearchQuery', () => {
  it('turns dates into inclusive millisecond bounds and applies the defaults', () => {
    expect(parseSearchQuery({ member: 'M1001', from: '2026-03-01', to: '2026-03-02' })).toEqual({
      query: {
        facets: { member: 'M1001' },
        from: '2026-03-01T00:00:00.000Z',
        to: '2026-03-02T23:59:59.999Z',
        limit: 50,
        format: 'json',
      },
    });
    const exported = parseSearchQuery({ type: 'claim.decided', format: 'csv' });
    expect(exported).toMatchObject({ query: { limit: EXPORT_MAX_ROWS, format: 'csv' } });
  });

  it('keeps instants to the millisecond, rounding a sub-millisecond lower bound up', () => {
    const parsed = parseSearchQuery({
      provider: '1234567893',
      from: '2026-03-01T10:00:00.0004Z',
      to: '2026-03-01T10:00:00Z',
    });
    expect(parsed).toEqual({ issues: [{ path: 'to', message: 'is before from' }] });
    expect(parseSearchQuery({ provider: '1234567893', from: '2026-03-01T10:00:00.1234Z' })).toMatchObject({
      query: { from: '2026-03-01T10:00:00.124Z' },
    });
  });

  it.each([
    [{ from: '2026-03-01' }, ''],
    [{ member: 'M1', extra: 'x' }, 'extra'],
    [{ member: 'M1', from: '2026-02-29' }, 'from'],
    [{ member: 'M1', to: '2026-03-01T10:00Z' }, 'to'],
    [{ member: 'M1', to: '2026-03-01T10:00:00+01:00' }, 'to'],
    [{ member: 'M1', limit: '0' }, 'limit'],
    [{ member: 'M1', limit: '501' }, 'limit'],
    [{ member: 'M1', limit: '-1' }, 'limit'],
    [{ member: 'M1', limit: '10001', format: 'jsonl' }, 'limit'],
    [{ member: 'M1', format: 'xlsx' }, 'format'],
    [{ claim: 'C-1' }, 'claim'],
    [{ rule: 'Coding.X' }, 'rule'],
    [{ type: 'claim' }, 'type'],
  ])('refuses %j naming "%s"', (parameters, path) => {
    const parsed = parseSearchQuery(parameters);
    expect('issues' in parsed && parsed.issues.map((i) => i.path)).toContain(path);
  });

  it('refuses a parameter given twice', () => {
    expect(parseSearchQuery({ member: 'M2' }, { member: ['M1', 'M2'] })).toEqual({
      issues: [{ path: 'member', message: 'is given more than once' }],
    });
  });

  it('never throws, whatever the parameters', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.string()), (parameters) => {
        const parsed = parseSearchQuery(parameters);
        expect('query' in parsed || parsed.issues.length > 0).toBe(true);
      }),
    );
  });
});

describe('searchRecord', () => {
  it('keeps what a hit shows and the distinct, well-formed facet values', () => {
    const record = searchRecord(7, 'ab'.repeat(32), decided);
    expect(record).toEqual({
      index: 7,
      leafHash: 'ab'.repeat(32),
      type: 'claim.decided',
      at: '2026-03-02T10:11:12.500Z',
      docId: `claim/${CLAIM}`,
      docRevision: 1,
      actor: { sub: 'billing', role: 'provider' },
      claim: CLAIM,
      externalClaimId: 'DEMO-1',
      member: 'M1001',
      provider: '1234567893',
      outcome: 'pended',
      fraudScore: 40,
      chargeCents: 18_500,
      allowedCents: 9_000,
      paidCents: 0,
      rules: ['benefits.copay', 'documentation.supported-by-record'],
      signals: ['near-duplicate', 'unsupported-service'],
    });
    expect(searchKeys(record)).toEqual([
      ['type', 'claim.decided'],
      ['claim', CLAIM],
      ['member', 'M1001'],
      ['provider', '1234567893'],
      ['rule', 'benefits.copay'],
      ['rule', 'documentation.supported-by-record'],
      ['signal', 'near-duplicate'],
      ['signal', 'unsupported-service'],
    ]);
  });

  it('indexes a treatment under its provider, and leaves out values that could not be keys', () => {
    const record = searchRecord(3, 'cd'.repeat(32), {
      type: 'treatment.put',
      docId: 'member/M#1/treatment/T1',
      docRevision: 1,
      actor: { sub: 'ops', role: 'analyst' },
      at: '2026-03-02T10:00:00Z',
      payload: { memberId: 'M#1', providerNpi: '1452637980', totals: 'none', lines: 'none' },
    });
    expect(searchKeys(record)).toEqual([
      ['type', 'treatment.put'],
      ['provider', '1452637980'],
    ]);
    expect(record.member).toBeUndefined();
  });
});

describe('exports', () => {
  const hit = (index: number, extra: Partial<SearchRecord> = {}): SearchRecord => ({
    ...searchRecord(index, 'ef'.repeat(32), decided),
    ...extra,
  });

  it('writes RFC 4180 cells and disarms spreadsheet formulas', () => {
    const row = csvRow(hit(1, { actor: { sub: '=HYPERLINK("x")', role: 'a,b' } }));
    expect(row.endsWith('\r\n')).toBe(true);
    expect(row).toContain(`"'=HYPERLINK(""x"")","a,b"`);
    expect(row.split(',')[14]).toBe('benefits.copay;documentation.supported-by-record');
  });

  /** A port over `total` hits, newest first, paging by offset. */
  const portOver = (total: number): JournalSearchPort & { calls: number } => {
    const port = {
      calls: 0,
      indexedSize: async () => total,
      search: async (query: JournalSearchQuery) => {
        port.calls++;
        const start = query.cursor === undefined ? 0 : Number(query.cursor);
        const end = Math.min(total, start + query.limit);
        const hits = Array.from({ length: end - start }, (_, i) => hit(total - 1 - (start + i)));
        return { hits, cursor: end < total ? String(end) : null };
      },
    };
    return port;
  };
  const query = (extra: Partial<JournalSearchQuery> = {}): JournalSearchQuery => ({
    facets: { member: 'M1001' },
    limit: EXPORT_MAX_ROWS,
    format: 'jsonl',
    ...extra,
  });

  it('reads every page into one body', async () => {
    const port = portOver(23);
    const out = await exportJournal(query(), analyst, port, { pageSize: 5, maxPages: 40, softMaxBytes: 1e6 });
    expect(out).toMatchObject({
      rows: 23,
      complete: true,
      nextCursor: null,
      contentType: 'application/x-ndjson',
    });
    expect(
      out.body
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as SearchRecord).index),
    ).toEqual(Array.from({ length: 23 }, (_, i) => 22 - i));
    expect(port.calls).toBe(5);
  });

  it('stops at the row limit, the page cap or the size cap with the cursor that continues', async () => {
    const budget = { pageSize: 5, maxPages: 40, softMaxBytes: 1e6 };
    expect(await exportJournal(query({ limit: 7 }), analyst, portOver(23), budget)).toMatchObject({
      rows: 7,
      complete: false,
      nextCursor: '7',
    });
    const paged = await exportJournal(query(), analyst, portOver(23), { ...budget, maxPages: 2 });
    expect(paged).toMatchObject({ rows: 10, complete: false, nextCursor: '10' });
    const sized = await exportJournal(query({ format: 'csv' }), analyst, portOver(23), {
      ...budget,
      softMaxBytes: 1,
    });
    expect(sized).toMatchObject({ rows: 5, complete: false, contentType: 'text/csv; charset=utf-8' });
    expect(sized.body.split('\r\n')[0]?.startsWith('index,at,type,')).toBe(true);
  });

  it('refuses anyone but an analyst', async () => {
    await expect(
      exportJournal(query(), { sub: 'p', roles: ['provider'], npis: ['1234567893'] }, portOver(1)),
    ).rejects.toThrow('Only analysts');
  });
});
