import { describe, expect, it } from 'vitest';
import type { Identity } from '../../../functions/claims/identity.ts';
import type { SearchRecord } from '../../../functions/claims/journal-search.ts';
import {
  addRollup,
  median,
  type ProviderDayRollup,
  type ProviderSummaryPort,
  parseSummaryQuery,
  providerSummary,
  rollupOf,
} from '../../../functions/claims/provider-summary.ts';

const analyst: Identity = { sub: 'ana', roles: ['analyst'], npis: [] };

const decision = (
  npi: string,
  outcome: string,
  score: number,
  signals: string[],
  charge = 100,
): SearchRecord => ({
  index: 1,
  leafHash: '00',
  type: 'claim.decided',
  at: '2026-03-02T10:00:00.000Z',
  docId: 'claim/x',
  docRevision: 1,
  actor: { sub: 'b', role: 'provider' },
  provider: npi,
  outcome,
  fraudScore: score,
  chargeCents: charge,
  allowedCents: charge / 2,
  paidCents: outcome === 'approved' ? charge / 4 : 0,
  rules: [],
  signals,
});

const rollups = (...records: SearchRecord[]): ProviderDayRollup[] =>
  records.map((r) => rollupOf(r) as ProviderDayRollup);

describe('parseSummaryQuery', () => {
  it('defaults to the 30 days ending today', () => {
    expect(parseSummaryQuery(null, null, '2026-03-10')).toEqual({
      window: { from: '2026-02-09', to: '2026-03-10' },
    });
    expect(parseSummaryQuery({ to: '2026-01-30' }, null, '2026-03-10')).toEqual({
      window: { from: '2026-01-01', to: '2026-01-30' },
    });
  });

  it('allows 366 days and no more, in order, and nothing else', () => {
    expect(parseSummaryQuery({ from: '2024-01-01', to: '2024-12-31' }, null, '2026-03-10')).toHaveProperty(
      'window',
    );
    expect(parseSummaryQuery({ from: '2024-01-01', to: '2025-01-01' }, null, '2026-03-10')).toEqual({
      issues: [{ path: 'from', message: 'the window is 367 days; at most 366 are allowed' }],
    });
    expect(parseSummaryQuery({ from: '2026-03-02', to: '2026-03-01' }, null, 'x')).toEqual({
      issues: [{ path: 'to', message: 'is before from' }],
    });
    const unknown = parseSummaryQuery({ npi: '1' }, null, '2026-03-10');
    expect('issues' in unknown && unknown.issues[0]?.path).toBe('npi');
  });
});

describe('rollups', () => {
  it('count a first decision once per signal and bucket its score', () => {
    const rollup = rollupOf(decision('1234567893', 'pended', 40, ['a', 'b'])) as ProviderDayRollup;
    expect(rollup).toMatchObject({
      npi: '1234567893',
      day: '2026-03-02',
      claims: 1,
      pended: 1,
      scoreSum: 40,
    });
    expect(rollup.scoreBuckets).toEqual([0, 0, 1, 0, 0, 0]);
    expect(rollupOf(decision('1234567893', 'approved', 150, []))?.scoreBuckets).toEqual([0, 0, 0, 0, 0, 1]);
    expect(rollupOf({ ...decision('1234567893', 'approved', 0, []), type: 'claim.reviewed' })).toBeNull();
    const [x, y] = rollups(decision('1', 'denied', 0, ['a']), decision('1', 'approved', 0, ['a', 'c']));
    expect(addRollup(x as ProviderDayRollup, y as ProviderDayRollup)).toMatchObject({
      claims: 2,
      denied: 1,
      approved: 1,
      signals: { a: 2, c: 1 },
      scoreBuckets: [2, 0, 0, 0, 0, 0],
    });
  });

  it('take the median of the middle two for an even count', () => {
    expect(median([])).toBeNull();
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe('providerSummary', () => {
  const port = (own: ProviderDayRollup[], peers: ProviderDayRollup[]): ProviderSummaryPort => ({
    rollups: async () => ({ own, peers, truncated: false }),
    indexedSize: async () => 42,
  });
  const window = { from: '2026-03-01', to: '2026-03-31' };

  it('compares the provider with the median of the other providers', async () => {
    const own = rollups(
      decision('P', 'denied', 60, ['x']),
      decision('P', 'denied', 60, ['x']),
      decision('P', 'approved', 0, []),
      decision('P', 'pended', 20, ['y']),
    );
    const peers = [
      ...own,
      ...rollups(decision('Q', 'approved', 0, [], 200)),
      ...rollups(decision('R', 'denied', 20, ['x'], 300), decision('R', 'approved', 0, [], 300)),
      ...rollups(decision('S', 'pended', 40, ['y'], 50), decision('S', 'pended', 40, ['y'], 50)),
    ];
    const summary = await providerSummary('P', window, analyst, port(own, peers));
    expect(summary.window).toEqual({ ...window, days: 31 });
    expect(summary.indexedSize).toBe(42);
    expect(summary.provider).toMatchObject({
      claims: 4,
      outcomes: { approved: 1, partiallyApproved: 0, denied: 2, pended: 1 },
      denialRate: 0.5,
      pendRate: 0.25,
      chargeCents: 400,
      meanChargeCents: 100,
      fraudScore: {
        mean: 35,
        distribution: { '0': 1, '1-24': 1, '25-49': 0, '50-74': 2, '75-99': 0, '100+': 0 },
      },
      signals: { x: 2, y: 1 },
      signalRates: { x: 0.5, y: 0.25 },
    });
    // Peers Q (1 claim, 0% denied), R (2 claims, 50%), S (2 claims, 0%, all pended).
    expect(summary.peers).toEqual({
      providers: 3,
      truncated: false,
      median: {
        claims: 2,
        denialRate: 0,
        pendRate: 0,
        chargeCents: 200,
        paidCents: 50,
        meanChargeCents: 200,
        meanFraudScore: 10,
        signalRates: { x: 0, y: 0 },
      },
    });
  });

  it('has no median without peers, and no rates without claims', async () => {
    const summary = await providerSummary('P', window, analyst, port([], []));
    expect(summary.provider).toMatchObject({
      claims: 0,
      denialRate: null,
      pendRate: null,
      meanChargeCents: null,
    });
    expect(summary.peers).toEqual({ providers: 0, truncated: false, median: null });
  });

  it('refuses anyone but an analyst', async () => {
    await expect(
      providerSummary('P', window, { sub: 'p', roles: ['rules-admin'], npis: [] }, port([], [])),
    ).rejects.toThrow('Only analysts');
  });
});
