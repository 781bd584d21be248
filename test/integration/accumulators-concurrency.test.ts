// Issue requirement: deductible and out-of-pocket totals per member and plan year stay exact to
// the cent when many claims for one member are decided at the same time, and no claim consumes
// deductible dollars another claim already used. The real use case, the default rule set and
// the DynamoDB repositories decide 56 claims fired at once; the assertions then rebuild the
// serial order the accumulator versions imply and replay the plan's cost sharing along it.
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../functions/claims/claim.schema.ts';
import type { Accumulators, LineDecision, RuleSetPort } from '../../functions/claims/decision.ts';
import { ConflictError } from '../../functions/claims/errors.ts';
import type { Identity } from '../../functions/claims/identity.ts';
import { type KeyedSerializer, keyedSerializer } from '../../functions/claims/keyed-serializer.ts';
import type { StoredClaim } from '../../functions/claims/ports.ts';
import type { MemberCoverage } from '../../functions/claims/records.schema.ts';
import { addTreatment, putCoverage } from '../../functions/claims/records.ts';
import { type SubmitClaimResult, submitClaim } from '../../functions/claims/submit-claim.ts';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { utf8Encode } from '../../functions/journal/bytes.ts';
import { decodeEntry } from '../../functions/journal/entry.ts';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { ClaimRepository } from '../../functions/store/claims.repository.ts';
import { ScanCommand } from '../../functions/store/dynamo.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { RecordRepository } from '../../functions/store/records.repository.ts';
import { oneLineClaim } from '../support/claims.ts';
import { freshTables } from '../support/tables.ts';

const CLAIMS = 56;
const MEMBER = 'M-CONC-1';
const COVERAGE_ID = 'COV-CONC-26';
const PLAN_YEAR = '2026';
const DEDUCTIBLE = 50_000;
const OUT_OF_POCKET_MAX = 100_000;
const COINSURANCE_BPS = 2_000;
// submitClaim retries a lost accumulator race itself, with jittered backoff: every one of the
// concurrent claims must be decided on its first submission, none refused with a 409.
const MAX_RESUBMISSIONS = 0;
// The claims arrive at 4 "Lambda instances" at once: each decides its own share of the
// member's claims in turn (its keyed serializer), and the 4 race each other on the accumulators.
const INSTANCES = Array.from({ length: 4 }, () => keyedSerializer());
const NPI = demoProviders.familyClinic.npi;

// Codes the default fee schedule prices (allowed per unit, rules/tables/fee-schedule-2026.csv)
// that are not office visits (no copay), not time-based (no impossible-day signal) and carry
// no age or sex edit. One claim per date of service, so no duplicate, PTP or MUE edit applies.
const FEES: Record<string, number> = {
  '71046': 3_200,
  '73030': 3_000,
  '20610': 6_600,
  '11042': 13_000,
  '12001': 11_000,
  '17000': 7_000,
  '20605': 5_500,
  '97597': 8_000,
};
const CODES = Object.keys(FEES);

const provider: Identity = { sub: 'riverside-billing', roles: ['provider'], npis: [NPI] };
const analyst: Identity = { sub: 'analyst-ana', roles: ['analyst'], npis: [] };

const coverage: MemberCoverage = {
  member: { birthDate: '1980-04-12', sex: 'female' },
  coverages: [
    {
      coverageId: COVERAGE_ID,
      planId: 'PPO-CONC',
      status: 'active',
      start: '2026-01-01',
      end: '2026-12-31',
      planYearStartMonth: 1,
      benefits: {
        deductibleCents: DEDUCTIBLE,
        outOfPocketMaxCents: OUT_OF_POCKET_MAX,
        coinsuranceBps: COINSURANCE_BPS,
        copayCents: 0,
      },
      excludedProcedures: [],
      priorAuthRequired: [],
    },
  ],
};

const dateOf = (i: number) => new Date(Date.UTC(2026, 0, 5 + i)).toISOString().slice(0, 10);
const codeOf = (i: number) => CODES[i % CODES.length]!;

// Above every fee, so each line is allowed exactly its fee (the rest is a CO-45 write-off).
const claimFor = (i: number): ClaimSubmission =>
  oneLineClaim({
    claimId: `CONC-${String(i).padStart(3, '0')}`,
    memberId: MEMBER,
    npi: NPI,
    date: dateOf(i),
    procedureCode: codeOf(i),
    diagnosisCode: 'M17.11',
    chargeCents: 20_000 + 37 * i,
  });

const sumAdjustments = (lines: LineDecision[], group: string, carc: string) =>
  lines
    .flatMap((l) => l.adjustments)
    .reduce((s, a) => s + (a.group === group && a.carc === carc ? a.amountCents : 0), 0);

/** The accumulators a decision was made on, as its trace recorded them (engine.facts). */
function accumulatorsSeen(claim: StoredClaim): Accumulators | undefined {
  const facts = claim.decision.trace.find((step) => step.ruleId === 'engine.facts')?.facts;
  const all = (facts?.accumulators ?? []) as Accumulators[];
  return all.find((a) => a.coverageId === COVERAGE_ID && a.planYear === PLAN_YEAR);
}

describe('accumulators under 56 concurrent claims for one member (DynamoDB Local)', () => {
  let claims: ClaimRepository;
  let records: RecordRepository;
  let journal: JournalRepository;
  let ruleSet: RuleSetPort;
  let doc: Awaited<ReturnType<typeof freshTables>>['doc'];
  let tables: Awaited<ReturnType<typeof freshTables>>['names'];
  let clock: () => string;

  beforeAll(async () => {
    const fresh = await freshTables();
    doc = fresh.doc;
    tables = fresh.names;
    journal = new JournalRepository(doc, tables.journal);
    records = new RecordRepository(doc, tables.records, journal);
    claims = new ClaimRepository(doc, { claims: tables.claims, records: tables.records }, records, journal);
    ruleSet = await loadRuleSet(fileURLToPath(new URL('../../rules', import.meta.url)));
    clock = () => new Date().toISOString();

    await putCoverage(MEMBER, coverage, analyst, { records, clock });
    // A clinical record behind every billed service, or documentation.supported-by-record pends it.
    await Promise.all(
      Array.from({ length: CLAIMS }, (_, i) =>
        addTreatment(
          {
            recordId: `TR-${i}`,
            memberId: MEMBER,
            providerNpi: NPI,
            serviceDate: dateOf(i),
            kind: 'procedure',
            procedureCodes: [codeOf(i)],
            diagnosisCodes: ['M17.11'],
          },
          analyst,
          { records, clock },
        ),
      ),
    );
  });

  /**
   * Submits like a provider's billing system: a 409 ConflictError ("the member's benefit
   * accumulators kept changing under concurrent claims; submit the claim again") wrote nothing,
   * so the claim is sent again after a short random pause. Returns the result and how many
   * submissions were refused first.
   */
  async function submitAsClient(
    submission: ClaimSubmission,
    instance: number,
  ): Promise<SubmitClaimResult & { refused: number }> {
    for (let refused = 0; ; refused++) {
      try {
        const serialize = INSTANCES[instance % INSTANCES.length] as KeyedSerializer;
        return {
          ...(await submitClaim(submission, provider, { claims, ruleSet, clock, serialize })),
          refused,
        };
      } catch (error: unknown) {
        if (!(error instanceof ConflictError) || refused >= MAX_RESUBMISSIONS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 45));
      }
    }
  }

  it('keeps deductible and out-of-pocket exact to the cent and never spends the same deductible twice', async () => {
    const submissions = Array.from({ length: CLAIMS }, (_, i) => claimFor(i));
    const expectedAllowed = submissions.reduce((s, c) => s + FEES[c.lines[0]!.procedureCode]!, 0);
    // The plan must reach both the deductible and the out-of-pocket maximum for this to test both.
    expect(expectedAllowed).toBeGreaterThan(DEDUCTIBLE + (OUT_OF_POCKET_MAX - DEDUCTIBLE) * 5 + 1_000);

    const settled = await Promise.allSettled(
      submissions.map((submission, i) => submitAsClient(submission, i)),
    );

    // Every claim got a decision and was approved in full.
    const failures = settled.flatMap((s, i) =>
      s.status === 'rejected' ? [`${submissions[i]!.claimId}: ${String(s.reason)}`] : [],
    );
    expect(failures).toEqual([]);
    const results = settled.map(
      (s) => (s as PromiseFulfilledResult<SubmitClaimResult & { refused: number }>).value,
    );
    console.info(
      `${results.filter((r) => r.refused > 0).length} of ${CLAIMS} claims were refused with 409 at least once; ` +
        `${results.reduce((s, r) => s + r.refused, 0)} refusals in all, at most ${Math.max(...results.map((r) => r.refused))} for one claim`,
    );
    for (const r of results) {
      expect(r.outcome).toBe('created');
      expect(
        r.claim.decision.outcome,
        `${r.claim.submission.claimId} ${JSON.stringify(r.claim.decision.reasons)}`,
      ).toBe('approved');
    }
    // What was stored is what was answered.
    const stored = await Promise.all(results.map((r) => claims.find(r.claim.id)));
    for (const [i, s] of stored.entries()) {
      expect(s?.decision.lines).toEqual(results[i]!.claim.decision.lines);
    }
    const decided = stored.map((s) => s!);

    // Totals: accumulator == sum over claims, to the cent.
    const accumulator = (await records.accumulators(MEMBER)).find(
      (a) => a.coverageId === COVERAGE_ID && a.planYear === PLAN_YEAR,
    );
    expect(accumulator).toBeDefined();
    const deductibleSum = decided.reduce((s, c) => s + sumAdjustments(c.decision.lines, 'PR', '1'), 0);
    const coinsuranceSum = decided.reduce((s, c) => s + sumAdjustments(c.decision.lines, 'PR', '2'), 0);
    const memberSum = decided.reduce((s, c) => s + c.decision.totals.memberResponsibilityCents, 0);
    const paidSum = decided.reduce((s, c) => s + c.decision.totals.paidCents, 0);
    const allowedSum = decided.reduce((s, c) => s + c.decision.totals.allowedCents, 0);
    expect(allowedSum).toBe(expectedAllowed);
    expect(deductibleSum).toBe(Math.min(DEDUCTIBLE, expectedAllowed));
    expect(accumulator!.deductibleMetCents).toBe(deductibleSum);
    expect(memberSum).toBe(deductibleSum + coinsuranceSum);
    expect(accumulator!.outOfPocketMetCents).toBe(memberSum);
    expect(accumulator!.outOfPocketMetCents).toBe(OUT_OF_POCKET_MAX);
    expect(accumulator!.paidCents).toBe(paidSum);
    expect(paidSum + memberSum).toBe(expectedAllowed);
    // One version step per claim that moved the accumulator (all of them).
    expect(accumulator!.version).toBe(CLAIMS);

    // Serial order: each decision saw a distinct accumulator version, 0 (none yet) to N-1, and
    // saw exactly the amounts the claims before it in that order had added. So no two claims
    // were decided on the same state, i.e. none consumed deductible another had already used.
    const ordered = decided
      .map((claim) => ({ claim, seen: accumulatorsSeen(claim) }))
      .sort((a, b) => (a.seen?.version ?? 0) - (b.seen?.version ?? 0));
    expect(ordered.map((o) => o.seen?.version ?? 0)).toEqual(Array.from({ length: CLAIMS }, (_, v) => v));
    let deductibleMet = 0;
    let outOfPocketMet = 0;
    for (const { claim, seen } of ordered) {
      const id = claim.submission.claimId;
      expect(seen?.deductibleMetCents ?? 0, `${id} saw deductible`).toBe(deductibleMet);
      expect(seen?.outOfPocketMetCents ?? 0, `${id} saw out-of-pocket`).toBe(outOfPocketMet);
      // Replay the plan's cost sharing (rules/benefits.yaml) on the state before this claim.
      const allowed = claim.decision.totals.allowedCents;
      const deductible = Math.min(allowed, DEDUCTIBLE - deductibleMet, OUT_OF_POCKET_MAX - outOfPocketMet);
      const coinsurance = Math.min(
        Math.floor(((allowed - deductible) * COINSURANCE_BPS) / 10_000),
        OUT_OF_POCKET_MAX - outOfPocketMet - deductible,
      );
      expect(sumAdjustments(claim.decision.lines, 'PR', '1'), `${id} deductible`).toBe(deductible);
      expect(sumAdjustments(claim.decision.lines, 'PR', '2'), `${id} coinsurance`).toBe(coinsurance);
      expect(claim.decision.totals.memberResponsibilityCents, `${id} member share`).toBe(
        deductible + coinsurance,
      );
      deductibleMet += deductible;
      outOfPocketMet += deductible + coinsurance;
      expect(deductibleMet).toBeLessThanOrEqual(DEDUCTIBLE);
      expect(outOfPocketMet).toBeLessThanOrEqual(OUT_OF_POCKET_MAX);
    }
    expect(deductibleMet).toBe(accumulator!.deductibleMetCents);
    expect(outOfPocketMet).toBe(accumulator!.outOfPocketMetCents);

    // The journal holds exactly one decision entry per claim, each under its claim's receipt.
    const entries: { index: number; entry: string }[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const out = await doc.send(
        new ScanCommand({
          TableName: tables.journal,
          FilterExpression: 'begins_with(pk, :e)',
          ExpressionAttributeValues: { ':e': 'E#' },
          ConsistentRead: true,
          ExclusiveStartKey,
        }),
      );
      for (const item of out.Items ?? [])
        entries.push({ index: Number(item.index), entry: String(item.entry) });
      ExclusiveStartKey = out.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    const decisions = entries
      .map((e) => ({ index: e.index, parsed: decodeEntry(utf8Encode(e.entry)) }))
      .filter((e) => e.parsed.type === 'claim.decided');
    expect(decisions).toHaveLength(CLAIMS);
    expect(decisions.map((d) => d.parsed.docId).sort()).toEqual(decided.map((c) => `claim/${c.id}`).sort());
    for (const r of results) {
      expect(decisions.find((d) => d.parsed.docId === `claim/${r.claim.id}`)?.index).toBe(r.receipt.index);
    }
    // Nothing left half-appended, and the log is dense: coverage + treatments + decisions.
    expect(await journal.size()).toBe(1 + CLAIMS + CLAIMS);
    expect(entries.map((e) => e.index).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 1 + 2 * CLAIMS }, (_, i) => i),
    );
  }, 180_000);
});
