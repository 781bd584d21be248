import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../functions/claims/identity.ts';
import { type RouteDefinition, routes } from '../../functions/handlers/routes.ts';
import { MAX_BODY_BYTES } from '../../functions/http/json-body.ts';
import { demoClaim, demoProviders, demoReviewClaim } from '../../functions/local/demo-seed.ts';
import { call, type Reply } from '../support/http.ts';
import { rawRequest } from '../support/security-http.ts';
import { type SecurityStack, startSecurityStack } from '../support/security-stack.ts';
import type { BadToken } from '../support/security-tokens.ts';

/**
 * Security tests organised by the OWASP API Security Top 10 (2023). What other e2e files
 * already prove is referenced, not repeated: claims-api.test.ts (provider reads only its own
 * claim, 401/403 basics, 413/415/400 on POST /claims, a `status` field refused),
 * reviews-api.test.ts (review routes 403 for providers and rules admins, /reviews query and
 * cursor bounds, If-Match), journal-api.test.ts (index and size bounds), claims-fuzz.test.ts.
 */

const PROBLEM = 'https://claimledger.dev/problems/';
const NO_CLAIM = `c${'0'.repeat(31)}`;
/** What an error body must never carry: stack frames, file paths, SDK errors or metadata. */
const LEAK =
  /node_modules|\/work\/|\.[cm]?[jt]s:\d+|\bat (async )?\S+ \(|\$metadata|Exception\b|"stack"|ConditionalCheck/;

const routeKey = (route: Pick<RouteDefinition, 'method' | 'path'>) => `${route.method} ${route.path}`;

type Principal = 'provider' | 'analyst' | 'rulesAdmin' | 'noGroups' | 'unknownGroups';
const ROLE_OF: Record<Exclude<Principal, 'noGroups' | 'unknownGroups'>, Role> = {
  provider: 'provider',
  analyst: 'analyst',
  rulesAdmin: 'rules-admin',
};

/**
 * Who may call each route (README's API tables). A route added to routes.ts without an entry
 * here fails API5 and API9 until someone decides who may call it.
 */
const ACCESS: Record<string, { roles: readonly Role[] | 'public'; body?: unknown; query?: string }> = {
  'GET /health': { roles: 'public' },
  'POST /claims': { roles: ['provider'], body: {} },
  'GET /claims/{id}': { roles: ['provider', 'analyst'] },
  'PUT /members/{memberId}/coverage': { roles: ['analyst', 'rules-admin'], body: {} },
  'POST /treatments': { roles: ['analyst', 'rules-admin'], body: {} },
  'GET /claims/{id}/history': { roles: ['analyst'] },
  'GET /journal/checkpoint': { roles: ['provider', 'analyst', 'rules-admin'] },
  'GET /journal/entries/{index}': { roles: ['analyst'] },
  'GET /journal/entries/{index}/proof': { roles: ['provider', 'analyst', 'rules-admin'] },
  'GET /journal/consistency': { roles: ['provider', 'analyst', 'rules-admin'], query: '?from=1&to=1' },
  'GET /reviews': { roles: ['analyst'] },
  'GET /reviews/{claimId}': { roles: ['analyst'] },
  'POST /reviews/{claimId}/assign': { roles: ['analyst'], body: {} },
  'POST /reviews/{claimId}/decision': { roles: ['analyst'], body: {} },
  'GET /journal/search': { roles: ['analyst'], query: '?member=M-SEC-NOBODY' },
  'GET /providers/{npi}/summary': { roles: ['analyst'] },
  'GET /rules/active': { roles: ['analyst', 'rules-admin'] },
  'POST /rules/simulate': { roles: ['rules-admin'], body: {} },
};

/** A concrete path for a route template: ids that are well formed but name nothing. */
function samplePath(route: RouteDefinition): string {
  const path = route.path
    .replace('{id}', NO_CLAIM)
    .replace('{claimId}', NO_CLAIM)
    .replace('{memberId}', 'M-SEC-NOBODY')
    .replace('{npi}', demoProviders.orthoGroup.npi)
    .replace('{index}', '0');
  return `${path}${ACCESS[routeKey(route)]?.query ?? ''}`;
}

/** The other provider's claim, as it submitted it (for another member, under its own NPI). */
const theirClaim = {
  ...demoClaim,
  claimId: 'SEC-OTHER-1',
  billingProviderNpi: demoProviders.orthoGroup.npi,
  memberId: 'M1002',
};

function expectProblem(res: Reply, status: number, kind: string, context = ''): void {
  expect(res.status, context).toBe(status);
  expect(res.headers.get('content-type'), context).toBe('application/problem+json');
  expect(res.body.type, context).toBe(`${PROBLEM}${kind}`);
  expect(res.body.status, context).toBe(status);
  expect(JSON.stringify(res.body), context).not.toMatch(LEAK);
}

describe('OWASP API Security Top 10 (2023)', () => {
  let stack: SecurityStack;
  let tokens: Record<Principal, string>;
  /** Claim document ids: the provider's, the other provider's, and the provider's pended one. */
  let own: string;
  let others: string;
  let pended: string;

  const submit = async (claim: unknown, token = tokens.provider) => {
    const res = await call(stack.url, 'POST', '/claims', { token, json: claim });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res;
  };
  const send = (route: RouteDefinition, token: string | undefined, headers: Record<string, string> = {}) => {
    const { body } = ACCESS[routeKey(route)] ?? {};
    return call(stack.url, route.method, samplePath(route), {
      ...(token ? { token } : {}),
      headers,
      ...(body === undefined ? {} : { json: body }),
    });
  };

  beforeAll(async () => {
    stack = await startSecurityStack();
    tokens = {
      provider: stack.tokens.provider,
      analyst: stack.tokens.analyst,
      rulesAdmin: stack.tokens.rulesAdmin,
      noGroups: await stack.forge.sign({ sub: 'no-groups' }, { omit: ['cognito:groups'] }),
      unknownGroups: await stack.forge.sign({
        sub: 'odd-groups',
        'cognito:groups': ['Analyst', 'ANALYST', 'admin', 'rules_admin', 'analysts', 'Provider'],
      }),
    };
    own = String((await submit({ ...demoClaim, claimId: 'SEC-OWN-1' })).body.id);
    others = String((await submit(theirClaim, stack.tokens.otherProvider)).body.id);
    const review = await submit({ ...demoReviewClaim, claimId: 'SEC-PEND-1' });
    expect(review.body.status).toBe('pended');
    pended = String(review.body.id);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  describe('API1 broken object-level authorization', () => {
    it("answers another provider's claim exactly as a claim that does not exist", async () => {
      const theirs = await call(stack.url, 'GET', `/claims/${others}`, { token: tokens.provider });
      const nobody = await call(stack.url, 'GET', `/claims/${NO_CLAIM}`, { token: tokens.provider });
      expectProblem(theirs, 404, 'not-found');
      const shape = (res: Reply, id: string) => ({
        ...res.body,
        instance: undefined,
        detail: String(res.body.detail).replace(id, '<id>'),
      });
      expect(shape(theirs, others)).toEqual(shape(nobody, NO_CLAIM));
      expect(JSON.stringify(theirs.body)).not.toMatch(/M1002|SEC-OTHER|1452637980/);
    });

    it("cannot change another provider's claim by resubmitting it, under their NPI or its own", async () => {
      const before = await call(stack.url, 'GET', `/claims/${others}`, { token: stack.tokens.otherProvider });
      expectProblem(
        await call(stack.url, 'POST', '/claims', { token: tokens.provider, json: theirClaim }),
        403,
        'forbidden',
      );
      // Same external claim id under its own NPI: a separate claim, not the other provider's.
      const mine = await submit({ ...theirClaim, billingProviderNpi: demoProviders.familyClinic.npi });
      expect(mine.body.id).not.toBe(others);
      const after = await call(stack.url, 'GET', `/claims/${others}`, { token: stack.tokens.otherProvider });
      expect(after.body).toEqual(before.body);
    });

    it("reaches another provider's claim through no other route", async () => {
      for (const [method, path] of [
        ['GET', `/claims/${others}/history`],
        ['GET', `/reviews/${others}`],
        ['POST', `/reviews/${others}/assign`],
        ['POST', `/reviews/${others}/decision`],
        ['GET', `/journal/entries/0`],
      ] as const) {
        const res = await call(stack.url, method, path, {
          token: tokens.provider,
          headers: { 'if-match': '"1"' },
          ...(method === 'POST' ? { json: { outcome: 'approve' } } : {}),
        });
        expectProblem(res, 403, 'forbidden', `${method} ${path}`);
      }
      // Inclusion proofs are open to every caller: hashes only, no entry and so no PHI.
      const proof = await call(stack.url, 'GET', '/journal/entries/0/proof', { token: tokens.provider });
      expect(proof.status).toBe(200);
      expect(Object.keys(proof.body).sort()).toEqual(['checkpoint', 'index', 'leafHash', 'proof', 'size']);
    });

    it("takes identity from the token's groups only: an analyst's id in the token, path, query or headers widens nothing", async () => {
      // A genuine provider token whose sub happens to be an analyst's.
      const lookalike = await stack.forge.sign({ sub: 'analyst-ana' });
      for (const token of [tokens.provider, lookalike]) {
        const spoof = {
          'x-claimledger-role': 'analyst',
          'x-amzn-oidc-identity': 'analyst-ana',
          'x-forwarded-user': 'analyst-ana',
          'x-user-id': 'analyst-ana',
          'x-http-method-override': 'GET',
        };
        const query = '?as=analyst-ana&role=analyst&sub=analyst-ana&assignee=analyst-ana';
        const theirs = await call(stack.url, 'GET', `/claims/${others}${query}`, { token, headers: spoof });
        expectProblem(theirs, 404, 'not-found');
        const reviews = await call(stack.url, 'GET', `/reviews${query}`, { token, headers: spoof });
        expectProblem(reviews, 403, 'forbidden');
        const history = await call(stack.url, 'GET', `/claims/${own}/history${query}`, {
          token,
          headers: spoof,
        });
        expectProblem(history, 403, 'forbidden');
      }
    });

    it('resolves dot segments and encoded slashes before authorizing, so they reach no other route', async () => {
      const auth = { authorization: `Bearer ${tokens.provider}` };
      const traversal = await rawRequest(stack.url, 'GET', `/claims/${own}/../../reviews`, auth);
      expect(traversal.status).toBe(403);
      const encoded = await rawRequest(stack.url, 'GET', `/claims/${others}%2F..%2F${own}`, auth);
      expect(encoded.status).toBe(404);
      // `%2e%2e` is a dot segment to URL parsers: it resolves to /reviews, still refused.
      const dotted = await rawRequest(stack.url, 'GET', '/claims/%2e%2e/reviews', auth);
      expect([403, 404]).toContain(dotted.status);
    });
  });

  describe('API2 broken authentication', () => {
    let badTokens: BadToken[];
    beforeAll(async () => {
      badTokens = await stack.forge.badTokens();
    });

    it('refuses every bad token kind with a generic 401 that does not say what was wrong', async () => {
      for (const bad of badTokens) {
        const res = await call(stack.url, 'GET', '/journal/checkpoint', {
          headers: bad.authorization === undefined ? {} : { authorization: bad.authorization },
        });
        expectProblem(res, 401, 'unauthorized', bad.kind);
        // No oracle: the same two sentences whatever failed (no jose error, claim name or alg).
        expect(
          ['A valid bearer token is required.', 'The bearer token is invalid or expired.'],
          bad.kind,
        ).toContain(res.body.detail);
      }
    });

    it('refuses a token that expired a second ago (no clock-skew window)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const justExpired = await stack.forge.sign({ iat: now - 60, exp: now - 1 });
      expectProblem(
        await call(stack.url, 'GET', '/journal/checkpoint', { token: justExpired }),
        401,
        'unauthorized',
      );
    });

    it('refuses a correctly signed token without an expiry, issue time or subject', async () => {
      for (const claim of ['exp', 'iat', 'sub']) {
        const token = await stack.forge.sign({}, { omit: [claim] });
        expectProblem(
          await call(stack.url, 'GET', '/journal/checkpoint', { token }),
          401,
          'unauthorized',
          claim,
        );
      }
    });

    it('accepts a token only in the Authorization header, not in the query string or a cookie', async () => {
      for (const res of [
        await call(stack.url, 'GET', `/journal/checkpoint?access_token=${tokens.analyst}`),
        await call(stack.url, 'GET', `/journal/checkpoint?id_token=${tokens.analyst}`),
        await call(stack.url, 'GET', '/journal/checkpoint', {
          headers: { cookie: `token=${tokens.analyst}` },
        }),
        await call(stack.url, 'GET', '/journal/checkpoint', {
          headers: { authorization: `Bearer ${tokens.analyst} Bearer ${tokens.analyst}` },
        }),
      ]) {
        expectProblem(res, 401, 'unauthorized');
      }
    });

    it('authenticates a token signed by the issuer with the right claims (the control case)', async () => {
      const token = await stack.forge.sign({});
      expect((await call(stack.url, 'GET', `/claims/${own}`, { token })).status).toBe(200);
    });
  });

  describe('API3 broken object property-level authorization', () => {
    it('refuses a claim that sets any status, score, decision or bookkeeping field, and journals nothing', async () => {
      const before = await stack.journalSize();
      const topLevel: Record<string, unknown> = {
        status: 'approved',
        outcome: 'approved',
        decision: { outcome: 'approved' },
        score: 0,
        fraudScore: 0,
        fraud: { score: 0, signals: [] },
        trace: [],
        id: own,
        revision: 7,
        submittedBy: 'analyst-ana',
        bodyHash: '0'.repeat(64),
        journal: { index: 0 },
        journalKey: 'x',
        createdAt: '2020-01-01T00:00:00Z',
        reviewStatus: 'closed',
        paidCents: 1,
      };
      for (const [field, value] of Object.entries(topLevel)) {
        const res = await call(stack.url, 'POST', '/claims', {
          token: tokens.provider,
          json: { ...demoClaim, claimId: `SEC-PROP-${field}`, [field]: value },
        });
        expectProblem(res, 422, 'validation-failed', field);
        expect(res.body.errors, field).toContainEqual({ path: '/', message: expect.stringContaining(field) });
      }
      for (const [field, value] of Object.entries({
        status: 'approved',
        allowedCents: 1,
        paidCents: 1,
        adjustments: [],
        lineNumber: 1,
      })) {
        const res = await call(stack.url, 'POST', '/claims', {
          token: tokens.provider,
          json: {
            ...demoClaim,
            claimId: `SEC-LINE-${field}`,
            lines: [{ ...demoClaim.lines[0], [field]: value }],
          },
        });
        expectProblem(res, 422, 'validation-failed', field);
        expect(res.body.errors, field).toContainEqual({
          path: '/lines/0',
          message: expect.stringContaining(field),
        });
      }
      // Prototype keys in raw JSON are own keys to JSON.parse: refused like any other.
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const body = JSON.stringify({ ...demoClaim, claimId: 'SEC-PROTO' }).replace(
          '{',
          `{"${key}":{"status":"approved"},`,
        );
        const res = await call(stack.url, 'POST', '/claims', { token: tokens.provider, body });
        expectProblem(res, 422, 'validation-failed', key);
      }
      expect(await stack.journalSize()).toBe(before);
    });

    it('refuses fields an analyst may not set on records and reviews', async () => {
      const coverage = {
        member: { birthDate: '1990-05-05', sex: 'male' },
        coverages: [
          {
            coverageId: 'COV-SEC',
            planId: 'PPO-GOLD',
            status: 'active',
            start: '2026-01-01',
            benefits: { deductibleCents: 0, outOfPocketMaxCents: 0, coinsuranceBps: 0 },
          },
        ],
      };
      const treatment = {
        recordId: 'TR-SEC',
        memberId: 'M-SEC',
        providerNpi: demoProviders.familyClinic.npi,
        serviceDate: '2026-03-02',
        kind: 'encounter',
      };
      const cases: [string, string, unknown, string][] = [
        ['PUT', '/members/M-SEC/coverage', { ...coverage, revision: 9 }, '/'],
        ['PUT', '/members/M-SEC/coverage', { ...coverage, memberId: 'M1001' }, '/'],
        [
          'PUT',
          '/members/M-SEC/coverage',
          { ...coverage, member: { ...coverage.member, name: 'x' } },
          '/member',
        ],
        [
          'PUT',
          '/members/M-SEC/coverage',
          { ...coverage, coverages: [{ ...coverage.coverages[0], deductibleMetCents: 0 }] },
          '/coverages/0',
        ],
        ['POST', '/treatments', { ...treatment, contentHash: '0' }, '/'],
        ['POST', '/treatments', { ...treatment, journal: { index: 0 } }, '/'],
        ['POST', `/reviews/${pended}/decision`, { outcome: 'approve', assignee: 'analyst-bo' }, '/'],
        ['POST', `/reviews/${pended}/decision`, { outcome: 'approve', status: 'closed', version: 9 }, '/'],
        ['POST', `/reviews/${pended}/assign`, { assignee: 'analyst-bo' }, '/'],
      ];
      for (const [method, path, json, errorPath] of cases) {
        const res = await call(stack.url, method, path, {
          token: tokens.analyst,
          json,
          headers: { 'if-match': '"1"' },
        });
        expectProblem(res, 422, 'validation-failed', `${method} ${path} ${JSON.stringify(json)}`);
        expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain(errorPath);
      }
      const queue = await call(stack.url, 'GET', '/reviews', { token: tokens.analyst });
      const review = (queue.body.reviews as { claimId: string; version: number; assignee: unknown }[]).find(
        (r) => r.claimId === pended,
      );
      expect(review).toMatchObject({ version: 1, assignee: null });
    });

    it('shows a provider its claim without internals: exactly the documented properties', async () => {
      const res = await call(stack.url, 'GET', `/claims/${pended}`, { token: tokens.provider });
      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(
        [
          'claimId',
          'decision',
          'id',
          'journal',
          'revision',
          'status',
          'submission',
          'submittedAt',
          'updatedAt',
        ].sort(),
      );
      expect(Object.keys(res.body.decision as object).sort()).toEqual(
        ['lines', 'outcome', 'reasons', 'ruleSetHash', 'totals'].sort(),
      );
      // Nowhere in the body: the fraud score, signals, rule trace or who submitted it.
      expect(JSON.stringify(res.body)).not.toMatch(
        /"(fraud|trace|score|signals|submittedBy|bodyHash|journalKey)"/,
      );
      const analyst = await call(stack.url, 'GET', `/claims/${pended}`, { token: tokens.analyst });
      expect(JSON.stringify(analyst.body)).not.toMatch(/"(submittedBy|bodyHash|journalKey)"/);
    });
  });

  describe('API4 unrestricted resource consumption', () => {
    it('caps the actions on one review, so no one can grow it until it cannot be decided', async () => {
      const claim = await submit({ ...demoReviewClaim, claimId: 'SEC-PEND-CAP' });
      const path = `/reviews/${claim.body.id}/decision`;
      const note = 'é'.repeat(2000);
      for (let version = 1; version <= 30; version++) {
        const res = await call(stack.url, 'POST', path, {
          token: tokens.analyst,
          json: { outcome: 'escalate', note },
          headers: { 'if-match': `"${version}"` },
        });
        expect(res.status, `action ${version}`).toBe(200);
      }
      const full = await call(stack.url, 'POST', path, {
        token: tokens.analyst,
        json: { outcome: 'escalate', note },
        headers: { 'if-match': '"31"' },
      });
      expectProblem(full, 409, 'conflict');
    }, 60_000);

    it('refuses a body over 1 MB on every route that takes one, before validating it', async () => {
      const oversized = JSON.stringify({ padding: 'x'.repeat(MAX_BODY_BYTES) });
      const withBodies = routes.filter((route) => route.method !== 'GET');
      expect(withBodies.length).toBeGreaterThan(0);
      for (const route of withBodies) {
        const { roles } = ACCESS[routeKey(route)] ?? { roles: 'public' };
        const role = roles === 'public' ? undefined : roles[0];
        const principal = (Object.keys(ROLE_OF) as (keyof typeof ROLE_OF)[]).find((p) => ROLE_OF[p] === role);
        const res = await call(stack.url, route.method, samplePath(route), {
          ...(principal ? { token: tokens[principal] } : {}),
          body: oversized,
          headers: { 'if-match': '"1"' },
        });
        expectProblem(res, 413, 'payload-too-large', routeKey(route));
      }
      // The limit is the limit: a body of exactly 1 MB is parsed (and refused as a claim).
      const padding = 'x'.repeat(MAX_BODY_BYTES - JSON.stringify({ padding: '' }).length);
      const exact = await call(stack.url, 'POST', '/claims', {
        token: tokens.provider,
        body: JSON.stringify({ padding }),
      });
      expectProblem(exact, 422, 'validation-failed');
    });

    it('caps every array and string of every body, refusing the first element too many', async () => {
      const line = demoClaim.lines[0];
      const many = <T>(n: number, item: (i: number) => T) => Array.from({ length: n }, (_, i) => item(i));
      const claim = (patch: object) => ({ ...demoClaim, claimId: 'SEC-CAP', ...patch });
      const cases: [string, string, string, unknown, string][] = [
        ['provider', 'POST', '/claims', claim({ lines: many(51, () => line) }), '/lines'],
        ['provider', 'POST', '/claims', claim({ diagnosisCodes: many(13, () => 'I10') }), '/diagnosisCodes'],
        [
          'provider',
          'POST',
          '/claims',
          claim({ lines: [{ ...line, modifiers: many(5, () => '25') }] }),
          '/lines/0/modifiers',
        ],
        [
          'provider',
          'POST',
          '/claims',
          claim({ lines: [{ ...line, diagnosisPointers: [1, 2, 1, 2, 1] }] }),
          '/lines/0/diagnosisPointers',
        ],
        ['provider', 'POST', '/claims', claim({ claimId: 'X'.repeat(65) }), '/claimId'],
        ['provider', 'POST', '/claims', claim({ lines: [{ ...line, units: 10_000 }] }), '/lines/0/units'],
        [
          'analyst',
          'PUT',
          '/members/M-SEC-CAP/coverage',
          { member: { birthDate: '1990-01-01', sex: 'male' }, coverages: many(21, () => ({})) },
          '/coverages',
        ],
        [
          'analyst',
          'POST',
          '/treatments',
          {
            recordId: 'TR-CAP',
            memberId: 'M-SEC-CAP',
            providerNpi: demoProviders.familyClinic.npi,
            serviceDate: '2026-03-02',
            kind: 'encounter',
            diagnosisCodes: many(51, () => 'I10'),
          },
          '/diagnosisCodes',
        ],
        [
          'analyst',
          'POST',
          `/reviews/${pended}/decision`,
          { outcome: 'escalate', note: 'x'.repeat(2001) },
          '/note',
        ],
      ];
      for (const [principal, method, path, json, errorPath] of cases) {
        const res = await call(stack.url, method, path, {
          token: tokens[principal as Principal],
          json,
          headers: { 'if-match': '"1"' },
        });
        expectProblem(res, 422, 'validation-failed', `${path} ${errorPath}`);
        expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain(errorPath);
      }
      // An array far over its cap is refused on its length, with one error, not one per element.
      const flood = await call(stack.url, 'POST', '/claims', {
        token: tokens.provider,
        json: claim({ lines: many(200_000, () => ({})) }),
      });
      expectProblem(flood, 422, 'validation-failed');
      expect(flood.body.errors).toHaveLength(1);
    });

    it('parses deeply nested JSON without exhausting the stack', async () => {
      for (const body of [
        `${'['.repeat(400_000)}${']'.repeat(400_000)}`,
        `{"claimId":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
      ]) {
        const res = await call(stack.url, 'POST', '/claims', { token: tokens.provider, body });
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
      }
    });

    it('bounds page sizes, ranges and query strings (beyond those reviews-api and journal-api check)', async () => {
      const cases: [string, number][] = [
        ['/reviews?limit=100', 200],
        ['/reviews?limit=1000000000', 400],
        ['/reviews?limit=99999999999999999999', 400],
        ['/reviews?from=0001-01-01&to=9999-12-31&limit=100', 200],
        [`/reviews?${Array.from({ length: 500 }, (_, i) => `p${i}=1`).join('&')}`, 400],
        ['/journal/entries/9007199254740992', 400],
        ['/journal/entries/0/proof?size=9007199254740991', 422],
        ['/journal/consistency?from=1&to=9007199254740991', 422],
        // Search reads an index, never the whole journal: a facet is required, pages are capped.
        ['/journal/search?from=2026-01-01', 400],
        ['/journal/search?member=M1001&limit=501', 400],
        ['/journal/search?member=M1001&format=csv&limit=10001', 400],
        ['/journal/search?member=M1001&member=M1002', 400],
        // A provider summary covers at most 366 days.
        [`/providers/${demoProviders.familyClinic.npi}/summary?from=2026-01-01&to=2026-12-31`, 200],
        [`/providers/${demoProviders.familyClinic.npi}/summary?from=2025-01-01&to=2026-12-31`, 400],
      ];
      for (const [path, status] of cases) {
        const res = await call(stack.url, 'GET', path, { token: tokens.analyst });
        expect(res.status, path).toBe(status);
        if (status === 200 && path.startsWith('/reviews')) {
          expect((res.body.reviews as unknown[]).length).toBeLessThanOrEqual(100);
        }
      }
    });
  });

  describe('API5 broken function-level authorization', () => {
    it('has an access entry for every route and a route for every access entry', () => {
      expect(Object.keys(ACCESS).sort()).toEqual(routes.map(routeKey).sort());
      for (const route of routes) {
        expect(ACCESS[routeKey(route)]?.roles === 'public', routeKey(route)).toBe(!route.authenticated);
      }
    });

    it('answers 403 to every role a route does not list, before reading the body or touching data', async () => {
      const before = await stack.journalSize();
      const principals: Principal[] = ['provider', 'analyst', 'rulesAdmin', 'noGroups', 'unknownGroups'];
      for (const route of routes) {
        const { roles } = ACCESS[routeKey(route)] ?? { roles: [] };
        if (roles === 'public') continue;
        for (const principal of principals) {
          const role = ROLE_OF[principal as keyof typeof ROLE_OF] as Role | undefined;
          if (role !== undefined && roles.includes(role)) continue;
          const res = await send(route, tokens[principal], { 'if-match': '"1"' });
          expectProblem(res, 403, 'forbidden', `${principal} ${routeKey(route)}`);
        }
      }
      expect(await stack.journalSize()).toBe(before);
    });

    it('lets every listed role past the role check (the control case)', async () => {
      for (const route of routes) {
        const { roles } = ACCESS[routeKey(route)] ?? { roles: [] };
        const allowed = roles === 'public' ? [undefined] : roles;
        for (const role of allowed) {
          const principal = (Object.keys(ROLE_OF) as (keyof typeof ROLE_OF)[]).find(
            (p) => ROLE_OF[p] === role,
          );
          const res = await send(route, principal && tokens[principal]);
          const context = `${role ?? 'anyone'} ${routeKey(route)} ${res.status}`;
          expect([401, 403], context).not.toContain(res.status);
          expect(res.status, context).toBeLessThan(500);
        }
      }
    });

    it("keeps a provider off its own pended claim's review: it cannot assign or decide it", async () => {
      for (const [path, json] of [
        [`/reviews/${pended}/assign`, {}],
        [`/reviews/${pended}/decision`, { outcome: 'approve', reason: 'records-received' }],
      ] as const) {
        for (const token of [tokens.provider, tokens.rulesAdmin]) {
          const res = await call(stack.url, 'POST', path, { token, json, headers: { 'if-match': '"1"' } });
          expectProblem(res, 403, 'forbidden', path);
        }
      }
      const claim = await call(stack.url, 'GET', `/claims/${pended}`, { token: tokens.provider });
      expect(claim.body).toMatchObject({ status: 'pended', revision: 1 });
    });
  });

  describe('API6 unrestricted access to sensitive business flows', () => {
    it("cannot use an idempotent replay to read another provider's decision or learn that it exists", async () => {
      const replay = await call(stack.url, 'POST', '/claims', { token: tokens.provider, json: theirClaim });
      const never = await call(stack.url, 'POST', '/claims', {
        token: tokens.provider,
        json: { ...theirClaim, claimId: 'SEC-NEVER-SUBMITTED' },
      });
      expectProblem(replay, 403, 'forbidden');
      expect({ ...replay.body, instance: undefined }).toEqual({ ...never.body, instance: undefined });
      expect(JSON.stringify(replay.body)).not.toMatch(/decision|journal|M1002/);
    });

    it('cannot leave the review queue by retrying a pended claim: the first decision stands', async () => {
      const first = await call(stack.url, 'GET', `/claims/${pended}`, { token: tokens.provider });
      const retry = await call(stack.url, 'POST', '/claims', {
        token: tokens.provider,
        json: { ...demoReviewClaim, claimId: 'SEC-PEND-1' },
      });
      expect(retry.status).toBe(200);
      expect(retry.body).toMatchObject({ id: pended, status: 'pended', journal: first.body.journal });
      const corrected = await call(stack.url, 'POST', '/claims', {
        token: tokens.provider,
        json: { ...demoReviewClaim, claimId: 'SEC-PEND-1', lines: demoReviewClaim.lines.slice(0, 1) },
      });
      expectProblem(corrected, 409, 'conflict');
      // Nor by recording the missing treatment itself.
      const treatment = await call(stack.url, 'POST', '/treatments', {
        token: tokens.provider,
        json: {
          recordId: 'SELF-SERVE',
          memberId: 'M1001',
          providerNpi: demoProviders.familyClinic.npi,
          serviceDate: demoReviewClaim.serviceDateFrom,
          kind: 'encounter',
        },
      });
      expectProblem(treatment, 403, 'forbidden');
      const queue = await call(stack.url, 'GET', '/reviews?member=M1001', { token: tokens.analyst });
      const mine = (queue.body.reviews as { claimId: string }[]).filter((r) => r.claimId === pended);
      expect(mine).toHaveLength(1);
    });
  });

  // API7 server-side request forgery: not applicable. No route takes a URL or host, and the
  // service makes no outbound request from request data: its only dependencies are DynamoDB
  // (and KMS for the integrator) at endpoints fixed by configuration, and rule files bundled
  // at build time.

  describe('API8 security misconfiguration', () => {
    it('answers unknown routes and methods with a problem+json 404, with or without a token', async () => {
      const unknown: [string, string][] = [
        ['DELETE', '/claims'],
        ['PUT', '/claims'],
        ['PATCH', `/claims/${own}`],
        ['DELETE', `/claims/${own}`],
        ['POST', '/health'],
        ['GET', '/Claims'],
        ['GET', '/claims/'],
        ['GET', '/reviews/'],
        ['GET', '//claims'],
        ['GET', '/admin'],
        ['GET', '/.env'],
        ['GET', '/openapi.json'],
        ['GET', '/debug/vars'],
        ['GET', '/members/M1001'],
        ['GET', '/members/M1001/coverage'],
        ['OPTIONS', '/claims'],
        ['TRACE', '/claims'],
      ];
      for (const [method, path] of unknown) {
        for (const token of [undefined, tokens.analyst]) {
          const res = await rawRequest(
            stack.url,
            method,
            path,
            token ? { authorization: `Bearer ${token}` } : {},
          );
          const context = `${method} ${path}`;
          expect(res.status, context).toBe(404);
          expect(res.headers['content-type'], context).toBe('application/problem+json');
          expect(JSON.parse(res.text).type, context).toBe(`${PROBLEM}not-found`);
          // TRACE must not echo the request (cross-site tracing).
          expect(res.text, context).not.toContain('Bearer');
        }
      }
    });

    it('refuses a coverage too large to journal precisely (422), and stores the largest allowed', async () => {
      const code = (prefix: string, i: number, j: number) =>
        `${prefix}${String(i).padStart(2, '0')}${String(j).padStart(5, '0')}`;
      const coverage = (codes: number) => ({
        member: { birthDate: '1990-01-01', sex: 'male' },
        coverages: Array.from({ length: 20 }, (_, i) => ({
          coverageId: `COV-${i}`,
          planId: 'PPO-GOLD',
          status: 'active',
          start: '2026-01-01',
          benefits: { deductibleCents: 0, outOfPocketMaxCents: 0, coinsuranceBps: 0 },
          excludedProcedures: Array.from({ length: codes }, (_, j) => code('X', i, j)),
          priorAuthRequired: Array.from({ length: codes }, (_, j) => code('P', i, j)),
        })),
      });
      // ~440 KB of codes once reached the store and failed there with a 500 (item over 400 KB).
      const tooMany = await call(stack.url, 'PUT', '/members/M-SEC-HUGE/coverage', {
        token: tokens.analyst,
        json: coverage(1000),
      });
      expectProblem(tooMany, 422, 'validation-failed');
      expect(JSON.stringify(tooMany.body)).not.toMatch(LEAK);
      expect(JSON.stringify(tooMany.body)).not.toMatch(/item size|dynamo|aws|validation ?exception/i);
      const largest = await call(stack.url, 'PUT', '/members/M-SEC-HUGE/coverage', {
        token: tokens.analyst,
        json: coverage(300),
      });
      expect(largest.status).toBe(201);
    });

    it('sends no-store, exact content types, and no server banner or CORS grant', async () => {
      const replies = [
        await call(stack.url, 'GET', `/claims/${own}`, { token: tokens.provider }),
        await call(stack.url, 'GET', `/claims/${NO_CLAIM}`, { token: tokens.provider }),
        await call(stack.url, 'GET', '/reviews', {
          token: tokens.analyst,
          headers: { origin: 'https://evil.example' },
        }),
        await call(stack.url, 'GET', '/journal/checkpoint', { headers: { origin: 'https://evil.example' } }),
        await call(stack.url, 'POST', '/claims', { token: tokens.provider, body: '{' }),
      ];
      for (const res of replies) {
        expect(res.headers.get('cache-control')).toBe('no-store');
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        expect(['application/json', 'application/problem+json']).toContain(res.headers.get('content-type'));
        for (const header of [
          'x-powered-by',
          'server',
          'access-control-allow-origin',
          'access-control-allow-credentials',
        ]) {
          expect(res.headers.get(header), header).toBeNull();
        }
      }
      // Only the types the API documents are accepted as JSON; no sniffing of look-alikes.
      for (const contentType of [
        'text/json',
        'application/jsonx',
        'text/plain',
        'application/json-patch+json',
      ]) {
        const res = await call(stack.url, 'POST', '/claims', {
          token: tokens.provider,
          body: JSON.stringify(demoClaim),
          contentType,
        });
        expectProblem(res, 415, 'unsupported-media-type', contentType);
      }
    });

    it('never answers 5xx or leaks internals, whatever the method, path and caller (property)', async () => {
      const segment = fc.oneof(
        fc.constantFrom(
          'claims',
          'reviews',
          'journal',
          'entries',
          'members',
          'coverage',
          'treatments',
          'health',
          'history',
          'proof',
          'consistency',
          'checkpoint',
          'assign',
          'decision',
          NO_CLAIM,
          own,
          '0',
          '-1',
          '..',
          '%2e%2e',
          '%2F',
          '%00',
          '%',
          '%ZZ',
          '%E0%A4%A',
          '',
        ),
        fc.stringMatching(/^[0-9a-f._~-]{1,12}$/),
      );
      const query = fc.constantFrom(
        '',
        '?limit=1',
        '?from=1&to=1',
        '?size=1',
        '?cursor=%FF',
        '?x=1&x=2',
        '?a=%',
      );
      const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
      const caller = fc.constantFrom<Principal | 'none' | 'garbage'>(
        'none',
        'garbage',
        'provider',
        'analyst',
        'rulesAdmin',
      );
      await fc.assert(
        fc.asyncProperty(
          method,
          // Empty segments included: a target like `//%/claims` once made the local gateway read
          // `//%` as a host name and fail with a 500.
          fc.array(segment, { minLength: 1, maxLength: 5 }),
          query,
          caller,
          async (m, s, q, who) => {
            const path = `/${s.join('/')}${q}`;
            const headers: Record<string, string> =
              who === 'none' ? {} : { authorization: `Bearer ${who === 'garbage' ? 'x.y.z' : tokens[who]}` };
            const res = await rawRequest(stack.url, m, path, headers);
            const context = `${m} ${path} as ${who}: ${res.status} ${res.text.slice(0, 200)}`;
            expect(res.status, context).toBeLessThan(500);
            if (res.status >= 400) {
              expect(res.text, context).not.toMatch(LEAK);
              expect(res.headers['content-type'], context).toBe('application/problem+json');
              expect(JSON.parse(res.text), context).toMatchObject({
                type: expect.stringContaining(PROBLEM),
                status: res.status,
              });
            }
          },
        ),
        { numRuns: 150 },
      );
    });
  });

  describe('API9 improper inventory management', () => {
    it('documents exactly the routes it serves (README API tables = routes.ts)', () => {
      const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
      const documented = [...readme.matchAll(/^\|\s*`(GET|POST|PUT|DELETE|PATCH) (\/[^`?\s]*)[^`]*`/gm)].map(
        (m) => `${m[1]} ${m[2]}`,
      );
      expect([...new Set(documented)].sort()).toEqual(routes.map(routeKey).sort());
    });

    it('serves only health without a token', () => {
      expect(routes.filter((r) => !r.authenticated).map(routeKey)).toEqual(['GET /health']);
    });

    it('answers every authenticated route with 401 for a missing token and for each bad token kind', async () => {
      const before = await stack.journalSize();
      const badTokens = await stack.forge.badTokens();
      for (const route of routes.filter((r) => r.authenticated)) {
        for (const bad of badTokens) {
          const headers: Record<string, string> = { 'if-match': '"1"' };
          if (bad.authorization !== undefined) headers.authorization = bad.authorization;
          expectProblem(
            await send(route, undefined, headers),
            401,
            'unauthorized',
            `${bad.kind} ${routeKey(route)}`,
          );
        }
      }
      expect(await stack.journalSize()).toBe(before);
    });

    it('answers health to anyone, ignoring a bad token, and says nothing but that it is up', async () => {
      for (const bad of await stack.forge.badTokens()) {
        const res = await call(stack.url, 'GET', '/health', {
          headers: bad.authorization === undefined ? {} : { authorization: bad.authorization },
        });
        expect(res.status, bad.kind).toBe(200);
        expect(res.body).toEqual({ status: 'ok' });
      }
    });
  });

  describe('API10 unsafe consumption of APIs', () => {
    // The one upstream whose data the API consumes per request is the identity provider
    // (Cognito's claims, or the dev issuer's). Signed or not, its claims are parsed strictly.
    it('grants nothing for malformed NPI or group claims, even in a validly signed token', async () => {
      const npi = demoProviders.familyClinic.npi;
      for (const custom of [`${npi}1`, `${npi.slice(1)}`, `${npi}x`, ` ${npi}x`, `"${npi}0"`, `0x${npi}`]) {
        const token = await stack.forge.sign({ sub: 'odd-npi', 'custom:npi': custom });
        const res = await call(stack.url, 'POST', '/claims', {
          token,
          json: { ...demoClaim, claimId: 'SEC-ODD-NPI' },
        });
        expectProblem(res, 403, 'forbidden', custom);
        expectProblem(await call(stack.url, 'GET', `/claims/${own}`, { token }), 404, 'not-found', custom);
      }
      const groups = await stack.forge.sign({ sub: 'odd-groups', 'cognito:groups': 'Analyst ANALYST admin' });
      expectProblem(await call(stack.url, 'GET', '/reviews', { token: groups }), 403, 'forbidden');
    });
  });
});
