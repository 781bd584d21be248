import { beforeAll, describe, expect, it } from 'vitest';
import { claimDocId } from '../../functions/claims/hashing.ts';
import type { JournalSearchQuery, SearchRecord } from '../../functions/claims/journal-search.ts';
import { fromHex } from '../../functions/journal/bytes.ts';
import type { JournalEntry } from '../../functions/journal/entry.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../functions/journal/local-signer.ts';
import { verifyInclusion } from '../../functions/journal/verify.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { DeleteCommand } from '../../functions/store/dynamo.ts';
import type { createDocumentClient } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { integrateAndPublish } from '../../functions/store/journal-publisher.ts';
import {
  JournalSearchRepository,
  SEARCH_WATERMARK_KEY,
} from '../../functions/store/journal-search.repository.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { crashingClient } from '../support/crashing-client.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/search';
const PROVIDERS = ['1234567893', '1452637980', '1003005315'] as const;
const OUTCOMES = ['approved', 'denied', 'pended', 'partially_approved'] as const;
const SCORES = [0, 20, 60, 100] as const;
const SIGNALS: Record<number, string[]> = {
  0: [],
  20: ['near-duplicate'],
  60: ['impossible-day'],
  100: ['impossible-day', 'near-duplicate'],
};
const DECIDED = 24;

/** Claim i: its provider, member, outcome, amounts, score, signals and rules, all derived from i. */
const claimOf = (i: number) => {
  const score = SCORES[i % 4]!;
  return {
    id: claimDocId(PROVIDERS[i % 3]!, `CL-${i}`),
    npi: PROVIDERS[i % 3]!,
    member: `M${i % 5}`,
    outcome: OUTCOMES[i % 4]!,
    chargeCents: 10_000 + i,
    allowedCents: 8_000,
    paidCents: i % 4 === 0 ? 6_000 : 0,
    score,
    signals: SIGNALS[score]!,
    rules: [...(i % 2 === 0 ? ['benefits.deductible'] : []), ...(i % 3 === 0 ? ['coding.mue-units'] : [])],
    // Claims 0-11 on March 1st, 12-23 on March 2nd.
    at: new Date(Date.UTC(2026, 2, 1, 0, 0, 0) + i * 2 * 3_600_000).toISOString(),
  };
};

function decided(i: number): JournalEntry {
  const c = claimOf(i);
  return {
    type: 'claim.decided',
    docId: `claim/${c.id}`,
    docRevision: 1,
    ruleSetHash: 'sha256:test',
    actor: { sub: 'billing', role: 'provider' },
    at: c.at,
    payload: {
      claimId: `CL-${i}`,
      billingProviderNpi: c.npi,
      memberId: c.member,
      outcome: c.outcome,
      totals: {
        chargeCents: c.chargeCents,
        allowedCents: c.allowedCents,
        paidCents: c.paidCents,
        memberResponsibilityCents: 0,
      },
      lines: [
        {
          lineNumber: 1,
          status: 'approved',
          allowedCents: c.allowedCents,
          paidCents: c.paidCents,
          adjustments: c.rules.map((ruleId) => ({ group: 'PR', carc: '1', amountCents: 100, ruleId })),
        },
      ],
      fraudScore: c.score,
      fraudSignals: c.signals,
    },
  };
}

const others: JournalEntry[] = [
  {
    type: 'coverage.put',
    docId: 'member/M0/coverage',
    docRevision: 1,
    actor: { sub: 'ops', role: 'analyst' },
    at: '2026-03-01T00:30:00.000Z',
    payload: { memberId: 'M0', contentHash: 'x', coverages: [] },
  },
  {
    type: 'treatment.put',
    docId: 'member/M1/treatment/T1',
    docRevision: 1,
    actor: { sub: 'ops', role: 'analyst' },
    at: '2026-03-01T01:30:00.000Z',
    payload: { recordId: 'T1', memberId: 'M1', providerNpi: PROVIDERS[1], contentHash: 'y' },
  },
  {
    type: 'record.read',
    docId: `claim/${claimOf(2).id}`,
    docRevision: 1,
    actor: { sub: 'analyst-ana', role: 'analyst' },
    at: '2026-03-02T23:30:00.000Z',
    payload: { view: 'history' },
  },
];

const query = (facets: JournalSearchQuery['facets'], extra: Partial<JournalSearchQuery> = {}) =>
  ({ facets, limit: 500, format: 'json', ...extra }) as JournalSearchQuery;

describe('journal search indexer against DynamoDB Local', () => {
  let journal: JournalRepository;
  let tree: JournalTreeRepository;
  let checkpoints: CheckpointsRepository;
  let search: JournalSearchRepository;
  let table: string;
  let doc: ReturnType<typeof createDocumentClient>;
  const signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
  /** Journal index of each appended entry, by key, and its `at`, by index. */
  const indexOf = new Map<string, number>();
  const atOf = new Map<number, string>();

  beforeAll(async () => {
    const tables = await freshTables();
    ({ doc } = tables);
    table = tables.names.journal;
    journal = new JournalRepository(doc, table);
    tree = new JournalTreeRepository(doc, table, journal);
    checkpoints = new CheckpointsRepository(doc, table, tree);
    // A small chunk, so indexing takes several watermark steps.
    search = new JournalSearchRepository(doc, table, journal, {
      chunk: 7,
      maxEntriesPerRound: 1_000,
      maxQueries: 8,
      filteredPageSize: 200,
      maxPeerRollups: 20_000,
    });
    const all: [string, JournalEntry][] = Array.from({ length: DECIDED }, (_, i) => [`d${i}`, decided(i)]);
    for (const [i, entry] of others.entries()) all.splice(3 + i * 5, 0, [`o${i}`, entry]);
    for (const [key, entry] of all) {
      const { index } = await journal.append(key, entry);
      indexOf.set(key, index);
      atOf.set(index, entry.at);
    }
  });

  /** Sums a provider's rollups over the window, as plain numbers. */
  const providerTotals = async (npi: string, from = '2026-03-01', to = '2026-03-02') => {
    const { own } = await search.rollups(npi, { from, to });
    const signals: Record<string, number> = {};
    let claims = 0;
    let denied = 0;
    let pended = 0;
    let chargeCents = 0;
    for (const r of own) {
      claims += r.claims;
      denied += r.denied;
      pended += r.pended;
      chargeCents += r.chargeCents;
      for (const [s, n] of Object.entries(r.signals)) signals[s] = (signals[s] ?? 0) + n;
    }
    return { claims, denied, pended, chargeCents, signals };
  };
  const expectedTotals = (npi: string, days: string[] = ['2026-03-01', '2026-03-02']) => {
    const claims = Array.from({ length: DECIDED }, (_, i) => claimOf(i)).filter(
      (c) => c.npi === npi && days.includes(c.at.slice(0, 10)),
    );
    const signals: Record<string, number> = {};
    for (const c of claims) for (const s of c.signals) signals[s] = (signals[s] ?? 0) + 1;
    return {
      claims: claims.length,
      denied: claims.filter((c) => c.outcome === 'denied').length,
      pended: claims.filter((c) => c.outcome === 'pended').length,
      chargeCents: claims.reduce((sum, c) => sum + c.chargeCents, 0),
      signals,
    };
  };

  it('indexes after a crash between integration and indexing, without counting anything twice', async () => {
    // A round that integrated and signed, then died before indexing (no index attached).
    const checkpoint = await integrateAndPublish({ journal, tree, checkpoints, signer, origin: ORIGIN });
    expect(checkpoint.size).toBe(DECIDED + others.length);
    expect(await search.indexedSize()).toBe(0);
    expect((await search.search(query({ member: 'M1' }))).hits).toEqual([]);

    // A round that wrote index items and rollups, then died before moving the watermark.
    const crashing = crashingClient(doc, (command) => {
      const input = command.input as Record<string, unknown>;
      return 'UpdateExpression' in input && JSON.stringify(input.Key).includes('SEARCH');
    });
    const dying = new JournalSearchRepository(crashing, table, new JournalRepository(crashing, table));
    await expect(
      integrateAndPublish({ journal, tree, checkpoints, signer, origin: ORIGIN, search: dying }),
    ).rejects.toThrow('process killed');
    expect(await search.indexedSize()).toBe(0);

    // The next round indexes everything, and counts each decision once.
    await integrateAndPublish({ journal, tree, checkpoints, signer, origin: ORIGIN, search });
    expect(await search.indexedSize()).toBe(checkpoint.size);
    for (const npi of PROVIDERS) expect(await providerTotals(npi)).toEqual(expectedTotals(npi));
    expect(await providerTotals(PROVIDERS[0], '2026-03-02', '2026-03-02')).toEqual(
      expectedTotals(PROVIDERS[0], ['2026-03-02']),
    );
  });

  it('finds every entry by each facet, newest first, with its own index', async () => {
    const ids = (hits: SearchRecord[]) => hits.map((h) => h.index);
    const decidedWhere = (keep: (c: ReturnType<typeof claimOf>) => boolean) =>
      Array.from({ length: DECIDED }, (_, i) => i)
        .filter((i) => keep(claimOf(i)))
        .map((i) => indexOf.get(`d${i}`)!);
    // Hits come in time order (newest first), which is not quite index order.
    const newestFirst = (indices: number[]) =>
      [...indices].sort((a, b) => (atOf.get(b) ?? '').localeCompare(atOf.get(a) ?? '') || b - a);

    const m1 = await search.search(query({ member: 'M1' }));
    expect(ids(m1.hits)).toEqual(
      newestFirst([...decidedWhere((c) => c.member === 'M1'), indexOf.get('o1')!]),
    );
    expect(m1.cursor).toBeNull();

    const p2Decided = await search.search(query({ provider: PROVIDERS[1], type: 'claim.decided' }));
    expect(ids(p2Decided.hits)).toEqual(newestFirst(decidedWhere((c) => c.npi === PROVIDERS[1])));

    const signal = await search.search(query({ signal: 'impossible-day' }));
    expect(ids(signal.hits)).toEqual(newestFirst(decidedWhere((c) => c.signals.includes('impossible-day'))));

    const rule = await search.search(query({ rule: 'coding.mue-units', provider: PROVIDERS[0] }));
    expect(ids(rule.hits)).toEqual(
      newestFirst(decidedWhere((c) => c.rules.includes('coding.mue-units') && c.npi === PROVIDERS[0])),
    );

    const claim = await search.search(query({ claim: claimOf(2).id }));
    expect(claim.hits.map((h) => h.type)).toEqual(['record.read', 'claim.decided']);

    // A window is inclusive at both ends, to the millisecond.
    const window = await search.search(
      query({ type: 'claim.decided' }, { from: claimOf(3).at, to: claimOf(5).at }),
    );
    expect(ids(window.hits)).toEqual(newestFirst([3, 4, 5].map((i) => indexOf.get(`d${i}`)!)));
  });

  it('pages without duplicates or gaps, and refuses cursors of other searches', async () => {
    const all = (await search.search(query({ type: 'claim.decided' }))).hits.map((h) => h.index);
    const paged: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await search.search(
        query({ type: 'claim.decided' }, { limit: 5, ...(cursor === null ? {} : { cursor }) }),
      );
      paged.push(...page.hits.map((h) => h.index));
      cursor = page.cursor;
    } while (cursor !== null);
    expect(paged).toEqual(all);
    expect(new Set(paged).size).toBe(DECIDED);

    const first = await search.search(query({ type: 'claim.decided' }, { limit: 5 }));
    await expect(
      search.search(query({ type: 'claim.reviewed' }, { cursor: first.cursor as string })),
    ).rejects.toThrow(/other parameters/);
    await expect(
      search.search(query({ type: 'claim.decided' }, { cursor: 'bm90LWEtY3Vyc29y' })),
    ).rejects.toThrow(/not one this API issued/);
  });

  it('gives hits whose index, leaf hash and inclusion proof verify against the signed checkpoint', async () => {
    const checkpoint = await integrateAndPublish({
      journal,
      tree,
      checkpoints,
      signer,
      origin: ORIGIN,
      search,
    });
    const hits = (await search.search(query({ provider: PROVIDERS[2] }))).hits;
    expect(hits.length).toBeGreaterThan(0);
    const stored = await journal.entries(hits.map((h) => h.index));
    for (const [i, hit] of hits.entries()) {
      expect(stored[i]?.leafHash).toBe(hit.leafHash);
      expect((JSON.parse(stored[i]!.entry) as { docId: string }).docId).toBe(hit.docId);
      const proof = await tree.inclusionProof(hit.index, checkpoint.size);
      verifyInclusion(fromHex(hit.leafHash), hit.index, checkpoint.size, proof, checkpoint.rootHash);
    }
  });

  it('re-indexing from scratch, even by two indexers at once, changes nothing', async () => {
    const before = await search.search(query({ member: 'M2' }));
    await doc.send(new DeleteCommand({ TableName: table, Key: SEARCH_WATERMARK_KEY }));
    const size = (await tree.treeState()).size;
    const other = new JournalSearchRepository(doc, table, journal);
    await Promise.all([search.indexThrough(size), other.indexThrough(size)]);
    expect(await search.indexedSize()).toBe(size);
    expect(await search.search(query({ member: 'M2' }))).toEqual(before);
    for (const npi of PROVIDERS) expect(await providerTotals(npi)).toEqual(expectedTotals(npi));
  });

  it('indexes new entries in the next round, and counts them once even when indexers race', async () => {
    const fresh = Array.from({ length: 6 }, (_, k) => DECIDED + k);
    for (const i of fresh) indexOf.set(`d${i}`, (await journal.append(`d${i}`, decided(i))).index);
    await tree.integrateAll();
    const size = (await tree.treeState()).size;
    const racers = [0, 1, 2].map(
      () =>
        new JournalSearchRepository(doc, table, journal, {
          chunk: 2,
          maxEntriesPerRound: 1_000,
          maxQueries: 8,
          filteredPageSize: 200,
          maxPeerRollups: 20_000,
        }),
    );
    await Promise.all(racers.map((r) => r.indexThrough(size)));
    expect(await search.indexedSize()).toBe(size);
    const all = Array.from({ length: DECIDED + fresh.length }, (_, i) => claimOf(i));
    for (const npi of PROVIDERS) {
      const mine = all.filter((c) => c.npi === npi);
      const totals = await providerTotals(npi, '2026-03-01', '2026-03-31');
      expect(totals.claims).toBe(mine.length);
      expect(totals.chargeCents).toBe(mine.reduce((sum, c) => sum + c.chargeCents, 0));
    }
  });
});
