import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CheckpointRecord,
  type EntryRecord,
  entryProblem,
  interiorHashHex,
  JournalVerifier,
  leafHashHex,
  nodeKey,
  type VerifierOptions,
} from '../../../functions/cli/journal-verifier.ts';
import { toHex, utf8Encode } from '../../../functions/journal/bytes.ts';
import { canonicalize } from '../../../functions/journal/canonical-json.ts';
import { signCheckpoint } from '../../../functions/journal/checkpoint.ts';
import { type JournalEntry, leafHash } from '../../../functions/journal/entry.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../../functions/journal/local-signer.ts';
import {
  appendLeaves,
  hashChildren,
  hashLeaf,
  rightEdgeNodes,
  rootFromLeafHashes,
  type StoredNode,
} from '../../../functions/journal/merkle.ts';
import {
  type NoteSigner,
  type NoteVerifierKey,
  parseVerifierKey,
  verifierKeyString,
} from '../../../functions/journal/note.ts';
import { testEntry } from '../../support/journal-entries.ts';

const ORIGIN = 'unit.test/journal';

const entry = (n: number): JournalEntry => testEntry(n, { note: `entry ${n}` });

/** A journal as storage holds it: records with key records, every stored node, the leaf hashes. */
function journalOf(size: number): {
  records: EntryRecord[];
  leaves: Uint8Array[];
  nodes: Map<string, string>;
} {
  const records: EntryRecord[] = [];
  const leaves: Uint8Array[] = [];
  for (let n = 0; n < size; n++) {
    const text = canonicalize(entry(n));
    const leaf = leafHash(utf8Encode(text));
    leaves.push(leaf);
    records.push({
      index: n,
      claimedIndex: n,
      key: `k${n}`,
      leafHash: toHex(leaf),
      entry: text,
      sequencing: { index: n, leafHash: toHex(leaf) },
    });
  }
  const { completed } = appendLeaves({ size: 0, hashes: [] }, leaves);
  const nodes = new Map(
    completed
      .filter((node) => node.level > 0)
      .map((node: StoredNode) => [nodeKey(node.level, node.index), toHex(node.hash)]),
  );
  return { records, leaves, nodes };
}

describe('journal verifier', () => {
  let signer: NoteSigner;
  let key: NoteVerifierKey;

  const checkpoint = async (
    leaves: Uint8Array[],
    size: number,
    by: NoteSigner = signer,
  ): Promise<CheckpointRecord> => ({
    note: await signCheckpoint(
      { origin: ORIGIN, size, rootHash: rootFromLeafHashes(leaves.slice(0, size)) },
      by,
    ),
    source: `checkpoint ${size}`,
  });

  const options = (overrides: Partial<VerifierOptions> = {}): VerifierOptions => ({
    key,
    origin: ORIGIN,
    checkpoints: [],
    ...overrides,
  });

  function verify(records: EntryRecord[], opts: VerifierOptions, nodes?: Map<string, string>) {
    const verifier = new JournalVerifier(opts);
    for (let i = 0; i < records.length; i += 7) verifier.addEntries(records.slice(i, i + 7), nodes);
    return verifier.finish();
  }

  const treeOf = (leaves: Uint8Array[]) => {
    const { edge, root } = appendLeaves({ size: 0, hashes: [] }, leaves);
    return { size: leaves.length, root, edge: edge.hashes };
  };

  beforeAll(() => {
    signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    key = parseVerifierKey(verifierKeyString(signer.name, signer.publicKey));
  });

  describe('hashing', () => {
    it('computes RFC 9162 leaf and interior hashes like merkle.ts', () => {
      const text = canonicalize(entry(1));
      expect(leafHashHex(text)).toBe(toHex(hashLeaf(utf8Encode(text))));
      const a = hashLeaf(utf8Encode('a'));
      const b = hashLeaf(utf8Encode('b'));
      expect(interiorHashHex(toHex(a), toHex(b))).toBe(toHex(hashChildren(a, b)));
    });

    it('reproduces the root at every checkpoint size from 1 to 70', async () => {
      const { records, leaves } = journalOf(70);
      const checkpoints = await Promise.all(Array.from({ length: 70 }, (_, i) => checkpoint(leaves, i + 1)));

      const report = verify(records, options({ checkpoints }));

      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.checkpointsVerified).toBe(70);
      expect(toHex(report.root)).toBe(toHex(rootFromLeafHashes(leaves)));
      expect(report.size).toBe(70);
    });

    it('verifies an empty journal with a checkpoint of size 0', async () => {
      const report = verify([], options({ checkpoints: [await checkpoint([], 0)] }));
      expect(report.ok).toBe(true);
      expect(report.checkpointsVerified).toBe(1);
    });
  });

  describe('entryProblem', () => {
    it('accepts the canonical encoding of a valid entry', () => {
      expect(entryProblem(canonicalize(entry(3)))).toBeNull();
      // Integer-like keys: JSON.parse reorders them, RFC 8785 sorts them as strings.
      expect(entryProblem(canonicalize({ ...entry(3), payload: { '1': 1, '10': 2, '2': 3 } }))).toBeNull();
    });

    it.each([
      ['not JSON', '{"type":', 'the entry is not JSON'],
      ['whitespace', JSON.stringify(entry(1), null, 1), 'not the RFC 8785 canonical encoding'],
      [
        'unsorted keys',
        JSON.stringify({ ...entry(1), type: 'treatment.put' }),
        'not the RFC 8785 canonical encoding',
      ],
      ['a schema violation', canonicalize({ ...entry(1), docRevision: 0 }), 'docRevision'],
      ['an unknown field', canonicalize({ ...entry(1), extra: true }), 'extra'],
      ['an escaped lone surrogate', canonicalize(entry(1)).replace('entry 1', '\\ud800'), 'lone'],
    ])('rejects %s', (_what, text, message) => {
      expect(entryProblem(text)).toContain(message);
    });
  });

  describe('finds what is wrong and names the entry', () => {
    it('an entry edited under its old leaf hash', () => {
      const { records } = journalOf(20);
      records[5] = { ...records[5]!, entry: canonicalize({ ...entry(5), payload: { n: 500 } }) };

      const report = verify(records, options());

      expect(report.ok).toBe(false);
      expect(report.firstBadEntry).toBe(5);
      expect(report.problems[0]?.message).toMatch(
        /^entry 5: stored leaf hash .* does not match the entry bytes/,
      );
    });

    it('any flipped character of any entry, by its index', () => {
      const { records } = journalOf(12);
      fc.assert(
        fc.property(fc.nat(11), fc.nat(500), fc.integer({ min: 1, max: 94 }), (index, at, shift) => {
          const copy = records.map((r) => ({ ...r }));
          const text = copy[index]!.entry;
          const position = at % text.length;
          const flipped = String.fromCharCode(((text.charCodeAt(position) - 32 + shift) % 95) + 32);
          copy[index]!.entry = text.slice(0, position) + flipped + text.slice(position + 1);

          const report = verify(copy, options());

          expect(report.ok).toBe(false);
          expect(report.firstBadEntry).toBe(index);
        }),
        { numRuns: 200 },
      );
    });

    it('a gap, a duplicate and a moved item', () => {
      const { records } = journalOf(10);

      const gap = verify([...records.slice(0, 4), ...records.slice(6)], options({ sequencedSize: 10 }));
      expect(gap.problems[0]?.message).toBe('entries 4–5 are missing (the next stored entry is 6)');

      const duplicate = verify([...records.slice(0, 4), records[2]!, ...records.slice(4)], options());
      expect(duplicate.firstBadEntry).toBe(2);
      expect(duplicate.problems[0]?.message).toContain('entry 2: out of order: it comes after entry 3');

      const moved = records.map((r) => (r.index === 7 ? { ...r, claimedIndex: 8 } : r));
      expect(verify(moved, options()).problems[0]?.message).toBe(
        'entry 7: the item under index 7 says it is entry 8 (moved)',
      );

      const short = verify(records.slice(0, 8), options({ sequencedSize: 10 }));
      expect(short.problems[0]?.message).toBe('entries 8–9 are missing (the journal ends early)');
    });

    it('entries whose key records disagree: inserted, swapped, rewritten', () => {
      const { records } = journalOf(10);
      const inserted = records.map((r) => (r.index === 3 ? { ...r, sequencing: null } : r));
      expect(verify(inserted, options()).problems[0]?.message).toBe(
        'entry 3: key "k3" has no sequencing record (an entry inserted into the journal)',
      );

      const swapped = records.map((r) =>
        r.index === 4 ? { ...r, sequencing: { index: 9, leafHash: r.leafHash } } : r,
      );
      expect(verify(swapped, options()).problems[0]?.message).toContain(
        'entry 4: holds the entry sequenced as entry 9 (key "k4")',
      );

      const rewritten = records.map((r) =>
        r.index === 6 ? { ...r, sequencing: { index: 6, leafHash: 'ab'.repeat(32) } } : r,
      );
      expect(verify(rewritten, options()).problems[0]?.message).toMatch(
        /^entry 6: leaf hash .* the entry was rewritten$/,
      );
    });

    it('a rewritten node under good entries, by its level and index', async () => {
      const { records, leaves, nodes } = journalOf(40);
      nodes.set(nodeKey(2, 3), 'cd'.repeat(32));
      const checkpoints = [await checkpoint(leaves, 32)];

      const report = verify(records, options({ checkpoints, tree: treeOf(leaves) }), nodes);

      expect(report.problems.map((p) => p.message)).toEqual([
        'node (2, 3): stored hash differs from the hash of entries 12–15, which match signed checkpoint 32: the node item was rewritten',
      ]);
      expect(report.firstBadEntry).toBeUndefined();
      // Every interior node of the tree of 40: all but the right edge's two are complete.
      expect(report.nodesChecked).toBe(40 - rightEdgeNodes(40).length);
    });

    it('a missing node, and a node no checkpoint covers yet', async () => {
      const { records, leaves, nodes } = journalOf(40);
      nodes.delete(nodeKey(1, 0));
      nodes.set(nodeKey(3, 4), 'ef'.repeat(32));

      const report = verify(
        records,
        options({ checkpoints: [await checkpoint(leaves, 16)], tree: treeOf(leaves) }),
        nodes,
      );

      expect(report.problems.map((p) => p.message)).toEqual([
        'node (1, 0) over entries 0–1 is missing from the tree store',
        'node (3, 4): stored hash differs from the hash of entries 32–39; no signed checkpoint covers them yet to tell whether the node or the entries changed',
      ]);
    });

    it('entries rewritten together with their leaf hashes and key records, through the nodes that remember them', async () => {
      const { records, leaves, nodes } = journalOf(40);
      const text = canonicalize({ ...entry(21), payload: { n: -1 } });
      const forged = leafHashHex(text);
      records[21] = {
        ...records[21]!,
        entry: text,
        leafHash: forged,
        sequencing: { index: 21, leafHash: forged },
      };

      const report = verify(
        records,
        options({ checkpoints: [await checkpoint(leaves, 32)], tree: treeOf(leaves) }),
        nodes,
      );

      expect(report.firstBadEntry).toBe(20);
      expect(report.problems.map((p) => p.message)).toEqual([
        'entries 20–21: one of them was rewritten after checkpoint 32 was signed; they no longer hash to the stored node (1, 10)',
        expect.stringMatching(/^checkpoint 32 \(size 32\): signed root .* \(first bad: entries 20–21\)$/),
        expect.stringMatching(
          /^tree state \(size 40\): its root .* \(the entries changed; first bad: entries 20–21\)$/,
        ),
      ]);
    });
  });

  describe('checks the checkpoints', () => {
    it('trusts only the given key and the expected origin', async () => {
      const { records, leaves } = journalOf(8);
      const stranger = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
      const checkpoints = [
        await checkpoint(leaves, 4, stranger),
        { note: 'garbage', source: 'line 9' },
        await checkpoint(leaves, 8),
      ];

      const report = verify(records, options({ checkpoints }));
      expect(report.checkpointsVerified).toBe(1);
      expect(report.problems.map((p) => p.message)).toEqual([
        `checkpoint 4: not a valid checkpoint signed by ${ORIGIN}+${toHex(key.keyId)}: note has no verifiable signatures`,
        expect.stringContaining('line 9: not a valid checkpoint signed by'),
      ]);

      const wrongOrigin = verify(
        records,
        options({ checkpoints: [await checkpoint(leaves, 8)], origin: 'other/log' }),
      );
      expect(wrongOrigin.problems[0]?.message).toBe(
        `checkpoint 8: not a valid checkpoint signed by ${ORIGIN}+${toHex(key.keyId)}: checkpoint origin "${ORIGIN}" is not "other/log"`,
      );
    });

    it('finds a fork, an edited checkpoint item and a checkpoint beyond the entries', async () => {
      const { records, leaves } = journalOf(8);
      const fork = {
        note: await signCheckpoint(
          { origin: ORIGIN, size: 4, rootHash: rootFromLeafHashes(leaves.slice(1, 5)) },
          signer,
        ),
        source: 'checkpoint item B',
      };
      const genuine = await checkpoint(leaves, 4);
      const edited = {
        ...(await checkpoint(leaves, 6)),
        stored: { size: 6, rootHash: '00'.repeat(32), origin: ORIGIN },
      };
      const beyond = await checkpoint([...leaves, ...leaves], 12);

      const report = verify(
        records,
        options({ checkpoints: [genuine, fork, edited, beyond], sequencedSize: 8 }),
      );

      const messages = report.problems.map((p) => p.message);
      expect(messages).toContain(
        'checkpoint item B and checkpoint 4: two signed checkpoints of size 4 with different roots: the log forked',
      );
      expect(messages).toContainEqual(
        expect.stringMatching(/^checkpoint 6: its attributes .* differ from its signed note/),
      );
      expect(messages).toContain('checkpoint 12 (size 12) cannot be checked: only 8 entries are stored');
      expect(messages).toContain(
        'the latest checkpoint (size 12) covers more entries than were sequenced (8): the sequence counter was rewound',
      );
    });

    it('finds an edited tree state', () => {
      const { records, leaves } = journalOf(9);
      const tree = treeOf(leaves);
      const report = verify(records, options({ tree: { ...tree, root: new Uint8Array(32) } }));
      expect(report.problems.map((p) => p.message)).toEqual([
        'tree state (size 9): its right edge does not fold to its root (the state item was edited)',
        expect.stringMatching(/^tree state \(size 9\): its root .* \(the state item was edited\)$/),
      ]);
    });

    it('reports entries beyond the sequenced size and counts the unsigned tail', async () => {
      const { records, leaves } = journalOf(10);
      const verifier = new JournalVerifier(
        options({ checkpoints: [await checkpoint(leaves, 6)], sequencedSize: 10 }),
      );
      verifier.addEntries(records);
      verifier.addExtraEntries([10], 10);
      const report = verifier.finish();
      expect(report.problems[0]?.message).toBe(
        'entry 10: stored beyond the sequenced size 10 (inserted without being sequenced)',
      );
      expect(report.unsigned).toBe(4);
    });

    it('keeps at most maxProblems, counting the rest', () => {
      const { records } = journalOf(30);
      const broken = records.map((r) => ({ ...r, leafHash: '00'.repeat(32) }));
      const report = verify(broken, options({ maxProblems: 5 }));
      expect(report.problems).toHaveLength(5);
      expect(report.problemCount).toBe(30);
    });
  });
});
