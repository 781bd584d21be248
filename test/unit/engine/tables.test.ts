import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../functions/engine/csv.ts';
import type { RuleSetIssue } from '../../../functions/engine/errors.ts';
import { loadTable, type TableKind, type Window } from '../../../functions/engine/tables.ts';

function load(kind: TableKind, path: string, text: string, window: Window = {}) {
  const issues: RuleSetIssue[] = [];
  const table = loadTable({ name: 't', kind, window, file: { path, text } }, issues);
  return { table, issues };
}

describe('NCCI PTP table in the official CMS layout', () => {
  // Tab-separated, as CMS publishes the quarterly text files, with its verbose headers.
  const tsv = [
    'Column 1\tColumn 2\t* = In existence prior to 1996\tEffective Date\tDeletion Date *=no data\tModifier 0=not allowed 1=allowed 9=not applicable\tPTP Edit Rationale',
    '80053\t80048\t\t20080101\t*\t0\tCPT Manual or CMS manual coding instructions',
    '97530\t97116\t\t20200101\t20250101\t1\tMutually exclusive procedures',
    '93000\t93010\t*\t19960101\t*\t0\tStandards of medical / surgical services',
  ].join('\n');

  it('loads pairs with their modifier indicator and rationale', () => {
    const { table, issues } = load('ptp', 'ncci.txt', tsv);
    expect(issues).toEqual([]);
    expect(table.ptp('80053', '80048', '2026-05-04')).toEqual({
      modifierIndicator: 0,
      rationale: 'CPT Manual or CMS manual coding instructions',
    });
    expect(table.ptp('80048', '80053', '2026-05-04')).toBeUndefined();
  });

  it('applies an edit from its effective date until the day before its deletion date', () => {
    const { table } = load('ptp', 'ncci.txt', tsv);
    expect(table.ptp('97530', '97116', '2019-12-31')).toBeUndefined();
    expect(table.ptp('97530', '97116', '2024-12-31')?.modifierIndicator).toBe(1);
    expect(table.ptp('97530', '97116', '2025-01-01')).toBeUndefined();
  });

  it('rejects a modifier indicator other than 0, 1 or 9, at its cell', () => {
    const { issues } = load(
      'ptp',
      'ncci.csv',
      'Column 1,Column 2,Effective Date,Deletion Date,Modifier,Rationale\n80053,80048,20080101,*,2,x\n',
    );
    expect(issues).toEqual([
      { file: 'ncci.csv', line: 2, column: 24, message: "modifier indicator '2' must be 0, 1 or 9" },
    ]);
  });

  it('names the missing columns when the file is not a PTP table', () => {
    const { issues } = load('ptp', 'ncci.csv', 'code,value\n1,2\n');
    expect(issues.map((i) => i.message)).toEqual(
      expect.arrayContaining([expect.stringContaining("a ptp table needs a 'column1' column")]),
    );
  });
});

describe('MUE table', () => {
  it('loads the official column layout', () => {
    const { table, issues } = load(
      'mue',
      'mue.csv',
      'HCPCS/CPT Code,Practitioner Services MUE Values,MUE Adjudication Indicator,MUE Rationale\n80053,1,3 Date of Service Edit: Clinical,Code Descriptor / CPT Instruction\n97110,6,3 Date of Service Edit: Clinical,Clinical: Data\n',
    );
    expect(issues).toEqual([]);
    expect(table.mue('97110', '2026-05-04')).toBe(6);
    expect(table.mue('99999', '2026-05-04')).toBeUndefined();
  });

  it('loads the JSON conversion in the shared reference data', () => {
    const { table } = load(
      'mue',
      'mue.json',
      JSON.stringify({ '36415': { maxUnits: 2, adjudicationType: 'date_of_service' } }),
    );
    expect(table.mue('36415', '2026-01-01')).toBe(2);
  });

  it('is silent outside the table window', () => {
    const { table } = load('mue', 'mue.csv', 'code,maxUnits\n80053,1\n', {
      from: '2026-04-01',
      to: '2026-06-30',
    });
    expect(table.mue('80053', '2026-03-31')).toBeUndefined();
    expect(table.mue('80053', '2026-04-01')).toBe(1);
    expect(table.mue('80053', '2026-07-01')).toBeUndefined();
  });
});

describe('excluded providers (LEIE)', () => {
  it('honours exclusion and reinstatement dates in the official layout', () => {
    const { table, issues } = load(
      'excludedProviders',
      'leie.csv',
      'LASTNAME,FIRSTNAME,NPI,EXCLDATE,REINDATE\nSMITH,ADAM,1003005315,20221201,\nDOE,JANE,1497758544,20200115,20230301\n',
    );
    expect(issues).toEqual([]);
    expect(table.excluded('1003005315', '2022-11-30')).toBe(false);
    expect(table.excluded('1003005315', '2022-12-01')).toBe(true);
    expect(table.excluded('1497758544', '2023-02-28')).toBe(true);
    expect(table.excluded('1497758544', '2023-03-01')).toBe(false);
  });

  it('loads the NPI index JSON with month-of-exclusion dates', () => {
    const { table } = load(
      'excludedProviders',
      'leie.json',
      JSON.stringify({ '1003005315': { name: 'SMITH, ADAM', date: '12/2022' } }),
    );
    expect(table.excluded('1003005315', '2022-12-01')).toBe(true);
    expect(table.excluded('1003005315', '2022-11-30')).toBe(false);
  });

  it('rejects an NPI that is not ten digits', () => {
    const { issues } = load('excludedProviders', 'leie.csv', 'NPI,EXCLDATE\n12345,20200101\n');
    expect(issues).toEqual([
      { file: 'leie.csv', line: 2, column: 1, message: "'12345' is not a 10-digit NPI" },
    ]);
  });
});

describe('fee schedule, code lists and code values', () => {
  it('prefers a modifier-specific amount and dates rows', () => {
    const { table, issues } = load(
      'feeSchedule',
      'fees.csv',
      'code,modifier,allowedCents,effectiveFrom,effectiveTo\n71046,,3200,2026-01-01,2026-12-31\n71046,26,1100,2026-01-01,2026-12-31\n71046,,3000,2025-01-01,2025-12-31\n',
    );
    expect(issues).toEqual([]);
    expect(table.fee('71046', [], '2026-05-04')).toBe(3200);
    expect(table.fee('71046', ['RT', '26'], '2026-05-04')).toBe(1100);
    expect(table.fee('71046', ['TC'], '2026-05-04')).toBe(3200);
    expect(table.fee('71046', [], '2025-05-04')).toBe(3000);
    expect(table.fee('71046', [], '2024-05-04')).toBeUndefined();
  });

  it('dates code-list rows and defaults unknown code values', () => {
    const list = load(
      'codeList',
      'l.csv',
      'code,effectiveFrom,effectiveTo\n99213,,\nG0438,2011-01-01,2011-12-31\n',
    ).table;
    expect(list.inList('99213', '2026-01-01')).toBe(true);
    expect(list.inList('G0438', '2011-06-01')).toBe(true);
    expect(list.inList('G0438', '2012-06-01')).toBe(false);
    const issues: RuleSetIssue[] = [];
    const values = loadTable(
      { name: 'm', kind: 'codeValues', window: {}, defaultValue: 7, inlineValues: { '99213': 20 } },
      issues,
    );
    expect(values.codeValue('99213', '2026-01-01')).toBe(20);
    expect(values.codeValue('80053', '2026-01-01')).toBe(7);
  });

  it('reports an empty table and a bad date', () => {
    expect(load('codeList', 'l.csv', '# nothing here\ncode\n').issues[0]!.message).toBe(
      "table 't' has no rows",
    );
    expect(load('codeList', 'l.csv', 'code,effectiveFrom\n99213,2026-02-30\n').issues[0]).toMatchObject({
      line: 2,
      column: 7,
      message: "'2026-02-30' is not a date (YYYY-MM-DD or YYYYMMDD)",
    });
  });
});

describe('CSV parser', () => {
  it('handles quotes, doubled quotes, CRLF, comments and blank lines, with positions', () => {
    const rows = parseCsv('# comment\r\na,"b, c","say ""hi"""\r\n\r\n1,,3\n');
    expect(rows.map((r) => [r.line, r.cells.map((c) => c.value)])).toEqual([
      [2, ['a', 'b, c', 'say "hi"']],
      [4, ['1', '', '3']],
    ]);
    expect(rows[0]!.cells[2]).toMatchObject({ line: 2, column: 10 });
  });

  it('locates an unterminated quote', () => {
    expect(() => parseCsv('a,b\n1,"open\n')).toThrowError(/never closed/);
  });

  it('reads back any rows written as RFC 4180, with each row and cell where it was written (property)', () => {
    const cellText = fc.string({
      unit: fc.constantFrom('a', 'Z', '1', ' ', ',', '"', '\n', '\r\n', '#', 'é'),
    });
    const table = fc.array(fc.array(cellText, { minLength: 1, maxLength: 5 }), {
      minLength: 1,
      maxLength: 8,
    });
    fc.assert(
      fc.property(table, fc.constantFrom('\n', '\r\n'), (rows, eol) => {
        // A row of one empty cell would be a blank line, which the parser skips: quote it.
        const quote = (cell: string, first: boolean) =>
          /[",\r\n]/.test(cell) || (first && (cell === '' || cell.startsWith('#')))
            ? `"${cell.replaceAll('"', '""')}"`
            : cell;
        const lines = rows.map((cells) => cells.map((cell, i) => quote(cell, i === 0)).join(','));
        const text = lines.join(eol) + eol;
        const parsed = parseCsv(text);
        expect(parsed.map((row) => row.cells.map((cell) => cell.value))).toEqual(rows);
        // Each row starts on the line after everything written before it.
        let line = 1;
        for (const [i, row] of parsed.entries()) {
          expect(row.line).toBe(line);
          expect(row.cells[0]).toMatchObject({ line, column: 1 });
          line += (lines[i]!.match(/\n/g)?.length ?? 0) + 1;
        }
      }),
      { numRuns: 500 },
    );
  });
});
