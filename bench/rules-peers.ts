import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Engine } from 'json-rules-engine';
import type { ClaimSubmission } from '../functions/claims/claim.schema.ts';
import type { ClaimFacts, Decision } from '../functions/claims/decision.ts';
import { loadRuleSetFromFiles } from '../functions/engine/loader.ts';
import type { RuleSet } from '../functions/engine/rule-set.ts';
import { loadTable, type ReferenceTable } from '../functions/engine/tables.ts';

/**
 * The rule subset the peer engines are compared on, written three ways: as claimledger rule
 * files, as json-rules-engine rules, and as a GoRules JDM graph. Per line: five edits (code
 * shape, coverage on the date, plan exclusion, prior authorization, MUE units; the first that
 * applies denies), the allowed amount from the fee schedule (unpriced codes pend), then
 * deductible and 20%-style coinsurance capped by the out-of-pocket maximum, with the
 * accumulators running across the claim's lines. All three must agree line by line.
 */

export interface LineOutcome {
  status: 'approved' | 'denied' | 'pended';
  carc: string;
  allowed: number;
  deductible: number;
  coinsurance: number;
  paid: number;
}

const SUBSET_MANIFEST = `name: bench-subset
version: 1
fraud: { threshold: 1000 }
files: [subset.yaml, subset-price.yaml]
tables:
  - { name: physician-fees, kind: feeSchedule, file: tables/fee-schedule-2026.csv, effective: { from: '2026-01-01', to: '2026-12-31' } }
  - { name: mue, kind: mue, file: tables/mue-practitioner-2026q2.csv, effective: { from: '2026-04-01' } }
`;

const SUBSET_RULES = `phase: edit
rules:
  - id: s.procedure-code
    description: CPT or HCPCS shape
    when: "!line.procedureCode.matches('^([0-9]{4}[0-9FTUM]|[A-V][0-9]{4})$')"
    deny: { group: CO, carc: '16', message: bad code }
  - id: s.coverage
    description: coverage in force on the date of service
    when: '!coverage.found'
    deny: { group: PR, carc: '27', message: not covered }
  - id: s.excluded
    description: plan exclusion
    when: line.procedureCode in coverage.excludedProcedures
    deny: { group: PR, carc: '204', message: excluded }
  - id: s.prior-auth
    description: prior authorization missing
    when: line.procedureCode in coverage.priorAuthRequired && claim.priorAuthorizationNumber == ''
    deny: { group: CO, carc: '197', message: no auth }
  - id: s.mue
    description: units above the MUE on the line
    when: hasMue('mue', line.procedureCode) && mue('mue', line.procedureCode) > 0 && line.units > mue('mue', line.procedureCode)
    deny: { group: CO, carc: '151', message: too many units }
`;

const SUBSET_PRICE = `rules:
  - id: s.fee
    phase: price
    description: fee schedule
    when: hasFee('physician-fees', line.procedureCode, line.modifiers)
    allow: { amount: "min(line.chargeCents, fee('physician-fees', line.procedureCode, line.modifiers) * line.units)" }
  - id: s.unpriced
    phase: price
    description: no fee
    when: "!hasFee('physician-fees', line.procedureCode, line.modifiers)"
    pend: { reason: manual-pricing, message: no fee }
  - id: s.deductible
    phase: benefit
    description: deductible
    when: accum.deductibleMetCents < coverage.benefits.deductibleCents
    adjust:
      group: PR
      carc: '1'
      amount: >
        min(remaining, coverage.benefits.deductibleCents - accum.deductibleMetCents,
          max(0, coverage.benefits.outOfPocketMaxCents - accum.outOfPocketMetCents))
      message: Deductible
      accumulate: [deductible, outOfPocket]
  - id: s.coinsurance
    phase: benefit
    description: coinsurance
    when: coverage.benefits.coinsuranceBps > 0
    adjust:
      group: PR
      carc: '2'
      amount: >
        min(remaining * coverage.benefits.coinsuranceBps / 10000,
          max(0, coverage.benefits.outOfPocketMaxCents - accum.outOfPocketMetCents))
      message: Coinsurance
      accumulate: [outOfPocket]
`;

/** The subset as a claimledger rule set (tables read from rules/tables). */
export async function subsetRuleSet(rulesDir: string): Promise<RuleSet> {
  const table = (name: string) => readFile(join(rulesDir, 'tables', name), 'utf8');
  return loadRuleSetFromFiles([
    { path: 'ruleset.yaml', content: SUBSET_MANIFEST },
    { path: 'subset.yaml', content: SUBSET_RULES },
    { path: 'subset-price.yaml', content: SUBSET_PRICE },
    { path: 'tables/fee-schedule-2026.csv', content: await table('fee-schedule-2026.csv') },
    { path: 'tables/mue-practitioner-2026q2.csv', content: await table('mue-practitioner-2026q2.csv') },
  ]);
}

/** Reads our engine's decision back into the subset's per-line outcome. */
export function outcomesOf(d: Decision): LineOutcome[] {
  return d.lines.map((l) => ({
    status: l.status,
    carc: l.status === 'approved' ? '' : (l.adjustments[0]?.carc ?? ''),
    allowed: l.allowedCents,
    deductible: l.adjustments.filter((a) => a.carc === '1').reduce((s, a) => s + a.amountCents, 0),
    coinsurance: l.adjustments.filter((a) => a.carc === '2').reduce((s, a) => s + a.amountCents, 0),
    paid: l.paidCents,
  }));
}

/** What the host gathers per line for the peers: the same lookups our tables do. */
interface LineInput {
  procedureCode: string;
  units: number;
  chargeCents: number;
  covered: boolean;
  excludedProcedures: string[];
  priorAuthRequired: string[];
  hasAuth: boolean;
  mueLimit: number;
  fee: number;
  deductibleCents: number;
  deductibleMet: number;
  outOfPocketMaxCents: number;
  outOfPocketMet: number;
  coinsuranceBps: number;
}

/** Shared host side of both peers: table lookups before, accumulators between lines. */
class Host {
  constructor(
    private readonly fees: ReferenceTable,
    private readonly mues: ReferenceTable,
  ) {}

  async claim(
    claim: ClaimSubmission,
    facts: ClaimFacts,
    evaluateLine: (
      input: LineInput,
    ) => Promise<{ status: string; carc: string; allowed: number; deductible: number; coinsurance: number }>,
  ): Promise<LineOutcome[]> {
    const out: LineOutcome[] = [];
    const running = new Map<string, { ded: number; oop: number }>();
    for (const line of claim.lines) {
      const date = line.serviceDate;
      const cov = facts.coverages.find(
        (c) => c.status === 'active' && c.start <= date && (c.end === undefined || c.end >= date),
      );
      const planYear = cov
        ? cov.planYearStartMonth === 1
          ? date.slice(0, 4)
          : planYearOf(date, cov.planYearStartMonth)
        : '';
      const key = `${cov?.coverageId}|${planYear}`;
      let acc = running.get(key);
      if (!acc) {
        const a = facts.accumulators.find((x) => x.coverageId === cov?.coverageId && x.planYear === planYear);
        acc = { ded: a?.deductibleMetCents ?? 0, oop: a?.outOfPocketMetCents ?? 0 };
        running.set(key, acc);
      }
      const r = await evaluateLine({
        procedureCode: line.procedureCode,
        units: line.units,
        chargeCents: line.chargeCents,
        covered: cov !== undefined,
        excludedProcedures: cov?.excludedProcedures ?? [],
        priorAuthRequired: cov?.priorAuthRequired ?? [],
        hasAuth: claim.priorAuthorizationNumber !== undefined,
        mueLimit: this.mues.mue(line.procedureCode, date) ?? -1,
        fee: this.fees.fee(line.procedureCode, line.modifiers, date) ?? -1,
        deductibleCents: cov?.benefits.deductibleCents ?? 0,
        deductibleMet: acc.ded,
        outOfPocketMaxCents: cov?.benefits.outOfPocketMaxCents ?? 0,
        outOfPocketMet: acc.oop,
        coinsuranceBps: cov?.benefits.coinsuranceBps ?? 0,
      });
      if (r.status === 'approved') {
        acc.ded += r.deductible;
        acc.oop += r.deductible + r.coinsurance;
      }
      const approved = r.status === 'approved';
      out.push({
        status: r.status as LineOutcome['status'],
        carc: r.carc,
        allowed: approved ? r.allowed : 0,
        deductible: approved ? r.deductible : 0,
        coinsurance: approved ? r.coinsurance : 0,
        paid: approved ? r.allowed - r.deductible - r.coinsurance : 0,
      });
    }
    return out;
  }
}

function planYearOf(date: string, startMonth: number): string {
  const year = Number(date.slice(0, 4));
  const month = Number(date.slice(5, 7));
  return `${month >= startMonth ? year : year - 1}-${String(startMonth).padStart(2, '0')}`;
}

async function hostFor(rulesDir: string): Promise<Host> {
  const issues: never[] = [];
  const fees = loadTable(
    {
      name: 'fees',
      kind: 'feeSchedule',
      window: { from: '2026-01-01', to: '2026-12-31' },
      file: {
        path: 'fees.csv',
        text: await readFile(join(rulesDir, 'tables/fee-schedule-2026.csv'), 'utf8'),
      },
    },
    issues,
  );
  const mues = loadTable(
    {
      name: 'mue',
      kind: 'mue',
      window: { from: '2026-04-01' },
      file: {
        path: 'mue.csv',
        text: await readFile(join(rulesDir, 'tables/mue-practitioner-2026q2.csv'), 'utf8'),
      },
    },
    issues,
  );
  return new Host(fees, mues);
}

/** A peer: evaluates one claim of the subset. */
export type Peer = (claim: ClaimSubmission, facts: ClaimFacts) => Promise<LineOutcome[]>;

/**
 * json-rules-engine: the five edits are rules (priority gives FIRST order) with a custom regex
 * operator; it has no arithmetic, so pricing and cost sharing are host code on its result.
 */
export async function jsonRulesEnginePeer(rulesDir: string): Promise<Peer> {
  const host = await hostFor(rulesDir);
  const engine = new Engine([], { allowUndefinedFacts: true });
  const codeShape = /^([0-9]{4}[0-9FTUM]|[A-V][0-9]{4})$/;
  engine.addOperator<string, boolean>('codeShapeIs', (code, ok) => codeShape.test(code) === ok);
  engine.addOperator<number, { fact: string }>(
    'aboveMue',
    (units, limit) => (limit as unknown as number) > 0 && units > (limit as unknown as number),
  );
  const deny = (carc: string, priority: number, conditions: object) =>
    engine.addRule({
      name: `deny-${carc}`,
      priority,
      conditions: conditions as never,
      event: { type: 'deny', params: { carc } },
    });
  deny('16', 100, { all: [{ fact: 'procedureCode', operator: 'codeShapeIs', value: false }] });
  deny('27', 90, { all: [{ fact: 'covered', operator: 'equal', value: false }] });
  deny('204', 80, {
    all: [{ fact: 'procedureCode', operator: 'in', value: { fact: 'excludedProcedures' } }],
  });
  deny('197', 70, {
    all: [
      { fact: 'procedureCode', operator: 'in', value: { fact: 'priorAuthRequired' } },
      { fact: 'hasAuth', operator: 'equal', value: false },
    ],
  });
  deny('151', 60, { all: [{ fact: 'units', operator: 'aboveMue', value: { fact: 'mueLimit' } }] });
  engine.addRule({
    name: 'unpriced',
    priority: 50,
    conditions: { all: [{ fact: 'fee', operator: 'lessThan', value: 0 }] },
    event: { type: 'pend', params: { carc: '133' } },
  });
  return (claim, facts) =>
    host.claim(claim, facts, async (input) => {
      const { events } = await engine.run(input as unknown as Record<string, unknown>);
      const first = events[0];
      if (first) {
        return {
          status: first.type === 'deny' ? 'denied' : 'pended',
          carc: String(first.params?.carc),
          allowed: 0,
          deductible: 0,
          coinsurance: 0,
        };
      }
      const allowed = Math.min(input.chargeCents, input.fee * input.units);
      const oopLeft = Math.max(0, input.outOfPocketMaxCents - input.outOfPocketMet);
      const deductible =
        input.deductibleMet < input.deductibleCents
          ? Math.min(allowed, input.deductibleCents - input.deductibleMet, oopLeft)
          : 0;
      const remaining = allowed - deductible;
      const coinsurance =
        input.coinsuranceBps > 0
          ? Math.min(
              Math.floor((remaining * input.coinsuranceBps) / 10_000),
              Math.max(0, oopLeft - deductible),
            )
          : 0;
      return { status: 'approved', carc: '', allowed, deductible, coinsurance };
    });
}

/**
 * GoRules ZEN: a JDM graph. A FIRST decision table holds the edits; expression nodes compute
 * allowed amount, deductible and coinsurance in ZEN's expression language.
 *
 * Optional: the package is not in package.json because the registry this project installs from
 * lacks ZEN's darwin/windows/wasm binaries, and a lock file without them fails `npm ci`.
 * `npm i --no-save @gorules/zen-engine` brings it in for a run; without it this returns undefined.
 */
export async function zenPeer(rulesDir: string): Promise<Peer | undefined> {
  const zenModule = '@gorules/zen-engine';
  const zen = await import(zenModule).catch(() => undefined);
  if (!zen) return undefined;
  const host = await hostFor(rulesDir);
  const cell = (id: string) => id;
  const graph = {
    contentType: 'application/vnd.gorules.decision',
    nodes: [
      { id: 'in', name: 'request', type: 'inputNode', position: { x: 0, y: 0 } },
      {
        id: 'edits',
        name: 'edits',
        type: 'decisionTableNode',
        position: { x: 200, y: 0 },
        content: {
          hitPolicy: 'first',
          passThrough: true,
          inputs: [{ id: 'cond', name: 'condition' }],
          outputs: [
            { id: 'status', name: 'status', field: 'edit.status' },
            { id: 'carc', name: 'carc', field: 'edit.carc' },
          ],
          rules: [
            ["not matches(procedureCode, '^([0-9]{4}[0-9FTUM]|[A-V][0-9]{4})$')", 'denied', '16'],
            ['covered == false', 'denied', '27'],
            ['procedureCode in excludedProcedures', 'denied', '204'],
            ['procedureCode in priorAuthRequired and hasAuth == false', 'denied', '197'],
            ['mueLimit > 0 and units > mueLimit', 'denied', '151'],
            ['fee < 0', 'pended', '133'],
            ['', 'approved', ''],
          ].map(([cond, status, carc], i) => ({
            _id: `r${i}`,
            [cell('cond')]: cond,
            [cell('status')]: `'${status}'`,
            [cell('carc')]: `'${carc}'`,
          })),
        },
      },
      {
        id: 'allowed',
        name: 'allowed',
        type: 'expressionNode',
        position: { x: 400, y: 0 },
        content: {
          passThrough: true,
          expressions: [
            {
              id: 'a',
              key: 'allowed',
              value: "edit.status == 'approved' ? min([chargeCents, fee * units]) : 0",
            },
            { id: 'o', key: 'oopLeft', value: 'max([0, outOfPocketMaxCents - outOfPocketMet])' },
          ],
        },
      },
      {
        id: 'deductible',
        name: 'deductible',
        type: 'expressionNode',
        position: { x: 600, y: 0 },
        content: {
          passThrough: true,
          expressions: [
            {
              id: 'd',
              key: 'deductible',
              value:
                'deductibleMet < deductibleCents ? min([allowed, deductibleCents - deductibleMet, oopLeft]) : 0',
            },
          ],
        },
      },
      {
        id: 'coinsurance',
        name: 'coinsurance',
        type: 'expressionNode',
        position: { x: 800, y: 0 },
        content: {
          passThrough: true,
          expressions: [
            {
              id: 'c',
              key: 'coinsurance',
              value:
                'coinsuranceBps > 0 ? min([floor((allowed - deductible) * coinsuranceBps / 10000), max([0, oopLeft - deductible])]) : 0',
            },
          ],
        },
      },
      { id: 'out', name: 'response', type: 'outputNode', position: { x: 1000, y: 0 } },
    ],
    edges: [
      { id: 'e1', type: 'edge', sourceId: 'in', targetId: 'edits' },
      { id: 'e2', type: 'edge', sourceId: 'edits', targetId: 'allowed' },
      { id: 'e3', type: 'edge', sourceId: 'allowed', targetId: 'deductible' },
      { id: 'e4', type: 'edge', sourceId: 'deductible', targetId: 'coinsurance' },
      { id: 'e5', type: 'edge', sourceId: 'coinsurance', targetId: 'out' },
    ],
  };
  const engine = new zen.ZenEngine();
  const decision = engine.createDecision(graph);
  return (claim, facts) =>
    host.claim(claim, facts, async (input) => {
      const { result } = await decision.evaluate(input);
      return {
        status: result.edit.status,
        carc: result.edit.carc,
        allowed: result.allowed,
        deductible: result.deductible,
        coinsurance: result.coinsurance,
      };
    });
}
