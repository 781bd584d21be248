import { beforeAll, describe, expect, it } from 'vitest';
import { generateCorpus } from '../../../bench/rules-corpus.ts';
import { loadRuleSet } from '../../../functions/engine/loader.ts';
import type { RuleSet } from '../../../functions/engine/rule-set.ts';
import { claim, facts, line, miniRuleSet, RULES_DIR } from './fixtures.ts';

let compiled: RuleSet;
let reference: RuleSet;
beforeAll(async () => {
  compiled = await loadRuleSet(RULES_DIR);
  reference = await loadRuleSet(RULES_DIR, { evaluator: 'cel-js' });
});

describe('compiled expressions against cel-js evaluation', () => {
  it('cover every expression of the default rule set', () => {
    expect(compiled.expressions.compiled).toBe(compiled.expressions.total);
    expect(reference.expressions.compiled).toBe(0);
  });

  it('give identical decisions, traces included, over a generated corpus', () => {
    const corpus = generateCorpus({ claims: 400, seed: 7 });
    for (const { claim: c, facts: f } of corpus) {
      expect(compiled.evaluate(c, f)).toEqual(reference.evaluate(c, f));
    }
    // 800 evaluations, half on cel-js's interpreter: seconds on a busy shared box.
  }, 30_000);

  it.each([
    ['line.units > 1 && line.chargeCents / (line.units - 1) > 0', 1, null],
    ['line.units - 1 > 0 || line.chargeCents / (line.units - 1) > 0', 1, 'division by zero'],
    ['line.chargeCents / (line.units - 1) > 0 || line.units == 1', 1, null],
    ['line.chargeCents / (line.units - 1) > 0 && line.units == 2', 1, null],
    ['line.chargeCents / (line.units - 1) > 0 && line.units == 1', 1, 'division by zero'],
    ['line.chargeCents / (line.units - 1) > 0 && line.units != 1', 1, null],
    ['[1, 0].exists(d, line.units / d > 0)', 1, null],
    ['[0, 1].all(d, line.units / d > 5)', 1, null],
    ['[0].exists(d, line.units / d > 0)', 1, 'division by zero'],
    ['line.chargeCents * 9223372036854775807 > 0', 1, 'overflow'],
    ['int(line.procedureCode) > 0', 1, null],
    ["size('héllo') == 5 && 'abc'.matches('^a.c$') && 'x' + 'y' == 'xy'", 1, null],
    [
      'cel.bind(n, line.units * 2, n + n) == 4 && [1, 2, 3].filter(x, x > 1).map(x, x * 10) == [20, 30]',
      2,
      null,
    ],
    ['[1, 2, 3].exists_one(x, x == 2) && !([1, 2].exists_one(x, x > 0)) && -line.units == -2', 2, null],
    ['has(coverage.benefits.annualVisitLimit) || coverage.benefits.annualVisitLimit > 0', 1, 'No such key'],
  ])('%s (units %i) → error %s, same as cel-js', (when, units, error) => {
    const body = `  - id: t.x\n    description: x\n    when: "${when.replaceAll('"', '\\"')}"\n    deny: { group: CO, carc: '16', message: m }\n`;
    const fast = miniRuleSet(body);
    const slow = miniRuleSet(body, { evaluator: 'cel-js' });
    const c = claim([line('99213', { units })]);
    const a = fast.evaluate(c, facts(c));
    const b = slow.evaluate(c, facts(c));
    expect(a).toEqual(b);
    const step = a.trace.find((s) => s.ruleId === 't.x')!;
    if (error === null) expect(step.error).toBeUndefined();
    else expect(step.error).toContain(error);
  });
});

describe('operators and functions, compiled and on cel-js, agree', () => {
  const manifestExtra = 'params: { rate: 0.25, label: abc, on: true, big: 9223372036854775807 }\n';
  const expressions = [
    'params.rate * 2.0 > 0.4 && params.rate / 0.5 == 0.5 && params.rate - 1.0 < 0.0 && params.rate + 1.0 >= 1.25',
    '-params.rate < 0.0 && double(line.units) == 2.0 && int(line.procedureCode) == 99213',
    "params.label < 'abd' && params.label <= 'abc' && params.label > 'abb' && params.label != 'x'",
    "params.on && !false && (line.units > 5 ? 'many' : 'few') == 'few'",
    'line.diagnosisPointers[0] == 1 && [1, 2] + [3] == [1, 2, 3] && size([1, 2]) == 2 && [1, 2].size() == 2',
    "'abc'.startsWith('a') && 'abc'.endsWith('c') && 'abc'.contains('b') && 'héllo'.size() == 5",
    "string(line.units) == '2' && string(true) == 'true' && string('x') == 'x' && int(line.units) == 2",
    'line.units % 2 == 0 && line.units - 3 == -1 && line.chargeCents / line.units == 7500',
    'lines.exists_one(l, l.number == 1) && lines.map(l, l.number > 0, l.units) == [2] && lines.all(l, l.units > 0)',
    'lines.filter(l, l.units > 1).size() == 1 && line in lines && !(claim in [claim]) == false',
    "line.modifiers == [] && line.diagnosisCodes == ['M17.11'] && line.modifiers != ['25']",
    'line.diagnosisPointers[3] == 1',
    'params.big + 1 > 0',
    "line.procedureCode.matches(line.procedureCode) && sum([1, 2]) == 3 && distinct(['a', 'a']) == ['a']",
    "has(line.units) && has(coverage.benefits.deductibleCents) && daysBetween('2026-01-01', line.serviceDate) == 123",
    "min(1, 2) == 1 && max(1, 2, 3) == 3 && abs(-4) == 4 && ageOn('1980-03-15', line.serviceDate) == 46 && npiValid(claim.billingProviderNpi)",
    '[1, 2].exists(x, x > 1) && ![1].exists(x, x > 1) && [2, 3].all(x, x > 1) && ![0, 3].all(x, x > 1)',
    "int('12x') == 12",
    'dyn(line.units) == 2',
    "double(params.rate) == 0.25 && '😀x'.size() == 2 && [[1], [2]] == [[1], [2]] && [[1]] != [[2]]",
    '!(line in lines.filter(l, false)) && line in [line]',
    'line.units % (line.units - 2) == 0',
    'line.units / (line.units - 2) == 0',
    'lines[1].units == 1',
  ];
  it.each(expressions)('%s', (when) => {
    const body = `  - id: t.x\n    description: x\n    when: "${when.replaceAll('"', '\\"')}"\n    deny: { group: CO, carc: '16', message: m }\n`;
    const fast = miniRuleSet(body, { manifestExtra });
    const slow = miniRuleSet(body, { manifestExtra, evaluator: 'cel-js' });
    const c = claim([line('99213', { units: 2 })]);
    expect(fast.evaluate(c, facts(c))).toEqual(slow.evaluate(c, facts(c)));
  });
});

it('rejects an invalid regular expression when the rule set loads', () => {
  expect(() =>
    miniRuleSet(
      `  - id: t.x\n    description: x\n    when: "line.procedureCode.matches('[')"\n    deny: { group: CO, carc: '16', message: m }\n`,
    ),
  ).toThrowError(/rules.yaml:4:\d+: invalid regular expression '\['/);
});
