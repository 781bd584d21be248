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
