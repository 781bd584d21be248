import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { providerScope } from '../../functions/http/identity.ts';
import { demoClaim, demoProviders } from '../../functions/local/demo-seed.ts';
import { call } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';

/**
 * A provider's billing system calls with a client-credentials access token and its API key,
 * as it would through the provider API: the token carries no groups and no NPIs, and becomes
 * a provider only for its configured client, with that client's NPIs, and only with its own
 * key (functions/http/identity.ts; the local gateway resolves `x-api-key` to the key's id).
 */
describe('provider systems (client credentials + API key) over HTTP', () => {
  let stack: E2eStack;
  beforeAll(async () => {
    stack = await startE2eStack();
  });
  afterAll(() => stack?.stop());

  const submit = (claim: unknown, token: string, apiKey?: string) =>
    call(stack.url, 'POST', '/claims', {
      token,
      json: claim,
      ...(apiKey === undefined ? {} : { headers: { 'x-api-key': apiKey } }),
    });

  it('decides and reads back a claim for the system’s own NPI', async () => {
    const claim = { ...demoClaim, claimId: 'SYS-1' };
    const created = await submit(claim, stack.tokens.providerSystem, stack.providerSystem.apiKey);
    expect(created.status).toBe(201);
    const read = await call(stack.url, 'GET', `/claims/${created.body.id}`, {
      token: stack.tokens.providerSystem,
      headers: { 'x-api-key': stack.providerSystem.apiKey },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: created.body.id, decision: created.body.decision });
    // A person of the same provider reads the same claim: the NPI is what owns it.
    const byPerson = await call(stack.url, 'GET', `/claims/${created.body.id}`, {
      token: stack.tokens.provider,
    });
    expect(byPerson.status).toBe(200);
  });

  it('refuses the token without its API key, with another key, or for another NPI', async () => {
    const claim = { ...demoClaim, claimId: 'SYS-2' };
    for (const apiKey of [undefined, 'not-a-key', `${stack.providerSystem.apiKey}x`]) {
      const res = await submit(claim, stack.tokens.providerSystem, apiKey);
      expect(res.status, String(apiKey)).toBe(403);
      expect(res.body.type).toBe(`${PROBLEM}forbidden`);
    }
    const otherNpi = { ...claim, claimId: 'SYS-3', billingProviderNpi: demoProviders.orthoGroup.npi };
    expect((await submit(otherNpi, stack.tokens.providerSystem, stack.providerSystem.apiKey)).status).toBe(
      403,
    );
  });

  it('gives no role to an unknown client or a token without a provider scope', async () => {
    const claim = { ...demoClaim, claimId: 'SYS-4' };
    const unknown = await stack.issuer.mintClientCredentials({
      clientId: 'someOtherSystem',
      scopes: [providerScope('claims.write')],
    });
    const noScope = await stack.issuer.mintClientCredentials({
      clientId: stack.providerSystem.clientId,
      scopes: ['openid'],
    });
    for (const token of [unknown, noScope]) {
      expect((await submit(claim, token, stack.providerSystem.apiKey)).status).toBe(403);
    }
  });
});
