import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npiCheckDigit } from '../../functions/engine/npi.ts';
import { fromHex } from '../../functions/journal/bytes.ts';
import { openCheckpoint } from '../../functions/journal/checkpoint.ts';
import { verifyInclusion } from '../../functions/journal/verify.ts';
import { demoProviders, demoReviewClaim } from '../../functions/local/demo-seed.ts';
import { LOCAL_JOURNAL_ORIGIN } from '../../functions/local/local-stack.ts';
import { ppoCoverage } from '../support/coverage.ts';
import { call } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';
const DATE = demoReviewClaim.serviceDateFrom;

interface Hit {
  index: number;
  leafHash: string;
  type: string;
  at: string;
  docId: string;
  claim?: string;
  member?: string;
  provider?: string;
  outcome?: string;
  rules: string[];
  signals: string[];
}
interface SearchBody {
  hits: Hit[];
  nextCursor: string | null;
  indexedSize: number;
}
interface ClaimView {
  id: string;
  status: string;
  journal: { index: number; leafHash: string };
  decision: {
    totals: { chargeCents: number; allowedCents: number; paidCents: number };
    lines: { adjustments: { ruleId: string }[] }[];
    fraud: { score: number; signals: { signal: string }[] };
  };
}

/** A valid NPI for a made-up provider: nine digits and their check digit. */
const npiFor = (nine: string) => `${nine}${npiCheckDigit(nine)}`;

const claimFor = (memberId: string, claimId: string, npi: string) => ({
  ...demoReviewClaim,
  claimId,
  memberId,
  billingProviderNpi: npi,
});

const median = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

describe('journal search and provider summary over HTTP', () => {
  let stack: E2eStack;
  const npiA = npiFor('190000001');
  const npiB = npiFor('190000002');
  /** Every claim this test submitted, as the analyst sees it, with its billing NPI and member. */
  const claims: (ClaimView & { npi: string; member: string })[] = [];
  /** Journal indices of the coverage entries, by member. */
  const coverageIndex = new Map<string, number>();

  const get = (path: string, token = stack.tokens.analyst) => call(stack.url, 'GET', path, { token });
  const search = async (query: string) => {
    const res = await get(`/journal/search?${query}`);
    expect(res.status, `${query}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as unknown as SearchBody;
  };
  const all = async (query: string, limit: number) => {
    const hits: Hit[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await search(`${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.hits.length).toBeLessThanOrEqual(limit);
      hits.push(...page.hits);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    return hits;
  };
  const decidedIndices = (keep: (c: (typeof claims)[number]) => boolean) =>
    claims
      .filter(keep)
      .map((c) => c.journal.index)
      .sort((a, b) => b - a);

  beforeAll(async () => {
    stack = await startE2eStack();
    const tokenFor = (npi: string) =>
      stack.issuer.mint({ sub: `billing-${npi}`, roles: ['provider'], npis: [npi] });
    const tokens = new Map([
      [npiA, await tokenFor(npiA)],
      [npiB, await tokenFor(npiB)],
      [demoProviders.familyClinic.npi, stack.tokens.provider],
      [demoProviders.excluded.npi, await tokenFor(demoProviders.excluded.npi)],
    ]);
    for (const member of ['S-M1', 'S-M2', 'S-M3']) {
      const res = await call(stack.url, 'PUT', `/members/${member}/coverage`, {
        token: stack.tokens.analyst,
        json: ppoCoverage(`COV-${member}`),
      });
      expect(res.status).toBe(201);
      coverageIndex.set(member, (res.body.journal as { index: number }).index);
    }
    // S-M1's services on the day are documented, so its claims are paid; S-M2's are not (pended).
    const treatment = await call(stack.url, 'POST', '/treatments', {
      token: stack.tokens.analyst,
      json: {
        recordId: 'ENC-S1',
        memberId: 'S-M1',
        providerNpi: npiA,
        serviceDate: DATE,
        kind: 'encounter',
        procedureCodes: ['99213', '36415', '80053'],
        diagnosisCodes: ['E11.9'],
      },
    });
    expect(treatment.status).toBe(201);
    const submissions: [string, string, string][] = [
      [npiA, 'S-M1', 'A-1'],
      [npiA, 'S-M2', 'A-2'],
      [npiA, 'S-NOCOV', 'A-3'],
      [npiA, 'S-M3', 'A-4'],
      [npiB, 'S-M1', 'B-1'],
      [npiB, 'S-M2', 'B-2'],
      [demoProviders.familyClinic.npi, 'S-M3', 'F-1'],
      [demoProviders.excluded.npi, 'S-M1', 'X-1'],
    ];
    for (const [npi, member, id] of submissions) {
      const res = await call(stack.url, 'POST', '/claims', {
        token: tokens.get(npi) as string,
        json: claimFor(member, id, npi),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const view = await get(`/claims/${String(res.body.id)}`);
      expect(view.status).toBe(200);
      claims.push({ ...(view.body as unknown as ClaimView), npi, member });
    }
    await stack.integrator.caughtUp();
    await stack.integrator.caughtUp();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('is for analysts only', async () => {
    for (const path of [`/journal/search?provider=${npiA}`, `/providers/${npiA}/summary`]) {
      for (const token of [stack.tokens.provider, stack.tokens.otherProvider, stack.tokens.rulesAdmin]) {
        const res = await get(path, token);
        expect(res.status, path).toBe(403);
        expect(res.body.type).toBe(`${PROBLEM}forbidden`);
      }
      expect((await call(stack.url, 'GET', path)).status).toBe(401);
    }
  });

  it('finds a member’s entries with the indices their receipts named, provable against the checkpoint', async () => {
    const body = await search('member=S-M1');
    const expected = [...decidedIndices((c) => c.member === 'S-M1'), coverageIndex.get('S-M1') as number];
    expect(body.hits.filter((h) => h.type !== 'treatment.put').map((h) => h.index)).toEqual(
      [...expected].sort((a, b) => b - a),
    );
    expect(body.hits.filter((h) => h.type === 'treatment.put')).toHaveLength(1);
    expect(body.indexedSize).toBeGreaterThan(Math.max(...expected));

    const checkpointRes = await get('/journal/checkpoint');
    const { checkpoint } = openCheckpoint(String(checkpointRes.body.note), stack.verifierKey, {
      origin: LOCAL_JOURNAL_ORIGIN,
    });
    for (const hit of body.hits) {
      const receipt = claims.find((c) => c.journal.index === hit.index)?.journal;
      if (receipt) expect(hit.leafHash).toBe(receipt.leafHash);
      const proof = await get(`/journal/entries/${hit.index}/proof?size=${checkpoint.size}`);
      expect(proof.status).toBe(200);
      verifyInclusion(
        fromHex(hit.leafHash),
        hit.index,
        checkpoint.size,
        (proof.body.proof as string[]).map(fromHex),
        checkpoint.rootHash,
      );
    }
  });

  it('pages through a provider’s decisions without duplicates or gaps', async () => {
    const expected = decidedIndices((c) => c.npi === npiA);
    for (const limit of [1, 2, 3]) {
      const hits = await all(`provider=${npiA}&type=claim.decided`, limit);
      expect(hits.map((h) => h.index)).toEqual(expected);
      expect(new Set(hits.map((h) => h.index)).size).toBe(hits.length);
    }
    // Without the type filter the treatment record by the same provider is found too.
    const everything = await all(`provider=${npiA}`, 2);
    expect(everything.map((h) => h.type).sort()).toEqual([
      ...expected.map(() => 'claim.decided'),
      'treatment.put',
    ]);
  });

  it('finds a claim’s entries, including analysts’ reads of it', async () => {
    const target = claims[1] as ClaimView;
    // Reading a claim as an analyst (as this file's setup did) is journaled too: count reads.
    const reads = (hits: { type: string }[]) => hits.filter((h) => h.type === 'record.read').length;
    const before = await search(`claim=${target.id}`);
    expect(before.hits.filter((h) => h.type === 'claim.decided').map((h) => h.index)).toEqual([
      target.journal.index,
    ]);
    expect((await get(`/claims/${target.id}/history`)).status).toBe(200);
    await stack.integrator.caughtUp();
    await stack.integrator.caughtUp();
    const after = await search(`claim=${target.id}`);
    expect(after.hits[0]?.type).toBe('record.read');
    expect(reads(after.hits)).toBe(reads(before.hits) + 1);
    expect((await search(`claim=${target.id}&type=record.read`)).hits).toHaveLength(reads(after.hits));
  });

  it('finds decisions by the rules that adjusted them and the fraud signals they raised', async () => {
    const withRule = claims.find((c) => c.decision.lines.some((l) => l.adjustments.length > 0)) as ClaimView;
    const ruleId = withRule.decision.lines.flatMap((l) => l.adjustments)[0]?.ruleId as string;
    const byRule = await all(`rule=${ruleId}`, 100);
    expect(byRule.map((h) => h.index)).toEqual(
      decidedIndices((c) => c.decision.lines.some((l) => l.adjustments.some((a) => a.ruleId === ruleId))),
    );
    for (const hit of byRule) expect(hit.rules).toContain(ruleId);

    const signals = [...new Set(claims.flatMap((c) => c.decision.fraud.signals.map((s) => s.signal)))];
    expect(signals.length).toBeGreaterThan(0);
    for (const signal of signals) {
      const raised = (c: (typeof claims)[number]) =>
        c.decision.fraud.signals.some((s) => s.signal === signal);
      expect(
        (await all(`signal=${signal}`, 100)).map((h) => h.index),
        signal,
      ).toEqual(decidedIndices(raised));
      // Two facets: the signal's index, filtered by provider.
      expect((await all(`signal=${signal}&provider=${npiA}`, 1)).map((h) => h.index)).toEqual(
        decidedIndices((c) => raised(c) && c.npi === npiA),
      );
    }
  });

  it('finds entries by type and time window', async () => {
    const coverage = await search('type=coverage.put&member=S-M2');
    expect(coverage.hits.map((h) => h.index)).toEqual([coverageIndex.get('S-M2')]);
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const decidedA = decidedIndices((c) => c.npi === npiA);
    expect((await search(`provider=${npiA}&type=claim.decided&from=${today}&to=${today}`)).hits).toHaveLength(
      decidedA.length,
    );
    expect((await search(`provider=${npiA}&from=${tomorrow}`)).hits).toEqual([]);
    expect((await search(`provider=${npiA}&to=${yesterday}`)).hits).toEqual([]);
    // Instants bound the window inclusively, to the millisecond.
    const hits = (await search(`provider=${npiA}&type=claim.decided`)).hits;
    const [newest, second] = hits as [Hit, Hit];
    const window = await search(`provider=${npiA}&type=claim.decided&from=${second.at}&to=${newest.at}`);
    expect(window.hits.map((h) => h.index)).toEqual([newest.index, second.index]);
  });

  it('exports every hit as CSV and JSON Lines, and continues a capped export', async () => {
    const expected = (await search(`member=S-M1&limit=500`)).hits;
    const csv = await fetch(`${stack.url}/journal/search?member=S-M1&format=csv`, {
      headers: { authorization: `Bearer ${stack.tokens.analyst}` },
    });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('x-export-complete')).toBe('true');
    expect(csv.headers.get('x-export-rows')).toBe(String(expected.length));
    const lines = (await csv.text()).split('\r\n').filter(Boolean);
    const header = (lines[0] as string).split(',');
    expect(header.slice(0, 3)).toEqual(['index', 'at', 'type']);
    const rows = lines.slice(1).map((line) => line.split(','));
    expect(rows.map((r) => Number(r[0]))).toEqual(expected.map((h) => h.index));
    expect(rows.map((r) => r[header.indexOf('leafHash')])).toEqual(expected.map((h) => h.leafHash));
    expect(rows.map((r) => r[header.indexOf('member')])).toEqual(expected.map(() => 'S-M1'));

    const jsonl = await fetch(`${stack.url}/journal/search?member=S-M1&format=jsonl`, {
      headers: { authorization: `Bearer ${stack.tokens.analyst}` },
    });
    expect(jsonl.headers.get('content-type')).toBe('application/x-ndjson');
    const records = (await jsonl.text())
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Hit);
    expect(records).toEqual(expected);

    // A capped export says so and hands over the cursor that continues it.
    const first = await fetch(`${stack.url}/journal/search?member=S-M1&format=jsonl&limit=2`, {
      headers: { authorization: `Bearer ${stack.tokens.analyst}` },
    });
    expect(first.headers.get('x-export-complete')).toBe('false');
    const cursor = first.headers.get('x-next-cursor') as string;
    const rest = await fetch(`${stack.url}/journal/search?member=S-M1&format=jsonl&cursor=${cursor}`, {
      headers: { authorization: `Bearer ${stack.tokens.analyst}` },
    });
    const joined = [...(await first.text()).split('\n'), ...(await rest.text()).split('\n')]
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as Hit).index);
    expect(joined).toEqual(expected.map((h) => h.index));
  });

  it('refuses every bad parameter with a precise 400', async () => {
    const page = await search(`provider=${npiA}&limit=1`);
    const cursor = page.nextCursor as string;
    const cases: [string, string][] = [
      ['', ''],
      ['from=2026-03-01', ''],
      ['member=S-M1&sort=at', 'sort'],
      ['member=S-M1&from=2026-02-30', 'from'],
      ['member=S-M1&from=yesterday', 'from'],
      ['member=S-M1&to=2026-03-01T25:00:00Z', 'to'],
      ['member=S-M1&from=2026-03-02&to=2026-03-01', 'to'],
      ['member=S-M1&limit=0', 'limit'],
      ['member=S-M1&limit=501', 'limit'],
      ['member=S-M1&limit=ten', 'limit'],
      ['member=S-M1&format=csv&limit=10001', 'limit'],
      ['member=S-M1&format=xml', 'format'],
      ['member=%23x', 'member'],
      ['provider=123', 'provider'],
      ['claim=DEMO-1', 'claim'],
      ['rule=Not%20A%20Rule', 'rule'],
      ['signal=Bad%20Signal', 'signal'],
      ['type=claim.deleted', 'type'],
      ['member=S-M1&member=S-M2', 'member'],
      ['member=S-M1&cursor=garbage!', 'cursor'],
      [`member=S-M1&cursor=${Buffer.from('{"v":1}').toString('base64url')}`, 'cursor'],
      [`provider=${npiB}&cursor=${cursor}`, 'cursor'],
      [`provider=${npiA}&from=2020-01-01&cursor=${cursor}`, 'cursor'],
    ];
    for (const [query, parameter] of cases) {
      const res = await get(`/journal/search?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.type, query).toBe(`${PROBLEM}bad-request`);
      const errors = res.body.errors as { path: string }[];
      if (parameter)
        expect(
          errors.map((e) => e.path),
          query,
        ).toContain(parameter);
    }
    for (const [query, parameter] of [
      ['from=2026-13-01', 'from'],
      ['from=2026-03-02&to=2026-03-01', 'to'],
      ['from=2025-01-01&to=2026-03-01', 'from'],
      ['window=30', 'window'],
      ['to=2026-03-01&to=2026-03-02', 'to'],
    ] as const) {
      const res = await get(`/providers/${npiA}/summary?${query}`);
      expect(res.status, query).toBe(400);
      expect(
        (res.body.errors as { path: string }[]).map((e) => e.path),
        query,
      ).toContain(parameter);
    }
    expect((await get('/providers/12345/summary')).status).toBe(404);
  });

  it('answers arbitrary query strings with 2xx or 4xx, never 5xx', async () => {
    const names = [
      'member',
      'provider',
      'claim',
      'rule',
      'signal',
      'type',
      'from',
      'to',
      'limit',
      'cursor',
      'format',
    ];
    // Names of Object.prototype members once made the local gateway answer 500 (`?toString`).
    const prototypeNames = ['toString', '__proto__', 'constructor', 'hasOwnProperty'];
    const parameter = fc.tuple(
      fc.oneof(fc.constantFrom(...names, ...prototypeNames), fc.string({ maxLength: 8 })),
      fc.string(),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(parameter, { maxLength: 5 }),
        fc.string({ maxLength: 40 }),
        async (pairs, raw) => {
          const query = new URLSearchParams(pairs).toString();
          for (const path of [
            `/journal/search?${query}`,
            `/journal/search?${raw}`,
            `/providers/${npiA}/summary?${query}`,
          ]) {
            const res = await get(path);
            expect(res.status, path).toBeLessThan(500);
            expect(res.status, path).toBeGreaterThanOrEqual(200);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('summarises a provider’s decisions against the median of its peers', async () => {
    const res = await get(`/providers/${npiA}/summary`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as {
      window: { from: string; to: string; days: number };
      provider: Record<string, unknown> & {
        claims: number;
        outcomes: Record<string, number>;
        fraudScore: { mean: number; distribution: Record<string, number> };
        signals: Record<string, number>;
      };
      peers: { providers: number; truncated: boolean; median: Record<string, number> };
    };
    expect(body.window.days).toBe(30);
    const stats = (npi: string) => {
      const mine = claims.filter((c) => c.npi === npi);
      const n = mine.length;
      const count = (status: string) => mine.filter((c) => c.status === status).length;
      const signals: Record<string, number> = {};
      for (const c of mine) {
        for (const s of new Set(c.decision.fraud.signals.map((x) => x.signal)))
          signals[s] = (signals[s] ?? 0) + 1;
      }
      return {
        claims: n,
        denied: count('denied'),
        pended: count('pended'),
        approved: count('approved'),
        chargeCents: mine.reduce((sum, c) => sum + c.decision.totals.chargeCents, 0),
        paidCents: mine.reduce((sum, c) => sum + c.decision.totals.paidCents, 0),
        meanScore: mine.reduce((sum, c) => sum + c.decision.fraud.score, 0) / n,
        scores: mine.map((c) => c.decision.fraud.score),
        signals,
      };
    };
    const a = stats(npiA);
    // The figures are not trivial: some of A's claims were pended or denied, with signals.
    expect(a.pended + a.denied).toBeGreaterThan(0);
    expect(Object.keys(a.signals).length).toBeGreaterThan(0);
    expect(body.provider.claims).toBe(a.claims);
    expect(body.provider.outcomes.denied).toBe(a.denied);
    expect(body.provider.outcomes.pended).toBe(a.pended);
    expect(body.provider.outcomes.approved).toBe(a.approved);
    expect(body.provider.denialRate).toBeCloseTo(a.denied / a.claims, 4);
    expect(body.provider.pendRate).toBeCloseTo(a.pended / a.claims, 4);
    expect(body.provider.chargeCents).toBe(a.chargeCents);
    expect(body.provider.paidCents).toBe(a.paidCents);
    expect(body.provider.fraudScore.mean).toBeCloseTo(a.meanScore, 2);
    expect(Object.values(body.provider.fraudScore.distribution).reduce((x, y) => x + y, 0)).toBe(a.claims);
    expect(body.provider.fraudScore.distribution['0']).toBe(a.scores.filter((s) => s === 0).length);
    expect(body.provider.signals).toEqual(a.signals);

    const peers = [npiB, demoProviders.familyClinic.npi, demoProviders.excluded.npi].map(stats);
    expect(body.peers.providers).toBe(peers.length);
    expect(body.peers.truncated).toBe(false);
    expect(body.peers.median.claims).toBe(median(peers.map((p) => p.claims)));
    expect(body.peers.median.chargeCents).toBe(median(peers.map((p) => p.chargeCents)));
    expect(body.peers.median.paidCents).toBe(median(peers.map((p) => p.paidCents)));
    expect(body.peers.median.denialRate).toBeCloseTo(median(peers.map((p) => p.denied / p.claims)), 4);
    expect(body.peers.median.pendRate).toBeCloseTo(median(peers.map((p) => p.pended / p.claims)), 4);
    expect(body.peers.median.meanFraudScore).toBeCloseTo(median(peers.map((p) => p.meanScore)), 2);

    // A window without decisions has nothing to count; the peers' median is null.
    const empty = await get(`/providers/${npiA}/summary?from=2025-01-01&to=2025-01-31`);
    expect(empty.status).toBe(200);
    expect(empty.body.provider).toMatchObject({ claims: 0, denialRate: null });
    expect(empty.body.peers).toMatchObject({ providers: 0, median: null });
  });
});
