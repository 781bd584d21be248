// The trailer line `journal export` writes last, and the checks `journal verify --from-export`
// makes against it. Checkpoint lines alone cannot tell a complete export from one cut at a line
// boundary (a prefix of a valid export is a valid, shorter journal), so the trailer says what
// the export holds:
//
//   {"trailer":"claimledger-journal-export/1","entries":305,"checkpoints":3,
//    "lastCheckpoint":{"size":300,"rootHash":"<hex>"},"sha256":"<hex>"}
//
// `sha256` is over the bytes of every line before the trailer, newlines included (the file
// from its start up to the trailer line), so a line dropped, added, edited or moved anywhere
// changes it. The trailer is not signed: it detects truncation and damage, not a forger, who
// could recompute it; what a forger cannot do is sign a checkpoint, which the verifier checks.

import { createHash, type Hash } from 'node:crypto';
import * as z from '#functions/zod.ts';
import { toHex } from '#journal/bytes.ts';
import { parseCheckpoint } from '#journal/checkpoint.ts';
import { parseSignedNote } from '#journal/note.ts';

/** The trailer's format marker: its `trailer` field. */
export const EXPORT_FORMAT = 'claimledger-journal-export/1';

/** The size and root of a checkpoint, as a trailer states them. */
export interface CheckpointSummary {
  size: number;
  /** Lowercase hex. */
  rootHash: string;
}

export interface ExportTrailer {
  trailer: string;
  /** Entry lines in the export. */
  entries: number;
  /** Checkpoint lines in the export. */
  checkpoints: number;
  /** The last checkpoint line's size and root (from its note, unverified); null when there is none. */
  lastCheckpoint: CheckpointSummary | null;
  /** SHA-256 (hex) of the bytes of every line before the trailer. */
  sha256: string;
}

const hexHash = z.string().check(z.regex(/^[0-9a-f]{64}$/));

export const trailerLineSchema = z.strictObject({
  trailer: z.string(),
  entries: z.int().check(z.gte(0)),
  checkpoints: z.int().check(z.gte(0)),
  lastCheckpoint: z.nullable(z.strictObject({ size: z.int().check(z.gte(0)), rootHash: hexHash })),
  sha256: hexHash,
});

/** What a trailer line must look like, for messages. */
export const TRAILER_SHAPE = '{trailer, entries, checkpoints, lastCheckpoint, sha256}';

/** True for a parsed export line that claims to be the trailer (whatever else it holds). */
export function isTrailerValue(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, 'trailer')
  );
}

/** Why a parsed line claiming to be the trailer is not a well-formed one, or null. */
export function trailerShapeProblem(value: unknown): string | null {
  const parsed = trailerLineSchema.safeParse(value);
  if (parsed.success) return null;
  const issue = parsed.error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return `a trailer line that is not ${TRAILER_SHAPE} (${where}${issue?.message ?? 'invalid'})`;
}

/** Size and root hash of a signed checkpoint note, read without checking its signature; null when it is not one. */
export function checkpointSummary(note: string): CheckpointSummary | null {
  try {
    const checkpoint = parseCheckpoint(parseSignedNote(note).text);
    return { size: checkpoint.size, rootHash: toHex(checkpoint.rootHash) };
  } catch {
    return null;
  }
}

/**
 * Counts and hashes the lines `journal export` writes, and makes the trailer line that ends
 * the export. Give it every chunk exactly as written.
 */
export class TrailerWriter {
  private readonly hash: Hash = createHash('sha256');
  private entries = 0;
  private checkpoints = 0;
  private lastCheckpoint: CheckpointSummary | null = null;

  /** Entry lines as written: `count` lines, newlines included. */
  entryLines(chunk: string, count: number): void {
    this.hash.update(chunk, 'utf8');
    this.entries += count;
  }

  /** Checkpoint lines as written, and the notes they hold, in order. */
  checkpointLines(chunk: string, notes: readonly string[]): void {
    this.hash.update(chunk, 'utf8');
    this.checkpoints += notes.length;
    const last = notes.at(-1);
    if (last !== undefined) this.lastCheckpoint = checkpointSummary(last);
  }

  /** The trailer; the writer is done after it. */
  trailer(): ExportTrailer {
    return {
      trailer: EXPORT_FORMAT,
      entries: this.entries,
      checkpoints: this.checkpoints,
      lastCheckpoint: this.lastCheckpoint,
      sha256: this.hash.digest('hex'),
    };
  }
}

/** The trailer as its export line, newline included. */
export function trailerLine(trailer: ExportTrailer): string {
  return `${JSON.stringify(trailer)}\n`;
}

/** What the first pass read of an export, for {@link trailerProblems}. */
export interface TrailerScan {
  /** Lines in the file, the trailer and anything after it included. */
  lines: number;
  /** Entry and checkpoint lines before the trailer (or in the whole file, when it has none). */
  entries: number;
  checkpoints: number;
  /** The last checkpoint line before the trailer: its line number and what its note says. */
  lastCheckpoint?: { line: number; summary: CheckpointSummary | null };
  /** What the last line (before the trailer) is, for the message when the trailer is missing. */
  lastLineKind?: 'entry' | 'checkpoint' | 'other';
  /** The first line claiming to be a trailer, parsed, with the SHA-256 of the bytes before it. */
  trailer?: { line: number; value: unknown; sha256: string; terminated: boolean };
  /** Lines after the trailer. */
  afterTrailer: number;
}

export const RE_EXPORT_HINT = 'export the journal again (claimledger journal export --out FILE)';

/** The message for an export with no trailer line. */
export function missingTrailerMessage(scan: Pick<TrailerScan, 'lines' | 'lastLineKind'>): string {
  const after =
    scan.lines === 0
      ? 'the file is empty'
      : `it ends after line ${scan.lines}${scan.lastLineKind === 'other' || scan.lastLineKind === undefined ? '' : `, ${scan.lastLineKind === 'entry' ? 'an entry' : 'a checkpoint'} line`}`;
  return `export is truncated or incomplete: no trailer line (${after}); journal export ends every export with a {"trailer":"${EXPORT_FORMAT}",…} line. ${capitalize(RE_EXPORT_HINT)}; an export made before trailers existed verifies with --legacy-export, which cannot detect truncation`;
}

/**
 * Everything the trailer says that the export does not bear out, one message each; empty when
 * the trailer is there, last, and matches. Shape errors and lines after the trailer are also
 * found by the second pass, in file order; they are reported here too so this stands alone.
 */
export function trailerProblems(scan: TrailerScan): string[] {
  const found = scan.trailer;
  if (found === undefined) return [missingTrailerMessage(scan)];
  const at = `the trailer (line ${found.line})`;
  const problems: string[] = [];
  if (!found.terminated) {
    problems.push(`line ${found.line}: the trailer line has no newline: the export is truncated`);
  }
  if (scan.afterTrailer > 0) {
    problems.push(
      `${scan.afterTrailer} line${scan.afterTrailer === 1 ? '' : 's'} after ${at}: an export ends with its trailer (lines were appended, or two exports concatenated)`,
    );
  }
  const shape = trailerShapeProblem(found.value);
  if (shape !== null) return [...problems, `line ${found.line}: ${shape}`];
  const trailer = found.value as ExportTrailer;
  if (trailer.trailer !== EXPORT_FORMAT) {
    return [
      ...problems,
      `line ${found.line}: trailer format ${JSON.stringify(trailer.trailer)} is not ${JSON.stringify(EXPORT_FORMAT)} (an export from another claimledger version?)`,
    ];
  }
  if (trailer.entries !== scan.entries || trailer.checkpoints !== scan.checkpoints) {
    const what = [
      ...(trailer.entries > scan.entries ? ['entry lines are missing'] : []),
      ...(trailer.entries < scan.entries ? ['entry lines were added'] : []),
      ...(trailer.checkpoints > scan.checkpoints ? ['checkpoint lines are missing'] : []),
      ...(trailer.checkpoints < scan.checkpoints ? ['checkpoint lines were added'] : []),
    ].join(', ');
    problems.push(
      `export is truncated or altered: ${at} says ${plural(trailer.entries, 'entry', 'entries')} and ${plural(trailer.checkpoints, 'checkpoint', 'checkpoints')}, the export holds ${plural(scan.entries, 'entry line', 'entry lines')} and ${plural(scan.checkpoints, 'checkpoint line', 'checkpoint lines')} before it (${what})`,
    );
  }
  const claimed = trailer.lastCheckpoint;
  const last = scan.lastCheckpoint;
  const actual = last?.summary ?? null;
  if (!sameSummary(claimed, actual)) {
    const held =
      last === undefined
        ? 'the export has no checkpoint line'
        : `the last checkpoint line (line ${last.line}) ${actual === null ? 'holds no readable checkpoint' : `has size ${actual.size}, root ${short(actual.rootHash)}`}`;
    problems.push(
      `${at} says the last checkpoint ${claimed === null ? 'is none' : `has size ${claimed.size}, root ${short(claimed.rootHash)}`}, but ${held}: checkpoints were dropped, added or edited`,
    );
  }
  if (trailer.sha256 !== found.sha256) {
    problems.push(
      `the SHA-256 of ${found.line === 1 ? 'the (empty) content before the trailer' : found.line === 2 ? 'line 1' : `lines 1–${found.line - 1}`} is ${short(found.sha256)}, ${at} says ${short(trailer.sha256)}: a line before the trailer was edited, added, removed or moved`,
    );
  }
  return problems;
}

function sameSummary(a: CheckpointSummary | null, b: CheckpointSummary | null): boolean {
  return a === null || b === null ? a === b : a.size === b.size && a.rootHash === b.rootHash;
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function short(hex: string): string {
  return hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
