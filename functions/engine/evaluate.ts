import type { ClaimSubmission } from '../claims/claim.schema.ts';
import type {
  AccumulatorDelta,
  Adjustment,
  ClaimFacts,
  Decision,
  FraudSignal,
  LineDecision,
  Outcome,
  TraceStep,
} from '../claims/decision.ts';
import { decisionTotals, FRAUD_REVIEW } from '../claims/decision.ts';
import type { CoveragePeriod } from '../claims/records.schema.ts';
import type { RuleSetCel } from './cel.ts';
import { inWindow, planYearOf } from './dates.ts';
import { aggregate, selectRows } from './decision-table.ts';
import { RuleEvaluationError } from './errors.ts';
import type { AccumView, CoverageView, Phase } from './fact-model.ts';
import {
  type AccumAmounts,
  accumView,
  buildClaimViews,
  type ClaimViews,
  coverageOn,
  coverageView,
  emptyCoverage,
  openingAccumulators,
} from './facts-view.ts';
import {
  type CompiledDecisionTable,
  type CompiledEffect,
  type CompiledRow,
  type CompiledRule,
  renderTemplate,
} from './rule-model.ts';
import { type PlainCache, plainList, toPlain } from './trace-values.ts';

/** A loaded, compiled rule set: what evaluation needs and nothing else. */
export interface RuleProgram {
  readonly hash: string;
  readonly fraudThreshold: number;
  readonly cel: RuleSetCel;
  readonly rules: Readonly<Record<Phase, readonly CompiledRule[]>>;
  /** Phases with at least one effective-dated rule (the others skip the date filter). */
  readonly dated: Readonly<Record<Phase, boolean>>;
}

/** Pend reason used when an expression fails: the claim waits for a person, never pays. */
export const ENGINE_ERROR = 'engine-error';

/**
 * The variables rule expressions see. One class, every field present from the start, so all
 * contexts share a shape (expression closures and trace readers then stay monomorphic).
 */
class EvalContext {
  claim: unknown = undefined;
  member: unknown = undefined;
  coverages: unknown = undefined;
  lines: unknown = undefined;
  priorLines: unknown = undefined;
  treatments: unknown = undefined;
  params: unknown = undefined;
  line: unknown = undefined;
  coverage: unknown = undefined;
  accum: unknown = undefined;
  sameDayLines: unknown = undefined;
  providerDayLines: unknown = undefined;
  allowed = 0n;
  remaining = 0n;
  /** A decision-table cell's input value. */
  it: unknown = undefined;
}

type Ctx = EvalContext & Record<string, unknown>;

interface Denial {
  adjustment: Omit<Adjustment, 'amountCents'>;
}

interface Pend {
  reason: string;
  rarc?: string | undefined;
  message: string;
  ruleId: string;
}

interface LineState {
  index: number;
  charge: number;
  ctx: Ctx;
  asOf: string;
  denial?: Denial;
  pend?: Pend;
  allowed?: number;
  adjustments: Adjustment[];
  paid: number;
  coverageKey?: string;
  add: AccumAmounts;
}

interface RunResult {
  fired: boolean;
  effects: readonly CompiledEffect[];
  step: TraceStep;
  context: Ctx;
}

/** Placeholder facts until the rule's are read (never mutated, never returned). */
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

const NO_EFFECTS: readonly CompiledEffect[] = Object.freeze([]);

const describeAdjustment = (a: { group: string; carc: string; rarc?: string | undefined }) =>
  `${a.group}-${a.carc}${a.rarc ? ` (${a.rarc})` : ''}`;

function asInteger(value: unknown, what: string): number {
  if (typeof value !== 'bigint') throw new RuleEvaluationError(`${what} must be an int, got ${typeof value}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new RuleEvaluationError(`${what} is out of range: ${value}`);
  return n;
}

/**
 * An aggregated table's one effect: the signal its aggregate raises, when rows matched and the
 * aggregate is positive. The step's effect text gains the aggregate (`row 1, 3; SUM score = 35`).
 */
function aggregatedEffects(
  aggregation: NonNullable<CompiledDecisionTable['aggregation']>,
  rows: readonly CompiledRow[],
  step: TraceStep,
): readonly CompiledEffect[] {
  const value = aggregate(aggregation.kind, rows);
  if (rows.length === 0 || value === undefined) return NO_EFFECTS;
  const what = aggregation.kind === 'COUNT' ? 'COUNT' : `${aggregation.kind} ${aggregation.output}`;
  step.effect = `${step.effect}; ${what} = ${value}`;
  return value > 0 ? [{ kind: 'signal', name: aggregation.signal, weight: value, evidence: [] }] : NO_EFFECTS;
}

const errorText = (error: unknown): string =>
  error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);

/**
 * One evaluation of a claim against a program. Never throws: any failure becomes an
 * engine-error pend with the error in the trace.
 */
class Evaluation {
  private readonly trace: TraceStep[] = [];
  private readonly signals: FraudSignal[] = [];
  private readonly claimPends: Pend[] = [];
  private readonly engineErrors: string[] = [];
  private readonly plain: PlainCache = new Map();
  private claimDenial: Denial | undefined;
  private readonly running = new Map<
    string,
    { coverageId: string; planYear: string; amounts: AccumAmounts }
  >();

  constructor(
    private readonly program: RuleProgram,
    private readonly claim: ClaimSubmission,
    private readonly facts: ClaimFacts,
  ) {}

  run(): Decision {
    this.program.cel.runtime.tracing = true;
    this.program.cel.runtime.lookups = undefined;
    const views = buildClaimViews(this.claim, this.facts);
    const base = new EvalContext() as Ctx;
    base.claim = views.claim;
    base.member = views.memberOn(this.claim.serviceDateFrom);
    base.coverages = views.coverages;
    base.lines = views.lines;
    base.priorLines = views.priorLines;
    base.treatments = views.treatments;
    base.params = this.program.cel.params;
    // The claim-wide facts once, so rule steps can refer to them instead of repeating them.
    this.trace.push({
      ruleId: 'engine.facts',
      fired: false,
      facts: {
        member: toPlain(views.memberOn(this.claim.serviceDateFrom)),
        coverages: plainList(views.coverages),
        accumulators: this.facts.accumulators.map((a) => ({ ...a })),
        treatments: plainList(views.treatments),
        priorLines: plainList(views.priorLines),
        lines: plainList(views.lines),
      },
    });
    for (const rule of this.applicable('claim', this.claim.serviceDateFrom)) {
      const r = this.runRule(rule, base, undefined, this.claim.serviceDateFrom);
      if (r.fired) this.applyEdit(r, undefined);
    }
    const lines = this.claim.lines.map((_, i) => this.lineState(views, base, i));
    for (const line of lines) {
      for (const rule of this.applicable('edit', line.asOf)) {
        const r = this.runRule(rule, line.ctx, line.index + 1, line.asOf);
        if (r.fired) this.applyEdit(r, line);
      }
    }
    for (const line of lines) {
      if (this.claimDenial || line.denial || line.pend) continue;
      this.price(line);
      if (line.denial || line.pend) continue;
      this.benefits(line);
    }
    return this.finish(lines);
  }

  /** The step whose rule ran last: lookups made since (condition, amounts, messages) are its. */
  private open: TraceStep | undefined;

  private closeStep(): void {
    const rt = this.program.cel.runtime;
    if (this.open && rt.lookups !== undefined) this.open.facts.lookups = rt.lookups;
    rt.lookups = undefined;
    this.open = undefined;
  }

  private applicable(phase: Phase, asOf: string): readonly CompiledRule[] {
    const rules = this.program.rules[phase];
    if (!this.program.dated[phase]) return rules;
    return rules.filter((r) => inWindow(asOf, r.window.from, r.window.to));
  }

  private readonly coverageViews = new Map<string, CoverageView>();

  /** One view per coverage and plan year, shared by the claim's lines. */
  private coverageView(period: CoveragePeriod, date: string): CoverageView {
    const key = `${period.coverageId}|${planYearOf(date, period.planYearStartMonth ?? 1)}`;
    let v = this.coverageViews.get(key);
    if (!v) {
      v = coverageView(period, date);
      this.coverageViews.set(key, v);
    }
    return v;
  }

  private lineState(views: ClaimViews, base: Ctx, index: number): LineState {
    const line = views.lines[index]!;
    const date = line.serviceDate;
    const period = coverageOn(this.facts.coverages, date);
    const coverage = period ? this.coverageView(period, date) : emptyCoverage;
    let accum: AccumView;
    let coverageKey: string | undefined;
    if (period) {
      coverageKey = `${coverage.coverageId}|${coverage.planYear}`;
      if (!this.running.has(coverageKey)) {
        this.running.set(coverageKey, {
          coverageId: coverage.coverageId,
          planYear: coverage.planYear,
          amounts: openingAccumulators(this.facts, coverage.coverageId, coverage.planYear),
        });
      }
      accum = accumView(coverage.coverageId, coverage.planYear, this.running.get(coverageKey)!.amounts);
    } else {
      accum = accumView('', '', { deductible: 0, outOfPocket: 0, paid: 0, visits: 0 });
    }
    const ctx = new EvalContext() as Ctx;
    ctx.claim = base.claim;
    ctx.member = views.memberOn(date);
    ctx.coverages = base.coverages;
    ctx.lines = base.lines;
    ctx.priorLines = base.priorLines;
    ctx.treatments = base.treatments;
    ctx.params = base.params;
    ctx.line = line;
    ctx.coverage = coverage;
    ctx.accum = accum;
    ctx.sameDayLines = views.sameDayLines(index);
    ctx.providerDayLines = views.providerDayLines(index);
    const state: LineState = {
      index,
      charge: Number(line.chargeCents),
      ctx,
      asOf: date,
      adjustments: [],
      paid: 0,
      add: { deductible: 0, outOfPocket: 0, paid: 0, visits: 0 },
    };
    if (coverageKey !== undefined) state.coverageKey = coverageKey;
    return state;
  }

  /** Evaluates a rule's condition or table; records the trace step. */
  private runRule(rule: CompiledRule, ctx: Ctx, lineNumber: number | undefined, asOf: string): RunResult {
    const rt = this.program.cel.runtime;
    rt.asOf = asOf;
    this.closeStep();
    const step: TraceStep =
      lineNumber === undefined
        ? { ruleId: rule.id, fired: false, facts: EMPTY }
        : { ruleId: rule.id, lineNumber, fired: false, facts: EMPTY };
    this.open = step;
    let fired = false;
    let effects: readonly CompiledEffect[] = rule.effects;
    let values: unknown[] | undefined;
    try {
      if (rule.table) {
        const table = rule.table;
        const inputs = table.inputs;
        const computed: unknown[] = new Array(inputs.length);
        for (let i = 0; i < inputs.length; i++) computed[i] = inputs[i]!.expr.evaluate(ctx);
        values = computed;
        const rows = selectRows(table, computed, ctx, asOf);
        if (rows.length > 0)
          step.effect = `row ${rows.length === 1 ? rows[0]!.number : rows.map((r) => r.number).join(', ')}`;
        if (table.aggregation) effects = aggregatedEffects(table.aggregation, rows, step);
        else if (rows.length === 1) effects = rows[0]!.effects;
        else if (rows.length === 0) effects = NO_EFFECTS;
        else effects = rows.flatMap((r) => r.effects);
        fired = effects.length > 0;
      } else if (rule.when) {
        const v = rule.when.evaluate(ctx);
        if (typeof v !== 'boolean')
          throw new RuleEvaluationError(`'when' gave ${typeof v}, not true or false`);
        fired = v;
      } else {
        fired = true;
      }
    } catch (error: unknown) {
      step.error = errorText(error);
      this.engineErrors.push(`${rule.id}${lineNumber ? ` (line ${lineNumber})` : ''}: ${step.error}`);
      fired = false;
    }
    // A decision table's step shows its named inputs first, then the facts they read.
    step.facts = rule.readFacts(ctx, this.plain, values);
    step.fired = fired;
    this.trace.push(step);
    return { fired, effects, step, context: ctx };
  }

  private fail(r: RunResult, error: unknown, line: LineState | undefined): void {
    r.step.error = errorText(error);
    this.engineErrors.push(`${r.step.ruleId}${line ? ` (line ${line.index + 1})` : ''}: ${r.step.error}`);
    if (line && !line.pend) {
      line.pend = {
        reason: ENGINE_ERROR,
        message: `Rule ${r.step.ruleId} could not be evaluated`,
        ruleId: r.step.ruleId,
      };
    }
  }

  private note(r: RunResult, text: string): void {
    r.step.effect = r.step.effect ? `${r.step.effect}; ${text}` : text;
  }

  private signal(
    r: RunResult,
    e: Extract<CompiledEffect, { kind: 'signal' }>,
    line: LineState | undefined,
  ): void {
    const evidence: Record<string, unknown> = {};
    if (line) evidence.lineNumber = line.index + 1;
    for (const [key, expr] of e.evidence) evidence[key] = toPlain(expr.evaluate(r.context));
    this.signals.push({ signal: e.name, weight: e.weight, ruleId: r.step.ruleId, evidence });
    this.note(r, `signal ${e.name} (+${e.weight})`);
  }

  /** Claim and edit phases: deny, pend and signal. */
  private applyEdit(r: RunResult, line: LineState | undefined): void {
    try {
      for (const e of r.effects) {
        switch (e.kind) {
          case 'deny': {
            const adjustment = {
              group: e.group,
              carc: e.carc,
              ...(e.rarc ? { rarc: e.rarc } : {}),
              ruleId: r.step.ruleId,
              message: renderTemplate(e.message, r.context),
            };
            const first = line ? !line.denial : !this.claimDenial;
            if (first) {
              if (line) line.denial = { adjustment };
              else this.claimDenial = { adjustment };
            }
            this.note(r, `deny ${describeAdjustment(e)}${first ? '' : ' (line already denied)'}`);
            break;
          }
          case 'pend': {
            const pend = {
              reason: e.reason,
              rarc: e.rarc,
              message: renderTemplate(e.message, r.context),
              ruleId: r.step.ruleId,
            };
            if (line) line.pend ??= pend;
            else this.claimPends.push(pend);
            this.note(r, `pend ${e.reason}`);
            break;
          }
          case 'signal':
            this.signal(r, e, line);
            break;
          default:
            throw new RuleEvaluationError(`effect '${e.kind}' cannot be used in this phase`);
        }
      }
    } catch (error: unknown) {
      this.fail(r, error, line);
    }
  }

  /** Price phase: the first rule that allows, denies or pends decides the allowed amount. */
  private price(line: LineState): void {
    if (line.coverageKey === undefined) {
      // A rule set without an eligibility edit could price a line nobody covers; paying it
      // would have no accumulator to move, so it waits for a person instead.
      this.pendUnpriced(line, 'no coverage in force on the date of service, and no rule denied the line');
      return;
    }
    for (const rule of this.applicable('price', line.asOf)) {
      const r = this.runRule(rule, line.ctx, line.index + 1, line.asOf);
      if (r.step.error) {
        this.fail(r, r.step.error, line);
        return;
      }
      if (!r.fired) continue;
      let decided = false;
      try {
        for (const e of r.effects) {
          if (e.kind === 'allow') {
            const allowed = asInteger(e.amount.evaluate(r.context), 'allowed amount');
            if (allowed < 0 || allowed > line.charge) {
              throw new RuleEvaluationError(
                `allowed amount ${allowed} is outside 0..${line.charge} (the charge)`,
              );
            }
            line.allowed = allowed;
            const reduction = line.charge - allowed;
            if (reduction > 0) {
              line.adjustments.push({
                group: e.group,
                carc: e.carc,
                ...(e.rarc ? { rarc: e.rarc } : {}),
                amountCents: reduction,
                ruleId: rule.id,
                message: renderTemplate(e.message, r.context),
              });
            }
            this.note(r, `allow ${allowed}${reduction > 0 ? `, ${describeAdjustment(e)} ${reduction}` : ''}`);
            decided = true;
          } else if (e.kind === 'signal') {
            this.signal(r, e, line);
          } else if (e.kind === 'deny' || e.kind === 'pend') {
            this.applyEdit({ ...r, effects: [e] }, line);
            decided = true;
          } else {
            throw new RuleEvaluationError(`effect '${e.kind}' cannot be used in the price phase`);
          }
        }
      } catch (error: unknown) {
        this.fail(r, error, line);
        return;
      }
      if (decided) return;
    }
    if (line.allowed === undefined && !line.denial && !line.pend) {
      this.pendUnpriced(line, 'no price rule gave this line an allowed amount');
    }
  }

  /** A line the engine could not price is pended for a person, with the reason in the trace. */
  private pendUnpriced(line: LineState, message: string): void {
    this.engineErrors.push(`line ${line.index + 1}: ${message}`);
    this.trace.push({
      ruleId: 'engine.price',
      lineNumber: line.index + 1,
      fired: true,
      facts: {},
      error: message,
    });
    line.pend = {
      reason: ENGINE_ERROR,
      message: `Line ${line.index + 1}: ${message}`,
      ruleId: 'engine.price',
    };
  }

  /** Benefit phase: member cost sharing and limits, with accumulators running across lines. */
  private benefits(line: LineState): void {
    const allowed = line.allowed ?? 0;
    let remaining = allowed;
    const run = this.running.get(line.coverageKey!)!;
    const accum = accumView(run.coverageId, run.planYear, run.amounts);
    line.ctx.accum = accum;
    line.ctx.allowed = BigInt(allowed);
    line.ctx.remaining = BigInt(remaining);
    const priced = line.adjustments.length;
    const reset = () => {
      line.adjustments.length = priced;
      line.add = { deductible: 0, outOfPocket: 0, paid: 0, visits: 0 };
    };
    for (const rule of this.applicable('benefit', line.asOf)) {
      const r = this.runRule(rule, line.ctx, line.index + 1, line.asOf);
      if (r.step.error) {
        reset();
        this.fail(r, r.step.error, line);
        return;
      }
      if (!r.fired) continue;
      try {
        for (const e of r.effects) {
          switch (e.kind) {
            case 'adjust': {
              const amount = asInteger(e.amount.evaluate(r.context), 'adjustment amount');
              if (amount < 0 || amount > remaining) {
                throw new RuleEvaluationError(
                  `amount ${amount} is outside 0..${remaining} (what is left to pay)`,
                );
              }
              if (amount > 0) {
                line.adjustments.push({
                  group: e.group,
                  carc: e.carc,
                  ...(e.rarc ? { rarc: e.rarc } : {}),
                  amountCents: amount,
                  ruleId: rule.id,
                  message: renderTemplate(e.message, r.context),
                });
                remaining -= amount;
                line.ctx.remaining = BigInt(remaining);
                if (e.accumulate.deductible) {
                  line.add.deductible += amount;
                  accum.deductibleMetCents += BigInt(amount);
                }
                if (e.accumulate.outOfPocket) {
                  line.add.outOfPocket += amount;
                  accum.outOfPocketMetCents += BigInt(amount);
                }
              }
              this.note(r, `${describeAdjustment(e)} ${amount}`);
              break;
            }
            case 'visit':
              if (line.add.visits === 0) {
                line.add.visits = 1;
                accum.visits += 1n;
              }
              this.note(r, 'visit +1');
              break;
            case 'signal':
              this.signal(r, e, line);
              break;
            case 'deny':
            case 'pend':
              reset();
              this.applyEdit({ ...r, effects: [e] }, line);
              return;
            default:
              throw new RuleEvaluationError(`effect '${e.kind}' cannot be used in the benefit phase`);
          }
        }
      } catch (error: unknown) {
        reset();
        this.fail(r, error, line);
        return;
      }
    }
    line.paid = remaining;
    line.add.paid = remaining;
    // Later lines on the same coverage and plan year see this line's amounts.
    run.amounts.deductible += line.add.deductible;
    run.amounts.outOfPocket += line.add.outOfPocket;
    run.amounts.paid += line.add.paid;
    run.amounts.visits += line.add.visits;
  }

  private finish(lines: LineState[]): Decision {
    this.closeStep();
    this.program.cel.runtime.tracing = false;
    const score = fraudScore(this.signals);
    const threshold = this.program.fraudThreshold;
    const reasons = new Map<string, string>();
    const lineResults: LineDecision[] = lines.map((line) => {
      const n = line.index + 1;
      const denial = this.claimDenial ?? line.denial;
      if (denial) return this.deniedLine(n, line.charge, denial);
      if (line.pend) return pendedLine(n, line.charge, line.pend);
      return {
        lineNumber: n,
        status: 'approved',
        chargeCents: line.charge,
        allowedCents: line.allowed ?? 0,
        paidCents: line.paid,
        memberResponsibilityCents: sumPr(line.adjustments),
        adjustments: line.adjustments,
      };
    });
    const pendReasons: Pend[] = [...this.claimPends];
    if (this.engineErrors.length > 0) {
      pendReasons.push({
        reason: ENGINE_ERROR,
        message: 'A rule could not be evaluated on this claim; it waits for review',
        ruleId: 'engine',
      });
    }
    if (score >= threshold && this.signals.length > 0) {
      pendReasons.push({
        reason: FRAUD_REVIEW,
        message: 'Claim selected for review',
        ruleId: 'engine.fraud',
      });
    }
    for (const l of lineResults) {
      for (const a of l.adjustments) {
        if (l.status === 'denied') reasons.set(`${a.group}-${a.carc}`, a.message);
      }
    }
    for (const l of lines)
      if (l.pend && !this.claimDenial && !l.denial) reasons.set(l.pend.reason, l.pend.message);
    const pended = pendReasons.length > 0 || lineResults.some((l) => l.status === 'pended');
    for (const p of pendReasons) if (!reasons.has(p.reason)) reasons.set(p.reason, p.message);
    let outcome: Outcome;
    let finalLines = lineResults;
    if (pended) {
      outcome = 'pended';
      const why = pendReasons[0] ?? lines.find((l) => l.pend)?.pend;
      finalLines = lineResults.map((l) =>
        l.status === 'approved'
          ? pendedLine(l.lineNumber, l.chargeCents, {
              reason: why?.reason ?? 'review',
              message: `Claim pended for review: ${why?.message ?? 'see other lines'}`,
              ruleId: why?.ruleId ?? 'engine',
            })
          : l,
      );
    } else if (lineResults.every((l) => l.status === 'denied')) outcome = 'denied';
    else if (lineResults.some((l) => l.status === 'denied')) outcome = 'partially_approved';
    else outcome = 'approved';
    this.trace.push({
      ruleId: 'engine.outcome',
      fired: true,
      facts: {
        fraudScore: score,
        fraudThreshold: threshold,
        engineErrors: this.engineErrors,
        lineStatuses: finalLines.map((l) => l.status),
      },
      effect: outcome,
    });
    const accumulatorDeltas = pended ? [] : this.deltas(lines, finalLines);
    const totals = decisionTotals(finalLines);
    return {
      outcome,
      ruleSetHash: this.program.hash,
      lines: finalLines,
      totals,
      reasons: [...reasons].map(([code, message]) => ({ code, message })),
      fraud: { score, threshold, signals: this.signals },
      accumulatorDeltas,
      trace: this.trace,
    };
  }

  private deniedLine(n: number, charge: number, denial: Denial): LineDecision {
    const adjustment: Adjustment = { ...denial.adjustment, amountCents: charge };
    return {
      lineNumber: n,
      status: 'denied',
      chargeCents: charge,
      allowedCents: 0,
      paidCents: 0,
      memberResponsibilityCents: adjustment.group === 'PR' ? charge : 0,
      adjustments: charge > 0 ? [adjustment] : [],
    };
  }

  private deltas(lines: LineState[], results: LineDecision[]): AccumulatorDelta[] {
    const byKey = new Map<string, AccumulatorDelta>();
    lines.forEach((line, i) => {
      if (results[i]?.status !== 'approved' || line.coverageKey === undefined) return;
      const run = this.running.get(line.coverageKey)!;
      let d = byKey.get(line.coverageKey);
      if (!d) {
        d = {
          coverageId: run.coverageId,
          planYear: run.planYear,
          deductibleCents: 0,
          outOfPocketCents: 0,
          paidCents: 0,
          visits: 0,
        };
        byKey.set(line.coverageKey, d);
      }
      d.deductibleCents += line.add.deductible;
      d.outOfPocketCents += line.add.outOfPocket;
      d.paidCents += line.add.paid;
      d.visits += line.add.visits;
    });
    return [...byKey.values()];
  }
}

function sumPr(adjustments: readonly Adjustment[]): number {
  let total = 0;
  for (const a of adjustments) if (a.group === 'PR') total += a.amountCents;
  return total;
}

function pendedLine(n: number, charge: number, pend: Pend): LineDecision {
  return {
    lineNumber: n,
    status: 'pended',
    chargeCents: charge,
    allowedCents: 0,
    paidCents: 0,
    memberResponsibilityCents: 0,
    // CARC 133: disposition pending further review. It carries the whole charge so that
    // charge = paid + adjustments holds on every line, pended or not.
    adjustments:
      charge > 0
        ? [
            {
              group: 'OA',
              carc: '133',
              ...(pend.rarc ? { rarc: pend.rarc } : {}),
              amountCents: charge,
              ruleId: pend.ruleId,
              message: pend.message,
            },
          ]
        : [],
  };
}

/** Sum of the weights of distinct signals (a signal firing on many lines counts once, at its highest weight). */
export function fraudScore(signals: readonly FraudSignal[]): number {
  const best = new Map<string, number>();
  for (const s of signals) best.set(s.signal, Math.max(best.get(s.signal) ?? 0, s.weight));
  let score = 0;
  for (const w of best.values()) score += w;
  return score;
}

/**
 * Evaluates a claim. Pure and total: the same (claim, facts, program) always gives the same
 * decision, and no input makes it throw — a failure pends the claim with the error traced.
 */
export function evaluateClaim(program: RuleProgram, claim: ClaimSubmission, facts: ClaimFacts): Decision {
  try {
    return new Evaluation(program, claim, facts).run();
  } catch (error: unknown) {
    return failedDecision(program, claim, errorText(error));
  } finally {
    program.cel.runtime.tracing = false;
    program.cel.runtime.lookups = undefined;
  }
}

/** The decision when evaluation itself broke: every line pended, nothing paid or accumulated. */
function failedDecision(program: RuleProgram, claim: ClaimSubmission, message: string): Decision {
  const rawLines: unknown[] = Array.isArray(claim?.lines) ? claim.lines : [];
  const lines = rawLines.map((raw, i) => {
    const charge = (raw as { chargeCents?: unknown } | null)?.chargeCents;
    const cents = typeof charge === 'number' && Number.isSafeInteger(charge) && charge >= 0 ? charge : 0;
    return pendedLine(i + 1, cents, {
      reason: ENGINE_ERROR,
      message: 'The claim could not be evaluated; it waits for review',
      ruleId: 'engine',
    });
  });
  const chargeCents = lines.reduce((s, l) => s + l.chargeCents, 0);
  return {
    outcome: 'pended',
    ruleSetHash: program.hash,
    lines,
    totals: { chargeCents, allowedCents: 0, paidCents: 0, memberResponsibilityCents: 0 },
    reasons: [{ code: ENGINE_ERROR, message: 'The claim could not be evaluated; it waits for review' }],
    fraud: { score: 0, threshold: program.fraudThreshold, signals: [] },
    accumulatorDeltas: [],
    trace: [{ ruleId: 'engine', fired: true, facts: {}, error: message }],
  };
}
