import { describe, expect, it } from 'vitest';
import type { ClaimSubmission } from '../../../functions/claims/claim.schema.ts';
import type { Decision } from '../../../functions/claims/decision.ts';
import { claim, coverage, facts, line, miniRuleSet } from './fixtures.ts';

const deny = (when: string) => `  - id: t.rule
    description: may fail at run time
    when: ${when}
    deny: { group: CO, carc: '16', message: m }
`;

function expectEnginePend(d: Decision, ruleId: string, error: RegExp): void {
  expect(d.outcome).toBe('pended');
  expect(d.reasons.map((r) => r.code)).toContain('engine-error');
  expect(d.lines.every((l) => l.paidCents === 0)).toBe(true);
  expect(d.accumulatorDeltas).toEqual([]);
  const step = d.trace.find((s) => s.ruleId === ruleId && s.error !== undefined);
  expect(step?.error).toMatch(error);
}

describe('a rule that fails at run time pends the claim, never approves it', () => {
  it('a missing field (optional benefit read without has())', () => {
    const rs = miniRuleSet(deny('coverage.benefits.annualVisitLimit > 0'));
    const c = claim([line('99213')]);
    expectEnginePend(rs.evaluate(c, facts(c)), 't.rule', /No such key: annualVisitLimit/);
    // With the limit present the same rule evaluates normally.
    const limited = rs.evaluate(c, {
      ...facts(c),
      coverages: [coverage({ benefits: { annualVisitLimit: 0 } })],
    });
    expect(limited.outcome).toBe('approved');
  });

  it('division by zero', () => {
    const rs = miniRuleSet(deny('line.chargeCents / (line.units - 1) > 0'));
    const c = claim([line('99213', { units: 1 })]);
    expectEnginePend(rs.evaluate(c, facts(c)), 't.rule', /division by zero/);
  });

  it('a type error only visible at run time', () => {
    const rs = miniRuleSet(deny('int(line.procedureCode) > 0'));
    const c = claim([line('G0103')]);
    expectEnginePend(rs.evaluate(c, facts(c)), 't.rule', /./);
  });

  it('integer overflow', () => {
    const rs = miniRuleSet(deny('line.chargeCents * 9223372036854775807 > 0'));
    const c = claim([line('99213')]);
    expectEnginePend(rs.evaluate(c, facts(c)), 't.rule', /overflow/);
  });

  it('a lookup of a code the table does not have', () => {
    const rs = miniRuleSet(
      `  - id: t.price
    phase: price
    description: prices from a table without checking the code is there
    allow: { amount: "fee('fees', line.procedureCode, line.modifiers)" }
`,
      {
        price: false,
        manifestExtra: 'tables:\n  - { name: fees, kind: feeSchedule, file: fees.csv }\n',
        files: { 'fees.csv': 'code,modifier,allowedCents\n99213,,9200\n' },
      },
    );
    const known = claim([line('99213')]);
    expect(rs.evaluate(known, facts(known)).lines[0]!.allowedCents).toBe(9_200);
    const unknown = claim([line('99499')]);
    expectEnginePend(rs.evaluate(unknown, facts(unknown)), 't.price', /no amount for 99499/);
  });

  it('an allowed amount above the charge, or an adjustment larger than what is left', () => {
    const over = miniRuleSet(
      `  - id: t.price
    phase: price
    description: pays double
    allow: { amount: line.chargeCents * 2 }
`,
      { price: false },
    );
    const c = claim([line('99213')]);
    expectEnginePend(over.evaluate(c, facts(c)), 't.price', /outside 0\.\.15000/);
    const adjust = miniRuleSet(`  - id: t.share
    phase: benefit
    description: takes more than is left
    adjust: { group: PR, carc: '2', amount: remaining + 1, message: m }
`);
    expectEnginePend(adjust.evaluate(c, facts(c)), 't.share', /outside 0\.\.15000/);
    const negative = miniRuleSet(`  - id: t.share
    phase: benefit
    description: negative share
    adjust: { group: PR, carc: '2', amount: -1, message: m }
`);
    expectEnginePend(negative.evaluate(c, facts(c)), 't.share', /outside/);
  });

  it('a line no price rule prices', () => {
    const rs = miniRuleSet(deny('false'), { price: false });
    const c = claim([line('99213')]);
    expectEnginePend(rs.evaluate(c, facts(c)), 'engine.price', /no price rule/);
  });

  it('a line priced with no coverage in force (a rule set without an eligibility edit)', () => {
    const rs = miniRuleSet(deny('false'));
    const c = claim([line('99213')]);
    expectEnginePend(rs.evaluate(c, { ...facts(c), coverages: [] }), 'engine.price', /no coverage in force/);
  });

  it('only the failing line is marked; other lines keep their own outcome in the trace', () => {
    const rs = miniRuleSet(deny("line.procedureCode == '36415' && line.chargeCents / 0 > 0"));
    const c = claim([line('99213'), line('36415')]);
    const d = rs.evaluate(c, facts(c));
    expect(d.outcome).toBe('pended');
    expect(d.trace.filter((s) => s.error).map((s) => s.lineNumber)).toEqual([2]);
  });
});

describe('evaluate never throws', () => {
  it('even on input that bypassed the schema', () => {
    const rs = miniRuleSet(deny('line.units > 1'));
    const broken = { claimId: 'X', lines: [{ chargeCents: 500 }, null] } as unknown as ClaimSubmission;
    const d = rs.evaluate(broken, facts(claim([line('99213')])));
    expect(d.outcome).toBe('pended');
    expect(d.lines.map((l) => [l.status, l.chargeCents])).toEqual([
      ['pended', 500],
      ['pended', 0],
    ]);
    expect(d.trace[0]!.error).toBeDefined();
    expect(d.ruleSetHash).toBe(rs.hash);
  });
});
