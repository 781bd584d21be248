// The review queue against DynamoDB Local: the review is written in the claim's own
// transaction, the queue index orders and pages correctly (also when a filter leaves pages
// short), two analysts cannot both act on one version, and an approval racing automatic claims
// of the same member keeps the accumulators exact to the cent.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../functions/claims/claim.schema.ts';
import type { Decision } from '../../functions/claims/decision.ts';
import type { Identity } from '../../functions/claims/identity.ts';
import type { StoredClaim } from '../../functions/claims/ports.ts';
import type { MemberCoverage } from '../../functions/claims/records.schema.ts';
import { addTreatment, putCoverage } from '../../functions/claims/records.ts';
import { StaleReviewError } from '../../functions/claims/review.ts';
import { decideReview } from '../../functions/claims/review-actions.ts';
import { submitClaim } from '../../functions/claims/submit-claim.ts';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { reviewRuleSet } from '../../functions/engine/review-rule-set.ts';
import type { RuleSet } from '../../functions/engine/rule-set.ts';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { ClaimRepository } from '../../functions/store/claims.repository.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { RecordRepository } from '../../functions/store/records.repository.ts';
import { ReviewRepository } from '../../functions/store/reviews.repository.ts';
import { oneLineClaim } from '../support/claims.ts';
import { freshTables } from '../support/tables.ts';

const NPI = demoProviders.familyClinic.npi;
const provider: Identity = { sub: 'riverside-billing', roles: ['provider'], npis: [NPI] };
const analyst: Identity = { sub: 'analyst-ana', roles: ['analyst'], npis: [] };
const analyst2: Identity = { sub: 'analyst-bo', roles: ['analyst'], npis: [] };

const coverage: MemberCoverage = {
  member: { birthDate: '1980-04-12', sex: 'female' },
  coverages: [
    {
      coverageId: 'COV-R',
      planId: 'PPO-R',
      status: 'active',
      start: '2026-01-01',
      end: '2026-12-31',
      planYearStartMonth: 1,
      benefits: {
        deductibleCents: 50_000,
        outOfPocketMaxCents: 300_000,
        coinsuranceBps: 2_000,
        copayCents: 0,
      },
      excludedProcedures: [],
      priorAuthRequired: [],
    },
  ],
};

/** A one-line claim for 20610 (allowed $66): undocumented, so the rules pend it. */
const claim = (memberId: string, claimId: string, day: number): ClaimSubmission =>
  oneLineClaim({
    claimId,
    memberId,
    npi: NPI,
    date: new Date(Date.UTC(2026, 1, day)).toISOString().slice(0, 10),
    procedureCode: '20610',
    diagnosisCode: 'M17.11',
    chargeCents: 20_000,
  });

describe('review queue storage', () => {
  let claims: ClaimRepository;
  let records: RecordRepository;
  let journal: JournalRepository;
  let reviews: ReviewRepository;
  let ruleSet: RuleSet;
  let tables: Awaited<ReturnType<typeof freshTables>>;
  const clock = () => new Date().toISOString();

  beforeAll(async () => {
    tables = await freshTables();
    const { doc, names } = tables;
    journal = new JournalRepository(doc, names.journal);
    records = new RecordRepository(doc, names.records, journal);
    claims = new ClaimRepository(doc, { claims: names.claims, records: names.records }, records, journal);
    reviews = new ReviewRepository(doc, { claims: names.claims, records: names.records }, journal);
    ruleSet = await loadRuleSet(fileURLToPath(new URL('../../rules', import.meta.url)));
    for (const member of ['M-R1', 'M-R2', 'M-R3'])
      await putCoverage(member, coverage, analyst, { records, clock });
  });

  const submit = (submission: ClaimSubmission) =>
    submitClaim(submission, provider, { claims, ruleSet, clock });

  it('opens a review in the pended claim’s own transaction, and none for a decided claim', async () => {
    const pended = await submit(claim('M-R1', 'P-1', 2));
    expect(pended.claim.status).toBe('pended');
    expect(await reviews.find(pended.claim.id)).toMatchObject({
      claimId: pended.claim.id,
      status: 'open',
      version: 1,
      score: 20,
      signals: ['unsupported-service'],
      reasons: ['unsupported-by-records'],
      createdAt: pended.claim.createdAt,
    });
    // A retry replays the first decision and writes no second review.
    const retry = await submit(claim('M-R1', 'P-1', 2));
    expect(retry.outcome).toBe('replayed');
    expect((await reviews.find(pended.claim.id))?.version).toBe(1);

    const denied = await submitClaim({ ...claim('M-UNKNOWN', 'D-1', 2) }, provider, {
      claims,
      ruleSet,
      clock,
    });
    expect(denied.claim.status).toBe('denied');
    expect(await reviews.find(denied.claim.id)).toBeNull();
  });

  it('orders by score then age, bounds minScore inclusively and continues filtered pages across the read budget', async () => {
    const { doc, names } = tables;
    const seeded: StoredClaim[] = [];
    // Synthetic pended decisions with chosen scores, written through the real saveDecided.
    for (const [i, score] of [35, 80, 35, 50, 49, 35, 80].entries()) {
      const stored = pendedClaim(
        `Q-${i}`,
        score,
        i % 3 === 0 ? 'watch' : 'other',
        `2026-05-01T00:00:0${i}.000Z`,
      );
      await claims.saveDecided(stored, emptyFacts(stored), {
        type: 'claim.decided',
        docId: `claim/${stored.id}`,
        docRevision: 1,
        actor: { sub: 'test', role: 'provider' },
        at: stored.createdAt,
        payload: {},
      });
      seeded.push(stored);
    }
    const mine = (list: { claimId: string }[]) =>
      list.map((r) => r.claimId).filter((id) => seeded.some((c) => c.id === id));
    const scoreOf = (id: string) => seeded.find((c) => c.id === id)?.decision.fraud.score;
    const page = await reviews.queue({ status: 'open', limit: 100 });
    expect(mine(page.reviews).map(scoreOf)).toEqual([80, 80, 50, 49, 35, 35, 35]);
    expect(mine(page.reviews)).toEqual([1, 6, 3, 4, 0, 2, 5].map((i) => seeded[i]?.id));

    const atLeast50 = await reviews.queue({ status: 'open', limit: 100, minScore: 50 });
    expect(atLeast50.reviews.map((r) => r.score)).toEqual([80, 80, 50]);

    // One item per Query and two Queries per request: the filtered page comes back short but
    // with a cursor, and following the cursors finds exactly the matching reviews, in order.
    const tight = new ReviewRepository(doc, { claims: names.claims, records: names.records }, journal, {
      maxQueries: 2,
      filteredPageSize: 1,
    });
    const found: string[] = [];
    let cursor: string | null = null;
    let requests = 0;
    do {
      const next = await tight.queue({
        status: 'open',
        limit: 2,
        signal: 'watch',
        ...(cursor ? { cursor } : {}),
      });
      expect(next.reviews.length).toBeLessThanOrEqual(2);
      found.push(...next.reviews.map((r) => r.claimId));
      cursor = next.cursor;
      requests++;
    } while (cursor && requests < 50);
    expect(cursor).toBeNull();
    expect(found).toEqual([6, 3, 0].map((i) => seeded[i]?.id));
    expect(requests).toBeGreaterThan(2);
  });

  it('lets only one of two analysts act on the same review version', async () => {
    const pended = await submit(claim('M-R2', 'RACE-1', 3));
    const attempts = await Promise.allSettled([
      decideReview(pended.claim.id, { outcome: 'deny', reason: '50' }, [1], analyst, ports()),
      decideReview(pended.claim.id, { outcome: 'escalate' }, [1], analyst2, ports()),
    ]);
    const won = attempts.filter((a) => a.status === 'fulfilled');
    const lost = attempts.filter((a) => a.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(StaleReviewError);
    const entries = await journal.documentEntries(`claim/${pended.claim.id}`);
    expect(entries).toHaveLength(2);
    expect((await reviews.find(pended.claim.id))?.version).toBe(2);
    expect((await claims.find(pended.claim.id))?.revision).toBe(2);
  });

  it('keeps accumulators exact when an approval races automatic claims of the same member', async () => {
    const member = 'M-R3';
    const pended = await submit(claim(member, 'RACE-APPROVE', 4));
    const [approval, ...automatic] = await Promise.all([
      decideReview(pended.claim.id, { outcome: 'approve' }, [1], analyst, ports()),
      // Documented services of the same member, decided automatically at the same time.
      ...[5, 6, 7, 8].map(async (day) => {
        const submission = claim(member, `AUTO-${day}`, day);
        await addTreatment(
          {
            recordId: `T-${day}`,
            memberId: member,
            providerNpi: NPI,
            serviceDate: submission.serviceDateFrom,
            kind: 'procedure',
            procedureCodes: ['20610'],
            diagnosisCodes: ['M17.11'],
          },
          analyst,
          { records, clock },
        );
        return submit(submission);
      }),
    ]);
    expect(approval?.claim.status).toBe('approved');
    const decided = [approval?.claim, ...automatic.map((a) => a.claim)];
    for (const c of decided) expect(c?.status).toBe('approved');
    // Every approved decision's deltas, and nothing else, are in the member's accumulators.
    const sum = { deductibleMetCents: 0, outOfPocketMetCents: 0, paidCents: 0 };
    for (const c of decided) {
      for (const d of c?.decision.accumulatorDeltas ?? []) {
        sum.deductibleMetCents += d.deductibleCents;
        sum.outOfPocketMetCents += d.outOfPocketCents;
        sum.paidCents += d.paidCents;
      }
    }
    const [totals] = await records.accumulators(member);
    expect(totals).toMatchObject(sum);
    // Five $66 services against a $500 deductible: all of it the member's, nothing paid yet.
    expect(totals).toMatchObject({ deductibleMetCents: 33_000, outOfPocketMetCents: 33_000, paidCents: 0 });
  });

  function ports() {
    return { claims, reviews, clock, ruleSet: reviewRuleSet(ruleSet) };
  }
});

function emptyFacts(stored: StoredClaim) {
  return {
    memberId: stored.submission.memberId,
    member: null,
    coverages: [],
    treatments: [],
    accumulators: [],
    priorClaimLines: [],
  };
}

function pendedClaim(claimId: string, score: number, signal: string, at: string): StoredClaim {
  const submission = claim('M-QUEUE', claimId, 10);
  const decision: Decision = {
    outcome: 'pended',
    ruleSetHash: 'test',
    lines: [
      {
        lineNumber: 1,
        status: 'pended',
        chargeCents: 20_000,
        allowedCents: 0,
        paidCents: 0,
        memberResponsibilityCents: 0,
        adjustments: [],
      },
    ],
    totals: { chargeCents: 20_000, allowedCents: 0, paidCents: 0, memberResponsibilityCents: 0 },
    reasons: [{ code: 'fraud-review', message: 'Claim selected for review' }],
    fraud: { score, threshold: 30, signals: [{ signal, weight: score, ruleId: 'test', evidence: {} }] },
    accumulatorDeltas: [],
    trace: [],
  };
  const id = `c${Buffer.from(claimId).toString('hex').padEnd(31, '0').slice(0, 31)}`;
  return {
    id,
    revision: 1,
    status: 'pended',
    bodyHash: 'test',
    submission,
    decision,
    submittedBy: 'test',
    createdAt: at,
    updatedAt: at,
    journalKey: `claim.decided/${id}/1`,
  };
}
