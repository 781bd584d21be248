import * as z from '#functions/zod.ts';
import { ENTRY_TYPES, type EntryType, type JournalEntry } from '#journal/entry.ts';
import { externalId, isoDate, npi } from './claim.schema.ts';
import { type FieldIssue, ForbiddenError } from './errors.ts';
import type { Identity } from './identity.ts';

// Journal search: the journal's entries found by what they are about (member, provider, claim,
// rule, fraud signal, entry type) within a time window. The index is written by the journal
// integrator after each round (functions/store/journal-search.repository.ts), so every hit
// names the entry's index in the Merkle tree and can be proved with GET /journal/entries/{i}/proof.

/** Page size when none is asked for, and the most one JSON page may hold (more is a 400). */
export const DEFAULT_SEARCH_LIMIT = 50;
export const MAX_SEARCH_LIMIT = 500;
/** The most rows one export response holds; `limit` on an export may only lower it. */
export const EXPORT_MAX_ROWS = 10_000;

/**
 * The searchable facets, most selective first: the first one a query gives is the index it
 * reads (the Query's key), the others filter that read.
 */
export const SEARCH_FACETS = ['claim', 'member', 'provider', 'signal', 'rule', 'type'] as const;
export type SearchFacet = (typeof SEARCH_FACETS)[number];

export const EXPORT_FORMATS = ['json', 'csv', 'jsonl'] as const;
export type SearchFormat = (typeof EXPORT_FORMATS)[number];

const CLAIM_DOC_ID = /^c[0-9a-f]{31}$/;
const RULE_ID = /^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$/;
const SIGNAL = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const MEMBER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const NPI = /^\d{10}$/;
const INSTANT = /^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Whether `value` can be a key of `facet`'s index (so nothing else ever reaches a key). */
export function isFacetValue(facet: SearchFacet, value: string): boolean {
  switch (facet) {
    case 'claim':
      return CLAIM_DOC_ID.test(value);
    case 'member':
      return MEMBER.test(value);
    case 'provider':
      return NPI.test(value);
    case 'signal':
      return SIGNAL.test(value);
    case 'rule':
      return value.length <= 128 && RULE_ID.test(value);
    case 'type':
      return (ENTRY_TYPES as readonly string[]).includes(value);
  }
}

/** What a search asks for. `from`/`to` are inclusive bounds, as millisecond ISO instants (UTC). */
export interface JournalSearchQuery {
  facets: Partial<Record<SearchFacet, string>>;
  from?: string;
  to?: string;
  /** Page size (JSON) or row cap (exports). */
  limit: number;
  /** Opaque, from a previous page or export; bound to the same facets and window. */
  cursor?: string;
  format: SearchFormat;
}

/**
 * What the index holds of one entry: enough to list, filter and export it without reading
 * the entry, and its index and leaf hash to prove it.
 */
export interface SearchRecord {
  index: number;
  leafHash: string;
  type: EntryType;
  /** The entry's `at`, normalised to a millisecond ISO instant (the index's sort order). */
  at: string;
  docId: string;
  docRevision: number;
  actor: { sub: string; role: string };
  /** The claim's document id, for entries about a claim. */
  claim?: string;
  /** The provider's own claim id. */
  externalClaimId?: string;
  member?: string;
  /** Billing provider of a claim; the treating provider of a treatment record. */
  provider?: string;
  outcome?: string;
  fraudScore?: number;
  chargeCents?: number;
  allowedCents?: number;
  paidCents?: number;
  /** Distinct ids of the rules that adjusted a line of the decision. */
  rules: string[];
  /** Distinct fraud signals the decision raised. */
  signals: string[];
}

/** One page of hits, newest first. */
export interface SearchPage {
  hits: SearchRecord[];
  /** Null on the last page. A page may hold fewer than `limit` hits and still have a cursor. */
  cursor: string | null;
}

/** The search index as the use cases need it (functions/store/journal-search.repository.ts). */
export interface JournalSearchPort {
  /** One page. Throws InvalidCursorError for a cursor it did not issue for this query. */
  search(query: JournalSearchQuery): Promise<SearchPage>;
  /** Entries [0, indexedSize) are in the index. */
  indexedSize(): Promise<number>;
}

const integer = z.pipe(
  z.string().check(z.regex(/^(0|[1-9][0-9]{0,8})$/, 'must be a non-negative integer')),
  z.transform(Number),
);

/** An ISO date (a whole UTC day) or an ISO instant in UTC (`Z`). */
const dateOrInstant = z.string().check(
  z.refine((value: string) => {
    if (isoDate.safeParse(value).success) return true;
    const match = INSTANT.exec(value);
    if (!match) return false;
    const parsed = new Date(value);
    return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === value.slice(0, 19);
  }, 'must be an ISO date (YYYY-MM-DD) or a UTC instant (YYYY-MM-DDThh:mm:ss[.sss]Z)'),
);

const facetValue = (facet: SearchFacet, message: string) =>
  z.string().check(z.refine((value: string) => isFacetValue(facet, value), message));

/** GET /journal/search parameters. Unknown parameters are refused, so a typo never widens a search. */
const searchSchema = z
  .strictObject({
    claim: z.optional(facetValue('claim', 'must be a claim id (c followed by 31 hex digits)')),
    member: z.optional(externalId),
    provider: z.optional(npi),
    signal: z.optional(facetValue('signal', 'must be a signal name')),
    rule: z.optional(facetValue('rule', 'must be a rule id (dotted lower-case words)')),
    type: z.optional(z.enum(ENTRY_TYPES)),
    from: z.optional(dateOrInstant),
    to: z.optional(dateOrInstant),
    limit: z.optional(integer),
    cursor: z.optional(z.string().check(z.minLength(1), z.maxLength(400))),
    format: z.optional(z.enum(EXPORT_FORMATS)),
  })
  .check(
    z.superRefine((q, ctx) => {
      if (!SEARCH_FACETS.some((facet) => q[facet] !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `give at least one of ${SEARCH_FACETS.join(', ')}: a search reads an index`,
        });
      }
      const exporting = q.format === 'csv' || q.format === 'jsonl';
      const max = exporting ? EXPORT_MAX_ROWS : MAX_SEARCH_LIMIT;
      if (q.limit !== undefined && (q.limit < 1 || q.limit > max)) {
        ctx.addIssue({
          code: 'custom',
          path: ['limit'],
          message: q.limit < 1 ? 'must be at least 1' : `must be at most ${max}`,
        });
      }
      if (q.from !== undefined && q.to !== undefined) {
        const from = lowerBound(q.from);
        const to = upperBound(q.to);
        if (from !== null && to !== null && from > to) {
          ctx.addIssue({ code: 'custom', path: ['to'], message: 'is before from' });
        }
      }
    }),
  );

/** The inclusive lower bound of a window starting at a date or instant, to the millisecond. */
function lowerBound(value: string): string | null {
  if (!value.includes('T')) return `${value}T00:00:00.000Z`;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) return null;
  // Sub-millisecond digits round up: an entry at .000 is not at or after .0005.
  const fraction = /\.(\d+)Z$/.exec(value)?.[1] ?? '';
  if (/[1-9]/.test(fraction.slice(3))) at.setUTCMilliseconds(at.getUTCMilliseconds() + 1);
  return at.toISOString();
}

/** The inclusive upper bound of a window ending at a date (its last millisecond) or instant. */
function upperBound(value: string): string | null {
  if (!value.includes('T')) return `${value}T23:59:59.999Z`;
  const at = new Date(value);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

/** Turns zod issues into problem+json field issues, named by parameter. */
export function parameterIssues(error: z.core.$ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({
    path:
      issue.path.length > 0
        ? issue.path.join('.')
        : issue.code === 'unrecognized_keys'
          ? issue.keys.join(', ')
          : '',
    message: issue.message,
  }));
}

/** A parameter given twice (`?member=a&member=b`) is ambiguous: refused rather than guessed. */
export function repeatedParameters(multi: Record<string, string[] | undefined> | null): FieldIssue[] {
  return Object.entries(multi ?? {})
    .filter(([, values]) => (values?.length ?? 0) > 1)
    .map(([name]) => ({ path: name, message: 'is given more than once' }));
}

/** The search a request asks for, or every problem with its parameters (named by parameter). */
export function parseSearchQuery(
  parameters: Record<string, string | undefined> | null,
  multi: Record<string, string[] | undefined> | null = null,
): { query: JournalSearchQuery } | { issues: FieldIssue[] } {
  const repeated = repeatedParameters(multi);
  const parsed = searchSchema.safeParse(parameters ?? {});
  if (!parsed.success || repeated.length > 0) {
    return { issues: [...repeated, ...(parsed.success ? [] : parameterIssues(parsed.error))] };
  }
  const { from, to, limit, cursor, format = 'json', ...rest } = parsed.data;
  const facets: Partial<Record<SearchFacet, string>> = {};
  for (const facet of SEARCH_FACETS) {
    const value = rest[facet];
    if (value !== undefined) facets[facet] = value;
  }
  const lower = from === undefined ? null : lowerBound(from);
  const upper = to === undefined ? null : upperBound(to);
  const exporting = format !== 'json';
  return {
    query: {
      facets,
      ...(lower === null ? {} : { from: lower }),
      ...(upper === null ? {} : { to: upper }),
      limit: limit ?? (exporting ? EXPORT_MAX_ROWS : DEFAULT_SEARCH_LIMIT),
      ...(cursor === undefined ? {} : { cursor }),
      format,
    },
  };
}

/** The normalised instant of an entry's `at`: the index sorts on it as text. */
export function normalizedAt(at: string): string {
  return new Date(at).toISOString();
}

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const count = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

/**
 * What the search index keeps of an entry. Pure: the integrator's indexer and the bench's bulk
 * loader both build index items from it. Values that could not be a facet key are left out.
 */
export function searchRecord(index: number, leafHash: string, entry: JournalEntry): SearchRecord {
  const payload = entry.payload;
  const claim = /^claim\/(c[0-9a-f]{31})$/.exec(entry.docId)?.[1];
  const member = text(payload.memberId);
  const provider = text(payload.billingProviderNpi) ?? text(payload.providerNpi);
  const totals = (
    typeof payload.totals === 'object' && payload.totals !== null ? payload.totals : {}
  ) as Record<string, unknown>;
  const lines = Array.isArray(payload.lines) ? (payload.lines as unknown[]) : [];
  const rules = new Set<string>();
  for (const line of lines) {
    const adjustments = (line as { adjustments?: unknown } | null)?.adjustments;
    if (!Array.isArray(adjustments)) continue;
    for (const adjustment of adjustments) {
      const ruleId = text((adjustment as { ruleId?: unknown } | null)?.ruleId);
      if (ruleId !== undefined && isFacetValue('rule', ruleId)) rules.add(ruleId);
    }
  }
  const signals = new Set(
    (Array.isArray(payload.fraudSignals) ? (payload.fraudSignals as unknown[]) : [])
      .map(text)
      .filter((s): s is string => s !== undefined && isFacetValue('signal', s)),
  );
  const optional = {
    claim,
    externalClaimId: claim === undefined ? undefined : text(payload.claimId),
    member: member !== undefined && isFacetValue('member', member) ? member : undefined,
    provider: provider !== undefined && isFacetValue('provider', provider) ? provider : undefined,
    outcome: text(payload.outcome),
    fraudScore: count(payload.fraudScore),
    chargeCents: count(totals.chargeCents),
    allowedCents: count(totals.allowedCents),
    paidCents: count(totals.paidCents),
  };
  return {
    index,
    leafHash,
    type: entry.type,
    at: normalizedAt(entry.at),
    docId: entry.docId,
    docRevision: entry.docRevision,
    actor: { sub: entry.actor.sub, role: entry.actor.role },
    ...(Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<
      Pick<SearchRecord, keyof typeof optional>
    >),
    rules: [...rules].sort(),
    signals: [...signals].sort(),
  };
}

/** Every (facet, value) an entry is found under: one index item each. */
export function searchKeys(record: SearchRecord): [SearchFacet, string][] {
  const keys: [SearchFacet, string][] = [['type', record.type]];
  if (record.claim !== undefined) keys.push(['claim', record.claim]);
  if (record.member !== undefined) keys.push(['member', record.member]);
  if (record.provider !== undefined) keys.push(['provider', record.provider]);
  for (const rule of record.rules) keys.push(['rule', rule]);
  for (const signal of record.signals) keys.push(['signal', signal]);
  return keys;
}

function requireAnalyst(identity: Identity): void {
  if (!identity.roles.includes('analyst')) throw new ForbiddenError('Only analysts search the journal.');
}

/** The query as the response echoes it: facets and the normalised window. */
function echo(query: JournalSearchQuery) {
  return {
    ...query.facets,
    ...(query.from === undefined ? {} : { from: query.from }),
    ...(query.to === undefined ? {} : { to: query.to }),
  };
}

/** One page of hits, newest first, each with its journal index and leaf hash. Analysts only. */
export async function searchJournal(query: JournalSearchQuery, identity: Identity, index: JournalSearchPort) {
  requireAnalyst(identity);
  const [page, indexedSize] = await Promise.all([index.search(query), index.indexedSize()]);
  return {
    query: echo(query),
    limit: query.limit,
    indexedSize,
    hits: page.hits,
    nextCursor: page.cursor,
  };
}

/** How much one export may read and return. */
export interface ExportBudget {
  /** Rows per index page. */
  pageSize: number;
  /** Index pages per export (each page is at most a few DynamoDB Queries). */
  maxPages: number;
  /** No further page is read once the body is this large (Lambda answers at most 6 MB). */
  softMaxBytes: number;
}

export const DEFAULT_EXPORT_BUDGET: ExportBudget = { pageSize: 500, maxPages: 40, softMaxBytes: 3_000_000 };

export interface SearchExport {
  contentType: string;
  body: string;
  rows: number;
  /** False when rows are left (the caller's `limit` or a cap was reached): `nextCursor` continues. */
  complete: boolean;
  nextCursor: string | null;
}

export const CSV_COLUMNS = [
  'index',
  'at',
  'type',
  'docId',
  'docRevision',
  'claim',
  'externalClaimId',
  'member',
  'provider',
  'outcome',
  'fraudScore',
  'chargeCents',
  'allowedCents',
  'paidCents',
  'rules',
  'signals',
  'actorSub',
  'actorRole',
  'leafHash',
] as const;

/**
 * RFC 4180 cell. A cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) is
 * prefixed with an apostrophe (OWASP CSV injection); no value the index holds starts so,
 * except a token's `sub`, which the caller does not control here but an identity provider might.
 */
function csvCell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let cell = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(cell)) cell = `'${cell}`;
  return /[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

export function csvRow(hit: SearchRecord): string {
  const values: Record<(typeof CSV_COLUMNS)[number], string | number | undefined> = {
    index: hit.index,
    at: hit.at,
    type: hit.type,
    docId: hit.docId,
    docRevision: hit.docRevision,
    claim: hit.claim,
    externalClaimId: hit.externalClaimId,
    member: hit.member,
    provider: hit.provider,
    outcome: hit.outcome,
    fraudScore: hit.fraudScore,
    chargeCents: hit.chargeCents,
    allowedCents: hit.allowedCents,
    paidCents: hit.paidCents,
    rules: hit.rules.join(';'),
    signals: hit.signals.join(';'),
    actorSub: hit.actor.sub,
    actorRole: hit.actor.role,
    leafHash: hit.leafHash,
  };
  return `${CSV_COLUMNS.map((column) => csvCell(values[column])).join(',')}\r\n`;
}

/**
 * Every hit of a search as CSV (RFC 4180, header row, CRLF) or JSON Lines, newest first, read
 * page by page up to `query.limit` rows (at most {@link EXPORT_MAX_ROWS}) and the budget's
 * size and page caps. API Gateway (REST) cannot stream a Lambda's response, so the body is
 * built whole; an export cut short says so (`complete: false`) with the cursor that continues it.
 */
export async function exportJournal(
  query: JournalSearchQuery,
  identity: Identity,
  index: JournalSearchPort,
  budget: ExportBudget = DEFAULT_EXPORT_BUDGET,
): Promise<SearchExport> {
  requireAnalyst(identity);
  const csv = query.format === 'csv';
  const chunks: string[] = csv ? [`${CSV_COLUMNS.join(',')}\r\n`] : [];
  let bytes = chunks[0]?.length ?? 0;
  let rows = 0;
  let cursor = query.cursor ?? null;
  for (let page = 0; page < budget.maxPages; page++) {
    const want = Math.min(budget.pageSize, query.limit - rows);
    const { cursor: _previous, ...rest } = query;
    const found = await index.search({ ...rest, limit: want, ...(cursor === null ? {} : { cursor }) });
    for (const hit of found.hits) {
      const line = csv ? csvRow(hit) : `${JSON.stringify(hit)}\n`;
      chunks.push(line);
      bytes += Buffer.byteLength(line);
    }
    rows += found.hits.length;
    cursor = found.cursor;
    if (cursor === null || rows >= query.limit || bytes >= budget.softMaxBytes) break;
  }
  return {
    contentType: csv ? 'text/csv; charset=utf-8' : 'application/x-ndjson',
    body: chunks.join(''),
    rows,
    complete: cursor === null,
    nextCursor: cursor,
  };
}
