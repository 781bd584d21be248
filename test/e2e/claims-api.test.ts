import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoClaim, demoProviders } from '../../functions/local/demo-seed.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../functions/local/dev-issuer.ts';
import { call } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';

describe('claims API over HTTP', () => {
  let stack: E2eStack;
  beforeAll(async () => {
    stack = await startE2eStack();
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const post = (json: unknown, token = stack.tokens.provider) =>
    call(stack.url, 'POST', '/claims', { token, json });

  it('answers health without a token', async () => {
    const res = await call(stack.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('decides a claim, journals it and returns a receipt, without internals for the provider', async () => {
    const res = await post(demoClaim);
    expect(res.status).toBe(201);
    expect(res.headers.get('location')).toBe(`/claims/${res.body.id}`);
    const decision = res.body.decision as Record<string, unknown>;
    expect(['approved', 'partially_approved', 'denied', 'pended']).toContain(decision.outcome);
    expect(decision.ruleSetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(decision.lines).toHaveLength(3);
    expect(decision).not.toHaveProperty('trace');
    expect(decision).not.toHaveProperty('fraud');
    const journal = res.body.journal as { index: number; leafHash: string };
    expect(Number.isInteger(journal.index)).toBe(true);
    expect(journal.leafHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('returns the first decision to a retry and refuses the same claim id with other content', async () => {
    const claim = { ...demoClaim, claimId: 'RETRY-1' };
    const first = await post(claim);
    const retry = await post(claim);
    expect(first.status).toBe(201);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);

    const changed = await post({
      ...claim,
      diagnosisCodes: ['I10'],
      lines: [{ ...claim.lines[0], diagnosisPointers: [1] }],
    });
    expect(changed.status).toBe(409);
    expect(changed.headers.get('content-type')).toBe('application/problem+json');
    expect(changed.body.type).toBe(`${PROBLEM}conflict`);
  });

  it('lets a provider read only its own claims; analysts read all, with the trace', async () => {
    const created = await post({ ...demoClaim, claimId: 'READ-1' });
    const id = String(created.body.id);

    const own = await call(stack.url, 'GET', `/claims/${id}`, { token: stack.tokens.provider });
    expect(own.status).toBe(200);
    expect(own.body.journal).toEqual(created.body.journal);

    const other = await call(stack.url, 'GET', `/claims/${id}`, { token: stack.tokens.otherProvider });
    expect(other.status).toBe(404);
    expect(other.body.type).toBe(`${PROBLEM}not-found`);

    const analyst = await call(stack.url, 'GET', `/claims/${id}`, { token: stack.tokens.analyst });
    expect(analyst.status).toBe(200);
    expect(analyst.body.decision).toHaveProperty('trace');
    expect(analyst.body.decision).toHaveProperty('fraud');

    const unknown = await call(stack.url, 'GET', `/claims/c${'0'.repeat(31)}`, {
      token: stack.tokens.analyst,
    });
    expect(unknown.status).toBe(404);
  });

  it('denies a claim whose dates of service are after the coverage ended (CARC 27)', async () => {
    const res = await post({ ...demoClaim, claimId: 'ENDED-1', memberId: 'M1003' });
    expect(res.status).toBe(201);
    const decision = res.body.decision as { outcome: string; lines: { adjustments: { carc: string }[] }[] };
    expect(decision.outcome).toBe('denied');
    for (const line of decision.lines) expect(line.adjustments.map((a) => a.carc)).toContain('27');
  });

  describe('authentication', () => {
    const attempt = (token?: string) =>
      call(stack.url, 'POST', '/claims', { ...(token ? { token } : {}), json: demoClaim });

    it('refuses a missing, expired, forged or unsigned token with 401', async () => {
      const expired = await stack.issuer.mint({
        sub: 'x',
        roles: ['provider'],
        npis: [demoProviders.familyClinic.npi],
        ttlSeconds: -60,
      });
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({
        'cognito:groups': ['provider'],
        'custom:npi': demoProviders.familyClinic.npi,
      })
        .setProtectedHeader({ alg: 'ES256' })
        .setSubject('mallory')
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setExpirationTime('1h')
        .sign(privateKey);
      const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
      const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'mallory', 'cognito:groups': ['provider'], iss: DEV_ISSUER, aud: DEV_AUDIENCE, exp: 4e9 })}.`;

      for (const token of [undefined, expired, forged, unsigned, 'not-a-jwt']) {
        const res = await attempt(token);
        expect(res.status).toBe(401);
        expect(res.body.type).toBe(`${PROBLEM}unauthorized`);
      }
    });

    it('refuses the wrong role with 403', async () => {
      expect((await attempt(stack.tokens.analyst)).status).toBe(403);
      const coverage = await call(stack.url, 'PUT', '/members/M9/coverage', {
        token: stack.tokens.provider,
        json: {},
      });
      expect(coverage.status).toBe(403);
      expect(coverage.body.type).toBe(`${PROBLEM}forbidden`);
    });

    it('refuses a claim billed under an NPI the provider does not hold with 403', async () => {
      const res = await post({
        ...demoClaim,
        claimId: 'NPI-1',
        billingProviderNpi: demoProviders.orthoGroup.npi,
      });
      expect(res.status).toBe(403);
    });
  });

  describe('bad input', () => {
    it('415 for a body that is not JSON', async () => {
      const res = await call(stack.url, 'POST', '/claims', {
        token: stack.tokens.provider,
        body: 'claimId=1',
        contentType: 'application/x-www-form-urlencoded',
      });
      expect(res.status).toBe(415);
      expect(res.body.type).toBe(`${PROBLEM}unsupported-media-type`);
    });

    it('400 for malformed JSON', async () => {
      const res = await call(stack.url, 'POST', '/claims', {
        token: stack.tokens.provider,
        body: '{"claimId": ',
      });
      expect(res.status).toBe(400);
      expect(res.body.type).toBe(`${PROBLEM}malformed-json`);
    });

    it('413 for a body over 1 MB', async () => {
      const res = await call(stack.url, 'POST', '/claims', {
        token: stack.tokens.provider,
        body: JSON.stringify({ padding: 'x'.repeat(1024 * 1024) }),
      });
      expect(res.status).toBe(413);
      expect(res.body.type).toBe(`${PROBLEM}payload-too-large`);
    });

    it('422 listing every offending field, including fields a provider may not set', async () => {
      const res = await post({
        ...demoClaim,
        claimId: 'BAD-1',
        serviceDateFrom: '2026-02-30',
        status: 'approved',
        lines: [{ ...demoClaim.lines[0], units: 0, chargeCents: 12.5 }],
      });
      expect(res.status).toBe(422);
      expect(res.body.type).toBe(`${PROBLEM}validation-failed`);
      const paths = (res.body.errors as { path: string }[]).map((e) => e.path);
      expect(paths).toEqual(
        expect.arrayContaining(['/serviceDateFrom', '/lines/0/units', '/lines/0/chargeCents', '/']),
      );
      expect(JSON.stringify(res.body)).not.toMatch(/stack|at \w+ \(|\$metadata/);
    });

    it('404 for an unknown route', async () => {
      const res = await call(stack.url, 'GET', '/nothing-here', { token: stack.tokens.analyst });
      expect(res.status).toBe(404);
    });
  });

  describe('records', () => {
    const coverage = {
      member: { birthDate: '1990-05-05', sex: 'male' },
      coverages: [
        {
          coverageId: 'COV-E2E',
          planId: 'PPO-GOLD',
          status: 'active',
          start: '2026-01-01',
          benefits: { deductibleCents: 10_000, outOfPocketMaxCents: 100_000, coinsuranceBps: 2000 },
        },
      ],
    };

    it('creates, keeps and revises coverage, each change journaled', async () => {
      const put = (body: unknown) =>
        call(stack.url, 'PUT', '/members/M-E2E/coverage', { token: stack.tokens.analyst, json: body });
      const created = await put(coverage);
      expect(created.status).toBe(201);
      expect(created.body.revision).toBe(1);
      expect(created.body.journal).toMatchObject({ index: expect.any(Number) });

      const same = await put(coverage);
      expect(same.status).toBe(200);
      expect(same.body.revision).toBe(1);
      expect(same.body.journal).toBeNull();

      const revised = await put({ ...coverage, member: { ...coverage.member, sex: 'unknown' } });
      expect(revised.status).toBe(200);
      expect(revised.body.revision).toBe(2);
      expect((revised.body.journal as { index: number }).index).toBeGreaterThan(
        (created.body.journal as { index: number }).index,
      );
    });

    it('records a treatment once; the same id with other content is 409', async () => {
      const record = {
        recordId: 'TR-E2E-1',
        memberId: 'M-E2E',
        providerNpi: demoProviders.familyClinic.npi,
        serviceDate: '2026-04-01',
        kind: 'encounter',
        procedureCodes: ['99213'],
        diagnosisCodes: ['I10'],
      };
      const send = (body: unknown) =>
        call(stack.url, 'POST', '/treatments', { token: stack.tokens.analyst, json: body });
      expect((await send(record)).status).toBe(201);
      expect((await send(record)).status).toBe(200);
      const conflict = await send({ ...record, serviceDate: '2026-04-02' });
      expect(conflict.status).toBe(409);
    });
  });
});
