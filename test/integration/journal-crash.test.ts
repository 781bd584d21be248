import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  generateEd25519KeyPair,
  localSignerFromKeyString,
  signerKeyString,
} from '../../functions/journal/local-signer.ts';
import { verifierKeyString } from '../../functions/journal/note.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { integrateAndPublish } from '../../functions/store/journal-publisher.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { runJournal } from '../support/journal-cli.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/crash';
const root = join(import.meta.dirname, '..', '..');

/** Starts a writer process; resolves with every acknowledgement it printed once it is SIGKILLed. */
function writerKilledAfter(ms: number, args: string[]): Promise<Map<string, number>> {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'test/support/journal-crash-writer.ts'), ...args],
    { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] },
  );
  const acked = new Map<string, number>();
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [, key, index] = line.split(' ');
      if (key && index) acked.set(key, Number(index));
    }
  });
  // Killed once it has acknowledged something, at a random moment after that.
  const timer = setInterval(() => {
    if (acked.size > 0) {
      clearInterval(timer);
      setTimeout(() => child.kill('SIGKILL'), Math.random() * ms);
    }
  }, 20);
  return new Promise((resolve) => child.on('exit', () => resolve(acked)));
}

describe('journal under writers killed at arbitrary points (SIGKILL, real processes)', () => {
  it('loses no acknowledged entry, keeps indices dense, and verifies', async () => {
    const { doc, names } = await freshTables();
    const endpoint = inject('dynamoEndpoint');
    const { privateKey } = generateEd25519KeyPair();
    const signerKey = signerKeyString(ORIGIN, privateKey);
    const signer = localSignerFromKeyString(signerKey);

    // Rounds of 3 concurrent writers, each killed somewhere in its append/integrate loop.
    const acked = new Map<string, number>();
    for (let round = 0; round < 4; round++) {
      const writers = [0, 1, 2].map((w) =>
        writerKilledAfter(400, [
          '--endpoint',
          endpoint,
          '--table',
          names.journal,
          '--writer',
          `r${round}w${w}`,
          '--signer-key',
          signerKey,
          '--origin',
          ORIGIN,
          // One writer of three sequences by manifest, to be killed between its steps too.
          ...(w === 2 ? ['--transaction-batch', '0'] : []),
        ]),
      );
      for (const result of await Promise.all(writers)) for (const [k, v] of result) acked.set(k, v);
    }
    expect(acked.size).toBeGreaterThan(10);

    // A survivor appends once more, then an integration round sweeps whatever the dead left
    // staged and integrates it all.
    const journal = new JournalRepository(doc, names.journal);
    const tree = new JournalTreeRepository(doc, names.journal, journal);
    const checkpoints = new CheckpointsRepository(doc, names.journal, tree);
    await journal.append('survivor', {
      type: 'treatment.put',
      docId: 'member/MS/treatment/T0',
      docRevision: 1,
      actor: { sub: 'survivor', role: 'analyst' },
      at: new Date().toISOString(),
      payload: {},
    });
    const published = await integrateAndPublish({ journal, tree, checkpoints, signer, origin: ORIGIN });
    const size = await journal.size();
    expect(published.size).toBe(size);

    // Every acknowledged entry is where its receipt said, and the indices are dense.
    const stored = await journal.entries(Array.from({ length: size }, (_, i) => i));
    expect(stored.map((e) => e.index)).toEqual(Array.from({ length: size }, (_, i) => i));
    const byKey = new Map(stored.map((e) => [e.key, e.index]));
    for (const [key, index] of acked) expect(byKey.get(key), key).toBe(index);
    expect(new Set(stored.map((e) => e.key)).size).toBe(size);

    // And the independent verifier agrees: tree, nodes and every signed checkpoint.
    const { code, stdout, stderr } = await runJournal([
      'verify',
      '--endpoint',
      endpoint,
      '--journal-table',
      names.journal,
      '--key',
      verifierKeyString(ORIGIN, signer.publicKey),
      '--origin',
      ORIGIN,
      '--state-dir',
      mkdtempSync(join(tmpdir(), 'crash-')),
    ]);
    expect(stderr + stdout).toContain('verified');
    expect(code, stdout + stderr).toBe(0);
  }, 120_000);
});
