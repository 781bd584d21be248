import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../functions/journal/bytes.ts';
import { openCheckpoint, signCheckpoint } from '../../functions/journal/checkpoint.ts';
import { type JournalEntry, leafHash } from '../../functions/journal/entry.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../functions/journal/local-signer.ts';
import { rootFromLeafHashes } from '../../functions/journal/merkle.ts';
import { type NoteSigner, verifierKeyString } from '../../functions/journal/note.ts';
import { verifyConsistency, verifyInclusion } from '../../functions/journal/verify.ts';
import {
  CheckpointsRepository,
  type StoredCheckpoint,
} from '../../functions/store/checkpoints.repository.ts';
import type { DocumentClient } from '../../functions/store/dynamo.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { runJournal } from '../support/journal-cli.ts';
import { journalGrower } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const ORIGIN = 'claimledger.test/journal';

const entry = (n: number): JournalEntry => ({
  type: 'coverage.put',
  docId: `member/M${n}/coverage`,
  docRevision: 1,
  actor: { sub: 'ops', role: 'analyst' },
  at: new Date(Date.UTC(2026, 1, 1, 0, 0, 0, n)).toISOString(),
  payload: { plan: 'PPO', n },
});

describe('journal prove and consistency against DynamoDB Local', () => {
  let doc: DocumentClient;
  let endpoint: string;
  let prefix: string;
  let table: string;
  let signer: NoteSigner;
  let verifierKey: string;
  let work: string;
  let emptyStateDir: string;
  let checkpoint100: StoredCheckpoint;
  let checkpoint150: StoredCheckpoint;
  let leaves: Uint8Array[];

  const connection = () => ['--endpoint', endpoint, '--journal-table', table, '--state-dir', emptyStateDir];
  const run = (...args: string[]) => runJournal([...args, ...connection(), '--key', verifierKey]);
  const fileWith = (name: string, text: string) => {
    const file = join(work, name);
    writeFileSync(file, text);
    return file;
  };

  beforeAll(async () => {
    const tables = await freshTables();
    doc = tables.doc;
    endpoint = tables.endpoint;
    prefix = tables.prefix;
    table = tables.names.journal;
    work = mkdtempSync(join(tmpdir(), 'journal-cli-'));
    emptyStateDir = join(work, 'no-state');
    signer = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
    verifierKey = verifierKeyString(signer.name, signer.publicKey);
    const journal = new JournalRepository(doc, table);
    const tree = new JournalTreeRepository(doc, table, journal);
    const checkpoints = new CheckpointsRepository(doc, table, tree);
    const appendUpTo = journalGrower(journal, 'c', entry);
    await appendUpTo(100);
    await tree.integrateAll();
    checkpoint100 = await checkpoints.publishCheckpoint(signer, ORIGIN);
    await appendUpTo(150);
    await tree.integrateAll();
    checkpoint150 = await checkpoints.publishCheckpoint(signer, ORIGIN);
    const stored = await journal.entries(Array.from({ length: 150 }, (_, i) => i));
    leaves = stored.map((e) => leafHash(utf8Encode(e.entry)));
  });

  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  describe('prove', () => {
    it('prints an inclusion proof in the latest checkpoint that verifies against its signed root', async () => {
      const { code, stdout, stderr } = await run('prove', '17', '--json');

      expect(stderr).toBe('');
      expect(code).toBe(0);
      const proof = JSON.parse(stdout) as {
        index: number;
        size: number;
        leafHash: string;
        entry: string;
        proof: string[];
        checkpoint: string;
      };
      expect(proof.index).toBe(17);
      expect(proof.size).toBe(150);
      expect(proof.checkpoint).toBe(checkpoint150.note);
      expect(proof.leafHash).toBe(toHex(leaves[17]!));
      expect(toHex(leafHash(utf8Encode(proof.entry)))).toBe(proof.leafHash);
      const signed = openCheckpoint(proof.checkpoint, verifierKey, { origin: ORIGIN }).checkpoint;
      expect(() =>
        verifyInclusion(fromHex(proof.leafHash), 17, 150, proof.proof.map(fromHex), signed.rootHash),
      ).not.toThrow();
    });

    it('proves against an older signed checkpoint with --size', async () => {
      const { code, stdout } = await run('prove', '99', '--size', '100', '--json');

      expect(code).toBe(0);
      const proof = JSON.parse(stdout) as { size: number; proof: string[]; checkpoint: string };
      expect(proof.checkpoint).toBe(checkpoint100.note);
      expect(() =>
        verifyInclusion(leaves[99]!, 99, 100, proof.proof.map(fromHex), checkpoint100.rootHash),
      ).not.toThrow();
    });

    it('ties an unsigned tree size to the latest checkpoint with a consistency proof', async () => {
      const { code, stdout } = await run('prove', '5', '--size', '120', '--json');

      expect(code).toBe(0);
      const proof = JSON.parse(stdout) as {
        proof: string[];
        rootHash: string;
        consistency: { size: number; proof: string[] };
      };
      const root120 = rootFromLeafHashes(leaves.slice(0, 120));
      expect(proof.rootHash).toBe(toHex(root120));
      expect(() => verifyInclusion(leaves[5]!, 5, 120, proof.proof.map(fromHex), root120)).not.toThrow();
      expect(proof.consistency.size).toBe(150);
      expect(() =>
        verifyConsistency(120, 150, proof.consistency.proof.map(fromHex), root120, checkpoint150.rootHash),
      ).not.toThrow();
    });

    it('prints the proof as text by default', async () => {
      const { code, stdout } = await run('prove', '0');

      expect(code).toBe(0);
      expect(stdout).toContain(
        '✓ entry 0 is in the tree of size 150, proven against the signed checkpoint of size 150',
      );
      expect(stdout).toContain(`  leaf hash  ${toHex(leaves[0]!)}`);
      expect(stdout).toContain(`    ${ORIGIN}\n    150\n`);
    });

    it.each([
      [['prove', 'seven'], 'index must be a non-negative integer, got "seven"'],
      [['prove', '-1'], "Unknown option '-1'"],
      [['prove', '1.5'], 'index must be a non-negative integer, got "1.5"'],
      [['prove', '150'], 'entry 150 is outside the tree of size 150'],
      [['prove', '3', '--size', '151'], '--size 151 is beyond the tree (size 150)'],
      [['prove', '3', '--size', 'big'], '--size must be a non-negative integer'],
      [['prove'], 'expected <index>'],
      [['prove', '1', '--out', 'x'], '--out is not an option of prove'],
      [['prove', '1', '--bogus'], "Unknown option '--bogus'"],
    ])('refuses %j with one line on stderr and exit status 2', async (args, message) => {
      const { code, stdout, stderr } = await run(...args);

      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toContain(message);
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    });

    it('needs a verifier key, and refuses one that is not', async () => {
      const missing = await runJournal(['prove', '1', ...connection()]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/^claimledger journal prove: no verifier key: pass --key/);

      const garbage = await runJournal(['prove', '1', ...connection(), '--key', 'name+zz+abc']);
      expect(garbage.code).toBe(2);
      expect(garbage.stderr).toContain('--key: verifier key ID must be 8 hex digits');

      const notAFile = await runJournal(['prove', '1', ...connection(), '--key', join(work, 'nope')]);
      expect(notAFile.code).toBe(2);
      expect(notAFile.stderr).toContain('is neither a readable file nor a verifier key');

      const keyFile = fileWith('verifier.key', `${verifierKey}\n`);
      expect((await runJournal(['prove', '1', ...connection(), '--key', keyFile])).code).toBe(0);
    });
  });

  describe('consistency', () => {
    it('says OK when the latest checkpoint extends the one the auditor kept, and can update it', async () => {
      const file = fileWith('last-seen.checkpoint', checkpoint100.note);

      const { code, stdout } = await run('consistency', file);
      expect(code).toBe(0);
      expect(stdout).toContain(
        `OK: the latest checkpoint (size 150) is consistent with the one in ${file} (size 100)`,
      );

      const updated = await run('consistency', file, '--update', '--json');
      expect(updated.code).toBe(0);
      const result = JSON.parse(updated.stdout) as {
        ok: boolean;
        oldSize: number;
        newSize: number;
        proof: string[];
      };
      expect(result).toMatchObject({ ok: true, oldSize: 100, newSize: 150 });
      expect(() =>
        verifyConsistency(
          100,
          150,
          result.proof.map(fromHex),
          checkpoint100.rootHash,
          checkpoint150.rootHash,
        ),
      ).not.toThrow();
      expect(readFileSync(file, 'utf8')).toBe(checkpoint150.note);

      const same = await run('consistency', file);
      expect(same.code).toBe(0);
      expect(same.stdout).toContain('(size 150) is consistent with the one in');
    });

    it('accepts the JSON prove prints as the kept checkpoint', async () => {
      const proof = await run('prove', '3', '--size', '100', '--json');
      const file = fileWith('proof.json', proof.stdout);

      const { code, stdout } = await run('consistency', file);
      expect(code).toBe(0);
      expect(stdout).toContain('(size 100)');
    });

    it('fails on a forked checkpoint: same key, a different history', async () => {
      const otherLeaves = [...leaves.slice(0, 99), leafHash(utf8Encode('{"forged":true}'))];
      const forked = await signCheckpoint(
        { origin: ORIGIN, size: 100, rootHash: rootFromLeafHashes(otherLeaves) },
        signer,
      );
      const file = fileWith('forked.checkpoint', forked);

      const { code, stdout } = await run('consistency', file);
      expect(code).toBe(1);
      expect(stdout).toMatch(
        /^FAIL: the latest checkpoint \(size 150\) is not consistent with the one in .* \(size 100\): consistency proof does not lead to the root of the tree of size 100; the log forked or storage was rewritten/,
      );
    });

    it('fails on a fork at the same size, and on a kept checkpoint newer than storage', async () => {
      const sameSize = await signCheckpoint(
        { origin: ORIGIN, size: 150, rootHash: rootFromLeafHashes(leaves.slice(1)) },
        signer,
      );
      const fork = await run('consistency', fileWith('same-size.checkpoint', sameSize));
      expect(fork.code).toBe(1);
      expect(fork.stdout).toContain(
        'FAIL: two signed checkpoints of size 150 with different roots: the log forked',
      );

      const newer = await signCheckpoint({ origin: ORIGIN, size: 400, rootHash: new Uint8Array(32) }, signer);
      const rolledBack = await run('consistency', fileWith('newer.checkpoint', newer), '--json');
      expect(rolledBack.code).toBe(1);
      expect(JSON.parse(rolledBack.stdout)).toMatchObject({ ok: false });
      expect(rolledBack.stdout).toContain('storage was rolled back');
    });

    it('fails on garbage and on a checkpoint signed by another key', async () => {
      const garbage = await run('consistency', fileWith('garbage.checkpoint', 'not a checkpoint at all\n'));
      expect(garbage.code).toBe(1);
      expect(garbage.stdout).toMatch(/^FAIL: the checkpoint in .* does not verify: malformed note/);

      const stranger = localEd25519Signer(ORIGIN, generateEd25519KeyPair().privateKey);
      const foreign = await signCheckpoint(
        { origin: ORIGIN, size: 100, rootHash: checkpoint100.rootHash },
        stranger,
      );
      const unsigned = await run('consistency', fileWith('foreign.checkpoint', foreign));
      expect(unsigned.code).toBe(1);
      expect(unsigned.stdout).toContain('does not verify: note has no verifiable signatures');
    });

    it('refuses a checkpoint file it cannot read with exit status 2', async () => {
      const { code, stderr } = await run('consistency', join(work, 'missing.checkpoint'));
      expect(code).toBe(2);
      expect(stderr).toMatch(
        /^claimledger journal consistency: checkpoint file: cannot read .*missing\.checkpoint: no such file\n$/,
      );
    });
  });

  describe('export and verify --from-export', () => {
    it('verifies a whole export, and refuses one cut right after a checkpoint line', async () => {
      const file = join(work, 'journal.jsonl');
      const exported = await run('export', '--out', file);
      expect(exported.code).toBe(0);
      expect(exported.stderr).toContain('exported 150 entries and 2 checkpoints');
      const text = readFileSync(file, 'utf8');
      const lines = text.slice(0, -1).split('\n');
      expect(lines).toHaveLength(150 + 2 + 1);
      expect(JSON.parse(lines.at(-1)!)).toEqual({
        trailer: 'claimledger-journal-export/1',
        entries: 150,
        checkpoints: 2,
        lastCheckpoint: { size: 150, rootHash: toHex(checkpoint150.rootHash) },
        sha256: createHash('sha256')
          .update(text.slice(0, text.length - lines.at(-1)!.length - 1))
          .digest('hex'),
      });

      const whole = await run('verify', '--from-export', file);
      expect(whole.code).toBe(0);
      expect(whole.stdout).toContain(`✓ verified export ${file}`);
      expect(whole.stdout).toContain(
        '  trailer      line 153: 150 entries, 2 checkpoints and the SHA-256 of the lines before it match',
      );

      // Line 151 is the checkpoint of size 100: what is left is a valid journal of 150 entries
      // with one checkpoint, and only the missing trailer tells.
      expect(Object.keys(JSON.parse(lines[150]!) as object)).toEqual(['checkpoint']);
      const cut = fileWith('cut-after-checkpoint.jsonl', `${lines.slice(0, 151).join('\n')}\n`);
      const truncated = await run('verify', '--from-export', cut);
      expect(truncated.code).toBe(1);
      expect(truncated.stderr).toBe('');
      expect(truncated.stdout).toMatch(
        /^✗ export .*cut-after-checkpoint\.jsonl: verification FAILED \(1 problem\)\n/,
      );
      expect(truncated.stdout).toContain(
        '  - export is truncated or incomplete: no trailer line (it ends after line 151, a checkpoint line)',
      );
      expect(truncated.stdout).toContain('Export the journal again (claimledger journal export --out FILE)');

      // Cut the same way with the old trailer put back: the counts and the digest tell.
      const stale = fileWith(
        'stale-trailer.jsonl',
        `${[...lines.slice(0, 151), lines.at(-1)!].join('\n')}\n`,
      );
      const mismatch = await run('verify', '--from-export', stale);
      expect(mismatch.code).toBe(1);
      expect(mismatch.stdout).toContain(
        'export is truncated or altered: the trailer (line 152) says 150 entries and 2 checkpoints, the export holds 150 entry lines and 1 checkpoint line before it (checkpoint lines are missing)',
      );
      expect(mismatch.stdout).toContain('the SHA-256 of lines 1–151 is');

      // An export made before trailers verifies only when asked, with a warning.
      const legacy = await run('verify', '--from-export', cut, '--legacy-export');
      expect(legacy.code).toBe(0);
      expect(legacy.stderr).toContain('truncation cannot be detected');
    });
  });

  describe('connection', () => {
    it('takes endpoint, table prefix, origin and key from local.json when options are absent', async () => {
      const stateDir = join(work, 'state');
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(
        join(stateDir, 'local.json'),
        JSON.stringify({
          dynamoEndpoint: endpoint,
          tablePrefix: prefix,
          apiUrl: 'http://127.0.0.1:3000',
          origin: ORIGIN,
          verifierKey,
        }),
      );

      const { code, stdout } = await runJournal(['verify', '--state-dir', stateDir]);
      expect(code).toBe(0);
      expect(stdout).toContain(`✓ verified journal table ${table} at ${endpoint}`);
      expect(stdout).toContain('2 of 2 verified');
    });

    it('rejects checkpoints of another origin', async () => {
      const { code, stdout } = await run('verify', '--origin', 'someone.else/log');
      expect(code).toBe(1);
      expect(stdout).toContain('checkpoint origin "claimledger.test/journal" is not "someone.else/log"');
    });

    it('says which table is missing, and which endpoint is unreachable, with exit status 2', async () => {
      const isolated = ['--key', verifierKey, '--state-dir', emptyStateDir];
      const noTable = await runJournal([
        'verify',
        '--endpoint',
        endpoint,
        '--table-prefix',
        'nope-',
        ...isolated,
      ]);
      expect(noTable.code).toBe(2);
      expect(noTable.stderr).toContain(`table nope-journal does not exist at ${endpoint}`);

      const unreachable = await runJournal(['verify', '--endpoint', 'http://127.0.0.1:9', ...isolated]);
      expect(unreachable.code).toBe(2);
      expect(unreachable.stderr).toMatch(
        /^claimledger journal verify: cannot read claimledger-local-journal at http:\/\/127\.0\.0\.1:9: /,
      );
    });

    it('prints usage for help and an unknown command', async () => {
      const help = await runJournal(['help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Usage: claimledger journal <command>');

      const unknown = await runJournal(['frobnicate']);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain('claimledger journal: unknown command "frobnicate"');
    });
  });
});
