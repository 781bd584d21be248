// The journal's search index and provider rollups, in the journal table. Key design, in one place:
//
//   pk SX#<facet>#<value>   sk <at, ms ISO instant>#<12-digit entry index>
//     one item per (facet, value) an integrated entry is about: type, claim, member, provider,
//     each rule that adjusted a line, each fraud signal. Each item carries the entry's index,
//     leaf hash and a small projection (SearchRecord), so a search never reads the entries.
//   pk SXR#<yyyy-mm>        sk <npi>#<dd>
//     a provider's claim.decided entries of one UTC day, summed (ProviderDayRollup), with
//     `upTo`, the last entry index counted in it.
//   pk STATE                sk SEARCH
//     `size`: entries [0, size) are indexed (the watermark).
//
// Written by the journal integrator after each round (integrateAndPublish), for the entries
// between the watermark and the checkpoint just published, so every hit is provable against
// the latest checkpoint. Crash safety: index items are plain puts of values that depend only on
// immutable entries, so writing them twice changes nothing; a rollup update is conditional on
// its `upTo` (a contribution is added once, and a conflicting writer re-reads `upTo` and adds
// only what is newer); the watermark advances last, conditionally on its previous value. A
// process that dies after integrating and before indexing leaves the watermark behind, and
// the next round indexes from there.

import { createHash } from 'node:crypto';
import {
  type JournalSearchPort,
  type JournalSearchQuery,
  SEARCH_FACETS,
  type SearchFacet,
  type SearchPage,
  type SearchRecord,
  searchKeys,
  searchRecord,
} from '#claims/journal-search.ts';
import {
  addRollup,
  emptyRollup,
  type ProviderDayRollup,
  type ProviderRollups,
  type ProviderSummaryPort,
  rollupOf,
  SCORE_BUCKETS,
  type SummaryWindow,
} from '#claims/provider-summary.ts';
import { InvalidCursorError } from '#claims/review.ts';
import { journalEntrySchema } from '#journal/entry.ts';
import { batchPutAll } from './batch.ts';
import { type DocumentClient, GetCommand, QueryCommand, UpdateCommand } from './dynamo.ts';
import type { JournalRepository } from './journal.repository.ts';
import { pad12 } from './journal-keys.ts';
import { queryAll } from './query-all.ts';
import { conditionalWrite } from './transactions.ts';

export const searchPk = (facet: SearchFacet, value: string) => `SX#${facet}#${value}`;
export const searchSk = (at: string, index: number) => `${at}#${pad12(index)}`;
export const rollupPk = (day: string) => `SXR#${day.slice(0, 7)}`;
export const rollupSk = (npi: string, day: string) => `${npi}#${day.slice(8, 10)}`;
export const SEARCH_WATERMARK_KEY = { pk: 'STATE', sk: 'SEARCH' } as const;

/** An index or rollup that cannot be built from what is stored (a missing or invalid entry). */
export class JournalSearchIndexError extends Error {
  override name = 'JournalSearchIndexError';
}

/** The index items of one entry: one per (facet, value), all with the same projection. */
export function searchIndexItems(record: SearchRecord): Record<string, unknown>[] {
  const { actor, ...rest } = record;
  const projection = { ...rest, actorSub: actor.sub, actorRole: actor.role };
  const sk = searchSk(record.at, record.index);
  return searchKeys(record).map(([facet, value]) => ({ pk: searchPk(facet, value), sk, ...projection }));
}

const OPTIONAL_TEXT = ['claim', 'externalClaimId', 'member', 'provider', 'outcome'] as const;
const OPTIONAL_NUMBER = ['fraudScore', 'chargeCents', 'allowedCents', 'paidCents'] as const;

function recordFromItem(item: Record<string, unknown>): SearchRecord {
  const record: SearchRecord = {
    index: Number(item.index),
    leafHash: String(item.leafHash),
    type: item.type as SearchRecord['type'],
    at: String(item.at),
    docId: String(item.docId),
    docRevision: Number(item.docRevision),
    actor: { sub: String(item.actorSub), role: String(item.actorRole) },
    rules: ((item.rules as unknown[] | undefined) ?? []).map(String),
    signals: ((item.signals as unknown[] | undefined) ?? []).map(String),
  };
  for (const key of OPTIONAL_TEXT) if (typeof item[key] === 'string') record[key] = item[key];
  for (const key of OPTIONAL_NUMBER) if (typeof item[key] === 'number') record[key] = item[key];
  return record;
}

// Rollup attributes are top-level (DynamoDB's arithmetic updates only reach top-level numbers
// without a parent map that must exist first): counters by name, buckets `b<i>`, signals `s:<name>`.
const ROLLUP_COUNTERS = [
  'claims',
  'approved',
  'partiallyApproved',
  'denied',
  'pended',
  'chargeCents',
  'allowedCents',
  'paidCents',
  'scoreSum',
] as const;

function rollupNumbers(rollup: ProviderDayRollup): [string, number][] {
  return [
    ...ROLLUP_COUNTERS.map((name): [string, number] => [name, rollup[name]]),
    ...rollup.scoreBuckets.map((n, i): [string, number] => [`b${i}`, n]),
    ...Object.entries(rollup.signals).map(([signal, n]): [string, number] => [`s:${signal}`, n]),
  ];
}

/** A rollup as a whole item (bulk loading); the indexer builds the same item by updates. */
export function rollupItem(rollup: ProviderDayRollup, upTo: number): Record<string, unknown> {
  return {
    pk: rollupPk(rollup.day),
    sk: rollupSk(rollup.npi, rollup.day),
    npi: rollup.npi,
    day: rollup.day,
    upTo,
    ...Object.fromEntries(rollupNumbers(rollup)),
  };
}

function rollupFromItem(item: Record<string, unknown>): ProviderDayRollup {
  const rollup = emptyRollup(String(item.npi), String(item.day));
  for (const name of ROLLUP_COUNTERS) rollup[name] = Number(item[name] ?? 0);
  rollup.scoreBuckets = SCORE_BUCKETS.map((_, i) => Number(item[`b${i}`] ?? 0));
  for (const [name, value] of Object.entries(item)) {
    if (name.startsWith('s:')) rollup.signals[name.slice(2)] = Number(value);
  }
  return rollup;
}

/** How much indexing and reading one call may do. */
export interface SearchBudget {
  /** Entries indexed per watermark step. */
  chunk: number;
  /** Entries one indexing round handles at most; the next round continues (Lambda timeout). */
  maxEntriesPerRound: number;
  /** Index Queries per search page, at most: a filtered page may come back short, with a cursor. */
  maxQueries: number;
  /** Items the first filtered Query of a page reads; each further one reads twice as many (≤ 1,000). */
  filteredPageSize: number;
  /** Peer rollup items one provider summary reads, at most. */
  maxPeerRollups: number;
}

const DEFAULT_BUDGET: SearchBudget = {
  chunk: 500,
  maxEntriesPerRound: 2_000,
  maxQueries: 8,
  filteredPageSize: 200,
  maxPeerRollups: 20_000,
};

const CONCURRENCY = 4;
const SK_SHAPE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#\d{12}$/;
const cursorSchemaKeys = ['v', 'q', 's'];

interface QueryPlan {
  pk: string;
  lower?: string;
  upper?: string;
  filters: string[];
  names: Record<string, string>;
  values: Record<string, unknown>;
}

const FILTERS: Record<SearchFacet, (name: string, value: string) => string> = {
  claim: (n, v) => `${n} = ${v}`,
  member: (n, v) => `${n} = ${v}`,
  provider: (n, v) => `${n} = ${v}`,
  signal: (n, v) => `contains(${n}, ${v})`,
  rule: (n, v) => `contains(${n}, ${v})`,
  type: (n, v) => `${n} = ${v}`,
};
const FILTER_ATTRIBUTE: Record<SearchFacet, string> = {
  claim: 'claim',
  member: 'member',
  provider: 'provider',
  signal: 'signals',
  rule: 'rules',
  type: 'type',
};

/**
 * The first facet given (most selective first, see SEARCH_FACETS) is the Query's partition,
 * the window is its sort-key range, and every other facet is a FilterExpression on that Query.
 */
function plan(query: JournalSearchQuery): QueryPlan {
  const key = SEARCH_FACETS.find((facet) => query.facets[facet] !== undefined);
  if (key === undefined) throw new InvalidSearchError('a search needs at least one facet');
  const filters: string[] = [];
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  for (const facet of SEARCH_FACETS) {
    const value = query.facets[facet];
    if (value === undefined || facet === key) continue;
    names[`#${facet}`] = FILTER_ATTRIBUTE[facet];
    values[`:${facet}`] = value;
    filters.push(FILTERS[facet](`#${facet}`, `:${facet}`));
  }
  return {
    pk: searchPk(key, query.facets[key] as string),
    // `<at>#<index>` sorts after the bare instant and before `<instant>#~`: inclusive bounds.
    ...(query.from === undefined ? {} : { lower: query.from }),
    ...(query.to === undefined ? {} : { upper: `${query.to}#~` }),
    filters,
    names,
    values,
  };
}

/** A query that reached the repository without a facet (the parser refuses it first). */
export class InvalidSearchError extends Error {
  override name = 'InvalidSearchError';
}

/** Which search a cursor belongs to: facets and window, not the page size or format. */
function fingerprint(query: JournalSearchQuery): string {
  const canonical = JSON.stringify([
    SEARCH_FACETS.map((facet) => query.facets[facet] ?? null),
    query.from ?? null,
    query.to ?? null,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

/**
 * A cursor is base64url JSON of (search fingerprint, last sort key returned). It needs no
 * secret: it can only name a position inside a search the analyst may run anyway. It is
 * validated strictly, so a foreign, tampered or garbage cursor is a 400, never a DynamoDB error.
 */
function encodeCursor(query: JournalSearchQuery, sk: string): string {
  return Buffer.from(JSON.stringify({ v: 1, q: fingerprint(query), s: sk })).toString('base64url');
}

function decodeCursor(
  query: JournalSearchQuery,
  queryPlan: QueryPlan,
  cursor: string,
): Record<string, unknown> {
  const foreign = () => new InvalidCursorError('The cursor is not one this API issued.');
  if (cursor.length > 400 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw foreign();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw foreign();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw foreign();
  const { v, q, s } = value as Record<string, unknown>;
  if (
    Object.keys(value).some((k) => !cursorSchemaKeys.includes(k)) ||
    v !== 1 ||
    typeof q !== 'string' ||
    typeof s !== 'string' ||
    !SK_SHAPE.test(s)
  ) {
    throw foreign();
  }
  if (q !== fingerprint(query)) {
    throw new InvalidCursorError(
      'The cursor belongs to a search with other parameters; start again without it.',
    );
  }
  // DynamoDB refuses a start key outside the key condition; refuse it first, as bad input.
  if (
    (queryPlan.lower !== undefined && s < queryPlan.lower) ||
    (queryPlan.upper !== undefined && s > queryPlan.upper)
  ) {
    throw new InvalidCursorError('The cursor is outside this search.');
  }
  return { pk: queryPlan.pk, sk: s };
}

/** Months (yyyy-mm) from the month of `from` to the month of `to`, inclusive. */
function monthsBetween(from: string, to: string): string[] {
  const months: string[] = [];
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  const last = to.slice(0, 7);
  for (;;) {
    const current = `${year}-${month.toString().padStart(2, '0')}`;
    months.push(current);
    if (current >= last) return months;
    month++;
    if (month > 12) {
      month = 1;
      year++;
    }
  }
}

/** The journal's search index and provider rollups over DynamoDB: Queries only, never a Scan. */
export class JournalSearchRepository implements JournalSearchPort, ProviderSummaryPort {
  constructor(
    private readonly client: DocumentClient,
    private readonly table: string,
    private readonly journal: JournalRepository,
    private readonly budget: SearchBudget = DEFAULT_BUDGET,
  ) {}

  async indexedSize(): Promise<number> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: SEARCH_WATERMARK_KEY, ConsistentRead: true }),
    );
    return Item ? Number(Item.size) : 0;
  }

  /**
   * Indexes the entries from the watermark up to `size` (at most the round's budget; the
   * next round continues) and returns how many this call indexed. Idempotent and safe to run
   * concurrently: see the crash-safety note at the top of this file.
   *
   * @throws JournalSearchIndexError when an entry below `size` is missing or invalid.
   */
  async indexThrough(size: number): Promise<number> {
    let indexed = 0;
    let from = await this.indexedSize();
    while (from < size && indexed < this.budget.maxEntriesPerRound) {
      const to = Math.min(size, from + this.budget.chunk);
      const records = await this.records(from, to);
      await batchPutAll(this.client, this.table, records.flatMap(searchIndexItems));
      await this.applyRollups(records);
      if (await this.advance(from, to)) {
        indexed += to - from;
        from = to;
      } else {
        // Another indexer moved the watermark: continue from wherever it is now.
        from = await this.indexedSize();
      }
    }
    return indexed;
  }

  async search(query: JournalSearchQuery): Promise<SearchPage> {
    const queryPlan = plan(query);
    let start = query.cursor === undefined ? undefined : decodeCursor(query, queryPlan, query.cursor);
    const filtered = queryPlan.filters.length > 0;
    const range =
      queryPlan.lower !== undefined && queryPlan.upper !== undefined
        ? ' AND sk BETWEEN :lower AND :upper'
        : queryPlan.lower !== undefined
          ? ' AND sk >= :lower'
          : queryPlan.upper !== undefined
            ? ' AND sk <= :upper'
            : '';
    const found: Record<string, unknown>[] = [];
    for (let page = 0; page < this.budget.maxQueries; page++) {
      const want = query.limit + 1 - found.length;
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: `pk = :pk${range}`,
          ...(filtered ? { FilterExpression: queryPlan.filters.join(' AND ') } : {}),
          ...(filtered ? { ExpressionAttributeNames: queryPlan.names } : {}),
          ExpressionAttributeValues: {
            ':pk': queryPlan.pk,
            ...(queryPlan.lower === undefined ? {} : { ':lower': queryPlan.lower }),
            ...(queryPlan.upper === undefined ? {} : { ':upper': queryPlan.upper }),
            ...queryPlan.values,
          },
          // Newest first. One more than needed tells whether another page exists.
          ScanIndexForward: false,
          // A filter that matches little reads more per Query as the page goes on, so a sparse
          // match costs a few Queries rather than the whole budget.
          Limit: filtered ? Math.max(Math.min(1_000, this.budget.filteredPageSize * 2 ** page), want) : want,
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
      if (found.length > query.limit || start === undefined) break;
    }
    const hits = found.slice(0, query.limit).map(recordFromItem);
    const last = hits.at(-1);
    let cursor: string | null = null;
    // Read past the page: continue after its last hit. Stopped at the read budget with the
    // partition not exhausted: continue after the last item read, matching or not.
    if (found.length > query.limit && last) cursor = encodeCursor(query, searchSk(last.at, last.index));
    else if (start !== undefined) cursor = encodeCursor(query, String(start.sk));
    return { hits, cursor };
  }

  /**
   * The provider's day rollups in the window (one Query per month) and every provider's
   * (the month partitions, read whole up to `maxPeerRollups` items, in NPI order).
   */
  async rollups(npi: string, window: SummaryWindow): Promise<ProviderRollups> {
    const months = monthsBetween(window.from, window.to);
    const firstDay = (month: string) => (month === window.from.slice(0, 7) ? window.from.slice(8) : '01');
    const lastDay = (month: string) => (month === window.to.slice(0, 7) ? window.to.slice(8) : '31');
    const ownRead = Promise.all(
      months.map((month) =>
        queryAll(this.client, {
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :lower AND :upper',
          ExpressionAttributeValues: {
            ':pk': `SXR#${month}`,
            ':lower': `${npi}#${firstDay(month)}`,
            ':upper': `${npi}#${lastDay(month)}`,
          },
        }),
      ),
    );
    const peers: ProviderDayRollup[] = [];
    let truncated = false;
    for (const month of months) {
      let ExclusiveStartKey: Record<string, unknown> | undefined;
      do {
        const out = await this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            FilterExpression: '#day BETWEEN :from AND :to',
            ExpressionAttributeNames: { '#day': 'day' },
            ExpressionAttributeValues: { ':pk': `SXR#${month}`, ':from': window.from, ':to': window.to },
            // Up to DynamoDB's 1 MB a page (~3,000 rollups), within the cap.
            Limit: Math.max(1, this.budget.maxPeerRollups - peers.length),
            ExclusiveStartKey,
          }),
        );
        peers.push(...(out.Items ?? []).map(rollupFromItem));
        ExclusiveStartKey = out.LastEvaluatedKey;
        if (peers.length >= this.budget.maxPeerRollups && (ExclusiveStartKey || month !== months.at(-1))) {
          truncated = true;
          break;
        }
      } while (ExclusiveStartKey);
      if (truncated) break;
    }
    const own = (await ownRead).flat().map(rollupFromItem);
    return { own, peers, truncated };
  }

  /** The search records of entries [from, to), read from the sequenced (and integrated) entries. */
  private async records(from: number, to: number): Promise<SearchRecord[]> {
    const indices = Array.from({ length: to - from }, (_, i) => from + i);
    const stored = await this.journal.entries(indices);
    if (stored.length !== indices.length) {
      throw new JournalSearchIndexError(`entries ${from}..${to - 1} are not all stored`);
    }
    return stored.map((entry) => {
      let value: unknown;
      try {
        value = JSON.parse(entry.entry);
      } catch {
        throw new JournalSearchIndexError(`entry ${entry.index} is not JSON`);
      }
      const parsed = journalEntrySchema.safeParse(value);
      if (!parsed.success)
        throw new JournalSearchIndexError(`entry ${entry.index} is not a valid journal entry`);
      return searchRecord(entry.index, entry.leafHash, parsed.data);
    });
  }

  /** Adds the records' decisions to their providers' day rollups, each contribution once. */
  private async applyRollups(records: SearchRecord[]): Promise<void> {
    const groups = new Map<string, { index: number; rollup: ProviderDayRollup }[]>();
    for (const record of records) {
      const rollup = rollupOf(record);
      if (rollup === null) continue;
      const key = `${rollup.npi}#${rollup.day}`;
      groups.set(key, [...(groups.get(key) ?? []), { index: record.index, rollup }]);
    }
    await parallel([...groups.values()], (contributions) => this.applyRollup(contributions));
  }

  /**
   * One conditional update per (provider, day): it applies only if the rollup's `upTo` is below
   * the first contribution. Otherwise another indexer counted some of them: re-read `upTo` and
   * add only the contributions after it (entries below the watermark are always counted, so
   * everything at or below `upTo` is).
   */
  private async applyRollup(contributions: { index: number; rollup: ProviderDayRollup }[]): Promise<void> {
    let pending = contributions;
    while (pending.length > 0) {
      const first = pending[0]!;
      const total = pending.slice(1).reduce((sum, c) => addRollup(sum, c.rollup), first.rollup);
      const upTo = pending.at(-1)!.index;
      const names: Record<string, string> = { '#npi': 'npi', '#day': 'day', '#upTo': 'upTo' };
      const values: Record<string, unknown> = {
        ':npi': total.npi,
        ':day': total.day,
        ':upTo': upTo,
        ':first': first.index,
        ':zero': 0,
      };
      const sets = ['#npi = :npi', '#day = :day', '#upTo = :upTo'];
      rollupNumbers(total).forEach(([name, n], i) => {
        if (n === 0) return;
        names[`#n${i}`] = name;
        values[`:n${i}`] = n;
        sets.push(`#n${i} = if_not_exists(#n${i}, :zero) + :n${i}`);
      });
      const Key = { pk: rollupPk(total.day), sk: rollupSk(total.npi, total.day) };
      const counts = await conditionalWrite(
        this.client,
        new UpdateCommand({
          TableName: this.table,
          Key,
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: 'attribute_not_exists(#upTo) OR #upTo < :first',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      if (counts) return;
      const { Item } = await this.client.send(
        new GetCommand({ TableName: this.table, Key, ConsistentRead: true, ProjectionExpression: 'upTo' }),
      );
      const counted = Number(Item?.upTo ?? -1);
      pending = pending.filter((c) => c.index > counted);
    }
  }

  /** Moves the watermark from `previous` to `next`; false when another indexer moved it first. */
  private advance(previous: number, next: number): Promise<boolean> {
    return conditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.table,
        Key: SEARCH_WATERMARK_KEY,
        UpdateExpression: 'SET #size = :next, #at = :at',
        ConditionExpression: previous === 0 ? 'attribute_not_exists(#size)' : '#size = :previous',
        ExpressionAttributeNames: { '#size': 'size', '#at': 'indexedAt' },
        ExpressionAttributeValues: {
          ':next': next,
          ':at': new Date().toISOString(),
          ...(previous === 0 ? {} : { ':previous': previous }),
        },
      }),
    );
  }
}

async function parallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker));
}
