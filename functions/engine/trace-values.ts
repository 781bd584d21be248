import type { FactRead } from './cel.ts';
import { factTypes } from './fact-model.ts';

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
        // A short list of text is already JSON-safe: the trace shares it (fact lists are
        // never mutated) instead of copying it for every rule that reads it.
        if (value.length <= LIST_ITEMS && isTextList(value)) return value;
        return cachedList(value, '', cache, () => value.map((v) => toPlain(v, depth + 1)));
      }
      const convert = viewConverters.get(value.constructor);
      if (convert !== undefined) return convert(value, depth + 1);
      const out: Record<string, unknown> = {};
      for (const k in value) out[k] = toPlain((value as Record<string, unknown>)[k], depth + 1);
      return out;
    }
    default:
      return String(value);
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `object.key` in generated code: a plain property read, the key JSON-quoted when it is not an identifier. */
const member = (object: string, key: string) =>
  IDENTIFIER.test(key) ? `${object}.${key}` : `${object}[${JSON.stringify(key)}]`;

/** An object-literal key; `__proto__` computed, since written plainly it would set the prototype. */
const literalKey = (key: string) => (key === '__proto__' ? '["__proto__"]' : JSON.stringify(key));

/**
 * Converters for the fact-model views, one per class, generated once: an object literal with
 * the class's fields, where a loop over the keys with computed stores made the once-per-decision
 * copy of lines, prior lines and treatments the trace's largest cost. Only classes whose every
 * instance has all its fields from construction get one (the same keys in the same order as
 * for...in); a view with optional fields (Benefits) keeps the generic copy.
 */
const viewConverters = new Map<unknown, (value: object, depth: number) => Record<string, unknown>>(
  factTypes.flatMap((t) => {
    const keys = Object.keys(new t.ctor());
    if (!Object.keys(t.fields).every((f) => keys.includes(f))) return [];
    const make = new Function(
      'toPlain',
      `return (v, d) => ({ ${keys.map((k) => `${literalKey(k)}: toPlain(${member('v', k)}, d)`).join(', ')} });`,
    );
    return [[t.ctor, make(toPlain)] as const];
  }),
);

function isTextList(list: readonly unknown[]): boolean {
  for (let i = 0; i < list.length; i++) if (typeof list[i] !== 'string') return false;
  return true;
}

function cachedList(
  list: readonly unknown[],
  key: string,
  cache: PlainCache | undefined,
  convert: (items: readonly unknown[]) => unknown[],
): unknown {
  if (list.length === 0) return [];
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

/**
 * Builds a rule's trace facts from a context. A decision table's reader also takes the input
 * values (when they were all computed): its step shows its named inputs first, then the facts.
 */
export type FactsReader = (
  context: object,
  cache: PlainCache,
  inputs?: readonly unknown[],
) => Record<string, unknown>;

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

/** Converts one element of a projected list: its read fields only. */
type ElementReader = (item: unknown, cache: PlainCache) => Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';

/**
 * A projection's element converter, generated once per read like the facts readers: an object
 * literal keyed by the fields (dotted when nested), each a guarded property read.
 */
function elementReader(fields: readonly (readonly string[])[]): ElementReader {
  const entries = fields.map((f) => {
    let access = 'item';
    for (const seg of f) access = `(isObject(${access}) ? ${member(access, seg)} : undefined)`;
    return `${literalKey(f.length === 1 ? f[0]! : f.join('.'))}: toPlain(${access}, 1, cache)`;
  });
  const make = new Function('isObject', 'toPlain', `return (item, cache) => ({ ${entries.join(', ')} });`);
  return make(isObject, toPlain) as ElementReader;
}

function projectedValue(value: unknown, cache: PlainCache, read: FactRead, element: ElementReader): unknown {
  if (!Array.isArray(value)) return plainValue(value, cache);
  if (read.fields!.length === 0) return { size: value.length };
  return cachedList(value, read.fieldsKey ?? '', cache, (items) => items.map((item) => element(item, cache)));
}

/**
 * A reader for a fixed list of reads, generated once per rule: an object literal with the
 * rule's fact paths as keys (JSON-quoted) and plain property reads for values (segments that
 * are not identifiers are JSON-quoted too; nothing from a rule file becomes code). V8 then
 * builds every step's facts with one shape and inline-cached reads, where computed keys and
 * dynamic path walking were the engine's largest cost. A table's input names come first in
 * the same literal; a fact path equal to an input name overrides its value in place, as
 * assigning it afterwards would.
 */
export function factsReader(reads: readonly FactRead[], inputNames: readonly string[] = []): FactsReader {
  const access = (path: readonly string[]) =>
    `context${path.map((seg) => (IDENTIFIER.test(seg) ? `?.${seg}` : `?.[${JSON.stringify(seg)}]`)).join('')}`;
  const entries = reads.map((r, i) => {
    const key = literalKey(r.path.join('.'));
    if (r.path.length === 1 && claimLists.has(r.path[0]!))
      return `${key}: claimList(${access(r.path)}, cache)`;
    if (r.fields !== undefined)
      return `${key}: projected(${access(r.path)}, cache, reads[${i}], elements[${i}])`;
    return `${key}: plain(${access(r.path)}, cache)`;
  });
  const facts = `{ ${entries.join(', ')} }`;
  const inputs = inputNames.map((name, i) => `${literalKey(name)}: plain(inputs[${i}], cache)`);
  const body =
    inputs.length === 0
      ? `(context, cache) => (${facts})`
      : `(context, cache, inputs) => inputs === undefined ? (${facts}) : ({ ${[...inputs, ...entries].join(', ')} })`;
  const elements = reads.map((r) => (r.fields === undefined ? undefined : elementReader(r.fields)));
  const make = new Function('plain', 'claimList', 'projected', 'reads', 'elements', `return ${body};`);
  return make(plainValue, claimListValue, projectedValue, reads, elements) as FactsReader;
}
