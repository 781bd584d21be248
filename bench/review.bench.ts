/**
 * The fraud analyst's read paths at scale: GET /reviews (the queue) and GET /journal/search
 * (plus an export and the provider summary), p50/p99 latency and DynamoDB requests per call,
 * at 10^4 and then 10^5 journal entries in DynamoDB Local, side by side with a baseline in the
 * same run: GET /journal/entries/{index}, the cheapest journal read (one BatchGetItem) behind
 * the same handler stack. Requests per call must not grow with the table.
 *
 * The data is bulk-loaded (BatchWrite) straight into the tables, not through the API: journal
 * entries (`E#` items with their canonical bytes and leaf hash), the search index items and
 * provider rollups the integrator's indexer would write for them (built by the same functions,
 * searchRecord / searchIndexItems / rollupOf), and review items for the pended claims (built by
 * reviewPutItems). Calls go to the real handler modules with API Gateway events carrying an
 * analyst's claims, one at a time; the requests are counted by a middleware on the app's
 * DynamoDB client.
 *
 *   npm run bench:review      (env BENCH_ENTRIES, default 100000; BENCH_CALLS per cell, default 200)
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { searchRecord } from '../functions/claims/journal-search.ts';
import { addRollup, type ProviderDayRollup, rollupOf } from '../functions/claims/provider-summary.ts';
import type { StoredReview } from '../functions/claims/review.ts';
import { npiCheckDigit } from '../functions/engine/npi.ts';
import { setLogSink } from '../functions/http/logger.ts';
import { toHex } from '../functions/journal/bytes.ts';
import { encodeEntry, type JournalEntry, leafHash } from '../functions/journal/entry.ts';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import { createTables } from '../functions/store/create-tables.ts';
import { createDocumentClient, createLocalClient, tableNamesFor } from '../functions/store/dynamo-client.ts';
import { entryKey } from '../functions/store/journal-keys.ts';
import {
  rollupItem,
  SEARCH_WATERMARK_KEY,
  searchIndexItems,
} from '../functions/store/journal-search.repository.ts';
import { reviewPutItems } from '../functions/store/reviews.repository.ts';
import { bulkWrite } from './journal-fixtures.ts';
import { percentile, printTable, writeResult } from './stats.ts';

const TOTAL = Number(process.env.BENCH_ENTRIES ?? 100_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 150);
const SCALES = [Math.min(10_000, TOTAL), TOTAL].filter((n, i, all) => all.indexOf(n) === i);
const PROVIDERS = 200;
const MEMBERS = 20_000;
const STEP_MS = 77_760; // 10^5 entries over 90 days
const START = Date.now() - 90 * 86_400_000;
const RULES = {
  benefit: ['benefits.deductible', 'benefits.copay', 'benefits.coinsurance', 'benefits.visit-limit'],
  deny: ['coding.ptp-bundled', 'coding.mue-units', 'eligibility.coverage-on-date', 'plan.excluded-procedure'],
  pend: ['documentation.supported-by-record', 'pricing.manual-review', 'plan.prior-auth-missing'],
};
const SIGNALS = [
  'near-duplicate',
  'impossible-day',
  'member-velocity',
  'provider-velocity',
  'upcoding-outlier',
];

setLogSink(() => undefined); // access logs would drown the table

/** A valid NPI: nine digits and their check digit. */
const npiFor = (nine: string) => `${nine}${npiCheckDigit(nine)}`;
const npis = Array.from({ length: PROVIDERS }, (_, k) => npiFor(String(190_000_000 + k)));

/** Deterministic pseudo-random numbers in [0, 1) for entry `i` (so both phases agree). */
function random(i: number): () => number {
  let state = (i * 2_654_435_761) >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}
const pick = <T>(r: () => number, values: readonly T[]): T => values[Math.floor(r() * values.length)] as T;
const claimIdOf = (i: number) =>
  `c${createHash('sha256').update(`bench-claim-${i}`).digest('hex').slice(0, 31)}`;

interface Generated {
  entry: JournalEntry;
  review?: StoredReview;
}

/** Entry `i`: mostly claim decisions, some reviews, audited reads and record changes. */
function generate(i: number): Generated {
  const r = random(i + 1);
  // Skewed: a few providers bill most claims, as in real traffic.
  const npi = npis[Math.floor(PROVIDERS * r() ** 2)] as string;
  const member = `BM${Math.floor(MEMBERS * r())}`;
  const at = new Date(START + i * STEP_MS).toISOString();
  const kind = r();
  const actor = { sub: 'bench', role: 'provider' };
  if (kind >= 0.85) {
    // Something about an earlier claim (or a member's records).
    const earlier = Math.floor(r() * i);
    if (kind < 0.9) {
      return {
        entry: {
          type: 'claim.reviewed',
          docId: `claim/${claimIdOf(earlier)}`,
          docRevision: 2,
          actor: { sub: 'analyst', role: 'analyst' },
          at,
          payload: { action: 'approve', claimId: `B-${earlier}`, billingProviderNpi: npi, memberId: member },
        },
      };
    }
    if (kind < 0.95) {
      return {
        entry: {
          type: 'record.read',
          docId: `claim/${claimIdOf(earlier)}`,
          docRevision: 1,
          actor: { sub: 'analyst', role: 'analyst' },
          at,
          payload: { view: 'review' },
        },
      };
    }
    const coverage = kind < 0.98;
    return {
      entry: {
        type: coverage ? 'coverage.put' : 'treatment.put',
        docId: coverage ? `member/${member}/coverage` : `member/${member}/treatment/T${i}`,
        docRevision: 1,
        actor: { sub: 'ops', role: 'analyst' },
        at,
        payload: coverage ? { memberId: member, coverages: [] } : { memberId: member, providerNpi: npi },
      },
    };
  }
  const o = r();
  const outcome = o < 0.7 ? 'approved' : o < 0.8 ? 'partially_approved' : o < 0.9 ? 'denied' : 'pended';
  const rules = [pick(r, RULES.benefit), ...(r() < 0.4 ? [pick(r, RULES.benefit)] : [])];
  if (outcome === 'denied' || outcome === 'partially_approved') rules.push(pick(r, RULES.deny));
  if (outcome === 'pended') rules.push(pick(r, RULES.pend));
  const signals =
    outcome === 'pended' || r() < 0.1 ? [pick(r, SIGNALS), ...(r() < 0.3 ? [pick(r, SIGNALS)] : [])] : [];
  const score = outcome === 'pended' ? 50 + signals.length * 20 : signals.length * 20;
  const charge = 5_000 + Math.floor(r() * 50_000);
  const paid = outcome === 'approved' ? Math.floor(charge * 0.6) : 0;
  const id = claimIdOf(i);
  const entry: JournalEntry = {
    type: 'claim.decided',
    docId: `claim/${id}`,
    docRevision: 1,
    ruleSetHash: 'sha256:bench',
    actor,
    at,
    payload: {
      claimId: `B-${i}`,
      billingProviderNpi: npi,
      memberId: member,
      submissionHash: id,
      outcome,
      totals: { chargeCents: charge, allowedCents: paid, paidCents: paid, memberResponsibilityCents: 0 },
      lines: rules.map((ruleId, n) => ({
        lineNumber: n + 1,
        status: outcome,
        allowedCents: 0,
        paidCents: 0,
        adjustments: [{ group: 'PR', carc: '1', amountCents: 100, ruleId }],
      })),
      fraudScore: score,
      fraudSignals: signals,
    },
  };
  if (outcome !== 'pended') return { entry };
  const s = r();
  const review: StoredReview = {
    claimId: id,
    externalClaimId: `B-${i}`,
    billingProviderNpi: npi,
    memberId: member,
    serviceDateFrom: at.slice(0, 10),
    chargeCents: charge,
    score,
    threshold: 50,
    signals: [...new Set(signals)].sort(),
    reasons: ['fraud-review'],
    status: s < 0.7 ? 'open' : s < 0.9 ? 'assigned' : 'closed',
    assignee: s < 0.7 ? null : 'analyst',
    escalations: 0,
    outcome: s < 0.9 ? null : 'deny',
    actions: [],
    version: 1,
    createdAt: at,
    updatedAt: at,
  };
  return { entry, review };
}

// --- the store and the app --------------------------------------------------------------------

const dynamo = await startDynamoDbLocal();
const names = tableNamesFor('bench-review-');
const raw = createLocalClient(dynamo.endpoint);
await createTables(raw, names);
raw.destroy();
Object.assign(process.env, {
  CLAIMS_TABLE: names.claims,
  RECORDS_TABLE: names.records,
  JOURNAL_TABLE: names.journal,
  DYNAMODB_ENDPOINT: dynamo.endpoint,
});
const { appContext } = await import('../functions/handlers/app-context.ts');
type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
const handlers = {
  entry: ((await import('../functions/handlers/journal-entry.handler.ts')) as { handler: Handler }).handler,
  reviews: ((await import('../functions/handlers/review-queue.handler.ts')) as { handler: Handler }).handler,
  search: ((await import('../functions/handlers/journal-search.handler.ts')) as { handler: Handler }).handler,
  summary: ((await import('../functions/handlers/provider-summary.handler.ts')) as { handler: Handler })
    .handler,
};

// Every operation the app's client sends (a retry is not counted again).
let requests = 0;
(await appContext()).dynamo.onRequest(() => {
  requests++;
});

// The loader's own client: its requests are not the API's.
const loader = createDocumentClient({ endpoint: dynamo.endpoint });
const rollups = new Map<string, ProviderDayRollup>();

function* journalItems(from: number, to: number): Generator<Record<string, unknown>> {
  for (let i = from; i < to; i++) {
    const { entry } = generate(i);
    const bytes = encodeEntry(entry);
    const hash = toHex(leafHash(bytes));
    yield {
      ...entryKey(i),
      index: i,
      key: `bench/${i}`,
      entry: Buffer.from(bytes).toString('utf8'),
      leafHash: hash,
    };
    const record = searchRecord(i, hash, entry);
    yield* searchIndexItems(record);
    const rollup = rollupOf(record);
    if (rollup) {
      const key = `${rollup.npi}#${rollup.day}`;
      const seen = rollups.get(key);
      rollups.set(key, seen ? addRollup(seen, rollup) : rollup);
    }
  }
}

function* reviewItems(from: number, to: number): Generator<Record<string, unknown>> {
  for (let i = from; i < to; i++) {
    const { review } = generate(i);
    if (review) for (const item of reviewPutItems(names.claims, review)) yield item.Put?.Item ?? {};
  }
}

async function load(from: number, to: number) {
  const started = performance.now();
  const journalCount = await bulkWrite(loader, names.journal, journalItems(from, to));
  const reviewCount = await bulkWrite(loader, names.claims, reviewItems(from, to));
  const rollupCount = await bulkWrite(
    loader,
    names.journal,
    [...rollups.values()].map((r) => rollupItem(r, to - 1)),
  );
  await bulkWrite(loader, names.journal, [{ ...SEARCH_WATERMARK_KEY, size: to }]);
  const seconds = (performance.now() - started) / 1000;
  const items = journalCount + reviewCount + rollupCount;
  console.log(
    `loaded entries ${from}..${to - 1}: ${items.toLocaleString('en-US')} items in ${seconds.toFixed(0)} s (${(items / seconds).toFixed(0)} items/s)`,
  );
  return { items, reviews: reviewCount / 3 };
}

// --- the calls ----------------------------------------------------------------------------------

let requestId = 0;
function event(resource: string, query: Record<string, string>, path: Record<string, string> | null = null) {
  const given = Object.keys(query).length > 0;
  return {
    resource,
    path: resource,
    httpMethod: 'GET',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: given ? query : null,
    multiValueQueryStringParameters: given
      ? Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]]))
      : null,
    pathParameters: path,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {
      authorizer: { claims: { sub: 'bench-analyst', 'cognito:groups': 'analyst' } },
      requestId: `bench-${requestId++}`,
      resourcePath: resource,
    },
  } as unknown as APIGatewayProxyEvent;
}

interface Scenario {
  name: string;
  handler: Handler;
  /** Calls measured, when not BENCH_CALLS. */
  calls?: number;
  event: (r: () => number, size: number) => APIGatewayProxyEvent;
}

const day = (offsetDays: number) => new Date(START + offsetDays * 86_400_000).toISOString().slice(0, 10);
const busyNpi = (r: () => number) => npis[Math.floor(PROVIDERS * r() ** 2)] as string;
const scenarios: Scenario[] = [
  {
    name: 'baseline GET /journal/entries/{i}',
    handler: handlers.entry,
    event: (r, size) => event('/journal/entries/{index}', {}, { index: String(Math.floor(r() * size)) }),
  },
  { name: 'GET /reviews', handler: handlers.reviews, event: () => event('/reviews', {}) },
  {
    name: 'GET /reviews?provider',
    handler: handlers.reviews,
    event: (r) => event('/reviews', { provider: busyNpi(r) }),
  },
  {
    name: 'GET /reviews?signal (filter)',
    handler: handlers.reviews,
    event: (r) => event('/reviews', { signal: pick(r, SIGNALS) }),
  },
  {
    name: 'search member',
    handler: handlers.search,
    event: (r) => event('/journal/search', { member: `BM${Math.floor(MEMBERS * r())}` }),
  },
  {
    name: 'search provider',
    handler: handlers.search,
    event: (r) => event('/journal/search', { provider: busyNpi(r) }),
  },
  {
    name: 'search type=claim.decided limit=500',
    handler: handlers.search,
    event: () => event('/journal/search', { type: 'claim.decided', limit: '500' }),
  },
  {
    name: 'search provider+type+window',
    handler: handlers.search,
    event: (r, size) => {
      const days = Math.max(1, Math.floor((size * STEP_MS) / 86_400_000));
      const from = Math.floor(r() * days);
      return event('/journal/search', {
        provider: busyNpi(r),
        type: 'claim.decided',
        from: day(from),
        to: day(from + 7),
      });
    },
  },
  {
    name: 'search rule+provider (filter)',
    handler: handlers.search,
    event: (r) => event('/journal/search', { rule: pick(r, RULES.deny), provider: busyNpi(r) }),
  },
  {
    name: 'search signal+member (sparse filter)',
    handler: handlers.search,
    event: (r) =>
      event('/journal/search', { signal: pick(r, SIGNALS), member: `BM${Math.floor(MEMBERS * r())}` }),
  },
  {
    name: 'export csv 1,000 rows',
    handler: handlers.search,
    event: () => event('/journal/search', { type: 'claim.decided', format: 'csv', limit: '1000' }),
  },
  {
    // The last 7 days of data: the same number of rollups (providers × days) at every scale.
    name: 'provider summary (7 days)',
    handler: handlers.summary,
    calls: 60,
    event: (r, size) => {
      const last = Math.floor(((size - 1) * STEP_MS) / 86_400_000);
      return event('/providers/{npi}/summary', { from: day(last - 6), to: day(last) }, { npi: busyNpi(r) });
    },
  },
];

async function measure(size: number) {
  const rows: Record<string, string | number>[] = [];
  const r = random(size);
  let baselineP50 = Number.NaN;
  for (const scenario of scenarios) {
    for (let i = 0; i < 10; i++) await scenario.handler(scenario.event(r, size), {} as Context);
    const latencies: number[] = [];
    const counts: number[] = [];
    let hits = 0;
    const calls = Math.min(CALLS, scenario.calls ?? CALLS);
    for (let i = 0; i < calls; i++) {
      const e = scenario.event(r, size);
      const before = requests;
      const t0 = performance.now();
      const res = await scenario.handler(e, {} as Context);
      latencies.push(performance.now() - t0);
      counts.push(requests - before);
      if (res.statusCode !== 200) throw new Error(`${scenario.name} answered ${res.statusCode}: ${res.body}`);
      const body = res.body;
      if (body.startsWith('{')) {
        const parsed = JSON.parse(body) as { hits?: unknown[]; reviews?: unknown[] };
        hits += (parsed.hits ?? parsed.reviews ?? [1]).length;
      } else hits += body.split('\n').filter(Boolean).length - (body.startsWith('index,') ? 1 : 0);
    }
    latencies.sort((a, b) => a - b);
    counts.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    if (Number.isNaN(baselineP50)) baselineP50 = p50;
    rows.push({
      entries: size,
      call: scenario.name,
      'p50 ms': p50,
      'p99 ms': percentile(latencies, 99),
      'p50 ÷ baseline': p50 / baselineP50,
      'requests/call': counts.reduce((a, b) => a + b, 0) / counts.length,
      'max requests': counts.at(-1) ?? 0,
      'rows/call': hits / calls,
    });
  }
  return rows;
}

const results: Record<string, string | number>[] = [];
const loads: { entries: number; items: number; reviews: number }[] = [];
let loaded = 0;
for (const size of SCALES) {
  const { items, reviews } = await load(loaded, size);
  loads.push({ entries: size, items, reviews });
  loaded = size;
  results.push(...(await measure(size)));
}

console.log(
  `\nanalyst reads, ${CALLS} sequential calls per cell through the real handlers, DynamoDB Local (${PROVIDERS} providers, ${MEMBERS.toLocaleString('en-US')} members)`,
);
printTable(results);
const byCall = new Map<string, Record<string, string | number>[]>();
for (const row of results) byCall.set(String(row.call), [...(byCall.get(String(row.call)) ?? []), row]);
const growth = [...byCall.entries()].map(([call, rows]) => ({
  call,
  requests: rows.map((row) => Number(row['requests/call']).toFixed(2)).join(' → '),
}));
console.log(`\nrequests/call at ${SCALES.join(' → ')} entries:`);
for (const g of growth) console.log(`  ${g.call.padEnd(40)} ${g.requests}`);
console.log(`\nwritten to ${writeResult('review', { calls: CALLS, scales: SCALES, loads, rows: results })}`);
await dynamo.stop();
process.exit(0);
