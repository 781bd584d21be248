import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../functions/journal/bytes.ts';
import { canonicalize } from '../../functions/journal/canonical-json.ts';
import { type JournalEntry, leafHash } from '../../functions/journal/entry.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../functions/journal/local-signer.ts';
import { type NoteSigner, verifierKeyString } from '../../functions/journal/note.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { DeleteCommand, type DocumentClient, GetCommand, PutCommand } from '../../functions/store/dynamo.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { entryKey, type ItemKey, sequencingKey, treeNodeKey } from '../../functions/store/journal-keys.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { runJournal } from '../support/journal-cli.ts';
import { journalGrower } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/journal';
// Three signed checkpoints, then a few integrated entries no checkpoint covers yet.
const CHECKPOINTS = [100, 200, 300];
const SIZE = 305;

const entry = (n: number): JournalEntry => ({
  type: 'claim.decided',
  docId: `claim/C${n}`,
  docRevision: 1,
  ruleSetHash: 'sha256:rules',
  actor: { sub: 'provider-1', role: 'provider' },
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, n)).toISOString(),
  payload: { outcome: 'approved', paidCents: 1000 + n },
});

describe('journal verify detects tampering with the stored journal', () => {
  let doc: DocumentClient;
  let table: string;
  let endpoint: string;
  let signer: NoteSigner;
  let verifierKey: string;
  let work: string;

  const run = (...args: string[]) =>
    runJournal([
      ...args,
      '--endpoint',
      endpoint,
      '--journal-table',
      table,
      '--key',
      verifierKey,
      '--state-dir',
      work,
    ]);

  async function item(key: ItemKey): Promise<Record<string, unknown>> {
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
    if (!Item) throw new Error(`no item ${key.pk}`);
    return Item;
  }

  const put = (value: Record<string, unknown>) => doc.send(new PutCommand({ TableName: table, Item: value }));

  /**
   * Runs `mutate`, then `check`, then puts every item under `keys` back as it was (deleting
   * those that did not exist), so each case starts from the same clean journal.
   */
  async function tampered(keys: ItemKey[], mutate: () => Promise<void>, check: () => Promise<void>) {
    const before = await Promise.all(
      keys.map(async (key) => {
        const { Item } = await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true }));
        return { key, Item };
      }),
    );
    try {
      await mutate();
      await check();
    } finally {
      for (const { key, Item } of before) {
        if (Item) await put(Item);
        else await doc.send(new DeleteCommand({ TableName: table, Key: key }));
      }
    }
  }

  /** An entry's text with its payload changed, still canonical and schema-valid. */
  function edited(text: string): string {
    const value = JSON.parse(text) as JournalEntry;
    return canonicalize({ ...value, payload: { ...value.payload, paidCents: 999_999 } });
  }

  const hexLeaf = (text: string) => toHex(leafHash(utf8Encode(text)));

  beforeAll(async () => {
    const tables = await freshTables();
    doc = tables.doc;
    endpoint = tables.endpoint;
    table = tables.names.journal;
    work = mkdtempSync(join(tmpdir(), 'journal-tamper-'));
    signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    verifierKey = verifierKeyString(signer.name, signer.publicKey);
    const journal = new JournalRepository(doc, table);
    const tree = new JournalTreeRepository(doc, table, journal);
    const checkpoints = new CheckpointsRepository(doc, table, tree);
    const growTo = journalGrower(journal, 'k', entry);
    for (const size of [...CHECKPOINTS, SIZE]) {
      await growTo(size);
      await tree.integrateAll();
      if (CHECKPOINTS.includes(size)) await checkpoints.publishCheckpoint(signer, ORIGIN);
    }
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it('verifies a clean journal: every entry, node and checkpoint', async () => {
    const { code, stdout, stderr } = await run('verify');

    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`✓ verified journal table ${table}`);
    expect(stdout).toContain('305 read, 305 verified (sequenced 305, integrated 305)');
    expect(stdout).toContain('3 of 3 verified');
    expect(stdout).toContain('mutually consistent');
    expect(stdout).toContain('5 entries after the latest checkpoint');
    expect(stdout).toMatch(/root {9}\S+ \(size 305\)/);
    expect(stdout).toMatch(/throughput {3}[\d,]+ entries\/s/);
  });

  it('names the entry whose payload was edited under its old leaf hash', async () => {
    await tampered(
      [entryKey(17)],
      async () => {
        const original = await item(entryKey(17));
        await put({ ...original, entry: edited(String(original.entry)) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain('first bad entry: entry 17: stored leaf hash');
        expect(stdout).toContain('does not match the entry bytes');
      },
    );
  });

  it('names the entry whose payload and leaf hash were both edited, and the checkpoint it breaks', async () => {
    await tampered(
      [entryKey(42)],
      async () => {
        const original = await item(entryKey(42));
        const text = edited(String(original.entry));
        await put({ ...original, entry: text, leafHash: hexLeaf(text) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain('first bad entry: entry 42: leaf hash');
        expect(stdout).toContain('the entry was rewritten');
        // Every checkpoint from size 100 on signed the old entry.
        expect(stdout).toMatch(
          /checkpoint item 000000000100 \(size 100\): signed root .* the entries changed \(first bad: entry 42\)/,
        );
      },
    );
  });

  it('still finds the entries when the rewrite also covered the key record: the signed root does not lie', async () => {
    // Writers append concurrently, so which key holds index 42 is read, not assumed.
    const key = String((await item(entryKey(42))).key);
    await tampered(
      [entryKey(42), sequencingKey(key)],
      async () => {
        const original = await item(entryKey(42));
        const text = edited(String(original.entry));
        await put({ ...original, entry: text, leafHash: hexLeaf(text) });
        await put({ ...(await item(sequencingKey(key))), leafHash: hexLeaf(text) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        // The stored node over 42–43 still remembers the signed leaves.
        expect(stdout).toContain(
          'first bad entry: entries 42–43: one of them was rewritten after checkpoint 100 was signed',
        );
        expect(stdout).toMatch(/\(size 100\): signed root .* \(first bad: entries 42–43\)/);
        expect(stdout).not.toContain('node (2, 10)');
      },
    );
  });

  it('names a deleted entry (a gap in the indices)', async () => {
    await tampered(
      [entryKey(150)],
      async () => {
        await doc.send(new DeleteCommand({ TableName: table, Key: entryKey(150) }));
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain('first bad entry: entry 150 is missing (the next stored entry is 151)');
        expect(stdout).toMatch(/\(size 200\) cannot be checked: entry 150 is missing/);

        // An export copies the gap faithfully, warns, and does not verify either.
        const file = join(work, 'gap.jsonl');
        const exported = await run('export', '--out', file);
        expect(exported.code).toBe(0);
        expect(exported.stderr).toContain(
          'warning: 1 sequenced entries are missing from storage (first: 150)',
        );
        const offline = await run('verify', '--from-export', file);
        expect(offline.code).toBe(1);
        expect(offline.stdout).toContain(
          'first bad entry: entry 150 is missing (the next stored entry is 151)',
        );
      },
    );
  });

  it('names the first of two swapped entries', async () => {
    const [key60, key250] = [String((await item(entryKey(60))).key), String((await item(entryKey(250))).key)];
    await tampered(
      [entryKey(60), entryKey(250)],
      async () => {
        const [a, b] = await Promise.all([item(entryKey(60)), item(entryKey(250))]);
        const contents = (x: Record<string, unknown>) => ({
          key: x.key,
          entry: x.entry,
          leafHash: x.leafHash,
        });
        await put({ ...a, ...contents(b) });
        await put({ ...b, ...contents(a) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain(
          `first bad entry: entry 60: holds the entry sequenced as entry 250 (key "${key250}"): entries were moved, swapped or inserted`,
        );
        expect(stdout).toContain(`entry 250: holds the entry sequenced as entry 60 (key "${key60}")`);
      },
    );
  });

  it('names an entry inserted beyond the sequenced size', async () => {
    await tampered(
      [entryKey(SIZE)],
      async () => {
        const text = canonicalize(entry(SIZE));
        await put({ ...entryKey(SIZE), index: SIZE, key: 'forged', entry: text, leafHash: hexLeaf(text) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain(
          'first bad entry: entry 305: stored beyond the sequenced size 305 (inserted without being sequenced)',
        );
      },
    );
  });

  it('names an entry inserted into the sequence, shifting the rest', async () => {
    const shifted = Array.from({ length: SIZE - 290 + 1 }, (_, i) => entryKey(290 + i));
    const sequence = { pk: 'STATE', sk: 'SEQUENCE' };
    await tampered(
      [...shifted, sequence],
      async () => {
        for (let index = SIZE - 1; index >= 290; index--) {
          await put({ ...(await item(entryKey(index))), ...entryKey(index + 1), index: index + 1 });
        }
        const text = canonicalize({ ...entry(290), docId: 'claim/FORGED' });
        await put({ ...entryKey(290), index: 290, key: 'forged', entry: text, leafHash: hexLeaf(text) });
        await put({ ...(await item(sequence)), size: SIZE + 1 });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain(
          'first bad entry: entry 290: key "forged" has no sequencing record (an entry inserted into the journal)',
        );
        expect(stdout).toContain('entry 291: holds the entry sequenced as entry 290');
      },
    );
  });

  it('names a rewritten stored subtree hash by its level and index', async () => {
    await tampered(
      [treeNodeKey(3, 5)],
      async () => {
        await put({ ...(await item(treeNodeKey(3, 5))), hash: 'ab'.repeat(32) });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain(
          'node (3, 5): stored hash differs from the hash of entries 40–47, which match signed checkpoint 100: the node item was rewritten',
        );
        expect(stdout).not.toContain('first bad entry');
        expect(stdout).toContain('3 of 3 verified');
      },
    );
  });

  it('rejects a checkpoint item not signed by the trusted key', async () => {
    const forger = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    const key = { pk: 'CHECKPOINT', sk: '000000000250' };
    await tampered(
      [key],
      async () => {
        const genuine = await item({ pk: 'CHECKPOINT', sk: '000000000300' });
        const body = String(genuine.note).slice(0, String(genuine.note).indexOf('\n\n') + 1);
        const { signCheckpoint, parseCheckpoint } = await import('../../functions/journal/checkpoint.ts');
        const forged = await signCheckpoint({ ...parseCheckpoint(body), size: 250 }, forger);
        await put({ ...genuine, ...key, size: 250, note: forged });
      },
      async () => {
        const { code, stdout } = await run('verify');
        expect(code).toBe(1);
        expect(stdout).toContain(
          `checkpoint item 000000000250: not a valid checkpoint signed by ${signer.name}+`,
        );
      },
    );
  });

  it('exports the journal and verifies the export offline, with the key only', async () => {
    const file = join(work, 'journal.jsonl');
    const exported = await run('export', '--out', file);
    expect(exported.code).toBe(0);
    expect(exported.stderr).toContain('exported 305 entries and 3 checkpoints');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    // Every entry and checkpoint, then the trailer that makes a cut export detectable.
    expect(lines).toHaveLength(SIZE + CHECKPOINTS.length + 1);
    const first = await item(entryKey(0));
    expect(JSON.parse(lines[0]!)).toEqual({
      index: 0,
      key: first.key,
      leafHash: hexLeaf(String(first.entry)),
      entry: first.entry,
    });
    expect(Object.keys(JSON.parse(lines.at(-2)!) as object)).toEqual(['checkpoint']);
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({
      trailer: 'claimledger-journal-export/1',
      entries: SIZE,
      checkpoints: CHECKPOINTS.length,
    });

    // Offline: a bogus endpoint proves the export is all it reads.
    const { code, stdout } = await runJournal([
      'verify',
      '--from-export',
      file,
      '--key',
      verifierKey,
      '--endpoint',
      'http://127.0.0.1:9',
      '--state-dir',
      work,
    ]);
    expect(stdout).toContain(`✓ verified export ${file}`);
    expect(stdout).toContain('305 read, 305 verified');
    expect(stdout).toContain('3 of 3 verified');
    expect(code).toBe(0);
  });

  it('streams the export to stdout and finds an edit in it', async () => {
    const { code, stdout } = await run('export');
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    const line = JSON.parse(lines[123]!) as { entry: string };
    lines[123] = JSON.stringify({ ...line, entry: edited(line.entry) });
    const file = join(work, 'edited.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const verified = await run('verify', '--from-export', file);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain('first bad entry: entry 123 (line 124): stored leaf hash');
  });

  it('rejects a truncated or damaged export with the line number, not a stack trace', async () => {
    const file = join(work, 'whole.jsonl');
    expect((await run('export', '--out', file)).code).toBe(0);
    const text = readFileSync(file, 'utf8');

    const truncated = join(work, 'truncated.jsonl');
    writeFileSync(truncated, text.slice(0, text.indexOf('\n', 5000) + 40));
    const cut = await run('verify', '--from-export', truncated);
    expect(cut.code).toBe(1);
    expect(cut.stdout).toMatch(
      /^✗ export .*truncated\.jsonl: line \d+: the last line has no newline: the export is truncated/,
    );
    expect(cut.stdout).not.toContain('    at ');

    const atLineEnd = join(work, 'no-checkpoints.jsonl');
    writeFileSync(atLineEnd, text.slice(0, text.indexOf('\n', 5000) + 1));
    const noCheckpoints = await run('verify', '--from-export', atLineEnd);
    expect(noCheckpoints.code).toBe(1);
    expect(noCheckpoints.stdout).toContain('the export has no checkpoint lines: it is truncated');

    const garbage = join(work, 'garbage.jsonl');
    const lines = text.split('\n');
    lines[7] = '{"index": 7, "oops';
    writeFileSync(garbage, lines.join('\n'));
    const damaged = await run('verify', '--from-export', garbage);
    expect(damaged.code).toBe(1);
    expect(damaged.stdout).toContain('line 8: not JSON');
    expect(damaged.stderr).toBe('');
  });
});
