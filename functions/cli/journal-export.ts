// `journal export` writes the journal as JSON Lines and `journal verify --from-export` reads it
// back. Format, one JSON object per line, told apart by their first key:
//
//   {"index":0,"key":"…","leafHash":"<hex>","entry":"<canonical JSON text>"}   every entry, by index
//   {"checkpoint":"<signed note text>"}                                        every checkpoint, by size
//   {"trailer":"claimledger-journal-export/1","entries":…,"checkpoints":…,
//    "lastCheckpoint":{"size":…,"rootHash":"<hex>"}|null,"sha256":"<hex>"}    once, last
//
// The trailer (journal-export-trailer.ts) says what the export holds, with a SHA-256 over every
// byte before it, so an export cut at a line boundary, or with a line dropped, added or edited,
// no longer passes for a shorter valid journal.
//
// Checkpoints come last, but the verifier needs their sizes while it folds the tree, so an
// export file is read twice: a quick scan of the raw bytes for the checkpoint lines and the
// trailer (counting and hashing as it goes), then the entries.

import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import * as z from '#functions/zod.ts';
import { type JournalStorage, journalPages } from '#store/journal-audit.reader.ts';
import {
  checkpointSummary,
  type ExportTrailer,
  isTrailerValue,
  type TrailerScan,
  TrailerWriter,
  trailerLine,
  trailerShapeProblem,
} from './journal-export-trailer.ts';
import { ProgressBar, type ProgressStream } from './journal-progress.ts';
import type { CheckpointRecord, EntryRecord } from './journal-verifier.ts';

/** A line of an export that is not what the format says, with its 1-based line number. */
export class ExportFormatError extends Error {
  override name = 'ExportFormatError';
  constructor(
    readonly line: number,
    readonly problem: string,
  ) {
    super(`line ${line}: ${problem}`);
  }
}

export interface ExportSummary {
  entries: number;
  checkpoints: number;
  /** Sequenced indices with no stored entry (exported as they are: a gap). */
  missing: number[];
  /** The trailer written last. */
  trailer: ExportTrailer;
}

const entryLineSchema = z.strictObject({
  index: z.int().check(z.gte(0)),
  key: z.string(),
  leafHash: z.string(),
  entry: z.string(),
});
const checkpointLineSchema = z.strictObject({ checkpoint: z.string() });

/**
 * Streams the journal to `out`. Checkpoints are read first and written last, so every
 * exported checkpoint covers only exported entries even while the journal grows; the trailer
 * comes after them.
 */
export async function writeExport(
  storage: JournalStorage,
  out: NodeJS.WritableStream,
  progressStream: ProgressStream,
): Promise<ExportSummary> {
  const checkpoints = await storage.listCheckpoints();
  // Entries a sequencing round is still writing (from its manifest) come in the next export.
  const sequenced = await storage.journal.writtenSize();
  // Items come by size, so the last is the latest.
  const end = Math.max(sequenced, checkpoints.at(-1)?.stored?.size ?? 0);
  const progress = new ProgressBar(progressStream, 'export', end);
  const missing: number[] = [];
  const trailer = new TrailerWriter();
  let entries = 0;
  try {
    for await (const page of journalPages(storage, end)) {
      let chunk = '';
      let expected = page.from;
      for (const record of page.records) {
        for (; expected < record.index; expected++) missing.push(expected);
        expected = record.index + 1;
        chunk += `${JSON.stringify({ index: record.index, key: record.key, leafHash: record.leafHash, entry: record.entry })}\n`;
      }
      for (; expected < page.to; expected++) missing.push(expected);
      entries += page.records.length;
      trailer.entryLines(chunk, page.records.length);
      await write(out, chunk);
      progress.tick(page.to - page.from);
    }
    let chunk = '';
    for (const checkpoint of checkpoints) chunk += `${JSON.stringify({ checkpoint: checkpoint.note })}\n`;
    trailer.checkpointLines(
      chunk,
      checkpoints.map((checkpoint) => checkpoint.note),
    );
    await write(out, chunk);
    const last = trailer.trailer();
    await write(out, trailerLine(last));
    return { entries, checkpoints: checkpoints.length, missing, trailer: last };
  } finally {
    progress.finish();
  }
}

async function write(out: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (chunk !== '' && !out.write(chunk)) await once(out as unknown as NodeJS.EventEmitter, 'drain');
}

/** One line of a file, without its newline. `terminated` is false for a last line with no newline. */
export interface Line {
  text: string;
  number: number;
  terminated: boolean;
}

/** The file's lines, streamed. */
export async function* readLines(file: string): AsyncGenerator<Line> {
  let rest = '';
  let number = 0;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      yield { text: text.slice(start, end), number: ++number, terminated: true };
      start = end + 1;
    }
    rest = text.slice(start);
  }
  if (rest !== '') yield { text: rest, number: ++number, terminated: false };
}

const NEWLINE = 0x0a;
const ENTRY_PREFIX = Buffer.from('{"index":');

/** What the first pass found: the checkpoint lines (before any trailer) and the trailer scan. */
export interface ExportScan {
  checkpoints: CheckpointRecord[];
  trailer: TrailerScan;
}

/**
 * First pass over an export's raw bytes, fed chunk by chunk: finds the checkpoint lines and
 * the trailer, counts entry and checkpoint lines before it, and hashes every byte before it.
 * Entry lines as `journal export` writes them are counted unparsed; anything malformed is left
 * for the second pass to report in file order. Memory: the checkpoints, and one partial line.
 */
export class ExportScanner {
  private readonly hash = createHash('sha256');
  private readonly checkpoints: CheckpointRecord[] = [];
  private readonly scan: TrailerScan = { lines: 0, entries: 0, checkpoints: 0, afterTrailer: 0 };
  /** The start of a line the chunks so far have not finished. */
  private pending: Buffer[] = [];
  /** Set once the trailer is found: bytes from there on are not hashed. */
  private hashed = false;

  push(chunk: Buffer): void {
    let start = 0;
    if (this.pending.length > 0) {
      const end = chunk.indexOf(NEWLINE);
      if (end < 0) {
        this.pending.push(chunk);
        return;
      }
      const parts = this.pending;
      this.pending = [];
      if (this.line(Buffer.concat([...parts, chunk.subarray(0, end)]), true)) {
        if (!this.hashed) this.finishHash();
      } else if (!this.hashed) {
        for (const part of parts) this.hash.update(part);
        this.hash.update(chunk.subarray(0, end + 1));
      }
      start = end + 1;
    }
    // Whole lines are hashed in one update per chunk, up to the trailer's first byte.
    const from = start;
    for (let end = chunk.indexOf(NEWLINE, start); end >= 0; end = chunk.indexOf(NEWLINE, start)) {
      if (this.line(chunk.subarray(start, end), true) && !this.hashed) {
        this.hash.update(chunk.subarray(from, start));
        this.finishHash();
      }
      start = end + 1;
    }
    if (!this.hashed) this.hash.update(chunk.subarray(from, start));
    if (start < chunk.length) this.pending.push(chunk.subarray(start));
  }

  /** The scan, once every chunk was pushed. */
  end(): ExportScan {
    if (this.pending.length > 0) {
      const line = Buffer.concat(this.pending);
      this.pending = [];
      if (this.line(line, false) && !this.hashed) this.finishHash();
    }
    return { checkpoints: this.checkpoints, trailer: this.scan };
  }

  /** Classifies one line; true when it is the trailer. */
  private line(bytes: Buffer, terminated: boolean): boolean {
    const scan = this.scan;
    const number = ++scan.lines;
    if (scan.trailer !== undefined) {
      scan.afterTrailer++;
      return false;
    }
    if (bytes.length >= ENTRY_PREFIX.length && ENTRY_PREFIX.equals(bytes.subarray(0, ENTRY_PREFIX.length))) {
      scan.entries++;
      scan.lastLineKind = 'entry';
      return false;
    }
    const value = parseJson(bytes.toString('utf8'));
    if (isTrailerValue(value)) {
      scan.trailer = { line: number, value, sha256: '', terminated };
      return true;
    }
    const checkpoint = checkpointLineSchema.safeParse(value);
    if (checkpoint.success) {
      const note = checkpoint.data.checkpoint;
      this.checkpoints.push({ note, source: `checkpoint on line ${number}` });
      scan.checkpoints++;
      scan.lastCheckpoint = { line: number, summary: checkpointSummary(note) };
      scan.lastLineKind = 'checkpoint';
      return false;
    }
    scan.lastLineKind = 'other';
    return false;
  }

  private finishHash(): void {
    this.hashed = true;
    if (this.scan.trailer) this.scan.trailer.sha256 = this.hash.digest('hex');
  }
}

/** First pass over an export file: see {@link ExportScanner}. */
export async function scanExport(file: string): Promise<ExportScan> {
  const scanner = new ExportScanner();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) scanner.push(chunk as Buffer);
  return scanner.end();
}

/**
 * Second pass: the entries in batches, checking every line's shape; checkpoint lines must all
 * come after the entries, and nothing may follow the trailer. Whether the trailer is there and
 * matches is the first pass's finding (trailerProblems).
 *
 * @throws ExportFormatError at the first line that is not an export line.
 */
export async function* readExportEntries(file: string, batchSize = 1000): AsyncGenerator<EntryRecord[]> {
  let batch: EntryRecord[] = [];
  let checkpointLine: number | undefined;
  let trailerAt: number | undefined;
  for await (const line of readLines(file)) {
    if (trailerAt !== undefined) {
      throw new ExportFormatError(
        line.number,
        `a line after the trailer (line ${trailerAt}): an export ends with its trailer (lines were appended, or two exports concatenated)`,
      );
    }
    if (!line.terminated) {
      throw new ExportFormatError(line.number, 'the last line has no newline: the export is truncated');
    }
    if (line.text === '') throw new ExportFormatError(line.number, 'empty line');
    const value = parseJson(line.text);
    if (value === undefined)
      throw new ExportFormatError(line.number, 'not JSON (a damaged or truncated export?)');
    const entry = entryLineSchema.safeParse(value);
    if (entry.success) {
      if (checkpointLine !== undefined) {
        throw new ExportFormatError(
          line.number,
          `an entry after the checkpoints (line ${checkpointLine}): entries come first`,
        );
      }
      batch.push({ ...entry.data, line: line.number });
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
      continue;
    }
    if (checkpointLineSchema.safeParse(value).success) {
      checkpointLine ??= line.number;
      continue;
    }
    if (isTrailerValue(value)) {
      const problem = trailerShapeProblem(value);
      if (problem !== null) throw new ExportFormatError(line.number, problem);
      trailerAt = line.number;
      continue;
    }
    throw new ExportFormatError(
      line.number,
      'neither an entry {index, key, leafHash, entry}, a checkpoint {checkpoint} nor the trailer {trailer, …}',
    );
  }
  if (batch.length > 0) yield batch;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
