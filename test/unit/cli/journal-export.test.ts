import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ExportFormatError,
  readExportEntries,
  readLines,
  scanExport,
} from '../../../functions/cli/journal-export.ts';

describe('journal export files', () => {
  let dir: string;
  let n = 0;
  const file = (text: string) => {
    const path = join(dir, `f${n++}.jsonl`);
    writeFileSync(path, text);
    return path;
  };
  const entryLine = (index: number) =>
    JSON.stringify({ index, key: `k${index}`, leafHash: 'ab', entry: '{}' });
  const checkpointLine = JSON.stringify({ checkpoint: 'origin\n1\nroot\n\n— sig\n' });
  const trailerLine = JSON.stringify({
    trailer: 'claimledger-journal-export/1',
    entries: 1,
    checkpoints: 1,
    lastCheckpoint: null,
    sha256: '0'.repeat(64),
  });

  async function entries(path: string) {
    const all = [];
    for await (const batch of readExportEntries(path, 2)) all.push(...batch);
    return all;
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-export-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('splits lines across read chunks and flags a last line without a newline', async () => {
    const long = 'x'.repeat(3 << 20);
    const lines = [];
    for await (const line of readLines(file(`a\n${long}\n€\nend`))) lines.push(line);
    expect(lines.map((l) => [l.number, l.text.length, l.terminated])).toEqual([
      [1, 1, true],
      [2, long.length, true],
      [3, 1, true],
      [4, 3, false],
    ]);
    expect(lines[2]?.text).toBe('€');
  });

  it('reads entries in batches with their line numbers, and checkpoints in a first pass', async () => {
    const path = file(
      `${[entryLine(0), entryLine(1), entryLine(2), checkpointLine, trailerLine].join('\n')}\n`,
    );
    expect((await entries(path)).map((e) => [e.index, e.line])).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
    const scan = await scanExport(path);
    expect(scan.checkpoints).toEqual([
      { note: 'origin\n1\nroot\n\n— sig\n', source: 'checkpoint on line 4' },
    ]);
    expect(scan.trailer).toMatchObject({ lines: 5, entries: 3, checkpoints: 1, afterTrailer: 0 });
    expect(scan.trailer.trailer?.line).toBe(5);
  });

  it.each([
    [
      'a truncated last line',
      `${entryLine(0)}\n{"index":1,"ke`,
      'line 2: the last line has no newline: the export is truncated',
    ],
    ['garbage', `${entryLine(0)}\n\u0000\u0001binary\n`, 'line 2: not JSON'],
    ['an empty line', `${entryLine(0)}\n\n${entryLine(1)}\n`, 'line 2: empty line'],
    ['a line of another shape', `${JSON.stringify({ index: 0, key: 'k' })}\n`, 'line 1: neither an entry'],
    [
      'a negative index',
      `${JSON.stringify({ index: -1, key: 'k', leafHash: '', entry: '' })}\n`,
      'line 1: neither an entry',
    ],
    [
      'an entry after the checkpoints',
      `${checkpointLine}\n${entryLine(0)}\n`,
      'line 2: an entry after the checkpoints (line 1)',
    ],
    [
      'a line after the trailer',
      `${entryLine(0)}\n${trailerLine}\n${checkpointLine}\n`,
      'line 3: a line after the trailer (line 2): an export ends with its trailer',
    ],
    [
      'a trailer of another shape',
      `${entryLine(0)}\n${JSON.stringify({ trailer: 'claimledger-journal-export/1', entries: '1' })}\n`,
      'line 2: a trailer line that is not {trailer, entries, checkpoints, lastCheckpoint, sha256} (entries: ',
    ],
  ])('rejects %s with its line number', async (_what, text, message) => {
    const error = await entries(file(text)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExportFormatError);
    expect((error as Error).message).toContain(message);
  });
});
