import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex } from '../../functions/journal/bytes.ts';
import { canonicalBytes } from '../../functions/journal/canonical-json.ts';
import { openCheckpoint } from '../../functions/journal/checkpoint.ts';
import { hashLeaf } from '../../functions/journal/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../../functions/journal/verify.ts';
import { demoClaim } from '../../functions/local/demo-seed.ts';
import { LOCAL_JOURNAL_ORIGIN } from '../../functions/local/local-stack.ts';
import { call } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';

interface CheckpointBody {
  origin: string;
  size: number;
  rootHash: string;
  note: string;
}

describe('journal API over HTTP', () => {
  let stack: E2eStack;
  let claimId: string;
  let receipt: { index: number; leafHash: string };

  beforeAll(async () => {
    stack = await startE2eStack();
    const res = await call(stack.url, 'POST', '/claims', {
      token: stack.tokens.provider,
      json: { ...demoClaim, claimId: 'JOURNAL-1' },
    });
    expect(res.status).toBe(201);
    claimId = String(res.body.id);
    receipt = res.body.journal as typeof receipt;
    await stack.integrator.caughtUp();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const get = (path: string, token = stack.tokens.analyst, headers: Record<string, string> = {}) =>
    call(stack.url, 'GET', path, { token, headers });

  /** The latest checkpoint, after checking its signature with nothing but the verifier key. */
  async function trustedCheckpoint(token = stack.tokens.provider) {
    const res = await get('/journal/checkpoint', token);
    expect(res.status).toBe(200);
    const body = res.body as unknown as CheckpointBody;
    const { checkpoint } = openCheckpoint(body.note, stack.verifierKey, { origin: LOCAL_JOURNAL_ORIGIN });
    expect(checkpoint.size).toBe(body.size);
    return checkpoint;
  }

  it('serves a checkpoint signed by the published key, to any authenticated caller', async () => {
    const checkpoint = await trustedCheckpoint();
    expect(checkpoint.size).toBeGreaterThan(receipt.index);
    const plain = await fetch(`${stack.url}/journal/checkpoint`, {
      headers: { authorization: `Bearer ${stack.tokens.otherProvider}`, accept: 'text/plain' },
    });
    expect(plain.headers.get('content-type')).toMatch(/^text\/plain/);
    const note = await plain.text();
    expect(note.startsWith(`${LOCAL_JOURNAL_ORIGIN}\n${checkpoint.size}\n`)).toBe(true);
    expect((await call(stack.url, 'GET', '/journal/checkpoint')).status).toBe(401);
  });

  it("proves a provider's claim decision is in the signed tree", async () => {
    const checkpoint = await trustedCheckpoint();
    const res = await get(`/journal/entries/${receipt.index}/proof`, stack.tokens.provider);
    expect(res.status).toBe(200);
    expect(res.body.size).toBe(checkpoint.size);
    const proof = (res.body.proof as string[]).map(fromHex);
    verifyInclusion(fromHex(receipt.leafHash), receipt.index, checkpoint.size, proof, checkpoint.rootHash);
    // A proof for another leaf hash fails against the same root.
    const other = fromHex(receipt.leafHash);
    other[0] = (other[0] ?? 0) ^ 1;
    expect(() =>
      verifyInclusion(other, receipt.index, checkpoint.size, proof, checkpoint.rootHash),
    ).toThrow();
  });

  it("journals the rule set's activation, which every decision's rule-set hash points back at", async () => {
    const decided = (await get(`/journal/entries/${receipt.index}`)).body.entry as { ruleSetHash: string };
    let activation: Record<string, unknown> | undefined;
    for (let index = 0; index < receipt.index && !activation; index++) {
      const entry = (await get(`/journal/entries/${index}`)).body.entry as Record<string, unknown>;
      if (entry.type === 'ruleset.activated') activation = entry;
    }
    expect(activation?.docId).toBe(`ruleset/${decided.ruleSetHash}`);
    expect((activation?.payload as { rules: string[] } | undefined)?.rules.length).toBeGreaterThan(10);
  });

  it('gives analysts the entry, whose canonical bytes hash to the receipt', async () => {
    const res = await get(`/journal/entries/${receipt.index}`);
    expect(res.status).toBe(200);
    const entry = res.body.entry as Record<string, unknown>;
    expect(entry.type).toBe('claim.decided');
    expect(entry.docId).toBe(`claim/${claimId}`);
    expect(Buffer.from(hashLeaf(canonicalBytes(entry))).toString('hex')).toBe(receipt.leafHash);
    expect(res.body.leafHash).toBe(receipt.leafHash);
    expect((await get(`/journal/entries/${receipt.index}`, stack.tokens.provider)).status).toBe(403);
  });

  it("returns a claim's history with a proof per revision, to analysts only", async () => {
    const checkpoint = await trustedCheckpoint();
    const res = await get(`/claims/${claimId}/history`);
    expect(res.status).toBe(200);
    expect(res.body.docId).toBe(`claim/${claimId}`);
    const revisions = res.body.revisions as {
      index: number;
      leafHash: string;
      entry: Record<string, unknown>;
      proof: string[];
    }[];
    // The decision, then this very read: analysts' reads of a history are journaled.
    expect(revisions.map((r) => r.entry.type)).toEqual(['claim.decided', 'record.read']);
    expect(revisions[1]?.entry.actor).toEqual({ sub: 'analyst-ana', role: 'analyst' });
    const [first] = revisions;
    expect(first?.index).toBe(receipt.index);
    expect(first?.entry.docRevision).toBe(1);
    verifyInclusion(
      hashLeaf(canonicalBytes(first?.entry)),
      receipt.index,
      (res.body.checkpoint as CheckpointBody).size,
      (first?.proof ?? []).map(fromHex),
      fromHex((res.body.checkpoint as CheckpointBody).rootHash),
    );
    expect((res.body.checkpoint as CheckpointBody).size).toBeLessThanOrEqual(checkpoint.size);
    expect((await get(`/claims/${claimId}/history`, stack.tokens.provider)).status).toBe(403);
    const missing = await get(`/claims/c${'0'.repeat(31)}/history`);
    expect(missing.status).toBe(404);
  });

  it("journals an analyst's read of a claim's detail, not the provider's read of its own claim", async () => {
    const views = async () =>
      (
        (await get(`/claims/${claimId}/history`)).body.revisions as {
          entry: { type: string; payload: { view?: string } };
        }[]
      ).filter((r) => r.entry.type === 'record.read' && r.entry.payload.view === 'claim').length;
    const before = await views();
    expect((await get(`/claims/${claimId}`, stack.tokens.provider)).status).toBe(200);
    expect(await views()).toBe(before);
    const read = await get(`/claims/${claimId}`);
    expect(read.status).toBe(200);
    expect(read.body.decision).toHaveProperty('trace');
    expect(await views()).toBe(before + 1);
  });

  it('proves the log only grew between two checkpoints', async () => {
    const before = await trustedCheckpoint();
    const res = await call(stack.url, 'POST', '/claims', {
      token: stack.tokens.provider,
      json: { ...demoClaim, claimId: 'JOURNAL-2' },
    });
    expect(res.status).toBe(201);
    await stack.integrator.caughtUp();
    const after = await trustedCheckpoint();
    expect(after.size).toBeGreaterThan(before.size);
    const proof = await get(
      `/journal/consistency?from=${before.size}&to=${after.size}`,
      stack.tokens.provider,
    );
    expect(proof.status).toBe(200);
    verifyConsistency(
      before.size,
      after.size,
      (proof.body.proof as string[]).map(fromHex),
      before.rootHash,
      after.rootHash,
    );
  });

  it('refuses malformed or out-of-range indices and sizes precisely, changing nothing', async () => {
    const { size } = await trustedCheckpoint();
    const cases: [string, number, string][] = [
      ['/journal/entries/abc', 400, 'bad-request'],
      ['/journal/entries/-1', 400, 'bad-request'],
      ['/journal/entries/1e3', 400, 'bad-request'],
      ['/journal/entries/99999999999999999999', 400, 'bad-request'],
      [`/journal/entries/${size + 1000}`, 404, 'not-found'],
      ['/journal/entries/0/proof?size=x', 400, 'bad-request'],
      [`/journal/entries/0/proof?size=${size + 1000}`, 422, 'validation-failed'],
      [`/journal/entries/${size}/proof?size=${size}`, 422, 'validation-failed'],
      ['/journal/consistency?from=1', 400, 'bad-request'],
      ['/journal/consistency?from=2&to=1', 422, 'validation-failed'],
      [`/journal/consistency?from=0&to=${size}`, 422, 'validation-failed'],
      [`/journal/consistency?from=1&to=${size + 1000}`, 422, 'validation-failed'],
      ['/claims/not-an-id/history', 404, 'not-found'],
    ];
    for (const [path, status, kind] of cases) {
      const res = await get(path);
      expect(res.status, path).toBe(status);
      expect(res.headers.get('content-type'), path).toBe('application/problem+json');
      expect(res.body.type, path).toBe(`${PROBLEM}${kind}`);
    }
    await stack.integrator.caughtUp();
    expect((await trustedCheckpoint()).size).toBe(size);
  });
});
