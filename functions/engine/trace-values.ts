import type { FactRead } from './cel.ts';

/**
 * Turns fact values into the JSON the trace stores: bigint to number (every engine integer is
 * far below 2^53), view objects to plain objects, and long lists to their size and first
 * items so a trace stays readable and small.
 */

const LIST_ITEMS = 10;

/**
 * Plain copies of lists already converted in this evaluation, per projection. Fact lists are
 * never mutated while a claim is evaluated, so a list many rules read is converted once.
 */
export type PlainCache = Map<readonly unknown[], CacheEntry>;

interface CacheEntry {
  key: string;
  plain: unknown;
  next: CacheEntry | undefined;
}

/** JSON-safe copy of a fact value for the trace. */
export function toPlain(value: unknown, depth = 0, cache?: PlainCache): unknown {
  switch (typeof value) {
    case 'bigint':
      return Number(value);
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      if (depth > 4) return '…';
      if (Array.isArray(value)) {
        return cachedList(value, '', cache, () => value.map((v) => toPlain(v, depth + 1)));
      }
      const out: Record<string, unknown> = {};
      for (const k in value) out[k] = toPlain((value as Record<string, unknown>)[k], depth + 1);
      return out;
    }
    default:
      return String(value);
  }
}

function cachedList(
  list: readonly unknown[],
  key: string,
  cache: PlainCache | undefined,
  convert: (items: readonly unknown[]) => unknown[],
): unknown {
  const first = cache?.get(list);
  for (let e = first; e !== undefined; e = e.next) if (e.key === key) return e.plain;
  const items = convert(list.length > LIST_ITEMS ? list.slice(0, LIST_ITEMS) : list);
  const plain = list.length > LIST_ITEMS ? { size: list.length, first: items } : items;
  cache?.set(list, { key, plain, next: first });
  return plain;
}

/**
 * Claim-wide lists, recorded in full once per decision (the `engine.facts` step); a rule's
 * step shows their size and points there instead of repeating them for every line.
 */
export const claimLists: ReadonlySet<string> = new Set(['lines', 'priorLines', 'treatments', 'coverages']);

/** Every element of a list, converted (no cap): for the one-per-decision facts step. */
export function plainList(list: readonly unknown[]): unknown[] {
  return list.map((v) => toPlain(v, 1));
}

/** Renders a value inside a message template: lists comma-joined, integers plain. */
export function display(value: unknown): string {
  if (Array.isArray(value)) return value.map(display).join(', ');
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(toPlain(value));
}

/** Builds a rule's trace facts from a context: one object literal per rule, fixed keys. */
export type FactsReader = (context: object, cache: PlainCache) => Record<string, unknown>;

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** A fact value for the trace: the common cases inline, everything else through toPlain. */
function plainValue(value: unknown, cache: PlainCache): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'bigint':
      return Number(value);
    case 'undefined':
      return null;
    default:
      return toPlain(value, 0, cache);
  }
}

function claimListValue(value: unknown, cache: PlainCache): unknown {
  return Array.isArray(value) ? { size: value.length, see: 'engine.facts' } : plainValue(value, cache);
}

function projectedValue(value: unknown, cache: PlainCache, read: FactRead): unknown {
  if (!Array.isArray(value)) return plainValue(value, cache);
  const fields = read.fields!;
  if (fields.length === 0) return { size: value.length };
  return cachedList(value, read.fieldsKey ?? '', cache, (items) =>
    items.map((item) => {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        let v: unknown = item;
        for (const seg of f)
          v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[seg] : undefined;
        out[f.length === 1 ? f[0]! : f.join('.')] = toPlain(v, 1, cache);
      }
      return out;
    }),
  );
}

/**
 * A reader for a fixed list of reads, generated once per rule: an object literal with the
 * rule's fact paths as keys (JSON-quoted) and plain property reads for values (segments that
 * are not identifiers are JSON-quoted too; nothing from a rule file becomes code). V8 then
 * builds every step's facts with one shape and inline-cached reads, where computed keys and
 * dynamic path walking were the engine's largest cost.
 */
export function factsReader(reads: readonly FactRead[]): FactsReader {
  const access = (path: readonly string[]) =>
    `context${path.map((seg) => (IDENTIFIER.test(seg) ? `?.${seg}` : `?.[${JSON.stringify(seg)}]`)).join('')}`;
  const entries = reads.map((r, i) => {
    const key = JSON.stringify(r.path.join('.'));
    if (r.path.length === 1 && claimLists.has(r.path[0]!))
      return `${key}: claimList(${access(r.path)}, cache)`;
    if (r.fields !== undefined) return `${key}: projected(${access(r.path)}, cache, reads[${i}])`;
    return `${key}: plain(${access(r.path)}, cache)`;
  });
  const make = new Function(
    'plain',
    'claimList',
    'projected',
    'reads',
    `return (context, cache) => ({ ${entries.join(', ')} });`,
  );
  return make(plainValue, claimListValue, projectedValue, reads) as FactsReader;
}
