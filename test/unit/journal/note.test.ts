import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../functions/journal/bytes.ts';
import {
  ed25519PublicKey,
  generateEd25519KeyPair,
  localEd25519Signer,
  localSignerFromKeyString,
  signerKeyString,
} from '../../../functions/journal/local-signer.ts';
import {
  ed25519KeyId,
  formatSignedNote,
  MAX_SIGNATURES,
  NoteError,
  type NoteSignature,
  type NoteSigner,
  openNote,
  parseSignedNote,
  parseVerifierKey,
  signNote,
  verifierKeyString,
  verifyNote,
} from '../../../functions/journal/note.ts';
import { hex, loadVectors, unhex, utf8 } from './support.ts';

interface PublishedSignature {
  name: string;
  keyId: string;
  signature: string;
}
interface VerificationVector {
  id: string;
  desc: string;
  noteHex: string;
  verifierKeys: string[];
  check: 'note-open' | 'checkpoint';
  expectValid: boolean;
  expectedError?: string;
  expectedText?: string;
  expectedVerifiedSignatures?: PublishedSignature[];
  expectedUnverifiedSignatures?: PublishedSignature[];
  signatureType: string;
}
interface NoteVectors {
  verificationVectors: VerificationVector[];
  formatOnlyExamples: { id: string; noteHex: string }[];
  signingVectors: {
    id: string;
    signerKey: string;
    verifierKey: string;
    text: string;
    expectedNote: string;
  }[];
  verifierKeyParsing: { key: string; valid: boolean; library: string; desc: string }[];
  testKeyPairs: { name: string; signerKey: string; verifierKey: string }[];
}
const vectors = loadVectors<NoteVectors>('signed-notes.json');

/** 'valid' or the NoteError message. */
function outcome(check: () => unknown): string {
  try {
    check();
    return 'valid';
  } catch (error: unknown) {
    if (error instanceof NoteError) return error.message;
    throw error;
  }
}

const published = (signature: NoteSignature): PublishedSignature => ({
  name: signature.name,
  keyId: hex(signature.keyId),
  signature: toBase64(new Uint8Array([...signature.keyId, ...signature.signature])),
});

// The journal verifies Ed25519 (0x01) only, as the spec advises ("select only the one(s)
// required"); keys of other types (ECDSA 0x02, RFC 6962 0x05, cosignature 0x04, ML-DSA 0x06)
// are refused as unsupported rather than silently ignored.
const isEd25519 = (vector: VerificationVector): boolean => vector.signatureType.startsWith('ed25519');

describe('signed-note verification vectors (note-open)', () => {
  const noteOpen = vectors.verificationVectors.filter((v) => v.check === 'note-open');

  it.each(noteOpen.filter(isEd25519))('$id: $desc', (vector) => {
    const bytes = unhex(vector.noteHex);
    const result = outcome(() => openNote(bytes, vector.verifierKeys));
    if (vector.expectValid) {
      expect(result).toBe('valid');
      const opened = openNote(bytes, vector.verifierKeys);
      if (vector.expectedText !== undefined) expect(opened.text).toBe(vector.expectedText);
      if (vector.expectedVerifiedSignatures !== undefined) {
        expect(opened.verified.map(published)).toEqual(vector.expectedVerifiedSignatures);
      }
      if (vector.expectedUnverifiedSignatures !== undefined) {
        expect(opened.unverified.map(published)).toEqual(vector.expectedUnverifiedSignatures);
      }
    } else {
      expect(result).not.toBe('valid');
      // Our messages extend the Go reference's wording.
      if (vector.expectedError !== undefined) expect(result.startsWith(vector.expectedError)).toBe(true);
    }
  });

  it.each(noteOpen.filter((v) => !isEd25519(v)))('$id: refuses the non-Ed25519 key', (vector) => {
    expect(outcome(() => openNote(unhex(vector.noteHex), vector.verifierKeys))).toMatch(
      /^unsupported signature type/,
    );
  });
});

describe('verifier key parsing vectors', () => {
  it.each(vectors.verifierKeyParsing)('$desc ($library)', ({ key, valid }) => {
    const typeByte = (() => {
      try {
        return fromBase64(key.split('+').slice(2).join('+'))[0];
      } catch {
        return undefined;
      }
    })();
    const result = outcome(() => parseVerifierKey(key));
    if (valid && typeByte !== 0x01) {
      expect(result).toMatch(/^unsupported signature type/);
    } else {
      expect(result === 'valid').toBe(valid);
    }
  });
});

describe('signing vectors and published key pairs', () => {
  it.each(vectors.signingVectors)('$id', async ({ signerKey, verifierKey, text, expectedNote }) => {
    const signer = localSignerFromKeyString(signerKey);
    expect(verifierKeyString(signer.name, signer.publicKey)).toBe(verifierKey);
    expect(await signNote(text, signer)).toBe(expectedNote);
  });

  it.each(vectors.testKeyPairs)('$name: signer and verifier keys belong together', async (pair) => {
    const signer = localSignerFromKeyString(pair.signerKey);
    expect(signer.name).toBe(pair.name);
    expect(verifierKeyString(signer.name, signer.publicKey)).toBe(pair.verifierKey);
    expect(
      signerKeyString(signer.name, fromBase64(pair.signerKey.split('+').slice(4).join('+')).slice(1)),
    ).toBe(pair.signerKey);
    const note = await signNote('claimledger\n', signer);
    expect(openNote(note, pair.verifierKey).verified.map((s) => s.name)).toEqual([pair.name]);
  });
});

describe('format-only examples (no published key)', () => {
  it.each(vectors.formatOnlyExamples)('$id parses, and cannot be trusted without a key', ({ noteHex }) => {
    const bytes = unhex(noteHex);
    const note = parseSignedNote(bytes);
    expect(formatSignedNote(note.text, note.signatures)).toBe(new TextDecoder().decode(bytes));
    expect(outcome(() => openNote(bytes, []))).toBe('note has no verifiable signatures');
  });
});

describe('signing and verifying our own notes', () => {
  const pair = generateEd25519KeyPair();
  const signer = localEd25519Signer('claimledger.example/journal', pair.privateKey);
  const witness = localEd25519Signer('witness.example/w1', generateEd25519KeyPair().privateKey);
  const vkey = verifierKeyString(signer.name, signer.publicKey);
  const witnessKey = verifierKeyString(witness.name, witness.publicKey);
  const text = 'Ognuno sta solo sul cuor della terra\n\ned è subito sera.\n';

  it('round-trips with several signers, keys given as strings or parsed', async () => {
    expect(ed25519PublicKey(pair.privateKey)).toEqual(pair.publicKey);
    const note = await signNote(text, [signer, witness]);
    const opened = openNote(note, [vkey, parseVerifierKey(witnessKey)]);
    expect(opened.text).toBe(text);
    expect(opened.verified.map((s) => s.name)).toEqual([signer.name, witness.name]);
    expect(openNote(utf8(note), vkey).unverified.map((s) => s.name)).toEqual([witness.name]);
    expect(verifyNote(parseSignedNote(note), parseVerifierKey(vkey)).verified).toHaveLength(1);
  });

  it('rejects a note whose text or signature was changed', async () => {
    const note = await signNote(text, signer);
    expect(outcome(() => openNote(note.replace('sera', 'Sera'), vkey))).toBe(
      `invalid signature for key ${signer.name}+${hex(signer.keyId)}`,
    );
    const parsed = parseSignedNote(note);
    const signature = parsed.signatures[0]!;
    const forged = { ...signature, signature: signature.signature.map((b, i) => (i === 10 ? b ^ 1 : b)) };
    expect(outcome(() => verifyNote({ text, signatures: [forged] }, vkey))).toMatch(
      /^invalid signature for key/,
    );
    const truncated = { ...signature, signature: signature.signature.slice(1) };
    expect(outcome(() => verifyNote({ text, signatures: [truncated] }, vkey))).toMatch(/^invalid signature/);
    const badKey = { ...parseVerifierKey(vkey), publicKey: new Uint8Array(31) };
    expect(outcome(() => verifyNote(parsed, badKey))).toMatch(/^invalid signature/);
  });

  it('refuses signers that misbehave', async () => {
    const lying: NoteSigner = { ...signer, keyId: Uint8Array.of(1, 2, 3, 4) };
    await expect(signNote(text, lying)).rejects.toThrow('has a key ID that does not match');
    const wrongKey: NoteSigner = { ...witness, sign: signer.sign };
    await expect(signNote(text, wrongKey)).rejects.toThrow('returned a signature that does not verify');
    await expect(signNote('no newline', signer)).rejects.toThrow('note text must end with a newline');
    await expect(signNote('tab\there\n', signer)).rejects.toThrow('must not contain control characters');
    await expect(signNote('\ud800\n', signer)).rejects.toThrow('lone UTF-16 surrogates');
  });
});

describe('malformed notes and keys', () => {
  const signature: NoteSignature = {
    name: 'k',
    keyId: Uint8Array.of(1, 2, 3, 4),
    signature: Uint8Array.of(5),
  };
  const line = `\u2014 k ${toBase64(Uint8Array.of(1, 2, 3, 4, 5))}\n`;

  it.each([
    ['a lone surrogate', `text\ud800\n\n${line}`, 'malformed note: contains a lone UTF-16 surrogate'],
    ['a control character', `te\rxt\n\n${line}`, 'malformed note: contains a control character'],
    ['no blank line', `text\n${line}`, 'malformed note: no blank line'],
    ['no signature line', 'text\n\n', 'malformed note: signature lines must follow'],
    [
      'a line without the em dash',
      `text\n\n- k AQIDBAU=\n`,
      'malformed note: a signature line must start with',
    ],
    ['a name with "+"', `text\n\n\u2014 k+1 AQIDBAU=\n`, 'malformed note: bad key name'],
    ['no signature after the name', `text\n\n\u2014 k\n`, 'malformed note: bad key name'],
    ['bad base64', `text\n\n\u2014 k AQIDBAU\n`, 'malformed note: signature of k is not base64'],
    ['a 4-byte signature', `text\n\n\u2014 k AQIDBA==\n`, 'malformed note: signature of k is too short'],
    ['too many signatures', `text\n\n${line.repeat(MAX_SIGNATURES + 1)}`, 'malformed note: more than 100'],
  ])('parseSignedNote rejects %s', (_, note, message) => {
    expect(outcome(() => parseSignedNote(note))).toMatch(new RegExp(`^${message.replace(/[+()]/g, '\\$&')}`));
  });

  it('parseSignedNote rejects invalid UTF-8 bytes and accepts a note of exactly MAX_SIGNATURES lines', () => {
    expect(outcome(() => parseSignedNote(Uint8Array.of(0xc3, 0x28, 10, 10)))).toBe(
      'malformed note: not valid UTF-8',
    );
    expect(parseSignedNote(`text\n\n${line.repeat(MAX_SIGNATURES)}`).signatures).toHaveLength(MAX_SIGNATURES);
  });

  it('formatSignedNote refuses what a note cannot carry', () => {
    expect(formatSignedNote('a\n', [signature])).toBe(`a\n\n${line}`);
    expect(outcome(() => formatSignedNote('a', [signature]))).toBe('note text must end with a newline');
    expect(outcome(() => formatSignedNote('a\n', []))).toBe('a signed note needs at least one signature');
    expect(outcome(() => formatSignedNote('a\n', Array(MAX_SIGNATURES + 1).fill(signature)))).toMatch(
      /at most 100/,
    );
    expect(outcome(() => formatSignedNote('a\n', [{ ...signature, name: 'a b' }]))).toMatch(
      /^key name must be/,
    );
    expect(outcome(() => formatSignedNote('a\n', [{ ...signature, keyId: Uint8Array.of(1) }]))).toBe(
      'key ID must be 4 bytes',
    );
    expect(outcome(() => formatSignedNote('a\n', [{ ...signature, signature: new Uint8Array(0) }]))).toBe(
      'signature must not be empty',
    );
  });

  it('verifyNote refuses ambiguous trust and notes without a trusted signature', () => {
    const key = parseVerifierKey(vectors.testKeyPairs[0]!.verifierKey);
    const note = {
      text: 'a\n',
      signatures: [{ name: key.name, keyId: key.keyId, signature: new Uint8Array(64) }],
    };
    expect(outcome(() => verifyNote(note, [key, key]))).toMatch(/^ambiguous key PeterNeumann\+c74f20a3/);
    expect(outcome(() => verifyNote({ text: 'a\n', signatures: [] }, key))).toBe(
      'note has no verifiable signatures',
    );
  });

  it.each([
    ['no "+"', 'name', 'verifier key must be <name>+<key id>+<key>'],
    ['one "+"', 'name+01020304', 'verifier key must be'],
    ['an empty name', '+01020304+AQ==', 'key name must be non-empty'],
    ['a short key ID', 'n+010203+AQ==', 'verifier key ID must be 8 hex digits'],
    ['bad base64', 'n+01020304+AQ=', 'verifier key is not standard padded base64'],
    ['a short public key', 'n+01020304+AQID', 'Ed25519 public key must be 32 bytes'],
    ['an empty key', 'n+01020304+', 'unsupported signature type 0x'],
  ])('parseVerifierKey rejects %s', (_, key, message) => {
    expect(outcome(() => parseVerifierKey(key)).startsWith(message)).toBe(true);
  });

  it('parseVerifierKey checks the key ID and accepts it in upper case', () => {
    const vkey = vectors.testKeyPairs[0]!.verifierKey;
    expect(parseVerifierKey(vkey.replace('c74f20a3', 'C74F20A3')).name).toBe('PeterNeumann');
    expect(outcome(() => parseVerifierKey(vkey.replace('c74f20a3', 'c74f20a4')))).toBe(
      'verifier key ID c74f20a4 does not match its key',
    );
    expect(outcome(() => ed25519KeyId('PeterNeumann', new Uint8Array(31)))).toBe(
      'Ed25519 public key must be 32 bytes',
    );
  });

  it('signer keys are checked', () => {
    const skey = vectors.testKeyPairs[0]!.signerKey;
    expect(outcome(() => localSignerFromKeyString(skey.replace('PRIVATE+KEY+', '')))).toMatch(
      /^signer key must be/,
    );
    expect(outcome(() => localSignerFromKeyString('PRIVATE+KEY+name'))).toMatch(/^signer key must be/);
    expect(outcome(() => localSignerFromKeyString('PRIVATE+KEY+n+01020304+AQ='))).toBe(
      'signer key is not standard padded base64',
    );
    expect(outcome(() => localSignerFromKeyString('PRIVATE+KEY+n+01020304+AQID'))).toBe(
      'signer key must be an Ed25519 (0x01) key of 32 bytes',
    );
    expect(outcome(() => localSignerFromKeyString(skey.replace('c74f20a3', '00000000')))).toBe(
      'signer key ID 00000000 does not match its key',
    );
    expect(outcome(() => localEd25519Signer('n', new Uint8Array(16)))).toBe(
      'Ed25519 private key must be 32 bytes',
    );
  });
});
