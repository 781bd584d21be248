import { describe, expect, it } from 'vitest';
import { RuleSetError, type RuleSetIssue } from '../../../functions/engine/errors.ts';
import { claim, codes, facts, fired, line, miniRuleSet } from './fixtures.ts';

/** A table rule on one line's procedure code and units. */
const table = (hitPolicy: string, rows: string, extra = '') => `  - id: t.table
    description: table under test
    table:
      hitPolicy: ${hitPolicy}
${extra}      inputs:
        - { name: code, expr: line.procedureCode }
        - { name: units, expr: line.units }
      outputs: [action, group, carc, message, signal, weight]
      rows:
${rows}`;

const issuesOf = (load: () => unknown): RuleSetIssue[] => {
  try {
    load();
  } catch (error: unknown) {
    if (error instanceof RuleSetError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the rule set to be rejected');
};

const run = (ruleSet: ReturnType<typeof miniRuleSet>, code: string, units = 1) => {
  const c = claim([line(code, { units })]);
  return ruleSet.evaluate(c, facts(c));
};

describe('hit policies', () => {
  it('FIRST applies the first matching row only', () => {
    const rs = miniRuleSet(
      table(
        'FIRST',
        `        - ['99213', '> 1', deny, CO, '151', first, '', '']
        - ['99213', '-', deny, CO, '16', second, '', '']
`,
      ),
    );
    expect(codes(run(rs, '99213', 2), 1)).toEqual(['CO-151']);
    expect(codes(run(rs, '99213', 1), 1)).toEqual(['CO-16']);
    expect(run(rs, '99214').outcome).toBe('approved');
  });

  it('UNIQUE applies the single matching row', () => {
    const rs = miniRuleSet(
      table(
        'UNIQUE',
        `        - ['99213', '< 3', deny, CO, '16', low, '', '']
        - ['99213', '>= 3', deny, CO, '151', high, '', '']
`,
      ),
    );
    expect(codes(run(rs, '99213', 2), 1)).toEqual(['CO-16']);
    expect(codes(run(rs, '99213', 3), 1)).toEqual(['CO-151']);
  });

  it('UNIQUE overlaps are a load error naming the rows and an example input', () => {
    const issues = issuesOf(() =>
      miniRuleSet(
        table(
          'UNIQUE',
          `        - ['99213', '< 18', deny, CO, '16', a, '', '']
        - ['99213', '[10..20]', deny, CO, '16', b, '', '']
        - ['99214', '-', deny, CO, '16', c, '', '']
`,
        ),
      ),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]!.message).toMatch(
      /rows 1 and 2 overlap under UNIQUE, e\.g\. code = '99213', units = 1\d/,
    );
    expect(issues[0]!.line).toBe(5);
  });

  it('UNIQUE with two rows matching at run time pends the claim with the error traced', () => {
    // Cells that read other facts cannot be checked at load time (a warning says so).
    const rs = miniRuleSet(
      table(
        'UNIQUE',
        `        - ['99213', 'it >= line.units', deny, CO, '16', a, '', '']
        - ['99213', 'it <= line.units', deny, CO, '151', b, '', '']
`,
      ),
    );
    expect(rs.warnings[0]!.message).toContain('not checked');
    const d = run(rs, '99213');
    expect(d.outcome).toBe('pended');
    expect(d.reasons.map((r) => r.code)).toContain('engine-error');
    expect(d.trace.find((s) => s.ruleId === 't.table')?.error).toContain('rows 1 and 2 all match');
    expect(d.lines[0]!.paidCents).toBe(0);
  });

  it('PRIORITY picks the matching row whose action ranks highest', () => {
    const rs = miniRuleSet(`  - id: t.table
    description: priority
    table:
      hitPolicy: PRIORITY
      inputs:
        - { name: code, expr: line.procedureCode }
        - { name: units, expr: line.units }
      outputs: [action, reason, group, carc, message]
      rows:
        - ['99213', '-', pend, review, '', '', 'look at it']
        - ['99213', '> 1', deny, '', CO, '151', 'too many']
`);
    expect(codes(run(rs, '99213', 2), 1)).toEqual(['CO-151']);
    expect(run(rs, '99213', 1).reasons.map((r) => r.code)).toEqual(['review']);
    const pendFirst = miniRuleSet(`  - id: t.table
    description: priority
    table:
      hitPolicy: PRIORITY
      priority: [pend, deny, signal, none]
      inputs:
        - { name: code, expr: line.procedureCode }
        - { name: units, expr: line.units }
      outputs: [action, reason, group, carc, message]
      rows:
        - ['99213', '> 1', deny, '', CO, '151', 'too many']
        - ['99213', '-', pend, review, '', '', 'look at it']
`);
    expect(run(pendFirst, '99213', 2).lines[0]!.status).toBe('pended');
  });

  it('COLLECT applies every matching row', () => {
    const rs = miniRuleSet(
      table(
        'COLLECT',
        `        - ['99213', '-', signal, '', '', '', odd-code, 10]
        - ['-', '> 1', signal, '', '', '', many-units, 15]
        - ['99214', '-', deny, CO, '16', nope, '', '']
`,
      ),
    );
    const d = run(rs, '99213', 2);
    expect(d.fraud.signals.map((s) => [s.signal, s.weight])).toEqual([
      ['odd-code', 10],
      ['many-units', 15],
    ]);
    expect(d.fraud.score).toBe(25);
    expect(d.outcome).toBe('approved');
  });
});

describe('COLLECT aggregators (DMN C+, C<, C>, C#)', () => {
  /** A scorecard on one line: each matching row contributes its `output` value. */
  const scorecard = (aggregation: string, output: string, rows: string, extra = '') => `  - id: t.score
    description: aggregated table under test
    table:
      hitPolicy: COLLECT
      aggregation: ${aggregation}
      signal: red-flags
${extra}      inputs:
        - { name: code, expr: line.procedureCode }
        - { name: units, expr: line.units }
      outputs: [${output}]
      rows:
${rows}`;
  const rows = `        - ['99213', '-', 20]
        - ['-', '> 1', 15]
        - ['-', '> 3', 40]
        - ['99214', '-', 5]
`;
  const signals = (d: ReturnType<typeof run>) => d.fraud.signals.map((s) => [s.signal, s.weight]);
  const step = (d: ReturnType<typeof run>) => d.trace.find((s) => s.ruleId === 't.score')!;

  it('SUM raises one signal weighted by the sum of the matching rows, and traces the sum', () => {
    const d = run(miniRuleSet(scorecard('SUM', 'score', rows)), '99213', 2);
    expect(signals(d)).toEqual([['red-flags', 35]]);
    expect(d.fraud.score).toBe(35);
    const s = step(d);
    expect(s.fired).toBe(true);
    expect(s.effect).toBe('row 1, 2; SUM score = 35; signal red-flags (+35)');
    expect(s.facts).toMatchObject({ code: '99213', units: 2 });
  });

  it.each([
    ['MIN', 15],
    ['C<', 15],
    ['MAX', 40],
    ['C>', 40],
    ['C+', 75],
  ])('%s over the weights of three matching rows gives %i', (aggregation, weight) => {
    const d = run(miniRuleSet(scorecard(aggregation, 'weight', rows)), '99213', 4);
    expect(signals(d)).toEqual([['red-flags', weight]]);
  });

  it('COUNT (C#) counts the matching rows, over any single output column', () => {
    const d = run(
      miniRuleSet(
        scorecard(
          'C#',
          'message',
          `        - ['99213', '-', office visit]
        - ['-', '> 1', several units]
        - ['99214', '-', other visit]
`,
        ),
      ),
      '99213',
      2,
    );
    expect(signals(d)).toEqual([['red-flags', 2]]);
    expect(step(d).effect).toBe('row 1, 2; COUNT = 2; signal red-flags (+2)');
  });

  it('raises nothing when no row matches, or when the aggregate is not positive', () => {
    for (const aggregation of ['SUM', 'MIN', 'MAX', 'COUNT']) {
      const d = run(miniRuleSet(scorecard(aggregation, 'score', rows)), '80053', 1);
      expect(d.fraud.signals).toEqual([]);
      expect(step(d).fired).toBe(false);
      expect(step(d).effect).toBeUndefined();
    }
    const mitigated = run(
      miniRuleSet(
        scorecard(
          'SUM',
          'score',
          `        - ['99213', '-', 20]
        - ['-', '-', -30]
`,
        ),
      ),
      '99213',
    );
    expect(mitigated.fraud.signals).toEqual([]);
    expect(step(mitigated).effect).toBe('row 1, 2; SUM score = -10');
    expect(step(mitigated).fired).toBe(false);
  });

  it('honours row effective dates', () => {
    const d = run(
      miniRuleSet(
        scorecard(
          'SUM',
          'score, effectiveFrom',
          `        - ['99213', '-', 20, '']
        - ['99213', '-', 50, '2026-06-01']
`,
        ),
      ),
      '99213',
    );
    expect(signals(d)).toEqual([['red-flags', 20]]);
  });

  it('decides and traces the same on cel-js', () => {
    const body = scorecard('SUM', 'score', rows);
    const c = claim([line('99213', { units: 4 })]);
    expect(miniRuleSet(body).evaluate(c, facts(c))).toEqual(
      miniRuleSet(body, { evaluator: 'cel-js' }).evaluate(c, facts(c)),
    );
  });

  it.each([
    [
      'an aggregator under another hit policy',
      scorecard('SUM', 'score', rows).replace('COLLECT', 'FIRST'),
      'aggregation SUM needs hitPolicy COLLECT, not FIRST',
    ],
    [
      'more than one output column',
      scorecard('SUM', 'score, weight', "        - ['99213', '-', 20, 1]\n"),
      'an aggregated table has exactly one output column besides effectiveFrom/effectiveTo, not 2 (score, weight)',
    ],
    [
      'SUM over a text column',
      scorecard('SUM', 'carc', "        - ['99213', '-', '16']\n"),
      "SUM needs a numeric output column (weight or score); 'carc' is not a number",
    ],
    [
      'MAX over a text column',
      scorecard('C>', 'message', "        - ['99213', '-', x]\n"),
      "MAX needs a numeric output column (weight or score); 'message' is not a number",
    ],
    [
      'no signal to raise',
      scorecard('SUM', 'score', rows).replace('      signal: red-flags\n', ''),
      "an aggregated table needs 'signal': the signal its SUM raises",
    ],
    [
      'a value that is not a whole number',
      scorecard('SUM', 'score', "        - ['99213', '-', 2.5]\n"),
      "row 1, score: '2.5' must be a whole number -1000..1000",
    ],
    [
      'a weight out of range',
      scorecard('MAX', 'weight', "        - ['99213', '-', -1]\n"),
      "row 1, weight: '-1' must be a whole number 0..1000",
    ],
    [
      'a table-level signal without an aggregator',
      table('COLLECT', "        - ['99213', '-', deny, CO, '16', m, '', '']\n", '      signal: red-flags\n'),
      "a table-level 'signal' is raised by an aggregated table",
    ],
    [
      'a score column without an aggregator',
      scorecard('SUM', 'score', rows).replace('      aggregation: SUM\n      signal: red-flags\n', ''),
      "'score' is what rows add up in an aggregated table",
    ],
  ])('rules check rejects %s', (_, body, message) => {
    const issues = issuesOf(() => miniRuleSet(body));
    expect(issues.map((i) => i.message)).toEqual([expect.stringContaining(message)]);
    expect(issues[0]!.file).toBe('rules.yaml');
  });

  it('rejects an unknown aggregator', () => {
    const issues = issuesOf(() => miniRuleSet(scorecard('AVG', 'score', rows)));
    expect(issues[0]!.message).toMatch(/aggregation/);
  });
});

describe('completeness', () => {
  const boolTable = (rows: string) => `  - id: t.complete
    description: complete table
    table:
      hitPolicy: FIRST
      complete: true
      inputs:
        - { name: found, expr: member.found }
        - { name: covered, expr: coverage.found }
      outputs: [action, group, carc, message]
      rows:
${rows}`;

  it('accepts a table whose rows cover every combination', () => {
    const rs = miniRuleSet(
      boolTable(`        - [false, '-', deny, CO, '31', unknown]
        - [true, true, none, '', '', '']
        - [true, false, deny, PR, '27', ended]
`),
    );
    expect(rs.warnings).toEqual([]);
  });

  it('reports the input combinations no row covers', () => {
    const issues = issuesOf(() =>
      miniRuleSet(
        boolTable(`        - [false, '-', deny, CO, '31', unknown]
        - [true, true, none, '', '', '']
`),
      ),
    );
    expect(issues.map((i) => i.message)).toEqual([
      'rule t.complete: no row matches found = true, covered = false',
    ]);
  });

  it('finds gaps between numeric ranges and outside declared text values', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: t.ages
    description: age bands
    table:
      hitPolicy: UNIQUE
      complete: true
      inputs:
        - { name: age, expr: member.ageYears }
        - { name: sex, expr: member.sex, values: [female, male, other, unknown] }
      outputs: [action]
      rows:
        - ['< 18', '-', none]
        - ['[18..64]', 'female, male', none]
        - ['[18..64]', 'not(female, male)', none]
        - ['> 65', '-', none]
`),
    );
    expect(issues.map((i) => i.message)).toEqual(
      expect.arrayContaining([expect.stringContaining("no row matches age = 65, sex = 'female'")]),
    );
  });
});

describe('input entries', () => {
  const single = (cell: string, type = 'line.procedureCode') =>
    miniRuleSet(`  - id: t.cell
    description: one cell
    table:
      hitPolicy: FIRST
      inputs:
        - { name: x, expr: ${type} }
      outputs: [action, group, carc, message]
      rows:
        - ["${cell}", deny, CO, '16', matched]
`);

  it.each([
    ['99213', '99213', true],
    ['99213', '99214', false],
    ["'99213', '99214'", '99214', true],
    ['not(99213, 99214)', '99214', false],
    ['not(99213, 99214)', '99215', true],
    ["it.startsWith('992')", '99215', true],
    ["it.startsWith('992')", '80053', false],
    ['-', '80053', true],
  ])('text cell %s on %s matches: %s', (cell, code, matches) => {
    expect(fired(run(single(cell), code), 't.cell', 1)).toBe(matches);
  });

  it.each([
    ['[2..4]', 4, true],
    ['[2..4)', 4, false],
    [']2..4]', 2, false],
    ['(2..4)', 3, true],
    ['!= 3', 3, false],
    ['<= 3', 3, true],
    ['1, > 5', 6, true],
    ['1, > 5', 3, false],
  ])('number cell %s on %i matches: %s', (cell, units, matches) => {
    expect(fired(run(single(cell, 'line.units'), '99213', units), 't.cell', 1)).toBe(matches);
  });

  it('rejects a cell it cannot read, at the cell', () => {
    const issues = issuesOf(() => single('between 1 and 3', 'line.units'));
    expect(issues[0]!.message).toContain("cannot read 'between 1 and 3' as a test on a int input");
    expect(issues[0]!.line).toBe(10);
  });

  it('honours row effective dates', () => {
    const rs = miniRuleSet(`  - id: t.dated
    description: dated rows
    table:
      hitPolicy: FIRST
      inputs:
        - { name: code, expr: line.procedureCode }
      outputs: [action, group, carc, message, effectiveFrom]
      rows:
        - ['99213', deny, CO, '16', later, '2026-06-01']
`);
    expect(fired(run(rs, '99213'), 't.dated', 1)).toBe(false);
    const c = claim([line('99213', { serviceDate: '2026-06-02' })]);
    expect(fired(rs.evaluate(c, facts(c)), 't.dated', 1)).toBe(true);
  });

  it('reads rows from a CSV file and locates bad cells there', () => {
    const csvRule = `  - id: t.csv
    description: from csv
    table:
      hitPolicy: FIRST
      inputs:
        - { name: code, expr: line.procedureCode }
        - { name: units, expr: line.units }
      outputs: [action, group, carc, message]
      file: t.csv
`;
    const rs = miniRuleSet(csvRule, {
      files: { 't.csv': 'code,units,action,group,carc,message\n99213,> 2,deny,CO,151,too many\n' },
    });
    expect(codes(run(rs, '99213', 3), 1)).toEqual(['CO-151']);
    const issues = issuesOf(() =>
      miniRuleSet(csvRule, {
        files: {
          't.csv':
            'code,units,action,group,carc,message\n99213,> 2,deny,CO,151,ok\n99214,lots,deny,XX,151,bad\n',
        },
      }),
    );
    expect(issues).toEqual([
      {
        file: 't.csv',
        line: 3,
        column: 7,
        message:
          "row 2, units: cannot read 'lots' as a test on a int input: use a whole number, a comparison (< 18) or a range ([18..64])",
      },
      { file: 't.csv', line: 3, column: 17, message: "row 2, group: 'XX' must be one of CO, PR, OA, PI, CR" },
    ]);
  });
});
