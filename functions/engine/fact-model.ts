/**
 * The fact model rule expressions see. The engine turns a claim and its gathered facts into
 * these typed views once per claim, so CEL can type-check every field access at load time
 * (an unknown field is a load error) and evaluation never converts objects per expression.
 *
 * Integers are bigint because CEL `int` is 64-bit; money stays integer cents. Optional
 * strings become '' and absent limits stay absent, so `has(coverage.benefits.annualVisitLimit)`
 * reads as the plan says.
 */

/** CEL field declarations of one object type, by field name. */
export type CelFields = Readonly<Record<string, string>>;

export class ClaimView {
  claimId = '';
  billingProviderNpi = '';
  /** '' when the claim names no rendering provider. */
  renderingProviderNpi = '';
  memberId = '';
  serviceDateFrom = '';
  serviceDateTo = '';
  diagnosisCodes: string[] = [];
  /** '' when the claim carries no prior authorization number. */
  priorAuthorizationNumber = '';
  lineCount = 0n;
}

export class LineView {
  number = 0n;
  procedureCode = '';
  modifiers: string[] = [];
  units = 0n;
  chargeCents = 0n;
  serviceDate = '';
  diagnosisPointers: bigint[] = [];
  /** The claim's diagnosis codes this line points at; pointers past the list are left out. */
  diagnosisCodes: string[] = [];
}

/** A service line seen next to the one being decided: from this claim or an earlier one. */
export class OtherLineView {
  /** '' for a line of the claim being decided. */
  claimDocId = '';
  /** Line number on the claim being decided; 0 for earlier claims. */
  lineNumber = 0n;
  billingProviderNpi = '';
  memberId = '';
  serviceDate = '';
  procedureCode = '';
  modifiers: string[] = [];
  units = 0n;
  chargeCents = 0n;
  /** approved | denied | pended for earlier claims; submitted for this claim's lines. */
  status = '';
}

export class MemberView {
  /** False when no member record was found for the claim's member id. */
  found = false;
  /** The member id the facts were gathered for. */
  memberId = '';
  birthDate = '';
  /** female | male | other | unknown */
  sex = 'unknown';
  /** Completed years on the date being evaluated; -1 when the birth date is unknown. */
  ageYears = -1n;
}

export class BenefitsView {
  deductibleCents = 0n;
  outOfPocketMaxCents = 0n;
  coinsuranceBps = 0n;
  copayCents = 0n;
  // `declare` keeps absent limits absent (no own property), which is what has() tests.
  declare annualVisitLimit?: bigint;
  declare annualBenefitMaxCents?: bigint;
}

export class CoverageView {
  /** False for the placeholder used when no coverage is active on the date of service. */
  found = false;
  coverageId = '';
  planId = '';
  groupNumber = '';
  /** active | cancelled */
  status = '';
  start = '';
  /** '' when the coverage has no end date. */
  end = '';
  planYearStartMonth = 1n;
  /** Plan year containing the date being evaluated ("2026", or "2026-07" for July plan years). */
  planYear = '';
  benefits: BenefitsView = new BenefitsView();
  excludedProcedures: string[] = [];
  priorAuthRequired: string[] = [];
}

export class AccumView {
  coverageId = '';
  planYear = '';
  deductibleMetCents = 0n;
  outOfPocketMetCents = 0n;
  paidCents = 0n;
  visits = 0n;
}

export class TreatmentView {
  recordId = '';
  memberId = '';
  providerNpi = '';
  serviceDate = '';
  /** encounter | procedure | medication | observation */
  kind = '';
  procedureCodes: string[] = [];
  diagnosisCodes: string[] = [];
}

/** Object types exposed to CEL, with their constructors (values are instances, never converted). */
export const factTypes: ReadonlyArray<{ name: string; ctor: new () => object; fields: CelFields }> = [
  {
    name: 'Claim',
    ctor: ClaimView,
    fields: {
      claimId: 'string',
      billingProviderNpi: 'string',
      renderingProviderNpi: 'string',
      memberId: 'string',
      serviceDateFrom: 'string',
      serviceDateTo: 'string',
      diagnosisCodes: 'list<string>',
      priorAuthorizationNumber: 'string',
      lineCount: 'int',
    },
  },
  {
    name: 'Line',
    ctor: LineView,
    fields: {
      number: 'int',
      procedureCode: 'string',
      modifiers: 'list<string>',
      units: 'int',
      chargeCents: 'int',
      serviceDate: 'string',
      diagnosisPointers: 'list<int>',
      diagnosisCodes: 'list<string>',
    },
  },
  {
    name: 'OtherLine',
    ctor: OtherLineView,
    fields: {
      claimDocId: 'string',
      lineNumber: 'int',
      billingProviderNpi: 'string',
      memberId: 'string',
      serviceDate: 'string',
      procedureCode: 'string',
      modifiers: 'list<string>',
      units: 'int',
      chargeCents: 'int',
      status: 'string',
    },
  },
  {
    name: 'Member',
    ctor: MemberView,
    fields: { found: 'bool', memberId: 'string', birthDate: 'string', sex: 'string', ageYears: 'int' },
  },
  {
    name: 'Benefits',
    ctor: BenefitsView,
    fields: {
      deductibleCents: 'int',
      outOfPocketMaxCents: 'int',
      coinsuranceBps: 'int',
      copayCents: 'int',
      annualVisitLimit: 'int',
      annualBenefitMaxCents: 'int',
    },
  },
  {
    name: 'Coverage',
    ctor: CoverageView,
    fields: {
      found: 'bool',
      coverageId: 'string',
      planId: 'string',
      groupNumber: 'string',
      status: 'string',
      start: 'string',
      end: 'string',
      planYearStartMonth: 'int',
      planYear: 'string',
      benefits: 'Benefits',
      excludedProcedures: 'list<string>',
      priorAuthRequired: 'list<string>',
    },
  },
  {
    name: 'Accumulators',
    ctor: AccumView,
    fields: {
      coverageId: 'string',
      planYear: 'string',
      deductibleMetCents: 'int',
      outOfPocketMetCents: 'int',
      paidCents: 'int',
      visits: 'int',
    },
  },
  {
    name: 'Treatment',
    ctor: TreatmentView,
    fields: {
      recordId: 'string',
      memberId: 'string',
      providerNpi: 'string',
      serviceDate: 'string',
      kind: 'string',
      procedureCodes: 'list<string>',
      diagnosisCodes: 'list<string>',
    },
  },
];

/** When a rule runs; each phase sees the variables listed in `phaseVariables`. */
export type Phase = 'claim' | 'edit' | 'price' | 'benefit';

export const phases: readonly Phase[] = ['claim', 'edit', 'price', 'benefit'];

const claimVariables: CelFields = {
  claim: 'Claim',
  member: 'Member',
  coverages: 'list<Coverage>',
  lines: 'list<Line>',
  priorLines: 'list<OtherLine>',
  treatments: 'list<Treatment>',
  params: 'Params',
};

const lineVariables: CelFields = {
  ...claimVariables,
  line: 'Line',
  coverage: 'Coverage',
  accum: 'Accumulators',
  sameDayLines: 'list<OtherLine>',
  providerDayLines: 'list<OtherLine>',
};

/** Variables in scope per phase, with their CEL types. */
export const phaseVariables: Readonly<Record<Phase, CelFields>> = {
  claim: claimVariables,
  edit: lineVariables,
  price: lineVariables,
  benefit: { ...lineVariables, allowed: 'int', remaining: 'int' },
};
