import type { ClaimLine, ClaimSubmission } from '../claims/claim.schema.ts';
import type { Accumulators, ClaimFacts, PriorClaimLine } from '../claims/decision.ts';
import type { CoveragePeriod } from '../claims/records.schema.ts';
import { ageOn, planYearOf } from './dates.ts';
import {
  AccumView,
  BenefitsView,
  ClaimView,
  CoverageView,
  LineView,
  MemberView,
  OtherLineView,
  TreatmentView,
} from './fact-model.ts';

/**
 * Builds the typed views rule expressions read from one claim and its facts. Everything a
 * rule might ask about another line (same day, same provider) is indexed here once per claim.
 */

const big = (n: number | undefined): bigint => BigInt(Number.isSafeInteger(n) ? (n as number) : 0);

export function claimView(claim: ClaimSubmission): ClaimView {
  const v = new ClaimView();
  v.claimId = claim.claimId;
  v.billingProviderNpi = claim.billingProviderNpi;
  v.renderingProviderNpi = claim.renderingProviderNpi ?? '';
  v.memberId = claim.memberId;
  v.serviceDateFrom = claim.serviceDateFrom;
  v.serviceDateTo = claim.serviceDateTo;
  v.diagnosisCodes = [...claim.diagnosisCodes];
  v.priorAuthorizationNumber = claim.priorAuthorizationNumber ?? '';
  v.lineCount = BigInt(claim.lines.length);
  return v;
}

export function lineView(line: ClaimLine, index: number, diagnoses: readonly string[]): LineView {
  const v = new LineView();
  v.number = BigInt(index + 1);
  v.procedureCode = line.procedureCode;
  v.modifiers = [...(line.modifiers ?? [])];
  v.units = big(line.units);
  v.chargeCents = big(line.chargeCents);
  v.serviceDate = line.serviceDate;
  v.diagnosisPointers = line.diagnosisPointers.map((p) => big(p));
  v.diagnosisCodes = line.diagnosisPointers
    .filter((p) => p >= 1 && p <= diagnoses.length)
    .map((p) => diagnoses[p - 1]!);
  return v;
}

function otherFromClaimLine(claim: ClaimSubmission, line: ClaimLine, index: number): OtherLineView {
  const v = new OtherLineView();
  v.lineNumber = BigInt(index + 1);
  v.billingProviderNpi = claim.billingProviderNpi;
  v.memberId = claim.memberId;
  v.serviceDate = line.serviceDate;
  v.procedureCode = line.procedureCode;
  v.modifiers = [...(line.modifiers ?? [])];
  v.units = big(line.units);
  v.chargeCents = big(line.chargeCents);
  v.status = 'submitted';
  return v;
}

function otherFromPrior(p: PriorClaimLine): OtherLineView {
  const v = new OtherLineView();
  v.claimDocId = p.claimDocId;
  v.billingProviderNpi = p.billingProviderNpi;
  v.memberId = p.memberId;
  v.serviceDate = p.serviceDate;
  v.procedureCode = p.procedureCode;
  v.modifiers = [...(p.modifiers ?? [])];
  v.units = big(p.units);
  v.chargeCents = big(p.chargeCents);
  v.status = p.status;
  return v;
}

export function coverageView(c: CoveragePeriod, onDate: string | undefined): CoverageView {
  const v = new CoverageView();
  v.found = true;
  v.coverageId = c.coverageId;
  v.planId = c.planId;
  v.groupNumber = c.groupNumber ?? '';
  v.status = c.status;
  v.start = c.start;
  v.end = c.end ?? '';
  const startMonth = c.planYearStartMonth ?? 1;
  v.planYearStartMonth = BigInt(startMonth);
  v.planYear = onDate === undefined ? '' : planYearOf(onDate, startMonth);
  const b = new BenefitsView();
  b.deductibleCents = big(c.benefits.deductibleCents);
  b.outOfPocketMaxCents = big(c.benefits.outOfPocketMaxCents);
  b.coinsuranceBps = big(c.benefits.coinsuranceBps);
  b.copayCents = big(c.benefits.copayCents ?? 0);
  if (c.benefits.annualVisitLimit !== undefined) b.annualVisitLimit = big(c.benefits.annualVisitLimit);
  if (c.benefits.annualBenefitMaxCents !== undefined)
    b.annualBenefitMaxCents = big(c.benefits.annualBenefitMaxCents);
  v.benefits = b;
  v.excludedProcedures = [...(c.excludedProcedures ?? [])];
  v.priorAuthRequired = [...(c.priorAuthRequired ?? [])];
  return v;
}

/** Placeholder `coverage` when none is in force: `found` is false and every list is empty. */
export const emptyCoverage: CoverageView = new CoverageView();

/** The coverage in force on a date: active, started, not ended; the latest start wins. */
export function coverageOn(coverages: readonly CoveragePeriod[], date: string): CoveragePeriod | undefined {
  let best: CoveragePeriod | undefined;
  for (const c of coverages) {
    if (c.status !== 'active' || c.start > date || (c.end !== undefined && c.end < date)) continue;
    if (!best || c.start > best.start) best = c;
  }
  return best;
}

/** Running accumulator amounts in plain numbers (cents, visits). */
export interface AccumAmounts {
  deductible: number;
  outOfPocket: number;
  paid: number;
  visits: number;
}

export function accumView(coverageId: string, planYear: string, a: AccumAmounts): AccumView {
  const v = new AccumView();
  v.coverageId = coverageId;
  v.planYear = planYear;
  v.deductibleMetCents = big(a.deductible);
  v.outOfPocketMetCents = big(a.outOfPocket);
  v.paidCents = big(a.paid);
  v.visits = big(a.visits);
  return v;
}

/** Opening amounts for a coverage and plan year (zero when no record exists yet). */
export function openingAccumulators(facts: ClaimFacts, coverageId: string, planYear: string): AccumAmounts {
  const a: Accumulators | undefined = facts.accumulators.find(
    (x) => x.coverageId === coverageId && x.planYear === planYear,
  );
  return {
    deductible: a?.deductibleMetCents ?? 0,
    outOfPocket: a?.outOfPocketMetCents ?? 0,
    paid: a?.paidCents ?? 0,
    visits: a?.visits ?? 0,
  };
}

/** Everything built once per claim. */
export interface ClaimViews {
  claim: ClaimView;
  lines: LineView[];
  priorLines: OtherLineView[];
  treatments: TreatmentView[];
  coverages: CoverageView[];
  memberOn(date: string): MemberView;
  sameDayLines(index: number): OtherLineView[];
  providerDayLines(index: number): OtherLineView[];
}

export function buildClaimViews(claim: ClaimSubmission, facts: ClaimFacts): ClaimViews {
  const lines = claim.lines.map((l, i) => lineView(l, i, claim.diagnosisCodes));
  const asOther = claim.lines.map((l, i) => otherFromClaimLine(claim, l, i));
  const priorLines = facts.priorClaimLines.map(otherFromPrior);
  // Earlier lines that were denied never happened as far as bundling and unit limits go.
  const live = priorLines.filter((p) => p.status !== 'denied');
  // The billing provider's earlier lines by date (the only provider the rules ask about).
  const byProviderDay = new Map<string, OtherLineView[]>();
  for (const p of live) {
    if (p.billingProviderNpi !== claim.billingProviderNpi) continue;
    const list = byProviderDay.get(p.serviceDate);
    if (list) list.push(p);
    else byProviderDay.set(p.serviceDate, [p]);
  }
  const treatments = facts.treatments.map((t) => {
    const v = new TreatmentView();
    v.recordId = t.recordId;
    v.memberId = t.memberId;
    v.providerNpi = t.providerNpi;
    v.serviceDate = t.serviceDate;
    v.kind = t.kind;
    v.procedureCodes = [...(t.procedureCodes ?? [])];
    v.diagnosisCodes = [...(t.diagnosisCodes ?? [])];
    return v;
  });
  const memberCache = new Map<string, MemberView>();
  const memberOn = (date: string): MemberView => {
    let m = memberCache.get(date);
    if (!m) {
      m = new MemberView();
      m.memberId = facts.memberId;
      if (facts.member) {
        m.found = true;
        m.birthDate = facts.member.birthDate;
        m.sex = facts.member.sex;
        m.ageYears = BigInt(ageOn(facts.member.birthDate, date));
      }
      memberCache.set(date, m);
    }
    return m;
  };
  const providerDay = (date: string) => byProviderDay.get(date) ?? [];
  return {
    claim: claimView(claim),
    lines,
    priorLines,
    treatments,
    coverages: facts.coverages.map((c) => coverageView(c, undefined)),
    memberOn,
    sameDayLines: (index) => {
      const date = lines[index]!.serviceDate;
      const own = asOther.filter((o, i) => i !== index && o.serviceDate === date);
      const prior = providerDay(date).filter((p) => p.memberId === claim.memberId);
      return prior.length === 0 ? own : [...own, ...prior];
    },
    providerDayLines: (index) => {
      const date = lines[index]!.serviceDate;
      const own = asOther.filter((o) => o.serviceDate === date);
      const prior = providerDay(date);
      return prior.length === 0 ? own : [...own, ...prior];
    },
  };
}
