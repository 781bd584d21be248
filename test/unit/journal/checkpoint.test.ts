import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControlCharacter, toBase64 } from '../../../functions/journal/bytes.ts';
import {
  CheckpointError,
  formatCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../../../functions/journal/checkpoint.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../../functions/journal/local-signer.ts';
import { consistencyProof, hashLeaf, inclusionProof } from '../../../functions/journal/merkle.ts';
import { NoteError, parseVerifierKey, signNote, verifierKeyString } from '../../../functions/journal/note.ts';
import { verifyConsistency, verifyInclusion } from '../../../functions/journal/verify.ts';
import { buildNodeStore, hex, loadVectors, recordingReader, unhex } from './support.ts';

interface CheckpointVector {
  id: string;
  desc: string;
  noteHex: string;
  verifierKeys: string[];
  check: 'note-open' | 'checkpoint';
  expectValid: boolean;
  expectedOrigin?: string;
  expectedCheckpoint?: { origin: string; size: number };
}
interface BodyVector {
  id: string;
  text: string;
  expectValid: boolean;
  expectedOrigin?: string;
  expectedSize?: number;
  expectedRootHashHex?: string;
  expectedRest?: string;
}
const notes = loadVectors<{ verificationVectors: CheckpointVector[]; checkpointBodies: BodyVector[] }>(
  'signed-notes.json',
);
const tesseraLog = loadVectors<{ vectorSets: { id: string; leaves: string[] }[] }>(
  'leaves-and-roots.json',
).vectorSets.find((set) => set.id === 'transparency-dev/tessera:testdata/log')!;

/** 'valid' or the CheckpointError / NoteError message. */
function outcome(check: () => unknown): string {
  try {
    check();
    return 'valid';
  } catch (error: unknown) {
    if (error instanceof CheckpointError || error instanceof NoteError) return error.message;
    throw error;
  }
}

describe('signed checkpoint vectors', () => {
  const checkpoints = notes.verificationVectors.filter((vector) => vector.check === 'checkpoint');

  it.each(checkpoints)(
    '$id: $desc',
    ({ noteHex, verifierKeys, expectedOrigin, expectValid, expectedCheckpoint }) => {
      const [logKey, ...cosignerKeys] = verifierKeys;
      const open = () => openCheckpoint(unhex(noteHex), logKey!, { origin: expectedOrigin!, cosignerKeys });
      expect(outcome(open) === 'valid').toBe(expectValid);
      if (expectedCheckpoint !== undefined) {
        expect(open().checkpoint).toMatchObject(expectedCheckpoint);
      }
    },
  );

  it('the Tessera golden checkpoints sign the roots of its 15-leaf log, consistently', async () => {
    const golden = checkpoints.filter((vector) => vector.id.startsWith('tessera:'));
    expect(golden).toHaveLength(16);
    const leaves = tesseraLog.leaves.map((leaf) => hashLeaf(unhex(leaf)));
    const { read } = recordingReader(buildNodeStore(leaves));
    const signed = golden.map(
      ({ noteHex, verifierKeys }) => openCheckpoint(unhex(noteHex), verifierKeys[0]!).checkpoint,
    );
    for (const checkpoint of signed.filter((cp) => cp.size > 0)) {
      const { size, rootHash } = checkpoint;
      for (let index = 0; index < size; index++) {
        verifyInclusion(leaves[index]!, index, size, await inclusionProof(index, size, read), rootHash);
      }
      for (const older of signed.filter((cp) => cp.size > 0 && cp.size <= size)) {
        verifyConsistency(
          older.size,
          size,
          await consistencyProof(older.size, size, read),
          older.rootHash,
          rootHash,
        );
      }
    }
    expect(hex(signed[0]!.rootHash)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

// Where our strict C2SP parser deliberately differs from the library that published a vector.
const BODY_DEVIATIONS: Record<string, string> = {
  // transparency-dev/formats does not check the root hash length; a checkpoint of an RFC 6962
  // SHA-256 tree carries a 32-byte root, so these test roots ("bananas", …) are refused.
  'formats:valid-one': 'checkpoint root hash must be 32 bytes, got 7',
  'formats:valid-different-origin': 'checkpoint root hash must be 32 bytes, got 37',
  'formats:valid-trailing-data': 'checkpoint root hash must be 32 bytes, got 37',
  'formats:valid-multiple-trailing-lines': 'checkpoint root hash must be 32 bytes, got 37',
  'formats:valid-trailing-newlines': 'checkpoint root hash must be 32 bytes, got 37',
  'formats:extend-moon-log': 'checkpoint root hash must be 32 bytes, got 16',
  // C2SP: "The origin MUST be non-empty"; Tessera's lenient internal parser accepts it.
  'tessera:empty-origin': 'checkpoint origin must not be empty',
  // x/mod's ParseTree only accepts its own origin; any non-empty origin is valid in C2SP.
  'x/mod-tlog:not-prefix': 'valid',
  // x/mod ignores anything after the third line; C2SP text lines all end in a newline.
  'x/mod-tlog:junk-JOE': 'checkpoint must end with a newline',
};

describe('checkpoint body vectors', () => {
  it.each(notes.checkpointBodies)(
    '$id',
    ({ id, text, expectValid, expectedOrigin, expectedSize, expectedRootHashHex, expectedRest }) => {
      const result = outcome(() => parseCheckpoint(text));
      const deviation = BODY_DEVIATIONS[id];
      if (deviation !== undefined) {
        expect(result).toBe(deviation);
        expect(result === 'valid').not.toBe(expectValid);
      } else {
        expect(result === 'valid').toBe(expectValid);
      }
      if (result !== 'valid') return;
      const checkpoint = parseCheckpoint(text);
      // The source states no fields for the one it rejects and we accept.
      expect(checkpoint.origin).toBe(expectedOrigin ?? 'not-go.sum database tree');
      expect(checkpoint.size).toBe(expectedSize ?? 123456789012);
      if (expectedRootHashHex !== undefined) expect(hex(checkpoint.rootHash)).toBe(expectedRootHashHex);
      if (expectedRest !== undefined)
        expect(checkpoint.extensions.map((line) => `${line}\n`).join('')).toBe(expectedRest);
    },
  );

  it('splits the short-root vectors like the source once they carry a 32-byte root', () => {
    const root = toBase64(new Uint8Array(32).fill(7));
    for (const { id, text, expectedOrigin, expectedSize, expectedRest } of notes.checkpointBodies) {
      if (!BODY_DEVIATIONS[id]?.startsWith('checkpoint root hash must be 32 bytes')) continue;
      const lines = text.split('\n');
      lines[2] = root;
      const repaired = lines.join('\n');
      if (id === 'formats:valid-trailing-newlines') {
        // Also refused by us for its empty extension lines (C2SP: they MUST be non-empty).
        expect(outcome(() => parseCheckpoint(repaired))).toBe('checkpoint extension lines must not be empty');
        continue;
      }
      const checkpoint = parseCheckpoint(repaired);
      expect([checkpoint.origin, checkpoint.size]).toEqual([expectedOrigin, expectedSize]);
      expect(checkpoint.extensions.map((line) => `${line}\n`).join('')).toBe(expectedRest);
    }
  });
});

describe('formatCheckpoint / parseCheckpoint', () => {
  const root = new Uint8Array(32).fill(1);

  it('round-trips any valid checkpoint', () => {
    const line = fc
      .string({ minLength: 1, unit: 'grapheme' })
      .filter((s) => !hasControlCharacter(s) && !s.includes('\n'));
    fc.assert(
      fc.property(
        line,
        fc.maxSafeNat(),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(line, { maxLength: 3 }),
        (origin, size, rootHash, extensions) => {
          const text = formatCheckpoint({ origin, size, rootHash, extensions });
          expect(parseCheckpoint(text)).toEqual({ origin, size, rootHash, extensions });
        },
      ),
    );
  });

  it('formats the spec example', () => {
    const rootHash = Uint8Array.from(Buffer.from('CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=', 'base64'));
    expect(formatCheckpoint({ origin: 'example.com/behind-the-sofa', size: 20852163, rootHash })).toBe(
      'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n',
    );
  });

  it.each([
    ['an empty origin', { origin: '' }, 'origin must be a non-empty line without control characters'],
    ['a multi-line origin', { origin: 'a\nb' }, 'origin must be'],
    ['a control character', { origin: 'a\tb' }, 'origin must be'],
    ['a negative size', { size: -1 }, 'tree size must be a non-negative safe integer'],
    ['an unsafe size', { size: 2 ** 53 }, 'tree size must be'],
    ['a short root', { rootHash: new Uint8Array(31) }, 'root hash must be 32 bytes'],
    ['an empty extension', { extensions: [''] }, 'extension line must be'],
  ])('formatCheckpoint refuses %s', (_, change, message) => {
    expect(outcome(() => formatCheckpoint({ origin: 'log', size: 1, rootHash: root, ...change }))).toMatch(
      new RegExp(`^${message}`),
    );
  });

  it.each([
    ['no final newline', 'log\n1\nAA==', 'checkpoint must end with a newline'],
    ['a control character', 'l\rog\n1\nAA==\n', 'checkpoint must not contain control characters'],
    ['two lines', 'log\n1\n', 'checkpoint needs an origin, a tree size and a root hash line'],
    [
      'a leading zero',
      `log\n01\n${toBase64(root)}\n`,
      'checkpoint tree size must be a decimal number without leading zeros',
    ],
    [
      'a signed size',
      `log\n+1\n${toBase64(root)}\n`,
      'checkpoint tree size must be a decimal number without leading zeros',
    ],
    ['a size beyond 2^53', `log\n9007199254740993\n${toBase64(root)}\n`, 'checkpoint tree size is too large'],
    [
      'unpadded base64',
      `log\n1\n${toBase64(root).slice(0, -1)}\n`,
      'checkpoint root hash must be standard padded base64',
    ],
    [
      'an empty extension',
      `log\n1\n${toBase64(root)}\next\n\n`,
      'checkpoint extension lines must not be empty',
    ],
  ])('parseCheckpoint refuses %s', (_, text, message) => {
    expect(outcome(() => parseCheckpoint(text))).toBe(message);
  });
});

describe('signCheckpoint / openCheckpoint', () => {
  const log = localEd25519Signer('claimledger.example/journal', generateEd25519KeyPair().privateKey);
  const witness = localEd25519Signer('witness.example/w1', generateEd25519KeyPair().privateKey);
  const logKey = verifierKeyString(log.name, log.publicKey);
  const witnessKey = verifierKeyString(witness.name, witness.publicKey);
  const checkpoint = {
    origin: log.name,
    size: 42,
    rootHash: new Uint8Array(32).fill(9),
    extensions: ['epoch 7'],
  };

  it('opens what it signs, with or without cosignatures', async () => {
    const note = await signCheckpoint(checkpoint, [log, witness]);
    expect(openCheckpoint(note, logKey).checkpoint).toEqual(checkpoint);
    expect(openCheckpoint(note, parseVerifierKey(logKey)).checkpoint).toEqual(checkpoint);
    const opened = openCheckpoint(new TextEncoder().encode(note), logKey, { cosignerKeys: [witnessKey] });
    expect(opened.note.verified.map((s) => s.name)).toEqual([log.name, witness.name]);
  });

  it('refuses a checkpoint the log did not sign, from another origin, or with a bad body', async () => {
    const byWitnessOnly = await signCheckpoint(checkpoint, witness);
    expect(outcome(() => openCheckpoint(byWitnessOnly, logKey, { cosignerKeys: [witnessKey] }))).toBe(
      'checkpoint is not signed by the log key claimledger.example/journal',
    );
    expect(outcome(() => openCheckpoint(byWitnessOnly, logKey))).toBe('note has no verifiable signatures');
    const other = await signCheckpoint({ ...checkpoint, origin: 'other.example/log' }, log);
    expect(outcome(() => openCheckpoint(other, logKey))).toBe(
      'checkpoint origin "other.example/log" is not "claimledger.example/journal"',
    );
    expect(openCheckpoint(other, logKey, { origin: 'other.example/log' }).checkpoint.origin).toBe(
      'other.example/log',
    );
    const notACheckpoint = await signNote('hello\n', log);
    expect(outcome(() => openCheckpoint(notACheckpoint, logKey))).toBe(
      'checkpoint needs an origin, a tree size and a root hash line',
    );
  });
});
