import * as z from '#functions/zod.ts';
import { isoDate } from './claim.schema.ts';
import { type FieldIssue, ForbiddenError } from './errors.ts';
import type { Identity } from './identity.ts';
import { parameterIssues, repeatedParameters, type SearchRecord } from './journal-search.ts';

// A provider's profile over a window, next to its peers' medians: what a fraud analyst opens
// first. Built from per-provider, per-day rollups of `claim.decided` journal entries that the
// journal's search indexer keeps (functions/store/journal-search.repository.ts), so a summary
// reads rollups, never claims one by one.

/** Window when none is asked for (ending today, UTC), and the longest one a request may ask for. */
export const DEFAULT_SUMMARY_DAYS = 30;
export const MAX_SUMMARY_DAYS = 366;

/** Fraud score buckets of the distribution: upper bounds, inclusive; the last is open. */
export const SCORE_BUCKETS = [
  { label: '0', max: 0 },
  { label: '1-24', max: 24 },
  { label: '25-49', max: 49 },
  { label: '50-74', max: 74 },
  { label: '75-99', max: 99 },
  { label: '100+', max: Number.POSITIVE_INFINITY },
] as const;

/** One provider's decisions on one UTC day (the day the claim was decided), summed. */
export interface ProviderDayRollup {
  npi: string;
  day: string;
  claims: number;
  approved: number;
  partiallyApproved: number;
  denied: number;
  pended: number;
  chargeCents: number;
  allowedCents: number;
  paidCents: number;
  scoreSum: number;
  /** Claims per {@link SCORE_BUCKETS} bucket, in order. */
  scoreBuckets: number[];
  /** Claims that raised each fraud signal (a claim counts once per signal). */
  signals: Record<string, number>;
}

export interface SummaryWindow {
  /** Inclusive ISO dates (UTC days on which claims were decided). */
  from: string;
  to: string;
}

/** Rollups of a window, as the summary needs them. */
export interface ProviderRollups {
  /** The provider's own rollups, complete. */
  own: ProviderDayRollup[];
  /** Every other provider's rollups in the window (possibly cut at a read cap). */
  peers: ProviderDayRollup[];
  /** True when the peers' read stopped at its cap: the medians are of the providers read. */
  truncated: boolean;
}

/** The rollup store (functions/store/journal-search.repository.ts). */
export interface ProviderSummaryPort {
  rollups(npi: string, window: SummaryWindow): Promise<ProviderRollups>;
  /** Entries [0, indexedSize) are counted. */
  indexedSize(): Promise<number>;
}

const DAY_MS = 86_400_000;
const dayNumber = (date: string) => Date.parse(`${date}T00:00:00Z`) / DAY_MS;
const addDays = (date: string, days: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

const summarySchema = z.strictObject({ from: z.optional(isoDate), to: z.optional(isoDate) });

/**
 * The window a request asks for: `to` defaults to today, `from` to 30 days ending at `to`.
 * Inverted or longer than {@link MAX_SUMMARY_DAYS} days is a 400 naming the parameter.
 */
export function parseSummaryQuery(
  parameters: Record<string, string | undefined> | null,
  multi: Record<string, string[] | undefined> | null,
  today: string,
): { window: SummaryWindow } | { issues: FieldIssue[] } {
  const repeated = repeatedParameters(multi);
  const parsed = summarySchema.safeParse(parameters ?? {});
  if (!parsed.success || repeated.length > 0) {
    return { issues: [...repeated, ...(parsed.success ? [] : parameterIssues(parsed.error))] };
  }
  const to = parsed.data.to ?? today;
  const from = parsed.data.from ?? addDays(to, 1 - DEFAULT_SUMMARY_DAYS);
  if (from > to) return { issues: [{ path: 'to', message: 'is before from' }] };
  const days = dayNumber(to) - dayNumber(from) + 1;
  if (days > MAX_SUMMARY_DAYS) {
    return {
      issues: [
        { path: 'from', message: `the window is ${days} days; at most ${MAX_SUMMARY_DAYS} are allowed` },
      ],
    };
  }
  return { window: { from, to } };
}

/** An empty rollup of `npi` on `day`. */
export function emptyRollup(npi: string, day: string): ProviderDayRollup {
  return {
    npi,
    day,
    claims: 0,
    approved: 0,
    partiallyApproved: 0,
    denied: 0,
    pended: 0,
    chargeCents: 0,
    allowedCents: 0,
    paidCents: 0,
    scoreSum: 0,
    scoreBuckets: SCORE_BUCKETS.map(() => 0),
    signals: {},
  };
}

const OUTCOME_FIELDS = {
  approved: 'approved',
  partially_approved: 'partiallyApproved',
  denied: 'denied',
  pended: 'pended',
} as const;

/**
 * What one indexed entry adds to its provider's day: a `claim.decided` entry (a claim's first
 * decision) counts; anything else adds nothing (null). Review outcomes are not counted, so
 * the pend rate is the share of claims the rules pended.
 */
export function rollupOf(record: SearchRecord): ProviderDayRollup | null {
  if (record.type !== 'claim.decided' || record.provider === undefined) return null;
  const rollup = emptyRollup(record.provider, record.at.slice(0, 10));
  rollup.claims = 1;
  const outcome = OUTCOME_FIELDS[record.outcome as keyof typeof OUTCOME_FIELDS];
  if (outcome !== undefined) rollup[outcome] = 1;
  rollup.chargeCents = record.chargeCents ?? 0;
  rollup.allowedCents = record.allowedCents ?? 0;
  rollup.paidCents = record.paidCents ?? 0;
  const score = record.fraudScore ?? 0;
  rollup.scoreSum = score;
  const bucket = SCORE_BUCKETS.findIndex((b) => score <= b.max);
  rollup.scoreBuckets[bucket < 0 ? SCORE_BUCKETS.length - 1 : bucket] = 1;
  for (const signal of record.signals) rollup.signals[signal] = 1;
  return rollup;
}

/** `into` plus `add`, field by field (same provider; the day of `into` is kept). */
export function addRollup(into: ProviderDayRollup, add: ProviderDayRollup): ProviderDayRollup {
  const signals = { ...into.signals };
  for (const [signal, n] of Object.entries(add.signals)) signals[signal] = (signals[signal] ?? 0) + n;
  return {
    npi: into.npi,
    day: into.day,
    claims: into.claims + add.claims,
    approved: into.approved + add.approved,
    partiallyApproved: into.partiallyApproved + add.partiallyApproved,
    denied: into.denied + add.denied,
    pended: into.pended + add.pended,
    chargeCents: into.chargeCents + add.chargeCents,
    allowedCents: into.allowedCents + add.allowedCents,
    paidCents: into.paidCents + add.paidCents,
    scoreSum: into.scoreSum + add.scoreSum,
    scoreBuckets: into.scoreBuckets.map((n, i) => n + (add.scoreBuckets[i] ?? 0)),
    signals,
  };
}

const rate = (part: number, whole: number) =>
  whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
const mean = (sum: number, n: number) => (n === 0 ? null : Math.round((sum / n) * 100) / 100);

/** A provider's figures over the window. Rates are shares of its claims (4 decimals). */
function figures(total: ProviderDayRollup) {
  const { claims } = total;
  return {
    claims,
    outcomes: {
      approved: total.approved,
      partiallyApproved: total.partiallyApproved,
      denied: total.denied,
      pended: total.pended,
    },
    denialRate: rate(total.denied, claims),
    pendRate: rate(total.pended, claims),
    chargeCents: total.chargeCents,
    allowedCents: total.allowedCents,
    paidCents: total.paidCents,
    meanChargeCents: claims === 0 ? null : Math.round(total.chargeCents / claims),
    fraudScore: {
      mean: mean(total.scoreSum, claims),
      distribution: Object.fromEntries(SCORE_BUCKETS.map((b, i) => [b.label, total.scoreBuckets[i] ?? 0])),
    },
    signals: Object.fromEntries(Object.entries(total.signals).sort(([a], [b]) => a.localeCompare(b))),
    signalRates: Object.fromEntries(
      Object.entries(total.signals)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([signal, n]) => [signal, rate(n, claims)]),
    ),
  };
}

/** Median of numbers (mean of the middle two for an even count); null for none. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const value = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return Math.round(value * 10_000) / 10_000;
}

function sumByProvider(rollups: ProviderDayRollup[]): Map<string, ProviderDayRollup> {
  const byNpi = new Map<string, ProviderDayRollup>();
  for (const rollup of rollups) {
    const seen = byNpi.get(rollup.npi);
    byNpi.set(rollup.npi, seen ? addRollup(seen, rollup) : rollup);
  }
  return byNpi;
}

/**
 * The provider's claims, amounts, denial and pend rates, fraud signal counts and score
 * distribution over the window, and the median of the same figures over its peers: every
 * other provider with at least one claim decided in the window. Analysts only.
 */
export async function providerSummary(
  npi: string,
  window: SummaryWindow,
  identity: Identity,
  port: ProviderSummaryPort,
) {
  if (!identity.roles.includes('analyst')) {
    throw new ForbiddenError('Only analysts read provider summaries.');
  }
  const [{ own, peers, truncated }, indexedSize] = await Promise.all([
    port.rollups(npi, window),
    port.indexedSize(),
  ]);
  const total = own.reduce(addRollup, emptyRollup(npi, window.from));
  const provider = figures(total);
  const peerTotals = [...sumByProvider(peers.filter((r) => r.npi !== npi)).values()].filter(
    (r) => r.claims > 0,
  );
  const peerFigures = peerTotals.map(figures);
  const signalNames = [
    ...new Set([...Object.keys(total.signals), ...peerTotals.flatMap((p) => Object.keys(p.signals))]),
  ].sort();
  const med = (pick: (f: ReturnType<typeof figures>) => number | null) =>
    median(peerFigures.map(pick).filter((v): v is number => v !== null));
  return {
    npi,
    window: { ...window, days: dayNumber(window.to) - dayNumber(window.from) + 1 },
    indexedSize,
    provider,
    peers: {
      providers: peerFigures.length,
      truncated,
      median:
        peerFigures.length === 0
          ? null
          : {
              claims: med((f) => f.claims),
              denialRate: med((f) => f.denialRate),
              pendRate: med((f) => f.pendRate),
              chargeCents: med((f) => f.chargeCents),
              paidCents: med((f) => f.paidCents),
              meanChargeCents: med((f) => f.meanChargeCents),
              meanFraudScore: med((f) => f.fraudScore.mean),
              // A peer that never raised a signal has rate 0 for it, not "no value".
              signalRates: Object.fromEntries(
                signalNames.map((signal) => [signal, med((f) => f.signalRates[signal] ?? 0)]),
              ),
            },
    },
  };
}
