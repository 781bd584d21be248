import { createContext, runInContext } from 'node:vm';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../../functions/journal/bytes.ts';
import { signCheckpoint } from '../../../functions/journal/checkpoint.ts';
import { generateEd25519KeyPair, localEd25519Signer } from '../../../functions/journal/local-signer.ts';
import {
  hashLeaf,
  inclusionProof,
  type NodeReader,
  rootFromLeafHashes,
} from '../../../functions/journal/merkle.ts';
import { verifierKeyString } from '../../../functions/journal/note.ts';

// The auditor's verifier must run in a browser and trust nothing but the public key. Proof of
// the first half: bundle it for the browser platform (esbuild refuses Node built-ins there) and
// run the bundle in a bare V8 context holding only what every browser has.
const entry = `
  export { openCheckpoint } from './functions/journal/checkpoint.ts';
  export { verifyInclusion } from './functions/journal/verify.ts';
  export { fromHex } from './functions/journal/bytes.ts';
`;

async function browserBundle(): Promise<string> {
  const out = await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'verifier',
    write: false,
    minify: true,
    logLevel: 'silent',
  });
  return out.outputFiles[0]?.text ?? '';
}

describe('the journal verifier in a browser-like context', () => {
  it('bundles without Node built-ins and verifies a real checkpoint and inclusion proof', async () => {
    const code = await browserBundle();
    expect(code.length).toBeLessThan(150_000);

    // A log of 11 entries signed with a fresh key, and a proof for entry 6.
    const leaves = Array.from({ length: 11 }, (_, i) => hashLeaf(new TextEncoder().encode(`entry ${i}`)));
    const read: NodeReader = async (nodes) =>
      nodes.map(({ level, index }) =>
        rootFromLeafHashes(leaves.slice(index * 2 ** level, (index + 1) * 2 ** level)),
      );
    const { privateKey } = generateEd25519KeyPair();
    const signer = localEd25519Signer('auditor.test/log', privateKey);
    const note = await signCheckpoint(
      { origin: 'auditor.test/log', size: 11, rootHash: rootFromLeafHashes(leaves) },
      signer,
    );
    const proof = (await inclusionProof(6, 11, read)).map(toHex);

    const sandbox = createContext({ TextEncoder, TextDecoder, Uint8Array, result: undefined as unknown });
    runInContext(code, sandbox);
    const check = (leaf: string, vkey: string) =>
      runInContext(
        `(() => {
          const { checkpoint } = verifier.openCheckpoint(${JSON.stringify(note)}, ${JSON.stringify(vkey)});
          verifier.verifyInclusion(verifier.fromHex(${JSON.stringify(leaf)}), 6, checkpoint.size,
            ${JSON.stringify(proof)}.map(verifier.fromHex), checkpoint.rootHash);
          return checkpoint.size;
        })()`,
        sandbox,
      );
    const vkey = verifierKeyString('auditor.test/log', signer.publicKey);
    expect(check(toHex(leaves[6] as Uint8Array), vkey)).toBe(11);
    expect(() => check(toHex(leaves[5] as Uint8Array), vkey)).toThrow();
    const other = verifierKeyString('auditor.test/log', generateEd25519KeyPair().publicKey);
    expect(() => check(toHex(leaves[6] as Uint8Array), other)).toThrow();
  });
});
