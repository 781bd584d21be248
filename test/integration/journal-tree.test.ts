import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../functions/journal/bytes.ts';
import { openCheckpoint } from '../../functions/journal/checkpoint.ts';
import { leafHash } from '../../functions/journal/entry.ts';
import {
  inclusionProofNodes,
  rootAt,
  rootFromLeafHashes,
  rootFromRightEdge,
} from '../../functions/journal/merkle.ts';
import { parseVerifierKey } from '../../functions/journal/note.ts';
import { ProofError, verifyConsistency, verifyInclusion } from '../../functions/journal/verify.ts';
import {
  JOURNAL_KEY_FILE,
  type JournalKey,
  loadOrCreateJournalKey,
} from '../../functions/local/journal-key.ts';
import {
  CheckpointsRepository,
  InconsistentCheckpointError,
  type StoredCheckpoint,
} from '../../functions/store/checkpoints.repository.ts';
import {
  BatchGetCommand,
  type DocumentClient,
  PutCommand,
  UpdateCommand,
} from '../../functions/store/dynamo.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { checkpointKey, treeNodeKey } from '../../functions/store/journal-keys.ts';
import {
  JournalIntegrityError,
  JournalTreeRepository,
} from '../../functions/store/journal-tree.repository.ts';
import { crashingClient } from '../support/crashing-client.ts';
import { testEntry } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/journal';

const entry = testEntry;

// Deterministic "random" indices, so a failure reproduces.
function* pseudoRandom(seed: number): Generator<number> {
  let state = seed;
  for (;;) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    yield state;
  }
}

describe('journal tree and checkpoints against DynamoDB Local', () => {
  let doc: DocumentClient;
  let table: string;
  let journal: JournalRepository;
  let tree: JournalTreeRepository;
  let checkpoints: CheckpointsRepository;
  let key: JournalKey;
  let stateDir: string;
  let first: StoredCheckpoint;
  let second: StoredCheckpoint;

  /** Appends `count` entries numbered from `from`, 8 writers at a time. */
  async function appendEntries(from: number, count: number): Promise<void> {
    let next = from;
    const end = from + count;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < end) {
          const n = next++;
          await journal.append(`k${n}`, entry(n));
        }
      }),
    );
  }

  async function storedLeafHashes(size: number): Promise<Uint8Array[]> {
    const entries = await journal.entries(Array.from({ length: size }, (_, i) => i));
    expect(entries.length).toBe(size);
    return entries.map((e) => leafHash(utf8Encode(e.entry)));
  }

  async function integrateInBatches(maxBatch: number): Promise<number> {
    let batches = 0;
    for (;;) {
      const { integrated } = await tree.integrate(maxBatch);
      if (integrated === 0) return batches;
      batches++;
    }
  }

  const open = (checkpoint: StoredCheckpoint) =>
    openCheckpoint(checkpoint.note, key.verifierKey, { origin: ORIGIN }).checkpoint;

  beforeAll(async () => {
    const tables = await freshTables();
    doc = tables.doc;
    table = tables.names.journal;
    journal = new JournalRepository(doc, table);
    tree = new JournalTreeRepository(doc, table, journal);
    checkpoints = new CheckpointsRepository(doc, table, tree);
    stateDir = mkdtempSync(join(tmpdir(), 'journal-key-'));
    key = loadOrCreateJournalKey(stateDir, ORIGIN);
    await appendEntries(0, 300);
  });

  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('integrates in several batches to the root of the stored leaf hashes', async () => {
    expect((await tree.treeState()).size).toBe(0);
    expect(await integrateInBatches(70)).toBe(5);

    const state = await tree.treeState();
    expect(state.size).toBe(300);
    const expected = rootFromLeafHashes(await storedLeafHashes(300));
    expect(toHex(state.root)).toBe(toHex(expected));
    expect(toHex(await rootAt(300, tree.nodeReader()))).toBe(toHex(expected));
    // Roots of earlier sizes come from the same stored nodes.
    expect(toHex(await rootAt(137, tree.nodeReader()))).toBe(
      toHex(rootFromLeafHashes((await storedLeafHashes(300)).slice(0, 137))),
    );
  });

  it('publishes a signed checkpoint whose root proves the inclusion of random entries', async () => {
    first = await checkpoints.publishCheckpoint(key.signer, ORIGIN);
    const checkpoint = open(first);
    expect(checkpoint.size).toBe(300);
    expect((await checkpoints.latest())?.note).toBe(first.note);
    // Nothing new: publishing again returns the same checkpoint instead of signing another.
    expect((await checkpoints.publishCheckpoint(key.signer, ORIGIN)).note).toBe(first.note);

    const leaves = await storedLeafHashes(300);
    const random = pseudoRandom(42);
    const send = vi.spyOn(doc, 'send');
    try {
      for (let i = 0; i < 25; i++) {
        const index = random.next().value! % 300;
        send.mockClear();
        const proof = await tree.inclusionProof(index, checkpoint.size);
        // O(log n) reads in one BatchGet (the other read is the tree state's size check).
        const batchGets = send.mock.calls.filter(([command]) => command instanceof BatchGetCommand);
        expect(batchGets.length).toBe(1);
        verifyInclusion(leaves[index]!, index, checkpoint.size, proof, checkpoint.rootHash);
      }
    } finally {
      send.mockRestore();
    }
    // Proofs in an older tree size verify against that size's root.
    const proof = await tree.inclusionProof(5, 137);
    verifyInclusion(leaves[5]!, 5, 137, proof, rootFromLeafHashes(leaves.slice(0, 137)));
    await expect(tree.inclusionProof(0, 301)).rejects.toThrow(/beyond the integrated tree/);
  });

  it('proves many entries at once with one tree-state read and their shared nodes read together', async () => {
    const leaves = await storedLeafHashes(300);
    const root = rootFromLeafHashes(leaves);
    const indices = [0, 1, 2, 57, 58, 128, 199, 255, 256, 298, 299];
    const send = vi.spyOn(doc, 'send');
    let proofs: Uint8Array[][];
    try {
      proofs = await tree.inclusionProofs(indices, 300);
      // 11 proofs of ~9 nodes each, but they share most: one GetItem and one BatchGet.
      expect(send.mock.calls).toHaveLength(2);
    } finally {
      send.mockRestore();
    }
    for (const [i, index] of indices.entries()) {
      verifyInclusion(leaves[index]!, index, 300, proofs[i]!, root);
      expect(proofs[i]!.map(toHex)).toEqual((await tree.inclusionProof(index, 300)).map(toHex));
    }
    expect(await tree.inclusionProofs([], 300)).toEqual([]);
    await expect(tree.inclusionProofs([3, 300], 300)).rejects.toThrow(/outside a tree of size 300/);
  });

  it('proves two published checkpoints consistent', async () => {
    await appendEntries(300, 45);
    await integrateInBatches(20);
    second = await checkpoints.publishCheckpoint(key.signer, ORIGIN);
    expect(second.size).toBe(345);
    expect((await checkpoints.latest())?.size).toBe(345);

    const older = open(first);
    const newer = open(second);
    const proof = await tree.consistencyProof(older.size, newer.size);
    verifyConsistency(older.size, newer.size, proof, older.rootHash, newer.rootHash);
    expect(() =>
      verifyConsistency(older.size, newer.size, proof, older.rootHash, new Uint8Array(32)),
    ).toThrow(ProofError);
  });

  it('lets only one of two concurrent integrators advance the state, to the same tree', async () => {
    await appendEntries(345, 30);
    const other = new JournalTreeRepository(doc, table, journal);
    const results = await Promise.all([tree.integrate(), other.integrate()]);
    // Both start from size 345; the conditional state write lets exactly one count its batch.
    expect(results.reduce((sum, r) => sum + r.integrated, 0)).toBe(30);
    await tree.integrateAll();
    const state = await tree.treeState();
    expect(state.size).toBe(375);
    expect(toHex(state.root)).toBe(toHex(rootFromLeafHashes(await storedLeafHashes(375))));
  });

  it('recovers from a crash between the node writes and the state write, to the same root', async () => {
    await appendEntries(375, 33);
    const before = await tree.treeState();
    // A client that dies when the integrator moves the state: node writes went through.
    const crashing = crashingClient(
      doc,
      (command) => command instanceof UpdateCommand && command.input.Key?.sk === 'TREE',
      'simulated crash',
    );
    await expect(new JournalTreeRepository(crashing, table, journal).integrate()).rejects.toThrow(
      'simulated crash',
    );
    expect((await tree.treeState()).size).toBe(before.size);
    // The crash left nodes of the unintegrated range behind (level 1 over leaves 376 and 377).
    expect((await tree.nodeReader()([{ level: 1, index: 188 }]))[0]).toHaveLength(32);

    const { integrated, state } = await tree.integrate();
    expect(integrated).toBe(33);
    expect(state.size).toBe(408);
    expect(toHex(state.root)).toBe(toHex(rootFromLeafHashes(await storedLeafHashes(408))));
    // And the checkpoint chain carries on consistently.
    const third = await checkpoints.publishCheckpoint(key.signer, ORIGIN);
    const proof = await tree.consistencyProof(second.size, third.size);
    verifyConsistency(second.size, third.size, proof, open(second).rootHash, open(third).rootHash);
  });

  it('fails proof verification when a stored node hash is rewritten', async () => {
    const latest = open((await checkpoints.latest())!);
    const index = 123;
    const leaves = await storedLeafHashes(latest.size);
    const plan = inclusionProofNodes(index, latest.size);
    const target = plan.reads.find((node) => node.level > 1)!;
    const { pk } = treeNodeKey(target.level, target.index);
    const [original] = await tree.nodeReader()([target]);

    verifyInclusion(
      leaves[index]!,
      index,
      latest.size,
      await tree.inclusionProof(index, latest.size),
      latest.rootHash,
    );
    const forged = new Uint8Array(original!);
    forged[0]! ^= 1;
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { pk, sk: 'N', level: target.level, index: target.index, hash: toHex(forged) },
      }),
    );
    try {
      const proof = await tree.inclusionProof(index, latest.size);
      expect(() => verifyInclusion(leaves[index]!, index, latest.size, proof, latest.rootHash)).toThrow(
        ProofError,
      );
    } finally {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { pk, sk: 'N', level: target.level, index: target.index, hash: toHex(original!) },
        }),
      );
    }
  });

  it('refuses to sign a tree state tampered to an inconsistent root', async () => {
    await appendEntries(408, 10);
    await tree.integrateAll();
    const honest = await tree.treeState();
    const before = await checkpoints.latest();

    // A forged state that is self-consistent (its edge folds to its root) but is not the tree.
    const edge = honest.edge.map((hash, i) => (i === 0 ? fromHex('ab'.repeat(32)) : hash));
    const forgedRoot = rootFromRightEdge(edge);
    const setState = (root: Uint8Array, hashes: Uint8Array[]) =>
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: 'STATE', sk: 'TREE' },
          UpdateExpression: 'SET #root = :root, #edge = :edge',
          ExpressionAttributeNames: { '#root': 'root', '#edge': 'edge' },
          ExpressionAttributeValues: { ':root': toHex(root), ':edge': hashes.map(toHex) },
        }),
      );
    await setState(forgedRoot, edge);
    try {
      await expect(checkpoints.publishCheckpoint(key.signer, ORIGIN)).rejects.toThrow(
        InconsistentCheckpointError,
      );
      expect((await checkpoints.latest())?.note).toBe(before?.note);

      // A root that does not even match the stored edge stops the integrator too.
      await setState(fromHex('cd'.repeat(32)), honest.edge);
      await appendEntries(418, 1);
      await expect(tree.integrate()).rejects.toThrow(JournalIntegrityError);
    } finally {
      await setState(honest.root, honest.edge);
    }
    await tree.integrateAll();
    const next = await checkpoints.publishCheckpoint(key.signer, ORIGIN);
    expect(next.size).toBe(419);
  });

  it('verifies the latest stored note again once it is edited, even right after signing it', async () => {
    // The publisher remembers the note it signed or verified last; an edit is other text.
    const latest = (await checkpoints.latest())!;
    expect(latest.size).toBe(419);
    const edited = latest.note.replace('\n419\n', '\n418\n');
    expect(edited).not.toBe(latest.note);
    const setNote = (note: string) =>
      doc.send(
        new UpdateCommand({
          TableName: table,
          Key: checkpointKey(latest.size),
          UpdateExpression: 'SET #note = :note',
          ExpressionAttributeNames: { '#note': 'note' },
          ExpressionAttributeValues: { ':note': note },
        }),
      );
    await appendEntries(419, 1);
    await tree.integrateAll();
    await setNote(edited);
    try {
      await expect(checkpoints.publishCheckpoint(key.signer, ORIGIN)).rejects.toThrow(
        /latest checkpoint \(size 419\) does not verify under the signing key/,
      );
    } finally {
      await setNote(latest.note);
    }
    expect((await checkpoints.publishCheckpoint(key.signer, ORIGIN)).size).toBe(420);
  });
});

describe('local journal signing key', () => {
  it('is created once as a one-line 0600 file and loaded again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-key-'));
    try {
      const stateDir = join(dir, 'state');
      const created = loadOrCreateJournalKey(stateDir, ORIGIN);
      expect(created.created).toBe(true);
      const file = join(stateDir, JOURNAL_KEY_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const text = readFileSync(file, 'utf8');
      expect(text.split('\n')).toEqual([expect.stringMatching(/^PRIVATE\+KEY\+/), '']);

      const loaded = loadOrCreateJournalKey(stateDir, ORIGIN);
      expect(loaded.created).toBe(false);
      expect(loaded.verifierKey).toBe(created.verifierKey);
      expect(parseVerifierKey(loaded.verifierKey).name).toBe(ORIGIN);
      expect(() => loadOrCreateJournalKey(stateDir, 'another/name')).toThrow(/not "another\/name"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
