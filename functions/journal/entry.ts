import { sha256 } from '@noble/hashes/sha2.js';
import * as z from '#functions/zod.ts';
import { bytesEqual, EncodingError, utf8Decode } from './bytes.ts';
import { canonicalBytes } from './canonical-json.ts';

/** What a journal entry records. `record.read` journals audited reads of protected records. */
export const ENTRY_TYPES = [
  'claim.decided',
  'claim.reviewed',
  'coverage.put',
  'treatment.put',
  'ruleset.activated',
  'record.read',
] as const;

/** One of {@link ENTRY_TYPES}. */
export type EntryType = (typeof ENTRY_TYPES)[number];

/**
 * A journal entry, the FINAL encoding: its RFC 8785 canonical JSON is the Merkle leaf, so no
 * field may be added, renamed or reinterpreted without breaking every proof already issued.
 * Unknown keys are rejected for the same reason.
 */
export const journalEntrySchema = z.strictObject({
  type: z.enum(ENTRY_TYPES),
  /** The journaled document, e.g. `claim/<id>` or `member/<id>/coverage`. */
  docId: z.string().check(z.minLength(1), z.maxLength(512)),
  /** The document's revision this entry creates or reads; revisions start at 1. */
  docRevision: z.int().check(z.gte(1)),
  /** Content hash of the rule set a decision was made under. */
  ruleSetHash: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
  actor: z.strictObject({
    sub: z.string().check(z.minLength(1)),
    role: z.string().check(z.minLength(1)),
  }),
  /** When it happened, an ISO 8601 instant in UTC (`Z`). */
  at: z.iso.datetime(),
  /** Any JSON object; {@link encodeEntry} rejects values that have no canonical JSON form. */
  payload: z.pipe(
    // A preprocess step (zod/mini has no z.preprocess; this is what it builds). Mini's transform
    // context has no addIssue, so the issue is pushed as classic zod's addIssue would push it.
    z.transform((payload: unknown, ctx) => {
      // zod's record copy silently drops an own "__proto__" key, which would journal less than
      // the caller passed; refuse it instead.
      if (typeof payload === 'object' && payload !== null && Object.hasOwn(payload, '__proto__')) {
        ctx.issues.push({
          code: 'custom',
          message: '"__proto__" is not allowed as a payload key',
          input: payload,
          path: [],
        });
      }
      return payload;
    }),
    z.record(z.string(), z.unknown()),
  ),
});

/** A journal entry as use cases build it. */
export type JournalEntry = z.infer<typeof journalEntrySchema>;

/** An entry that does not match {@link journalEntrySchema}, or bytes that are not one. */
export class EntryError extends Error {
  override name = 'EntryError';
}

/**
 * The leaf bytes of an entry: validated, then RFC 8785 canonical JSON in UTF-8.
 *
 * @throws EntryError when the entry does not match {@link journalEntrySchema}.
 * @throws CanonicalJsonError when the payload holds a value JSON cannot represent.
 */
export function encodeEntry(entry: JournalEntry): Uint8Array {
  const parsed = journalEntrySchema.safeParse(entry);
  if (!parsed.success) throw new EntryError(`invalid journal entry: ${describeIssues(parsed.error)}`);
  const { ruleSetHash, ...rest } = parsed.data;
  // Rebuilt so an explicit `ruleSetHash: undefined` encodes exactly like an absent one.
  return canonicalBytes(ruleSetHash === undefined ? rest : { ...rest, ruleSetHash });
}

/**
 * The entry held in leaf bytes. Only the canonical encoding is accepted, so each entry has
 * exactly one leaf hash.
 *
 * @throws EntryError when the bytes are not the canonical encoding of a valid entry.
 */
export function decodeEntry(bytes: Uint8Array): JournalEntry {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decode(bytes));
  } catch (error: unknown) {
    const reason = error instanceof EncodingError ? error.message : 'bytes are not JSON';
    throw new EntryError(`invalid journal entry: ${reason}`);
  }
  const parsed = journalEntrySchema.safeParse(value);
  if (!parsed.success) throw new EntryError(`invalid journal entry: ${describeIssues(parsed.error)}`);
  if (!bytesEqual(encodeEntry(parsed.data), bytes)) {
    throw new EntryError('invalid journal entry: bytes are not the RFC 8785 canonical encoding');
  }
  return parsed.data;
}

/** RFC 9162 §2.1.1 leaf hash of entry bytes: SHA-256(0x00 ‖ bytes). */
export function leafHash(entryBytes: Uint8Array): Uint8Array {
  return sha256.create().update(LEAF_PREFIX).update(entryBytes).digest();
}

const LEAF_PREFIX = new Uint8Array([0]);

function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'entry'}: ${issue.message}`)
    .join('; ');
}
