import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  parseCount,
  readLocalState,
  resolveConnection,
  resolveKey,
  resolveOrigin,
  UsageError,
} from '../../../functions/cli/journal-config.ts';
import { toHex } from '../../../functions/journal/bytes.ts';
import { generateEd25519KeyPair, signerKeyString } from '../../../functions/journal/local-signer.ts';
import { verifierKeyString } from '../../../functions/journal/note.ts';

describe('journal CLI configuration', () => {
  let dir: string;
  const { privateKey, publicKey } = generateEd25519KeyPair();
  const vkey = verifierKeyString('claimledger.local/journal', publicKey);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-config-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads local.json, and nothing when there is none', () => {
    expect(readLocalState(join(dir, 'absent'))).toEqual({});
    const state = {
      dynamoEndpoint: 'http://127.0.0.1:8000',
      tablePrefix: 'p-',
      origin: 'o',
      verifierKey: vkey,
    };
    writeFileSync(join(dir, 'local.json'), JSON.stringify({ ...state, apiUrl: 'http://127.0.0.1:3000' }));
    expect(readLocalState(dir)).toMatchObject(state);
  });

  it('refuses a local.json that is not what npm start writes', () => {
    const bad = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(join(bad, 'local.json'), '{"dynamoEndpoint": 42}');
    expect(() => readLocalState(bad)).toThrow(UsageError);
    writeFileSync(join(bad, 'local.json'), 'not json');
    expect(() => readLocalState(bad)).toThrow(/is not JSON/);
  });

  it('takes the endpoint from the option, then the environment, then local.json, then the SDK', () => {
    const local = { dynamoEndpoint: 'http://local:1', tablePrefix: 'lp-' };
    const env = { AWS_ENDPOINT_URL: 'http://env:2' };
    expect(resolveConnection({ endpoint: 'http://opt:3' }, local, env)).toEqual({
      endpoint: 'http://opt:3',
      endpointFrom: 'option',
      table: 'lp-journal',
    });
    expect(resolveConnection({}, local, env)).toEqual({
      endpoint: undefined,
      endpointFrom: 'environment',
      table: 'lp-journal',
    });
    expect(resolveConnection({ tablePrefix: 'x-' }, local, {})).toEqual({
      endpoint: 'http://local:1',
      endpointFrom: 'local.json',
      table: 'x-journal',
    });
    expect(resolveConnection({ journalTable: 'mine' }, {}, {})).toEqual({
      endpoint: undefined,
      endpointFrom: 'sdk',
      table: 'mine',
    });
    expect(resolveConnection({}, {}, {}).table).toBe('claimledger-local-journal');
    expect(() => resolveConnection({ endpoint: 'localhost:8000' }, {}, {})).toThrow(
      /must be an http\(s\) URL/,
    );
  });

  it('reads the verifier key from the option, a file or local.json, and refuses anything else', () => {
    const file = join(dir, 'key.txt');
    writeFileSync(file, `${vkey}\n`);
    const signing = join(dir, 'signing-key');
    writeFileSync(signing, signerKeyString('claimledger.local/journal', privateKey));

    expect(toHex(resolveKey(vkey, {}, dir).publicKey)).toBe(toHex(publicKey));
    expect(resolveKey(file, {}, dir).name).toBe('claimledger.local/journal');
    expect(resolveKey(undefined, { verifierKey: vkey }, dir).name).toBe('claimledger.local/journal');
    expect(() => resolveKey(undefined, {}, dir)).toThrow(/^no verifier key: pass --key/);
    expect(() => resolveKey(signing, {}, dir)).toThrow(/is a signing key; pass the verifier key/);
    expect(() => resolveKey('a+b+c', {}, dir)).toThrow(/^--key: verifier key ID must be 8 hex digits/);
    expect(() => resolveKey(join(dir, 'missing'), {}, dir)).toThrow(
      /neither a readable file nor a verifier key/,
    );
    expect(() => resolveKey(undefined, { verifierKey: 'junk' }, dir)).toThrow(/^verifierKey in /);
  });

  it('expects the origin from the option, local.json, else the key name', () => {
    const key = resolveKey(vkey, {}, dir);
    expect(resolveOrigin('x', { origin: 'y' }, key)).toBe('x');
    expect(resolveOrigin(undefined, { origin: 'y' }, key)).toBe('y');
    expect(resolveOrigin(undefined, {}, key)).toBe('claimledger.local/journal');
  });

  it('parses counts strictly', () => {
    expect(parseCount('0', 'index')).toBe(0);
    expect(parseCount('42', 'index')).toBe(42);
    for (const bad of ['', '-1', '01', '1.5', '1e3', ' 1', '99999999999999999999', undefined]) {
      expect(() => parseCount(bad, 'index')).toThrow(UsageError);
    }
  });
});
