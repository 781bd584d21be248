// `journal export` writes the journal as JSON Lines and `journal verify --from-export` reads it
// back. Format, one JSON object per line:
//
//   {"index":0,"key":"…","leafHash":"<hex>","entry":"<canonical JSON text>"}   every entry, by index
//   {"checkpoint":"<signed note text>"}                                        every checkpoint, by size
//
// Checkpoints come last, but the verifier needs their sizes while it folds the tree, so an
// export file is read twice: a quick scan for the checkpoint lines, then the entries.

import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import * as z from '#functions/zod.ts';
import { type JournalStorage, journalPages } from '#store/journal-audit.reader.ts';
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
 * exported checkpoint covers only exported entries even while the journal grows.
 */
export async function writeExport(
  storage: JournalStorage,
  out: NodeJS.WritableStream,
  progressStream: ProgressStream,
): Promise<ExportSummary> {
  const checkpoints = await storage.listCheckpoints();
  const sequenced = await storage.journal.size();
  // Items come by size, so the last is the latest.
  const end = Math.max(sequenced, checkpoints.at(-1)?.stored?.size ?? 0);
  const progress = new ProgressBar(progressStream, 'export', end);
  const missing: number[] = [];
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
      await write(out, chunk);
      progress.tick(page.to - page.from);
    }
    let chunk = '';
    for (const checkpoint of checkpoints) chunk += `${JSON.stringify({ checkpoint: checkpoint.note })}\n`;
    await write(out, chunk);
  } finally {
    progress.finish();
  }
  return { entries, checkpoints: checkpoints.length, missing };
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

/**
 * First pass: the export's checkpoint lines. Entry lines as `journal export` writes them are
 * skipped unparsed; anything malformed is left for the second pass to report in file order.
 */
export async function readExportCheckpoints(file: string): Promise<{ checkpoints: CheckpointRecord[] }> {
  const checkpoints: CheckpointRecord[] = [];
  for await (const line of readLines(file)) {
    if (line.text.startsWith('{"index":')) continue;
    const parsed = checkpointLineSchema.safeParse(parseJson(line.text));
    if (parsed.success)
      checkpoints.push({ note: parsed.data.checkpoint, source: `checkpoint on line ${line.number}` });
  }
  return { checkpoints };
}

/**
 * Second pass: the entries in batches, checking every line's shape; checkpoint lines must all
 * come after the entries.
 *
 * @throws ExportFormatError at the first line that is not an export line.
 */
export async function* readExportEntries(file: string, batchSize = 1000): AsyncGenerator<EntryRecord[]> {
  let batch: EntryRecord[] = [];
  let checkpointLine: number | undefined;
  for await (const line of readLines(file)) {
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
    throw new ExportFormatError(
      line.number,
      'neither an entry {index, key, leafHash, entry} nor a checkpoint {checkpoint}',
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
