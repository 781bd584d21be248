import { hasLoneSurrogate, utf8Encode } from './bytes.ts';

/** A value that has no RFC 8785 canonical form; `path` points at the offending part. */
export class CanonicalJsonError extends Error {
  override name = 'CanonicalJsonError';
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value: object keys sorted by UTF-16
 * code units, no whitespace, numbers and strings serialized as ECMAScript's JSON.stringify does.
 *
 * Only plain JSON data is accepted. Non-finite numbers, `undefined` (also as an object property
 * or array hole), functions, symbols, bigints, class instances (Date, Map, typed arrays…),
 * cyclic or too deeply nested structures and strings with lone surrogates are rejected: silently dropping or
 * coercing them, as JSON.stringify does, would let two different inputs hash alike.
 *
 * @throws CanonicalJsonError naming the path of the first value without a canonical form.
 */
export function canonicalize(value: unknown): string {
  return serialize(value, '$', new Set());
}

/** Deeper nesting is rejected rather than left to overflow the stack on hostile input. */
export const MAX_DEPTH = 1000;

/** UTF-8 bytes of {@link canonicalize}: what gets hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalize(value));
}

function serialize(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return serializeString(value, path);
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(path, `${value} is not a JSON number`);
      // ECMAScript Number-to-String is exactly the RFC 8785 §3.2.2.3 number format (and -0 → 0).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      return serializeContainer(value, path, ancestors);
    default:
      throw new CanonicalJsonError(path, `${typeof value} is not JSON`);
  }
}

function serializeString(value: string, path: string): string {
  if (hasLoneSurrogate(value)) throw new CanonicalJsonError(path, 'string contains a lone UTF-16 surrogate');
  // JSON.stringify escapes exactly what RFC 8785 §3.2.2.2 requires: '"', '\\' and U+0000–U+001F.
  return JSON.stringify(value);
}

function serializeContainer(value: object, path: string, ancestors: Set<object>): string {
  if (ancestors.has(value)) throw new CanonicalJsonError(path, 'value is cyclic');
  if (ancestors.size >= MAX_DEPTH)
    throw new CanonicalJsonError(path, `nested deeper than ${MAX_DEPTH} levels`);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const items: string[] = [];
      for (let i = 0; i < value.length; i++) {
        const itemPath = `${path}[${i}]`;
        if (!(i in value)) throw new CanonicalJsonError(itemPath, 'array hole is not JSON');
        items.push(serialize(value[i], itemPath, ancestors));
      }
      return `[${items.join(',')}]`;
    }
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      const kind = (prototype as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new CanonicalJsonError(path, `${kind} is not a plain JSON object`);
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new CanonicalJsonError(path, 'symbol-keyed properties are not JSON');
    }
    // Default sort compares UTF-16 code units, which is the order RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(value).sort();
    const members: string[] = [];
    for (const key of keys) {
      const memberPath = `${path}.${key}`;
      members.push(
        `${serializeString(key, memberPath)}:${serialize((value as Record<string, unknown>)[key], memberPath, ancestors)}`,
      );
    }
    return `{${members.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
