/**
 * Turns fact values into the JSON the trace stores: bigint to number (every engine integer is
 * far below 2^53), view objects to plain objects, and long lists to their size and first
 * items so a trace stays readable and small.
 */

const LIST_ITEMS = 10;

// Fact lists are built once per claim and never mutated during evaluation, so the plain copy
// of a list read by many rules is made once and shared between their trace steps.
const plainLists = new WeakMap<readonly unknown[], unknown>();

/** JSON-safe copy of a fact value for the trace. */
export function toPlain(value: unknown, depth = 0): unknown {
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
        const hit = plainLists.get(value);
        if (hit !== undefined) return hit;
        const items = value.slice(0, LIST_ITEMS).map((v) => toPlain(v, depth + 1));
        const plain = value.length > LIST_ITEMS ? { size: value.length, first: items } : items;
        plainLists.set(value, plain);
        return plain;
      }
      if (value instanceof Map) return toPlain(Object.fromEntries(value), depth);
      const out: Record<string, unknown> = {};
      for (const k in value) out[k] = toPlain((value as Record<string, unknown>)[k], depth + 1);
      return out;
    }
    default:
      return String(value);
  }
}

/** Reads a dotted fact path from an evaluation context; absent fields read as null. */
export function readPath(context: object, path: readonly string[]): unknown {
  let cur: unknown = context;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return null;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return toPlain(cur);
}

/** Renders a value inside a message template: lists comma-joined, integers plain. */
export function display(value: unknown): string {
  if (Array.isArray(value)) return value.map(display).join(', ');
  if (typeof value === 'bigint' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(toPlain(value));
}
