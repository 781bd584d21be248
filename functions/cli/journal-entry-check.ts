// The per-entry check of `claimledger journal verify`, in one pass over the entry's text.
//
// `isCanonicalEntry(text)` is true exactly when `decodeEntry(utf8Encode(text))` succeeds: the
// text is valid Unicode (so it has a UTF-8 encoding), it is the RFC 8785 canonical encoding of
// the JSON value it spells, and that value matches journalEntrySchema. decodeEntry proves it
// the long way (JSON.parse, zod, canonicalize, compare), at several microseconds an entry; this
// scanner reads the text once and proves the same, without building the value.
//
// Why a single pass suffices: a text is the canonical encoding of some JSON value exactly when
//   - it has no whitespace outside strings;
//   - every string has no raw control character and no lone surrogate, and escapes exactly the
//     characters JSON.stringify escapes, the way it does (`\"`, `\\`, `\b` `\f` `\n` `\r` `\t`,
//     `\u00xx` in lowercase for the other C0 controls, nothing else);
//   - every number is the ECMAScript Number-to-String form of its value (so no `-0`, no `1.0`,
//     no `1E2`, nothing that overflows to infinity);
//   - every object's keys are in strictly increasing UTF-16 code-unit order of their decoded
//     text (which also rules out duplicate keys);
//   - no container is nested under 1000 or more others (canonicalize's MAX_DEPTH).
// And since the schema fixes the entry's keys, a valid entry's canonical text always starts
// `{"actor":{"role":` and runs through its members in one fixed order: the scanner matches that
// template and checks each member's value against the schema as it goes.
//
// The unit tests check it against decodeEntry with fast-check (valid entries, mutated
// entries, byte flips and hostile payloads), and pin journalEntrySchema's JSON Schema so that a
// change to the schema fails them until this file is brought along. The verifier only trusts a
// `true`; on `false` it asks decodeEntry for the reason, so a scanner that rejected too much
// would cost time, never a verdict.

import type * as z from '#functions/zod.ts';
import { MAX_DEPTH } from '#journal/canonical-json.ts';
import { ENTRY_TYPES, journalEntrySchema } from '#journal/entry.ts';

/** Bounds journalEntrySchema sets (pinned by the unit tests). */
const DOC_ID_MAX = 512;
const RULE_SET_HASH_MAX = 256;

const shape = journalEntrySchema.shape;
/**
 * The schema's own ISO datetime pattern for `at`, so both judge `at` by the same regex (or the
 * schema itself, should a zod version keep it elsewhere).
 */
const atPattern: RegExp | undefined = shape.at._zod.def.pattern;
function isAt(value: string): boolean {
  if (atPattern === undefined) return shape.at.safeParse(value).success;
  atPattern.lastIndex = 0;
  return atPattern.test(value);
}

/**
 * How a valid entry's text ends: the canonical spelling of its type and the closing brace. The
 * type is the last member, so the rest of the text after `"type":` must be one of these.
 */
const TYPE_ENDINGS = ENTRY_TYPES.map((type) => `${JSON.stringify(type)}}`);

/**
 * Characters that need care: backslashes, C0 controls, surrogates. A text without any has no
 * escape, no raw control character and no surrogate in its strings (outside them the scanner
 * admits none), so each string simply ends at the next quote.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding C0 controls is the point.
const SPECIAL = /[\\\u0000-\u001f\ud800-\udfff]/;

/**
 * True exactly when `text` is the RFC 8785 canonical encoding of a value matching
 * journalEntrySchema, i.e. when decodeEntry would accept its UTF-8 bytes.
 */
export function isCanonicalEntry(text: string): boolean {
  return scanEntry(text, SPECIAL.test(text));
}

// Every scan function takes the text `s`, a position `p` and whether `s` holds a SPECIAL
// character (`x`); it returns the position after what it matched, or -1 when there is no match.

function scanEntry(s: string, x: boolean): boolean {
  // {"actor":{"role":R,"sub":S},"at":A,"docId":D,"docRevision":N,"payload":P[,"ruleSetHash":H],"type":T}
  if (!s.startsWith('{"actor":{"role":', 0)) return false;
  let start = 17;
  let p = scanString(s, start, x);
  if (p - start < 3) return false; // min(1): only "" spells the empty string (and -1 is no string)
  if (!s.startsWith(',"sub":', p)) return false;
  start = p + 7;
  p = scanString(s, start, x);
  if (p - start < 3) return false;

  if (!s.startsWith('},"at":', p)) return false;
  start = p + 7;
  p = scanString(s, start, x);
  if (p < 0 || !isAt(stringValue(s, start, p, x))) return false;

  if (!s.startsWith(',"docId":', p)) return false;
  start = p + 9;
  p = scanString(s, start, x);
  if (p < 0 || !lengthWithin(s, start, p, x, DOC_ID_MAX, shape.docId)) return false;

  if (!s.startsWith(',"docRevision":', p)) return false;
  start = p + 15;
  p = scanNumber(s, start);
  if (p < 0 || !isPositiveSafeInteger(s, start, p)) return false;

  if (!s.startsWith(',"payload":{', p)) return false;
  p = scanObject(s, p + 12, 1, x, true);
  if (p < 0) return false;

  if (s.startsWith(',"ruleSetHash":', p)) {
    start = p + 15;
    p = scanString(s, start, x);
    if (p < 0 || !lengthWithin(s, start, p, x, RULE_SET_HASH_MAX, shape.ruleSetHash)) return false;
  }

  if (!s.startsWith(',"type":', p)) return false;
  p += 8;
  const rest = s.length - p;
  for (const ending of TYPE_ENDINGS) {
    if (ending.length === rest && s.startsWith(ending, p)) return true;
  }
  return false;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const DIGIT_0 = 0x30;
const DIGIT_1 = 0x31;
const DIGIT_9 = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const PLUS = 0x2b;

/** Whether the canonical string token [start, end) holds an escape. */
function hasEscape(s: string, start: number, end: number, x: boolean): boolean {
  if (!x) return false;
  const at = s.indexOf('\\', start);
  return at >= 0 && at < end;
}

/** The decoded value of the canonical string token [start, end). */
function stringValue(s: string, start: number, end: number, x: boolean): string {
  return hasEscape(s, start, end, x)
    ? (JSON.parse(s.slice(start, end)) as string)
    : s.slice(start + 1, end - 1);
}

/**
 * Whether the string token [start, end) passes `field`'s length bounds, 1 to `max`. zod counts
 * code points, which never exceed the UTF-16 units, so up to `max` units it fits; a longer one
 * (rare) is left to the schema itself.
 */
function lengthWithin(
  s: string,
  start: number,
  end: number,
  x: boolean,
  max: number,
  field: z.ZodMiniType,
): boolean {
  const length = hasEscape(s, start, end, x) ? stringValue(s, start, end, x).length : end - start - 2;
  if (length === 0) return false;
  return length <= max || field.safeParse(stringValue(s, start, end, x)).success;
}

/** Whether the canonical number token [start, end) is a safe integer ≥ 1 (zod's `int().min(1)`). */
function isPositiveSafeInteger(s: string, start: number, end: number): boolean {
  const value = Number(s.slice(start, end));
  return Number.isSafeInteger(value) && value >= 1;
}

/** The canonical JSON value at `p`, nested under `depth` containers. */
function scanValue(s: string, p: number, depth: number, x: boolean): number {
  const c = s.charCodeAt(p);
  if (c === QUOTE) return scanString(s, p, x);
  if (c === OPEN_BRACE) return depth < MAX_DEPTH ? scanObject(s, p + 1, depth, x, false) : -1;
  if (c === OPEN_BRACKET) return depth < MAX_DEPTH ? scanArray(s, p + 1, depth, x) : -1;
  if (c === MINUS || (c >= DIGIT_0 && c <= DIGIT_9)) return scanNumber(s, p);
  if (c === 0x74) return s.startsWith('true', p) ? p + 4 : -1;
  if (c === 0x66) return s.startsWith('false', p) ? p + 5 : -1;
  if (c === 0x6e) return s.startsWith('null', p) ? p + 4 : -1;
  return -1;
}

/**
 * The members of the object whose `{` is before `p`, under `depth` containers: keys strictly
 * increasing, each value canonical. `payload` refuses a `"__proto__"` key, as the schema does
 * for the payload's own keys.
 */
function scanObject(s: string, p: number, depth: number, x: boolean, payload: boolean): number {
  if (s.charCodeAt(p) === CLOSE_BRACE) return p + 1;
  let previous = -1;
  let previousEnd = -1;
  for (;;) {
    const key = p;
    p = scanString(s, key, x);
    if (p < 0) return -1;
    if (previous >= 0 && !keyAfter(s, previous, previousEnd, key, p, x)) return -1;
    if (payload && p - key === 11 && s.startsWith('"__proto__"', key)) return -1;
    previous = key;
    previousEnd = p;
    if (s.charCodeAt(p) !== COLON) return -1;
    p = scanValue(s, p + 1, depth + 1, x);
    if (p < 0) return -1;
    const c = s.charCodeAt(p);
    if (c === CLOSE_BRACE) return p + 1;
    if (c !== COMMA) return -1;
    p++;
  }
}

/** The items of the array whose `[` is before `p`, under `depth` containers. */
function scanArray(s: string, p: number, depth: number, x: boolean): number {
  if (s.charCodeAt(p) === CLOSE_BRACKET) return p + 1;
  for (;;) {
    p = scanValue(s, p, depth + 1, x);
    if (p < 0) return -1;
    const c = s.charCodeAt(p);
    if (c === CLOSE_BRACKET) return p + 1;
    if (c !== COMMA) return -1;
    p++;
  }
}

/**
 * Whether key token [start, end) sorts strictly after key token [previous, previousEnd): RFC
 * 8785 orders keys by the UTF-16 code units of their decoded text, which for keys without
 * escapes is their text in the entry.
 */
function keyAfter(s: string, previous: number, previousEnd: number, start: number, end: number, x: boolean) {
  if (hasEscape(s, previous, previousEnd, x) || hasEscape(s, start, end, x)) {
    return stringValue(s, previous, previousEnd, x) < stringValue(s, start, end, x);
  }
  const previousLength = previousEnd - previous;
  const length = end - start;
  const last = Math.min(previousLength, length) - 1; // both end with the closing quote
  for (let i = 1; i < last; i++) {
    const a = s.charCodeAt(previous + i);
    const b = s.charCodeAt(start + i);
    if (a !== b) return a < b;
  }
  return previousLength < length;
}

/** The canonical string whose opening quote is at `p`. */
function scanString(s: string, p: number, x: boolean): number {
  if (s.charCodeAt(p) !== QUOTE) return -1;
  if (!x) {
    const end = s.indexOf('"', p + 1);
    return end < 0 ? -1 : end + 1;
  }
  const length = s.length;
  for (let i = p + 1; i < length; i++) {
    const c = s.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const next = s.charCodeAt(++i);
      if (next === 0x75) {
        // \u00xx, lowercase, only for C0 controls that have no short escape.
        if (s.charCodeAt(i + 1) !== DIGIT_0 || s.charCodeAt(i + 2) !== DIGIT_0) return -1;
        const high = s.charCodeAt(i + 3);
        const low = s.charCodeAt(i + 4);
        const lowValue =
          low >= DIGIT_0 && low <= DIGIT_9 ? low - DIGIT_0 : low >= 0x61 && low <= 0x66 ? low - 0x57 : -1;
        if ((high !== DIGIT_0 && high !== DIGIT_1) || lowValue < 0) return -1;
        const code = (high - DIGIT_0) * 16 + lowValue;
        if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) return -1;
        i += 4;
      } else if (
        next !== QUOTE &&
        next !== BACKSLASH &&
        next !== 0x62 && // b
        next !== 0x66 && // f
        next !== 0x6e && // n
        next !== 0x72 && // r
        next !== 0x74 // t
      ) {
        return -1;
      }
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Only a high surrogate followed by a low one: anything else has no UTF-8 encoding.
      if (c >= 0xdc00) return -1;
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return -1;
      i++;
    }
  }
  return -1;
}

/** The canonical number at `p`: the ECMAScript Number-to-String form of its value. */
function scanNumber(s: string, p: number): number {
  const start = p;
  let c = s.charCodeAt(p);
  if (c === MINUS) c = s.charCodeAt(++p);
  if (c === DIGIT_0) {
    c = s.charCodeAt(++p);
  } else if (c >= DIGIT_1 && c <= DIGIT_9) {
    do c = s.charCodeAt(++p);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  } else {
    return -1;
  }
  let integer = true;
  if (c === DOT) {
    integer = false;
    c = s.charCodeAt(++p);
    if (!(c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    do c = s.charCodeAt(++p);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  }
  if (c === LOWER_E || c === UPPER_E) {
    integer = false;
    c = s.charCodeAt(++p);
    if (c === PLUS || c === MINUS) c = s.charCodeAt(++p);
    if (!(c >= DIGIT_0 && c <= DIGIT_9)) return -1;
    do c = s.charCodeAt(++p);
    while (c >= DIGIT_0 && c <= DIGIT_9);
  }
  // An integer of up to 15 characters is exactly representable and printed as written, but -0.
  if (integer && p - start <= 15) {
    return p - start === 2 && s.charCodeAt(start) === MINUS && s.charCodeAt(start + 1) === DIGIT_0 ? -1 : p;
  }
  const token = s.slice(start, p);
  return String(Number(token)) === token ? p : -1;
}
