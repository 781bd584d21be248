import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewDecisionSchema } from '../../functions/claims/review.ts';
import { demoProviders, demoReviewClaim } from '../../functions/local/demo-seed.ts';
import { createDocumentClient, tableNamesFor } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { RecordRepository } from '../../functions/store/records.repository.ts';
import { ppoCoverage } from '../support/coverage.ts';
import { call, type Reply } from '../support/http.ts';
import { type E2eStack, startE2eStack } from '../support/local-stack.ts';

const PROBLEM = 'https://claimledger.dev/problems/';

interface ReviewItem {
  claimId: string;
  externalClaimId: string;
  billingProviderNpi: string;
  memberId: string;
  score: number;
  signals: string[];
  status: string;
  escalated: boolean;
  assignee: string | null;
  version: number;
  createdAt: string;
}

/** The review demo claim (99213, 36415, 80053, undocumented) for another member, claim id or day. */
const claimFor = (
  memberId: string,
  claimId: string,
  npi: string = demoProviders.familyClinic.npi,
  date = demoReviewClaim.serviceDateFrom,
) => ({
  ...demoReviewClaim,
  claimId,
  memberId,
  billingProviderNpi: npi,
  serviceDateFrom: date,
  serviceDateTo: date,
  lines: demoReviewClaim.lines.map((line) => ({ ...line, serviceDate: date })),
});

describe('review queue over HTTP', () => {
  let stack: E2eStack;
  let analyst2: string;
  let excludedProvider: string;
  let records: RecordRepository;
  let journal: JournalRepository;
  /** Claim document ids by what they are for. */
  const ids: Record<string, string> = {};

  const submit = async (claim: unknown, token = stack.tokens.provider) => {
    const res = await call(stack.url, 'POST', '/claims', { token, json: claim });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res;
  };
  const get = (path: string, token = stack.tokens.analyst, headers: Record<string, string> = {}) =>
    call(stack.url, 'GET', path, { token, headers });
  const post = (path: string, json: unknown, ifMatch?: string, token = stack.tokens.analyst) =>
    call(stack.url, 'POST', path, {
      token,
      json,
      headers: ifMatch === undefined ? {} : { 'if-match': ifMatch },
    });
  const list = async (query = '') => {
    const res = await get(`/reviews${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as { reviews: ReviewItem[]; nextCursor: string | null };
  };
  const etag = (res: Reply) => res.headers.get('etag') ?? '';

  beforeAll(async () => {
    stack = await startE2eStack();
    analyst2 = await stack.issuer.mint({ sub: 'analyst-bo', roles: ['analyst'] });
    excludedProvider = await stack.issuer.mint({
      sub: 'excluded-billing',
      roles: ['provider'],
      npis: [demoProviders.excluded.npi],
    });
    const doc = createDocumentClient({ endpoint: stack.dynamoEndpoint });
    const names = tableNamesFor(stack.tablePrefix);
    journal = new JournalRepository(doc, names.journal);
    records = new RecordRepository(doc, names.records, journal);

    for (const member of ['M-TWIN', 'M-APPROVE', 'M-DENY', 'M-FUZZ']) {
      const res = await call(stack.url, 'PUT', `/members/${member}/coverage`, {
        token: stack.tokens.analyst,
        json: ppoCoverage(`COV-${member}`),
      });
      expect(res.status).toBe(201);
    }
    // The twin's services are documented, so its claim is approved automatically.
    const treatment = await call(stack.url, 'POST', '/treatments', {
      token: stack.tokens.analyst,
      json: {
        recordId: 'ENC-TWIN',
        memberId: 'M-TWIN',
        providerNpi: demoProviders.familyClinic.npi,
        serviceDate: demoReviewClaim.serviceDateFrom,
        kind: 'encounter',
        procedureCodes: ['99213', '36415', '80053'],
        diagnosisCodes: ['E11.9'],
      },
    });
    expect(treatment.status).toBe(201);
    const twin = await submit(claimFor('M-TWIN', 'TWIN-1'));
    expect(twin.body.status).toBe('approved');

    // Pended claims with different scores. Unsupported by records: 20.
    ids.demo = String((await submit(demoReviewClaim)).body.id);
    ids.approve = String((await submit(claimFor('M-APPROVE', 'APPROVE-1'))).body.id);
    ids.deny = String((await submit(claimFor('M-DENY', 'DENY-1'))).body.id);
    ids.fuzz = String((await submit(claimFor('M-FUZZ', 'FUZZ-1'))).body.id);
    // Another provider billed the same codes for M1002 that day: unsupported 20 + near-duplicate 20.
    ids.ortho = String(
      (await submit(claimFor('M1002', 'ORTHO-1', demoProviders.orthoGroup.npi), stack.tokens.otherProvider))
        .body.id,
    );
    ids.duplicate = String((await submit(claimFor('M1002', 'DUP-1'))).body.id);
    // A provider on the exclusion list: excluded-provider 100 (+ unsupported 20).
    ids.excluded = String(
      (await submit(claimFor('M1001', 'EXCL-1', demoProviders.excluded.npi, '2026-03-12'), excludedProvider))
        .body.id,
    );
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('queues every pended claim, highest score first, then oldest', async () => {
    const { reviews, nextCursor } = await list();
    expect(nextCursor).toBeNull();
    expect(reviews).toHaveLength(7);
    const byId = new Map(reviews.map((r) => [r.claimId, r]));
    expect(byId.get(ids.excluded as string)?.score).toBe(120);
    expect(byId.get(ids.excluded as string)?.signals).toEqual(['excluded-provider', 'unsupported-service']);
    expect(byId.get(ids.duplicate as string)?.score).toBe(40);
    expect(byId.get(ids.demo as string)).toMatchObject({
      score: 20,
      status: 'open',
      version: 1,
      assignee: null,
      externalClaimId: 'DEMO-REVIEW-0001',
      memberId: 'M1001',
    });
    expect(reviews[0]?.claimId).toBe(ids.excluded);
    expect(reviews[1]?.claimId).toBe(ids.duplicate);
    for (let i = 1; i < reviews.length; i++) {
      const [a, b] = [reviews[i - 1] as ReviewItem, reviews[i] as ReviewItem];
      expect(a.score > b.score || (a.score === b.score && a.createdAt <= b.createdAt)).toBe(true);
    }
    // Among equal scores the oldest comes first: submission order.
    const twenties = reviews.filter((r) => r.score === 20).map((r) => r.claimId);
    expect(twenties).toEqual([ids.demo, ids.approve, ids.deny, ids.fuzz, ids.ortho]);
    // Approved claims never enter the queue.
    expect(reviews.map((r) => r.externalClaimId)).not.toContain('TWIN-1');
  });

  it('pages with opaque cursors, without duplicates or gaps, under every filter', async () => {
    const all = (await list('?limit=100')).reviews.map((r) => r.claimId);
    for (const [filter, size] of [
      ['', 2],
      ['', 3],
      ['&signal=unsupported-service', 2],
      [`&provider=${demoProviders.familyClinic.npi}`, 2],
    ] as const) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: { reviews: ReviewItem[]; nextCursor: string | null } = await list(
          `?limit=${size}${filter}${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.reviews.length).toBeLessThanOrEqual(size);
        seen.push(...page.reviews.map((r) => r.claimId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor && pages < 20);
      expect(cursor).toBeNull();
      expect(new Set(seen).size).toBe(seen.length);
      const expected = (await list(`?limit=100${filter}`)).reviews.map((r) => r.claimId);
      expect(seen).toEqual(expected);
    }
    expect(all).toHaveLength(7);
  });

  it('filters by minimum score, signal, provider, member and date', async () => {
    const ids40 = (await list('?minScore=40')).reviews.map((r) => r.claimId);
    expect(ids40).toEqual([ids.excluded, ids.duplicate]);
    expect((await list('?minScore=121')).reviews).toEqual([]);
    const excluded = (await list('?signal=excluded-provider')).reviews.map((r) => r.claimId);
    expect(excluded).toEqual([ids.excluded]);
    const nearDuplicate = (await list('?signal=near-duplicate')).reviews.map((r) => r.claimId);
    expect(nearDuplicate).toEqual([ids.duplicate]);
    const ortho = (await list(`?provider=${demoProviders.orthoGroup.npi}`)).reviews.map((r) => r.claimId);
    expect(ortho).toEqual([ids.ortho]);
    const member = (await list('?member=M1002')).reviews.map((r) => r.claimId);
    expect(member).toEqual([ids.duplicate, ids.ortho]);
    const both = await list(`?member=M1002&provider=${demoProviders.familyClinic.npi}`);
    expect(both.reviews.map((r) => r.claimId)).toEqual([ids.duplicate]);
    const today = new Date().toISOString().slice(0, 10);
    expect((await list(`?from=${today}&to=${today}`)).reviews).toHaveLength(7);
    expect((await list('?to=2020-01-01')).reviews).toEqual([]);
    expect((await list('?from=2999-01-01')).reviews).toEqual([]);
  });

  it('refuses bad query parameters and cursors with 400, never 500', async () => {
    const first = await list('?limit=1');
    const foreign = first.nextCursor as string;
    expect(foreign).toMatch(/^[A-Za-z0-9_-]+$/);
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(foreign, 'base64url').toString()), s: '000000#x' }),
    ).toString('base64url');
    const paths = [
      '/reviews?cursor=garbage',
      '/reviews?cursor=%7B%7D',
      `/reviews?cursor=${Buffer.from('{}').toString('base64url')}`,
      `/reviews?cursor=${forged}`,
      `/reviews?cursor=${foreign}&status=closed`,
      `/reviews?cursor=${foreign}&minScore=40`,
      `/reviews?cursor=${'A'.repeat(500)}`,
      '/reviews?limit=101',
      '/reviews?limit=0',
      '/reviews?limit=ten',
      '/reviews?limit=1e2',
      '/reviews?status=pended',
      '/reviews?minScore=-1',
      '/reviews?provider=123',
      '/reviews?member=%23x',
      '/reviews?from=2026-02-30',
      '/reviews?from=2026-03-02&to=2026-03-01',
      '/reviews?signal=Not%20A%20Signal',
      '/reviews?sort=score',
    ];
    for (const path of paths) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(res.body.type, path).toBe(`${PROBLEM}bad-request`);
    }
    // The same cursor still works for the query it came from.
    expect((await get(`/reviews?limit=1&cursor=${foreign}`)).status).toBe(200);
  });

  it('refuses providers and rules admins on every review route (403), without a token 401', async () => {
    const id = ids.demo as string;
    for (const token of [stack.tokens.provider, stack.tokens.otherProvider, stack.tokens.rulesAdmin]) {
      const replies = [
        await get('/reviews', token),
        await get(`/reviews/${id}`, token),
        await post(`/reviews/${id}/assign`, {}, '"1"', token),
        await post(`/reviews/${id}/decision`, { outcome: 'approve' }, '"1"', token),
      ];
      for (const res of replies) {
        expect(res.status).toBe(403);
        expect(res.body.type).toBe(`${PROBLEM}forbidden`);
      }
    }
    expect((await call(stack.url, 'GET', '/reviews')).status).toBe(401);
    const unchanged = (await list()).reviews.find((r) => r.claimId === id);
    expect(unchanged?.version).toBe(1);
  });

  it('shows the claim, trace, signals with evidence, related claims and proven history; the read is journaled', async () => {
    const id = ids.duplicate as string;
    await stack.integrator.caughtUp();
    const res = await get(`/reviews/${id}`);
    expect(res.status).toBe(200);
    expect(etag(res)).toBe('"1"');
    const body = res.body as {
      review: ReviewItem & { actions: unknown[] };
      claim: { status: string; decision: { trace: unknown[]; fraud: unknown } };
      fraud: { score: number; signals: { signal: string; evidence: Record<string, unknown> }[] };
      memberClaims: { id: string; claimId: string }[];
      providerClaims: { id: string }[];
      history: { revisions: { entry: { type: string; actor: unknown; payload: unknown }; proof: unknown }[] };
    };
    expect(body.review).toMatchObject({ claimId: id, status: 'open', version: 1, actions: [] });
    expect(body.claim.status).toBe('pended');
    expect(body.claim.decision.trace.length).toBeGreaterThan(0);
    expect(body.fraud.score).toBe(40);
    const nearDuplicate = body.fraud.signals.find((s) => s.signal === 'near-duplicate');
    expect(nearDuplicate?.evidence).toMatchObject({ procedureCode: '99213', serviceDate: '2026-03-09' });
    // The member's other claim (billed by the other clinic), not the claim itself.
    expect(body.memberClaims.map((c) => c.claimId)).toEqual(['ORTHO-1']);
    expect(body.providerClaims.map((c) => c.id)).not.toContain(id);
    expect(body.providerClaims.length).toBeGreaterThan(3);
    const revisions = body.history.revisions;
    expect(revisions.map((r) => r.entry.type)).toEqual(['claim.decided', 'record.read']);
    expect(revisions[0]?.proof).toBeInstanceOf(Array);
    expect(revisions[1]?.entry.actor).toEqual({ sub: 'analyst-ana', role: 'analyst' });
    expect(revisions[1]?.entry.payload).toEqual({ view: 'review' });
    // Each read is journaled again.
    const again = await get(`/reviews/${id}`);
    const types = (again.body.history as typeof body.history).revisions.map((r) => r.entry.type);
    expect(types).toEqual(['claim.decided', 'record.read', 'record.read']);

    expect((await get(`/reviews/c${'0'.repeat(31)}`)).status).toBe(404);
    expect((await get('/reviews/not-a-claim')).status).toBe(404);
  });

  it('assigns and approves under If-Match; the approval moves accumulators exactly as an automatic approval', async () => {
    const id = ids.approve as string;
    const path = `/reviews/${id}`;
    expect((await post(`${path}/assign`, {})).status).toBe(428);
    expect((await post(`${path}/decision`, { outcome: 'approve' })).status).toBe(428);
    for (const stale of ['"2"', '"0"', 'W/"1"', '*', 'nonsense']) {
      const res = await post(`${path}/assign`, {}, stale);
      expect(res.status, stale).toBe(412);
      expect(res.body.type).toBe(`${PROBLEM}precondition-failed`);
    }

    const assigned = await post(`${path}/assign`, {}, '"1"');
    expect(assigned.status).toBe(200);
    expect(etag(assigned)).toBe('"2"');
    expect(assigned.body.review).toMatchObject({ status: 'assigned', assignee: 'analyst-ana', version: 2 });
    // Assigning again to the same analyst is a no-op: same version.
    const again = await post(`${path}/assign`, {}, '"2"');
    expect(again.status).toBe(200);
    expect(etag(again)).toBe('"2"');
    expect((await list('?status=assigned')).reviews.map((r) => r.claimId)).toEqual([id]);

    expect((await post(`${path}/decision`, { outcome: 'approve' }, '"1"')).status).toBe(412);
    const taken = await post(`${path}/decision`, { outcome: 'approve' }, '"2"', analyst2);
    expect(taken.status).toBe(409);
    expect(await records.accumulators('M-APPROVE')).toEqual([]);

    const approved = await post(
      `${path}/decision`,
      { outcome: 'approve', reason: 'records-received' },
      '"2"',
    );
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(etag(approved)).toBe('"3"');
    expect(approved.body.review).toMatchObject({ status: 'closed', outcome: 'approve', version: 3 });
    const claim = approved.body.claim as { status: string; revision: number; decision: { totals: unknown } };
    expect(claim.status).toBe('approved');
    expect(claim.revision).toBe(3);

    // Copay $25 on the visit; the lab lines go to the deductible ($3 + $13); the plan pays $67.
    const expected = {
      deductibleMetCents: 1_600,
      outOfPocketMetCents: 4_100,
      paidCents: 6_700,
      visits: 1,
    };
    const [accumulators] = await records.accumulators('M-APPROVE');
    expect(accumulators).toMatchObject({ coverageId: 'COV-M-APPROVE', planYear: '2026', ...expected });
    const [twin] = await records.accumulators('M-TWIN');
    expect(twin).toMatchObject(expected);
    expect(claim.decision.totals).toEqual({
      chargeCents: 27_800,
      allowedCents: 10_800,
      paidCents: 6_700,
      memberResponsibilityCents: 4_100,
    });

    // The provider sees the new status; the claim's history shows the analyst's actions.
    const seen = await get(`/claims/${id}`, stack.tokens.provider);
    expect(seen.body).toMatchObject({ status: 'approved', revision: 3 });
    const history = await get(`/claims/${id}/history`);
    const entries = (history.body.revisions as { entry: Record<string, unknown> }[]).map((r) => r.entry);
    expect(entries.map((e) => e.type)).toEqual([
      'claim.decided',
      'claim.reviewed',
      'claim.reviewed',
      'record.read',
    ]);
    const reviewed = entries[2] as { docRevision: number; actor: unknown; payload: Record<string, unknown> };
    expect(reviewed.docRevision).toBe(3);
    expect(reviewed.actor).toEqual({ sub: 'analyst-ana', role: 'analyst' });
    expect(reviewed.payload).toMatchObject({
      action: 'approve',
      status: 'approved',
      reviewStatus: 'closed',
      reason: 'records-received',
      released: { rules: ['documentation.supported-by-record'], fraud: false },
      outcome: 'approved',
    });
    expect((entries[1] as { payload: unknown }).payload).toMatchObject({ action: 'assign' });

    expect((await list()).reviews.map((r) => r.claimId)).not.toContain(id);
    expect((await list('?status=closed')).reviews.map((r) => r.claimId)).toEqual([id]);
    // A closed review takes no further decision, nor a second approval's accumulators.
    expect((await post(`${path}/decision`, { outcome: 'approve' }, '"3"')).status).toBe(409);
    expect((await records.accumulators('M-APPROVE'))[0]).toMatchObject(expected);
  });

  it('denies with a CARC: pended lines denied CO-<carc>, nothing paid or accumulated', async () => {
    const id = ids.deny as string;
    const path = `/reviews/${id}/decision`;
    for (const body of [
      { outcome: 'deny' },
      { outcome: 'deny', reason: 'XYZ' },
      { outcome: 'deny', reason: '0' },
    ]) {
      const res = await post(path, body, '"1"');
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((res.body.errors as { path: string }[]).map((e) => e.path)).toContain('/reason');
    }
    const denied = await post(
      path,
      { outcome: 'deny', reason: '50', note: 'Not medically necessary.' },
      '"1"',
    );
    expect(denied.status).toBe(200);
    expect(etag(denied)).toBe('"2"');
    const claim = denied.body.claim as {
      status: string;
      decision: { lines: { status: string; adjustments: { group: string; carc: string }[] }[] };
    };
    expect(claim.status).toBe('denied');
    for (const line of claim.decision.lines) {
      expect(line.status).toBe('denied');
      expect(line.adjustments.map((a) => `${a.group}-${a.carc}`)).toEqual(['CO-50']);
    }
    expect(await records.accumulators('M-DENY')).toEqual([]);
    const entries = (await get(`/claims/${id}/history`)).body.revisions as {
      entry: Record<string, unknown>;
    }[];
    const reviewed = entries[1]?.entry as { type: string; payload: Record<string, unknown> };
    expect(reviewed.type).toBe('claim.reviewed');
    expect(reviewed.payload).toMatchObject({ action: 'deny', reason: '50', status: 'denied' });
    // The free-text note is journaled only as its hash.
    expect(reviewed.payload.noteSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(reviewed)).not.toContain('medically');
  });

  it('escalates: the claim stays pended and the review goes back to the queue, flagged', async () => {
    const id = ids.demo as string;
    const escalated = await post(`/reviews/${id}/decision`, { outcome: 'escalate' }, '"1"', analyst2);
    expect(escalated.status).toBe(200);
    expect(escalated.body.review).toMatchObject({
      status: 'open',
      escalated: true,
      assignee: null,
      version: 2,
    });
    expect((escalated.body.claim as { status: string }).status).toBe('pended');
    const queued = (await list()).reviews.find((r) => r.claimId === id);
    expect(queued).toMatchObject({ escalated: true, version: 2 });
  });

  it('answers arbitrary bad decision bodies with 4xx and changes nothing', async () => {
    const id = ids.fuzz as string;
    const path = `/reviews/${id}/decision`;
    const state = async () => ({
      claim: (await get(`/claims/${id}`)).body.revision,
      review: (await list('?member=M-FUZZ')).reviews[0]?.version,
      // Reads are journaled too (this very state check reads the claim): count the rest.
      journal: (await journal.documentEntries(`claim/${id}`)).filter((e) => !e.key.startsWith('read/'))
        .length,
      accumulators: await records.accumulators('M-FUZZ'),
    });
    const before = await state();
    const field = fc.oneof(fc.string({ maxLength: 80 }), fc.jsonValue(), fc.constant(undefined));
    const bodies = fc
      .oneof(
        fc.jsonValue(),
        fc.record(
          {
            outcome: fc.oneof(fc.constantFrom('approve', 'deny', 'escalate', 'APPROVE', ''), field),
            reason: field,
            note: fc.oneof(field, fc.string({ minLength: 2001, maxLength: 2100 })),
            extra: field,
          },
          { requiredKeys: [] },
        ),
      )
      // Judged as sent: JSON drops undefined fields, which can leave a valid body.
      .filter((body) => !reviewDecisionSchema.safeParse(JSON.parse(JSON.stringify(body) ?? 'null')).success);
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const res = await post(path, body, '"1"');
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
      }),
      { numRuns: 40 },
    );
    for (const raw of ['{"outcome":', 'approve', '']) {
      const res = await call(stack.url, 'POST', path, {
        token: stack.tokens.analyst,
        body: raw,
        headers: { 'if-match': '"1"' },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await state()).toEqual(before);
  });
});
