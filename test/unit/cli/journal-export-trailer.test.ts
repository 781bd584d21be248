import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExportScanner, scanExport, writeExport } from '../../../functions/cli/journal-export.ts';
import {
  EXPORT_FORMAT,
  type ExportTrailer,
  type TrailerScan,
  trailerProblems,
} from '../../../functions/cli/journal-export-trailer.ts';
import type { EntryRecord } from '../../../functions/cli/journal-verifier.ts';
import { toHex, utf8Encode } from '../../../functions/journal/bytes.ts';
import { canonicalize } from '../../../functions/journal/canonical-json.ts';
import { signCheckpoint } from '../../../functions/journal/checkpoint.ts';
import { leafHash } from '../../../functions/journal/entry.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../../functions/journal/local-signer.ts';
import { rootFromLeafHashes } from '../../../functions/journal/merkle.ts';
import { verifierKeyString } from '../../../functions/journal/note.ts';
import type { JournalStorage } from '../../../functions/store/journal-audit.reader.ts';
import { runJournal, TextCollector } from '../../support/journal-cli.ts';
import { testEntry } from '../../support/journal-entries.ts';

const ORIGIN = 'unit.test/journal';
const SIZE = 12;
const CHECKPOINT_SIZES = [4, 9, 12];

/** What journal export streams, over an in-memory journal. */
function storageOf(records: EntryRecord[], notes: string[]): JournalStorage {
  return {
    listCheckpoints: async () => notes.map((note, i) => ({ note, source: `checkpoint ${i}` })),
    journal: { size: async () => records.length, writtenSize: async () => records.length },
    readPage: async (from: number, to: number) => ({
      from,
      to,
      records: records.filter((record) => record.index >= from && record.index < to),
      nodes: new Map(),
    }),
  } as unknown as JournalStorage;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The messages a failed export verification may lead with; anything else is not precise. */
const PRECISE = [
  /export is truncated or incomplete: no trailer line/,
  /line \d+: a line after the trailer \(line \d+\)/,
  /line \d+: the last line has no newline: the export is truncated/,
  /export is truncated or altered: the trailer \(line \d+\) says/,
  /the trailer \(line \d+\) says the last checkpoint/,
  /the SHA-256 of .* is [0-9a-f]{12}…, the trailer \(line \d+\) says/,
  /line \d+: an entry after the checkpoints/,
  /line \d+: not JSON/,
  /line \d+: neither an entry/,
  /line \d+: a trailer line that is not/,
  /line \d+: trailer format/,
  /first bad entry: entr(y|ies) \d+/,
];

describe('journal export trailer', () => {
  let dir: string;
  let noState: string;
  let verifierKey: string;
  let records: EntryRecord[];
  let notes: string[];
  /** A complete export of SIZE entries and checkpoints at CHECKPOINT_SIZES, as journal export writes it. */
  let exported: string;
  let trailer: ExportTrailer;
  let n = 0;

  const file = (text: string | Buffer) => {
    const path = join(dir, `e${n++}.jsonl`);
    writeFileSync(path, text);
    return path;
  };

  async function exportOf(entries: EntryRecord[], checkpointNotes: string[]) {
    const out = new TextCollector();
    const summary = await writeExport(storageOf(entries, checkpointNotes), out, new TextCollector());
    return { text: out.text, summary };
  }

  async function verify(text: string | Buffer, ...extra: string[]) {
    const path = file(text);
    const result = await runJournal([
      'verify',
      '--from-export',
      path,
      '--key',
      verifierKey,
      '--state-dir',
      noState,
      ...extra,
    ]);
    return { ...result, path };
  }

  /** Fails, says so precisely on stdout, and never falls through to an unexpected error. */
  function expectPreciseFailure(result: Awaited<ReturnType<typeof verify>>) {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^✗ export /);
    expect(result.stdout).not.toContain('    at ');
    expect(PRECISE.some((pattern) => pattern.test(result.stdout))).toBe(true);
  }

  const linesOf = (text: string) => text.slice(0, -1).split('\n');
  const joinLines = (lines: string[]) => (lines.length === 0 ? '' : `${lines.join('\n')}\n`);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'journal-trailer-'));
    noState = join(dir, 'no-state');
    const signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    verifierKey = verifierKeyString(signer.name, signer.publicKey);
    records = [];
    const leaves: Uint8Array[] = [];
    for (let i = 0; i < SIZE; i++) {
      const text = canonicalize(testEntry(i, { note: `entry ${i} ✓` }));
      const leaf = leafHash(utf8Encode(text));
      leaves.push(leaf);
      records.push({ index: i, key: `c${i}`, leafHash: toHex(leaf), entry: text });
    }
    notes = await Promise.all(
      CHECKPOINT_SIZES.map((size) =>
        signCheckpoint({ origin: ORIGIN, size, rootHash: rootFromLeafHashes(leaves.slice(0, size)) }, signer),
      ),
    );
    const whole = await exportOf(records, notes);
    exported = whole.text;
    trailer = whole.summary.trailer;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  describe('the writer', () => {
    it('ends the export with a trailer stating its counts, last checkpoint and SHA-256', () => {
      const lines = linesOf(exported);
      expect(lines).toHaveLength(SIZE + CHECKPOINT_SIZES.length + 1);
      const last = JSON.parse(lines.at(-1)!) as ExportTrailer;
      expect(Object.keys(last)[0]).toBe('trailer');
      const lastCheckpoint = notes.at(-1)!.split('\n');
      expect(last).toEqual({
        trailer: EXPORT_FORMAT,
        entries: SIZE,
        checkpoints: CHECKPOINT_SIZES.length,
        lastCheckpoint: {
          size: 12,
          rootHash: Buffer.from(lastCheckpoint[2]!, 'base64').toString('hex'),
        },
        sha256: sha256(exported.slice(0, exported.lastIndexOf('\n', exported.length - 2) + 1)),
      });
      expect(last).toEqual(trailer);
    });

    it('writes a trailer for an empty journal too', async () => {
      const { text } = await exportOf([], []);
      expect(JSON.parse(text)).toEqual({
        trailer: EXPORT_FORMAT,
        entries: 0,
        checkpoints: 0,
        lastCheckpoint: null,
        sha256: sha256(''),
      });
    });

    it('verifies what it wrote, and says what the trailer confirmed', async () => {
      const result = await verify(exported);
      expect(result.stderr).toBe('');
      expect(result.stdout).toContain('✓ verified export');
      expect(result.stdout).toContain(
        `  trailer      line ${SIZE + 4}: 12 entries, 3 checkpoints and the SHA-256 of the lines before it match`,
      );
      expect(result.code).toBe(0);
    });

    it('keeps drawing the progress bar on a terminal, and clears it', async () => {
      const terminal = new TextCollector();
      terminal.isTTY = true;
      const { code, stderr } = await runJournal(
        ['verify', '--from-export', file(exported), '--key', verifierKey, '--state-dir', noState],
        terminal,
      );
      expect(code).toBe(0);
      expect(stderr).toContain(`verify [${'█'.repeat(24)}] 12/12 100%`);
      expect(stderr.endsWith('\r\x1b[K')).toBe(true);
    });
  });

  describe('the scanner', () => {
    it('finds the same lines, counts and digest however the bytes are chunked', async () => {
      const bytes = Buffer.from(exported);
      const whole = await scanExport(file(bytes));
      expect(whole.trailer.trailer?.sha256).toBe(trailer.sha256);
      expect(whole.trailer).toMatchObject({ lines: 16, entries: 12, checkpoints: 3, afterTrailer: 0 });
      expect(whole.checkpoints.map((c) => c.source)).toEqual([
        'checkpoint on line 13',
        'checkpoint on line 14',
        'checkpoint on line 15',
      ]);
      fc.assert(
        fc.property(
          fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 40 }),
          (cuts) => {
            const scanner = new ExportScanner();
            let from = 0;
            for (const cut of [...cuts].sort((a, b) => a - b)) {
              scanner.push(bytes.subarray(from, cut));
              from = cut;
            }
            scanner.push(bytes.subarray(from));
            expect(scanner.end()).toEqual(whole);
          },
        ),
        { numRuns: 300 },
      );
      // One byte at a time: every line is stitched from pieces.
      const scanner = new ExportScanner();
      for (let i = 0; i < bytes.length; i++) scanner.push(bytes.subarray(i, i + 1));
      expect(scanner.end()).toEqual(whole);
    });
  });

  describe('trailerProblems', () => {
    const scanOf = async (text: string): Promise<TrailerScan> => (await scanExport(file(text))).trailer;

    it('accepts a matching trailer', async () => {
      expect(trailerProblems(await scanOf(exported))).toEqual([]);
    });

    it('names a missing trailer, and what the export ends with', async () => {
      const lines = linesOf(exported);
      expect(trailerProblems(await scanOf(''))).toEqual([
        expect.stringMatching(
          /^export is truncated or incomplete: no trailer line \(the file is empty\); journal export ends every export with a \{"trailer":"claimledger-journal-export\/1",…\} line\. Export the journal again \(claimledger journal export --out FILE\); an export made before trailers existed verifies with --legacy-export, which cannot detect truncation$/,
        ),
      ]);
      expect(trailerProblems(await scanOf(joinLines(lines.slice(0, 5))))[0]).toContain(
        'no trailer line (it ends after line 5, an entry line)',
      );
      expect(trailerProblems(await scanOf(joinLines(lines.slice(0, 14))))[0]).toContain(
        'no trailer line (it ends after line 14, a checkpoint line)',
      );
    });

    it('names counts, the last checkpoint and the digest that do not match', async () => {
      const lines = linesOf(exported);
      const withoutCheckpoint = [...lines.slice(0, 14), lines.at(-1)!];
      expect(trailerProblems(await scanOf(joinLines(withoutCheckpoint)))).toEqual([
        'export is truncated or altered: the trailer (line 15) says 12 entries and 3 checkpoints, the export holds 12 entry lines and 2 checkpoint lines before it (checkpoint lines are missing)',
        expect.stringMatching(
          /^the trailer \(line 15\) says the last checkpoint has size 12, root [0-9a-f]{12}…, but the last checkpoint line \(line 14\) has size 9, root [0-9a-f]{12}…: checkpoints were dropped, added or edited$/,
        ),
        expect.stringMatching(
          /^the SHA-256 of lines 1–14 is [0-9a-f]{12}…, the trailer \(line 15\) says [0-9a-f]{12}…: a line before the trailer was edited, added, removed or moved$/,
        ),
      ]);
      const extraEntry = [lines[0]!, ...lines];
      expect(trailerProblems(await scanOf(joinLines(extraEntry)))[0]).toContain(
        'the export holds 13 entry lines and 3 checkpoint lines before it (entry lines were added)',
      );
      const edited = [...lines];
      edited[3] = edited[3]!.replace('"c3"', '"c9"');
      expect(trailerProblems(await scanOf(joinLines(edited)))).toEqual([
        expect.stringMatching(/^the SHA-256 of lines 1–15 is .*: a line before the trailer was edited/),
      ]);
    });

    it('names lines after the trailer, an unknown format and a malformed trailer', async () => {
      const lines = linesOf(exported);
      expect(trailerProblems(await scanOf(joinLines([...lines, lines[0]!])))).toEqual([
        '1 line after the trailer (line 16): an export ends with its trailer (lines were appended, or two exports concatenated)',
      ]);
      const future = JSON.stringify({ ...trailer, trailer: 'claimledger-journal-export/2' });
      expect(trailerProblems(await scanOf(joinLines([...lines.slice(0, -1), future])))).toEqual([
        'line 16: trailer format "claimledger-journal-export/2" is not "claimledger-journal-export/1" (an export from another claimledger version?)',
      ]);
      const bad = JSON.stringify({ ...trailer, sha256: 'not hex' });
      expect(trailerProblems(await scanOf(joinLines([...lines.slice(0, -1), bad])))).toEqual([
        expect.stringMatching(
          /^line 16: a trailer line that is not \{trailer, entries, checkpoints, lastCheckpoint, sha256\} \(sha256: /,
        ),
      ]);
    });
  });

  describe('journal verify --from-export', () => {
    it('refuses an export cut right after a checkpoint line, naming the truncation', async () => {
      const lines = linesOf(exported);
      const result = await verify(joinLines(lines.slice(0, 14)));
      expectPreciseFailure(result);
      expect(result.stdout).toContain('verification FAILED (1 problem)');
      expect(result.stdout).toContain(
        '  - export is truncated or incomplete: no trailer line (it ends after line 14, a checkpoint line)',
      );
    });

    it('fails precisely on a cut at every line boundary', async () => {
      const lines = linesOf(exported);
      for (let keep = 0; keep < lines.length; keep++) {
        const result = await verify(joinLines(lines.slice(0, keep)));
        expectPreciseFailure(result);
        expect(result.stdout).toContain('export is truncated or incomplete: no trailer line');
      }
    });

    it('fails precisely on a cut at any byte', async () => {
      const bytes = Buffer.from(exported);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: bytes.length - 1 }), async (cut) => {
          const result = await verify(bytes.subarray(0, cut));
          expectPreciseFailure(result);
          expect(result.stdout).toMatch(
            /no trailer line|the last line has no newline: the export is truncated/,
          );
        }),
        { numRuns: 60 },
      );
    });

    type Mutation =
      | { kind: 'drop'; at: number }
      | { kind: 'duplicate'; at: number; to: number }
      | { kind: 'swap'; at: number; with: number }
      | { kind: 'edit'; at: number; char: string };

    const lineCount = SIZE + CHECKPOINT_SIZES.length + 1;
    const index = fc.integer({ min: 0, max: lineCount - 1 });
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      index.map((at) => ({ kind: 'drop' as const, at })),
      fc.tuple(index, fc.integer({ min: 0, max: lineCount })).map(([at, to]) => ({
        kind: 'duplicate' as const,
        at,
        to,
      })),
      fc
        .tuple(index, index)
        .filter(([a, b]) => a !== b)
        .map(([at, other]) => ({ kind: 'swap' as const, at, with: other })),
      fc.tuple(fc.nat(), fc.integer({ min: 0x20, max: 0x7e })).map(([at, code]) => ({
        kind: 'edit' as const,
        at,
        char: String.fromCharCode(code),
      })),
    );

    function apply(text: string, m: Mutation): string {
      const lines = linesOf(text);
      switch (m.kind) {
        case 'drop':
          lines.splice(m.at, 1);
          return joinLines(lines);
        case 'duplicate':
          lines.splice(m.to, 0, lines[m.at]!);
          return joinLines(lines);
        case 'swap': {
          const a = lines[m.at]!;
          lines[m.at] = lines[m.with]!;
          lines[m.with] = a;
          return joinLines(lines);
        }
        case 'edit': {
          // Any character but the newlines, replaced by a different printable one.
          const positions = [...text].flatMap((c, i) => (c === '\n' ? [] : [i]));
          const chars = [...text];
          const at = positions[m.at % positions.length]!;
          chars[at] = chars[at] === m.char ? (m.char === 'x' ? 'y' : 'x') : m.char;
          return chars.join('');
        }
      }
    }

    it('fails precisely when a line is dropped, duplicated, swapped or edited', async () => {
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          const text = apply(exported, m);
          const result = await verify(text);
          expectPreciseFailure(result);
          // Unless the shape broke first (a format error stops everything), the trailer or the
          // content names what happened.
          const formatError = /^✗ export [^\n]*: line \d+: /.test(result.stdout);
          if (!formatError) {
            expect(result.stdout).toMatch(
              /the SHA-256 of|no trailer line|the trailer \(line \d+\) says|trailer format/,
            );
          }
          if (m.kind === 'drop' && m.at === lineCount - 1) expect(result.stdout).toContain('no trailer line');
          if (m.kind === 'drop' && m.at < SIZE) {
            expect(result.stdout).toContain(`first bad entry: entry ${m.at} is missing`);
            expect(result.stdout).toContain('(entry lines are missing)');
          }
          if (m.kind === 'duplicate' && m.at === lineCount - 1) {
            expect(result.stdout).toMatch(/: line \d+: a line after the trailer \(line \d+\)/);
          }
        }),
        { numRuns: 150 },
      );
    });

    it('still names the first bad entry of a tampered export, and the trailer mismatch after it', async () => {
      const lines = linesOf(exported);
      const line = JSON.parse(lines[7]!) as { entry: string };
      lines[7] = JSON.stringify({
        ...line,
        entry: line.entry.replace('"note":"entry 7 ✓"', '"note":"entry 7 ✗"'),
      });
      const result = await verify(joinLines(lines));
      expectPreciseFailure(result);
      const report = result.stdout.split('\n');
      expect(report[1]).toMatch(
        /^ {2}first bad entry: entry 7 \(line 8\): stored leaf hash .* does not match/,
      );
      expect(result.stdout).toMatch(/\n {2}- the SHA-256 of lines 1–15 is .*, the trailer \(line 16\) says/);
    });

    describe('a legacy export (no trailer)', () => {
      const legacy = () => joinLines(linesOf(exported).slice(0, -1));

      it('is refused by default, with how to re-export', async () => {
        const result = await verify(legacy());
        expectPreciseFailure(result);
        expect(result.stdout).toContain('no trailer line (it ends after line 15, a checkpoint line)');
        expect(result.stdout).toContain('Export the journal again (claimledger journal export --out FILE)');
        expect(result.stdout).toContain('--legacy-export');
      });

      it('verifies with --legacy-export, warning that truncation cannot be detected', async () => {
        const result = await verify(legacy(), '--legacy-export');
        expect(result.code).toBe(0);
        expect(result.stderr).toMatch(
          /^warning: .* has no trailer line \(an export made before trailers\?\); verifying it anyway as --legacy-export asks, but truncation cannot be detected/,
        );
        expect(result.stdout).toContain('✓ verified export');
        expect(result.stdout).toContain('  trailer      none (--legacy-export): the export may be truncated');

        // Which is exactly the weakness: a cut one passes too.
        const cut = await verify(joinLines(linesOf(exported).slice(0, 14)), '--legacy-export');
        expect(cut.code).toBe(0);
        expect(cut.stderr).toContain('truncation cannot be detected');
      });

      it('still checks a trailer that is there, and needs --from-export', async () => {
        const lines = linesOf(exported);
        const result = await verify(joinLines([...lines.slice(0, 14), lines.at(-1)!]), '--legacy-export');
        expectPreciseFailure(result);
        expect(result.stdout).toContain('(checkpoint lines are missing)');

        const { code, stderr } = await runJournal([
          'verify',
          '--legacy-export',
          '--key',
          verifierKey,
          '--state-dir',
          noState,
        ]);
        expect(code).toBe(2);
        expect(stderr).toBe('claimledger journal verify: --legacy-export applies only with --from-export\n');
      });
    });
  });
});
