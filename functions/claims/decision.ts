import type { ClaimSubmission } from './claim.schema.ts';
import type { CoveragePeriod, MemberCoverage, TreatmentRecord } from './records.schema.ts';

/** The reason code of a claim pended because its fraud score reached the rule set's threshold. */
export const FRAUD_REVIEW = 'fraud-review';

/** Amounts the member has used in one plan year, per coverage. Versioned for conditional writes. */
export interface Accumulators {
  coverageId: string;
  planYear: string; // e.g. "2026" or "2026-07" when the plan year starts in July
  deductibleMetCents: number;
  outOfPocketMetCents: number;
  paidCents: number;
  visits: number;
  version: number;
}

/** A compact view of an earlier claim line, for duplicate, velocity and pattern checks. */
export interface PriorClaimLine {
  claimDocId: string;
  billingProviderNpi: string;
  memberId: string;
  serviceDate: string;
  procedureCode: string;
  modifiers: string[];
  units: number;
  chargeCents: number;
  status: LineStatus;
}

/** Everything evaluation may look at, gathered before it runs so a decision can be replayed. */
export interface ClaimFacts {
  memberId: string;
  member: MemberCoverage['member'] | null;
  coverages: CoveragePeriod[];
  treatments: TreatmentRecord[];
  accumulators: Accumulators[];
  priorClaimLines: PriorClaimLine[];
}

export type AdjustmentGroup = 'CO' | 'PR' | 'OA' | 'PI' | 'CR';
export type LineStatus = 'approved' | 'denied' | 'pended';
export type Outcome = 'approved' | 'partially_approved' | 'denied' | 'pended';

/** One CARC-coded adjustment on a line (X12 835 CAS semantics). */
export interface Adjustment {
  group: AdjustmentGroup;
  carc: string;
  rarc?: string;
  amountCents: number;
  ruleId: string;
  message: string;
}

export interface LineDecision {
  lineNumber: number;
  status: LineStatus;
  chargeCents: number;
  allowedCents: number;
  paidCents: number;
  memberResponsibilityCents: number;
  adjustments: Adjustment[];
}

export interface FraudSignal {
  signal: string;
  weight: number;
  ruleId: string;
  evidence: Record<string, unknown>;
}

/** How much a decision moves the member's accumulators; applied atomically with the claim write. */
export interface AccumulatorDelta {
  coverageId: string;
  planYear: string;
  deductibleCents: number;
  outOfPocketCents: number;
  paidCents: number;
  visits: number;
}

/** One step of the explanation: a rule evaluated, whether it fired, what it read and did. */
export interface TraceStep {
  ruleId: string;
  lineNumber?: number;
  fired: boolean;
  facts: Record<string, unknown>;
  effect?: string;
  error?: string;
}

export interface Decision {
  outcome: Outcome;
  ruleSetHash: string;
  lines: LineDecision[];
  totals: DecisionTotals;
  /** Claim-level reasons a provider may see (pend and denial reasons). */
  reasons: { code: string; message: string }[];
  fraud: { score: number; threshold: number; signals: FraudSignal[] };
  accumulatorDeltas: AccumulatorDelta[];
  trace: TraceStep[];
}

/** The engine as the claim use case sees it: a pure function of (claim, facts, rule set). */
export interface RuleSetPort {
  readonly hash: string;
  evaluate(claim: ClaimSubmission, facts: ClaimFacts): Decision;
}

/** Claim-level money: the sums of the lines' amounts, in cents. */
export interface DecisionTotals {
  chargeCents: number;
  allowedCents: number;
  paidCents: number;
  memberResponsibilityCents: number;
}

/** The totals of `lines`, which the decision's totals always are. */
export function decisionTotals(lines: readonly DecisionTotals[]): DecisionTotals {
  const totals = { chargeCents: 0, allowedCents: 0, paidCents: 0, memberResponsibilityCents: 0 };
  for (const line of lines) {
    totals.chargeCents += line.chargeCents;
    totals.allowedCents += line.allowedCents;
    totals.paidCents += line.paidCents;
    totals.memberResponsibilityCents += line.memberResponsibilityCents;
  }
  return totals;
}
