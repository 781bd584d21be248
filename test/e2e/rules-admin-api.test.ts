import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimDocId } from '../../functions/claims/hashing.ts';
import { demoClaim, demoMembers, demoProviders, demoTreatments } from '../../functions/local/demo-seed.ts';
import { createDocumentClient, tableNamesFor } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { RecordRepository } from '../../functions/store/records.repository.ts';
import { call, type Reply } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';

/** What the claim path gathers for M1001 before its first claim: the seeded records, nothing else. */
const m1001Records = {
  ...demoMembers.M1001,
  treatments: demoTreatments.filter((t) => t.memberId === 'M1001'),
  accumulators: [],
  priorClaimLines: [],
};

/** M1003's coverage ended on 2025-12-31; the demo claim is for a service in March 2026. */
const endedClaim = { ...demoClaim, claimId: 'SIM-ENDED', memberId: 'M1003' };
const endedRecords = {
  ...demoMembers.M1003,
  treatments: [{ ...demoTreatments[0], memberId: 'M1003', recordId: 'ENC-SIM-1003' }],
};

interface ActiveRuleSet {
  name: string;
  version: string;
  hash: string;
  fraudThreshold: number;
  rules: { id: string; phase: string; description: string }[];
  tables: { name: string; kind: string; entries: number }[];
  activation: { key: string; index: number; leafHash: string } | null;
}

interface SimulatedDecision {
  outcome: string;
  ruleSetHash: string;
  lines: { status: string; adjustments: { group: string; carc: string }[] }[];
  trace: { ruleId: string; fired: boolean }[];
}

function expectProblem(res: Reply, status: number, kind: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.body.type).toBe(`${PROBLEM}${kind}`);
}

const pointers = (res: Reply) => (res.body.errors as { path: string }[]).map((e) => e.path);

describe('rules-admin API: the active rule set and simulation', () => {
  let stack: E2eStack;
  let journal: JournalRepository;
  let records: RecordRepository;
  let active: ActiveRuleSet;

  const simulate = (json: unknown, token = stack.tokens.rulesAdmin) =>
    call(stack.url, 'POST', '/rules/simulate', { token, json });

  /** What a simulation must leave alone: the journal, and M1001's and M1003's records. */
  const state = async () => ({
    journal: await journal.size(),
    members: await Promise.all(
      ['M1001', 'M1003'].map(async (m) => ({
        coverage: await records.findCoverage(m),
        accumulators: await records.accumulators(m),
        treatments: await records.treatments(m, '2025-01-01', '2026-12-31'),
      })),
    ),
  });

  beforeAll(async () => {
    stack = await startE2eStack();
    const doc = createDocumentClient({ endpoint: stack.dynamoEndpoint });
    const names = tableNamesFor(stack.tablePrefix);
    journal = new JournalRepository(doc, names.journal);
    records = new RecordRepository(doc, names.records, journal);
    const res = await call(stack.url, 'GET', '/rules/active', { token: stack.tokens.rulesAdmin });
    expect(res.status).toBe(200);
    active = res.body as unknown as ActiveRuleSet;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('lets analysts and rules-admins read the active rule set, and only rules-admins simulate', async () => {
    for (const path of ['/rules/active', '/rules/simulate']) {
      const method = path === '/rules/active' ? 'GET' : 'POST';
      expectProblem(
        await call(stack.url, method, path, {
          token: stack.tokens.provider,
          ...(method === 'POST' ? { json: { claim: demoClaim, records: m1001Records } } : {}),
        }),
        403,
        'forbidden',
      );
    }
    const asAnalyst = await call(stack.url, 'GET', '/rules/active', { token: stack.tokens.analyst });
    expect(asAnalyst.status).toBe(200);
    expect(asAnalyst.body).toEqual(active);
    expectProblem(
      await simulate({ claim: demoClaim, records: m1001Records }, stack.tokens.analyst),
      403,
      'forbidden',
    );
    expectProblem(await call(stack.url, 'GET', '/rules/active'), 401, 'unauthorized');
  });

  it('describes the rule set that decides claims, and where its activation is journaled', async () => {
    expect(active).toMatchObject({ name: expect.any(String), version: expect.any(String) });
    expect(active.fraudThreshold).toBeGreaterThan(0);
    expect(active.rules.length).toBeGreaterThan(0);
    for (const rule of active.rules) {
      expect(rule).toMatchObject({ id: expect.any(String), description: expect.any(String) });
      expect(['claim', 'edit', 'price', 'benefit']).toContain(rule.phase);
    }
    expect(active.tables.length).toBeGreaterThan(0);
    for (const table of active.tables) expect(table.entries).toBeGreaterThanOrEqual(0);

    const decided = await call(stack.url, 'POST', '/claims', {
      token: stack.tokens.provider,
      json: { ...demoClaim, claimId: 'RULES-ACTIVE-1' },
    });
    expect(decided.status).toBe(201);
    expect((decided.body.decision as { ruleSetHash: string }).ruleSetHash).toBe(active.hash);

    expect(active.activation).toMatchObject({ key: `ruleset/${active.hash}`, index: expect.any(Number) });
    const { index, leafHash } = active.activation!;
    const entry = await call(stack.url, 'GET', `/journal/entries/${index}`, { token: stack.tokens.analyst });
    expect(entry.status).toBe(200);
    expect(entry.body.leafHash).toBe(leafHash);
    expect(entry.body.entry).toMatchObject({
      type: 'ruleset.activated',
      docId: `ruleset/${active.hash}`,
      ruleSetHash: active.hash,
      payload: {
        name: active.name,
        version: active.version,
        fraudThreshold: active.fraudThreshold,
        rules: active.rules.map((r) => r.id),
      },
    });
  });

  it('simulates an approvable claim as POST /claims decides it, trace included, changing nothing', async () => {
    const claim = { ...demoClaim, claimId: 'SIM-APPROVE-1' };
    const before = await state();
    const res = await simulate({ claim, records: m1001Records });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const decision = res.body.decision as SimulatedDecision;
    expect(res.body.ruleSet).toEqual({ name: active.name, version: active.version, hash: active.hash });
    expect(decision.outcome).toBe('approved');
    expect(decision.ruleSetHash).toBe(active.hash);
    expect(decision.trace.length).toBeGreaterThan(active.rules.length);
    expect(decision.trace.some((s) => s.fired)).toBe(true);

    expect(await state()).toEqual(before);
    const id = claimDocId(demoProviders.familyClinic.npi, claim.claimId);
    expectProblem(
      await call(stack.url, 'GET', `/claims/${id}`, { token: stack.tokens.analyst }),
      404,
      'not-found',
    );
  });

  it('gives the decision the claim path gives, given the records it gathers', async () => {
    // A fresh member, so the records the claim path gathers are exactly those supplied.
    const coverage = await call(stack.url, 'PUT', '/members/M-SIM-TWIN/coverage', {
      token: stack.tokens.analyst,
      json: demoMembers.M1001,
    });
    expect(coverage.status).toBe(201);
    const treatment = { ...demoTreatments[0], recordId: 'ENC-SIM-TWIN', memberId: 'M-SIM-TWIN' };
    const recorded = await call(stack.url, 'POST', '/treatments', {
      token: stack.tokens.analyst,
      json: treatment,
    });
    expect(recorded.status).toBe(201);
    const claim = { ...demoClaim, claimId: 'SIM-TWIN-1', memberId: 'M-SIM-TWIN' };
    const simulated = await simulate({ claim, records: { ...demoMembers.M1001, treatments: [treatment] } });
    const submitted = await call(stack.url, 'POST', '/claims', { token: stack.tokens.provider, json: claim });
    expect(submitted.status).toBe(201);
    const real = await call(stack.url, 'GET', `/claims/${String(submitted.body.id)}`, {
      token: stack.tokens.analyst,
    });
    const { decision } = simulated.body as { decision: Record<string, unknown> };
    expect(real.body.decision).toEqual({
      outcome: decision.outcome,
      ruleSetHash: decision.ruleSetHash,
      totals: decision.totals,
      lines: decision.lines,
      reasons: decision.reasons,
      fraud: decision.fraud,
      trace: decision.trace,
    });
  });

  it('denies a service after the coverage ended with CARC 27, changing nothing', async () => {
    const before = await state();
    const res = await simulate({ claim: endedClaim, records: endedRecords });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const decision = res.body.decision as SimulatedDecision;
    expect(decision.outcome).toBe('denied');
    for (const line of decision.lines) {
      expect(line.status).toBe('denied');
      expect(line.adjustments).toContainEqual(expect.objectContaining({ group: 'PR', carc: '27' }));
    }
    expect(decision.trace.some((s) => s.fired && s.ruleId.startsWith('eligibility'))).toBe(true);
    expect(await state()).toEqual(before);
  });

  it('refuses bad bodies precisely: 415, 400, 422 with JSON Pointers, and journals nothing', async () => {
    const before = await journal.size();
    const token = stack.tokens.rulesAdmin;
    const body = JSON.stringify({ claim: demoClaim, records: m1001Records });
    expectProblem(
      await call(stack.url, 'POST', '/rules/simulate', { token, body, contentType: 'text/plain' }),
      415,
      'unsupported-media-type',
    );
    expectProblem(
      await call(stack.url, 'POST', '/rules/simulate', { token, body: '{"claim":' }),
      400,
      'malformed-json',
    );

    const missing = await simulate({});
    expectProblem(missing, 422, 'validation-failed');
    expect(pointers(missing)).toEqual(['/claim']);

    const unknownKey = await simulate({ claim: demoClaim, records: {}, dryRun: true });
    expectProblem(unknownKey, 422, 'validation-failed');
    expect(unknownKey.body.errors).toEqual([{ path: '/', message: expect.stringContaining('dryRun') }]);

    // Claim and records errors together, each where it is.
    const both = await simulate({
      claim: { ...demoClaim, lines: [{ ...demoClaim.lines[0], units: 0 }] },
      records: {
        ...m1001Records,
        coverages: [{ ...demoMembers.M1001?.coverages[0], status: 'paused', extra: 1 }],
        accumulators: [{ coverageId: 'COV-1001-26' }],
      },
    });
    expectProblem(both, 422, 'validation-failed');
    expect(pointers(both).sort()).toEqual([
      '/claim/lines/0/units',
      '/records/accumulators/0/planYear',
      '/records/coverages/0',
      '/records/coverages/0/status',
    ]);

    for (const records of [5, [], 'records', null]) {
      const res = await simulate({ claim: demoClaim, records });
      expectProblem(res, 422, 'validation-failed');
      expect(pointers(res)).toEqual(['/records']);
    }
    // Bounded before parsing: one error for a flood, not one per element; no deep recursion.
    const flood = await simulate({
      claim: demoClaim,
      records: { treatments: Array.from({ length: 5000 }, () => ({})) },
    });
    expectProblem(flood, 422, 'validation-failed');
    expect(pointers(flood)).toEqual(['/records/treatments']);
    const deep = `{"claim":${JSON.stringify(demoClaim)},"records":{"member":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}}`;
    const nested = await call(stack.url, 'POST', '/rules/simulate', { token, body: deep });
    expectProblem(nested, 422, 'validation-failed');
    expect(pointers(nested)).toEqual(['/records']);

    expect(await journal.size()).toBe(before);
  });

  it('never answers 5xx to arbitrary JSON, nor to a valid body with one part replaced (property)', async () => {
    const before = await journal.size();
    const expectNo5xx = async (json: unknown) => {
      const res = await simulate(json);
      expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBeLessThan(500);
      expect([200, 422], JSON.stringify(json).slice(0, 300)).toContain(res.status);
    };
    await fc.assert(fc.asyncProperty(fc.jsonValue(), expectNo5xx), { numRuns: 60 });
    const recordKeys = ['member', 'coverages', 'treatments', 'accumulators', 'priorClaimLines', 'memberId'];
    const claimKeys = Object.keys(demoClaim);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...claimKeys.map((k) => ['claim', k]), ...recordKeys.map((k) => ['records', k])),
        fc.jsonValue(),
        async ([part, key], value) => {
          const body = { claim: { ...demoClaim }, records: { ...m1001Records } } as Record<
            string,
            Record<string, unknown>
          >;
          (body[part as string] as Record<string, unknown>)[key as string] = value;
          await expectNo5xx(body);
        },
      ),
      { numRuns: 80 },
    );
    expect(await journal.size()).toBe(before);
  });
});
