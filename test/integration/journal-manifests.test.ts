import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../functions/journal/bytes.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../functions/journal/local-signer.ts';
import { hashLeaf, rootFromLeafHashes } from '../../functions/journal/merkle.ts';
import { verifierKeyString } from '../../functions/journal/note.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { BatchWriteCommand, type DocumentClient } from '../../functions/store/dynamo.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { crashingClient } from '../support/crashing-client.ts';
import { runJournal } from '../support/journal-cli.ts';
import { testEntry as entry, stageOrphan } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'manifests.test/journal';

/**
 * The same client, except that its BatchWrites fail once `survives` have gone through: a
 * sequencer dying while it writes a manifest's entries (after 0: before writing any).
 */
function dyingClient(doc: DocumentClient, survives = 0): DocumentClient {
  let left = survives;
  return crashingClient(
    doc,
    (command) => command instanceof BatchWriteCommand && left-- <= 0,
    'the sequencer died here',
  );
}

// Rounds larger than 33 entries commit a manifest (the counter and a list of keys and leaf
// hashes, in a 2-item transaction) and write the entries from it afterwards. These tests make
// every round do so (transactionBatch 0), to check that path on its own.
describe('journal sequencing by manifest, against DynamoDB Local', () => {
  let doc: DocumentClient;
  let table: string;
  let endpoint: string;
  let journal: JournalRepository;
  let tree: JournalTreeRepository;
  let work: string;

  beforeAll(async () => {
    const tables = await freshTables();
    doc = tables.doc;
    table = tables.names.journal;
    endpoint = tables.endpoint;
    journal = new JournalRepository(doc, table, { transactionBatch: 0 });
    tree = new JournalTreeRepository(doc, table, journal);
    work = mkdtempSync(join(tmpdir(), 'journal-manifests-'));
  });

  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('gives 8 concurrent writers (separate processes) dense, unique indices, and the tree verifies', async () => {
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        const own = new JournalRepository(doc, table, { transactionBatch: 0 });
        const receipts = [];
        for (let i = 0; i < 40; i++) receipts.push(await own.append(`m${w}-${i}`, entry(w * 1000 + i)));
        return receipts;
      })(),
    );
    const receipts = (await Promise.all(writers)).flat();
    const indices = receipts.map((r) => r.index).sort((a, b) => a - b);
    expect(indices).toEqual(Array.from({ length: 320 }, (_, i) => i));
    expect(await journal.size()).toBe(320);
    expect(await journal.writtenSize()).toBe(320);

    const stored = await journal.entries(indices);
    expect(stored).toHaveLength(320);
    for (const r of receipts) expect(stored[r.index]?.key).toBe(r.key);
    const state = await tree.integrateAll();
    expect(state.size).toBe(320);
    expect(toHex(state.root)).toBe(
      toHex(rootFromLeafHashes(stored.map((e) => hashLeaf(utf8Encode(e.entry))))),
    );
  }, 60_000);

  it('finishes the manifest of a sequencer that died while writing it, and nothing is lost, duplicated or flagged meanwhile', async () => {
    const start = await journal.size();
    // Three entries staged by writers that died too, then a sequencer that dies after
    // committing their manifest, before writing any entry item.
    const orphans = [];
    for (const [i, key] of ['orphan-a', 'orphan-b', 'orphan-c'].entries()) {
      orphans.push(await stageOrphan(doc, journal, key, entry(900 + i)));
    }
    const dying = new JournalRepository(dyingClient(doc), table, { transactionBatch: 0 });
    await expect(dying.sweepPending()).rejects.toThrow('the sequencer died here');

    expect(await journal.size()).toBe(start + 3);
    expect(await journal.writtenSize()).toBe(start);
    expect(await journal.entries([start, start + 1, start + 2])).toEqual([]);

    // Meanwhile the integrator builds the tree up to the written entries, without an error...
    expect((await tree.integrateAll()).size).toBe(start);
    // ...and an auditor's verify finds nothing wrong: the entries being written are not missing.
    const signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    const checkpoints = new CheckpointsRepository(doc, table, tree);
    await checkpoints.publishCheckpoint(signer, ORIGIN);
    const connection = ['--endpoint', endpoint, '--journal-table', table, '--state-dir', join(work, 'none')];
    const key = verifierKeyString(signer.name, signer.publicKey);
    const during = await runJournal(['verify', ...connection, '--key', key]);
    expect(during.stderr).not.toContain('missing');
    expect(during.code).toBe(0);
    expect(during.stdout).toContain('3 of them still being written by a sequencing round (not checked)');

    // The next writer's round finishes the manifest first, then sequences its own entry after it.
    const next = await new JournalRepository(doc, table).append('after-the-crash', entry(999));
    expect(next.index).toBe(start + 3);
    const found = await Promise.all(orphans.map((o) => journal.findByKey(o.key)));
    expect(found.map((f) => f?.index).sort()).toEqual([start, start + 1, start + 2]);
    for (const [i, orphan] of orphans.entries()) expect(found[i]?.leafHash).toBe(orphan.leafHash);
    expect(await journal.writtenSize()).toBe(start + 4);
    expect((await tree.integrateAll()).size).toBe(start + 4);
    await checkpoints.publishCheckpoint(signer, ORIGIN);
    const after = await runJournal(['verify', ...connection, '--key', key]);
    expect(after.code).toBe(0);
    // No pending item is left to be sequenced twice.
    expect(await journal.sweepPending()).toBe(0);
    expect(await journal.size()).toBe(start + 4);
  }, 60_000);

  it('keeps every staged entry, once, at dense indices through random appends, orphans and sequencer deaths (property)', async () => {
    let n = 0;
    const op = fc.oneof(
      fc.record({ kind: fc.constant('append' as const), byManifest: fc.boolean() }),
      fc.record({ kind: fc.constant('orphan' as const) }),
      fc.record({ kind: fc.constant('die' as const), survives: fc.integer({ min: 0, max: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 2, maxLength: 8 }), async (ops) => {
        const start = await journal.size();
        const staged: string[] = [];
        const acknowledged = new Map<string, number>();
        for (const o of ops) {
          const key = `prop-${n++}`;
          if (o.kind === 'append') {
            const writer = new JournalRepository(doc, table, o.byManifest ? { transactionBatch: 0 } : {});
            acknowledged.set(key, (await writer.append(key, entry(n))).index);
            staged.push(key);
          } else if (o.kind === 'orphan') {
            await stageOrphan(doc, journal, key, entry(n));
            staged.push(key);
          } else {
            const dying = new JournalRepository(dyingClient(doc, o.survives), table, { transactionBatch: 0 });
            await dying.sweepPending().catch(() => undefined);
          }
        }
        // A live writer afterwards finishes whatever a dead sequencer left, then its own entry.
        const last = `prop-${n++}`;
        acknowledged.set(last, (await new JournalRepository(doc, table).append(last, entry(n))).index);
        staged.push(last);
        await new JournalRepository(doc, table).sweepPending();

        const size = await journal.size();
        expect(await journal.writtenSize()).toBe(size);
        expect(size - start).toBe(staged.length);
        const stored = await journal.entries(Array.from({ length: size - start }, (_, i) => start + i));
        expect(stored.map((e) => e.index)).toEqual(Array.from({ length: size - start }, (_, i) => start + i));
        expect(stored.map((e) => e.key).sort()).toEqual([...staged].sort());
        for (const [key, index] of acknowledged) expect(stored[index - start]?.key).toBe(key);
      }),
      { numRuns: 15 },
    );
    expect((await tree.integrateAll()).size).toBe(await journal.size());
  }, 120_000);

  it('sequences a round of large entries (more than a transaction may carry) by manifest', async () => {
    const start = await journal.size();
    // 14 entries of ~300 KB: over DynamoDB's 4 MB per transaction, though under 33 entries.
    // Spread over 16 partitions (the stack's setting), one round reads them all.
    const writer = new JournalRepository(doc, table, { pendingShards: 16 });
    const keys = Array.from({ length: 14 }, (_, i) => `large-${i}`);
    for (const [i, key] of keys.entries()) {
      await stageOrphan(doc, writer, key, entry(2000 + i, { blob: 'x'.repeat(300 * 1024) }));
    }
    expect(await writer.sweepPending()).toBe(14);
    const stored = await journal.entries(keys.map((_, i) => start + i));
    expect(stored.map((e) => e.key).sort()).toEqual([...keys].sort());
    expect(await journal.writtenSize()).toBe(start + 14);
  }, 60_000);

  it('refuses to go direct while a manifest is being written, so no index is taken twice', async () => {
    const start = await journal.size();
    const writer = new JournalRepository(doc, table);
    await writer.append('learns-the-size', entry(1000)); // its next append would go direct
    await stageOrphan(doc, journal, 'orphan-d', entry(1001));
    const dying = new JournalRepository(dyingClient(doc), table, { transactionBatch: 0 });
    await expect(dying.sweepPending()).rejects.toThrow('the sequencer died here');

    const direct = await writer.append('would-be-direct', entry(1002));
    expect(direct.index).toBe(start + 2);
    expect((await journal.findByKey('orphan-d'))?.index).toBe(start + 1);
    expect((await journal.entries([start + 1, start + 2])).map((e) => e.key)).toEqual([
      'orphan-d',
      'would-be-direct',
    ]);
  }, 30_000);
});
