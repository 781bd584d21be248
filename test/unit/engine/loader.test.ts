import { describe, expect, it } from 'vitest';
import { RuleSetError, type RuleSetIssue } from '../../../functions/engine/errors.ts';
import { loadRuleSet, loadRuleSetFromFiles, readRuleSetFiles } from '../../../functions/engine/loader.ts';
import { miniRuleSet, RULES_DIR } from './fixtures.ts';

function issuesOf(load: () => unknown): RuleSetIssue[] {
  try {
    load();
  } catch (error: unknown) {
    if (error instanceof RuleSetError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the rule set to be rejected');
}

const MANIFEST = `name: t
version: 1
fraud: { threshold: 50 }
files: [a.yaml]
`;

const files = (rules: string, extra: Record<string, string> = {}, manifest = MANIFEST) => [
  { path: 'ruleset.yaml', content: manifest },
  { path: 'a.yaml', content: rules },
  ...Object.entries(extra).map(([path, content]) => ({ path, content })),
];

describe('locating errors in rule files', () => {
  it('points at an unknown field inside a CEL condition, with a suggestion', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    when: line.units > 1 && line.procedurCode == '99213'
    deny: { group: CO, carc: '16', message: m }
`),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ file: 'rules.yaml', line: 4, column: 34 });
    expect(issues[0]!.message).toContain("unknown field 'procedurCode' (did you mean 'procedureCode'?)");
  });

  it('points into a multi-line block scalar at the line of the error', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    when: >
      line.units > 1 &&
      coverage.benefits.deductible > 0
    deny: { group: CO, carc: '16', message: m }
`),
    );
    expect(issues[0]).toMatchObject({ line: 6, column: 25 });
    expect(issues[0]!.message).toContain("unknown field 'deductible'");
  });

  it('reports a CEL syntax error and an unclosed bracket at the end of the expression', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    when: (line.units > 1
    deny: { group: CO, carc: '16', message: m }
`),
    );
    expect(issues[0]).toMatchObject({ line: 4, column: 25 });
    expect(issues[0]!.message).toContain('ends too early');
  });

  it('reports type errors: wrong operand types, a non-boolean condition, a non-int amount', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: a.one
    description: x
    when: line.units + 'x' == 1
    deny: { group: CO, carc: '16', message: m }
  - id: a.two
    description: x
    when: line.procedureCode
    deny: { group: CO, carc: '16', message: m }
  - id: a.three
    phase: price
    description: x
    allow: { amount: "line.procedureCode" }
`),
    );
    expect(issues.map((i) => [i.line, i.message.split(' in: ')[0]])).toEqual([
      [4, 'no such overload: int + string'],
      [8, 'must be bool, but this expression is string'],
      [13, 'must be int, but this expression is string'],
    ]);
  });

  it('names the phase a variable belongs to', () => {
    const [issue] = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    when: remaining > 0
    deny: { group: CO, carc: '16', message: m }
`),
    );
    expect(issue!.message).toContain(
      "unknown variable 'remaining' in the edit phase (it exists in the benefit phase)",
    );
  });

  it('reports schema problems at the offending key, all of them at once', () => {
    const issues = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    whn: line.units > 1
    deny: { group: XX, carc: 'abc', message: m }
  - id: Bad Id
    description: x
    deny: { group: CO, carc: '16', message: m }
`),
    );
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ line: 4, column: 5, message: "rules[0]: unknown key 'whn'" }),
        expect.objectContaining({
          line: 5,
          column: 20,
          message: 'rules[0].deny.group: must be one of: CO, PR, OA, PI, CR',
        }),
        expect.objectContaining({ line: 5, column: 30, message: 'rules[0].deny.carc: is not a CARC code' }),
        expect.objectContaining({
          line: 6,
          message: expect.stringContaining('rules[1].id: must be dotted lower-case words'),
        }),
      ]),
    );
  });

  it('reports YAML syntax errors with their position', () => {
    const issues = issuesOf(() =>
      loadRuleSetFromFiles(files('rules:\n  - id: a.b\n    description: [unclosed\n')),
    );
    expect(issues[0]).toMatchObject({ file: 'a.yaml' });
    expect(issues[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('rejects repeated keys, which YAML would otherwise silently override', () => {
    const issues = issuesOf(() =>
      loadRuleSetFromFiles(
        files(`rules:
  - id: a.b
    description: x
    description: y
    deny: { group: CO, carc: '16', message: m }
`),
      ),
    );
    expect(issues[0]).toMatchObject({ file: 'a.yaml', line: 4 });
  });

  it('checks table names and kinds used in expressions', () => {
    const issues = issuesOf(() =>
      miniRuleSet(
        `  - id: a.b
    description: x
    when: inList('nope', line.procedureCode) || !hasMue('visits', line.procedureCode)
    deny: { group: CO, carc: '16', message: m }
`,
        { manifestExtra: "tables:\n  - { name: visits, kind: codeList, codes: ['99213'] }\n" },
      ),
    );
    expect(issues.map((i) => i.message.split(' in: ')[0])).toEqual([
      "no table named 'nope' (codeList tables: visits)",
    ]);
    const kind = issuesOf(() =>
      miniRuleSet(
        `  - id: a.b
    description: x
    when: "!hasMue('visits', line.procedureCode)"
    deny: { group: CO, carc: '16', message: m }
`,
        { manifestExtra: "tables:\n  - { name: visits, kind: codeList, codes: ['99213'] }\n" },
      ),
    );
    expect(kind[0]!.message).toContain("hasMue() needs a mue table, 'visits' is codeList");
  });

  it('locates errors in message templates', () => {
    const [issue] = issuesOf(() =>
      miniRuleSet(`  - id: a.b
    description: x
    deny: { group: CO, carc: '16', message: 'units {{line.unitz}}' }
`),
    );
    expect(issue).toMatchObject({ line: 4, column: 59 });
    expect(issue!.message).toContain("unknown field 'unitz'");
  });

  it('rejects effects in the wrong phase, duplicate rule ids and missing files', () => {
    const issues = issuesOf(() =>
      loadRuleSetFromFiles([
        { path: 'ruleset.yaml', content: MANIFEST.replace('[a.yaml]', '[a.yaml, b.yaml, missing.yaml]') },
        {
          path: 'a.yaml',
          content:
            "rules:\n  - id: a.b\n    description: x\n    adjust: { group: PR, carc: '1', amount: '1', message: m }\n",
        },
        {
          path: 'b.yaml',
          content:
            "rules:\n  - id: a.b\n    description: x\n    deny: { group: CO, carc: '16', message: m }\n",
        },
      ]),
    );
    expect(issues.map((i) => `${i.file}:${i.line}: ${i.message}`)).toEqual([
      "a.yaml:4: 'adjust' cannot be used in the edit phase (allowed: deny, pend, signal)",
      "ruleset.yaml:4: rule file 'missing.yaml' is not in the rule set",
    ]);
    const dup = issuesOf(() =>
      loadRuleSetFromFiles([
        { path: 'ruleset.yaml', content: MANIFEST.replace('[a.yaml]', '[a.yaml, b.yaml]') },
        {
          path: 'a.yaml',
          content:
            "rules:\n  - id: a.b\n    description: x\n    deny: { group: CO, carc: '16', message: m }\n",
        },
        {
          path: 'b.yaml',
          content:
            "rules:\n  - id: a.b\n    description: x\n    deny: { group: CO, carc: '16', message: m }\n",
        },
      ]),
    );
    expect(dup).toEqual([
      { file: 'b.yaml', line: 2, column: 1, message: "rule id 'a.b' is already used in a.yaml:2" },
    ]);
  });

  it('requires a manifest', () => {
    expect(issuesOf(() => loadRuleSetFromFiles([]))[0]!.message).toContain('needs a ruleset.yaml');
  });

  it('locates bad cells of a reference table file', () => {
    const issues = issuesOf(() =>
      miniRuleSet(
        "  - id: a.b\n    description: x\n    when: hasFee('fees', line.procedureCode, line.modifiers)\n    deny: { group: CO, carc: '16', message: m }\n",
        {
          manifestExtra: 'tables:\n  - { name: fees, kind: feeSchedule, file: fees.csv }\n',
          files: { 'fees.csv': 'code,modifier,allowedCents\n99213,,9200\n99214,,1.5\n99215,abc,100\n' },
        },
      ),
    );
    expect(issues).toEqual([
      { file: 'fees.csv', line: 3, column: 8, message: "'1.5' must be a whole number ≥ 0" },
      {
        file: 'fees.csv',
        line: 4,
        column: 7,
        message: "'abc' is not a modifier (two letters or digits, or empty)",
      },
    ]);
  });
});

describe('rule-set hash', () => {
  const base = () =>
    files("rules:\n  - id: a.b\n    description: x\n    deny: { group: CO, carc: '16', message: m }\n");

  it('is the same for the same content, whatever the order files are given in', () => {
    const a = loadRuleSetFromFiles(base());
    const b = loadRuleSetFromFiles([...base()].reverse());
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.hash).toBe(a.hash);
  });

  it('ignores line-ending style and a byte-order mark', () => {
    const crlf = base().map((f) => ({ ...f, content: `\uFEFF${f.content.replaceAll('\n', '\r\n')}` }));
    expect(loadRuleSetFromFiles(crlf).hash).toBe(loadRuleSetFromFiles(base()).hash);
  });

  it('changes with any change to any file, comments included', () => {
    const original = loadRuleSetFromFiles(base()).hash;
    const variants = [
      base().map((f) => (f.path === 'a.yaml' ? { ...f, content: `# tuned\n${f.content}` } : f)),
      base().map((f) => (f.path === 'a.yaml' ? { ...f, content: f.content.replace("'16'", "'252'") } : f)),
      base().map((f) => (f.path === 'ruleset.yaml' ? { ...f, content: f.content.replace('50', '51') } : f)),
    ];
    const hashes = variants.map((v) => loadRuleSetFromFiles(v).hash);
    expect(new Set([original, ...hashes]).size).toBe(4);
  });

  it('changes when a table row changes', () => {
    const withTable = (fee: string) =>
      files(
        "rules:\n  - id: a.b\n    description: x\n    when: hasFee('fees', line.procedureCode, [])\n    deny: { group: CO, carc: '16', message: m }\n",
        {
          'fees.csv': `code,modifier,allowedCents\n99213,,${fee}\n`,
        },
        `${MANIFEST}tables:\n  - { name: fees, kind: feeSchedule, file: fees.csv }\n`,
      );
    expect(loadRuleSetFromFiles(withTable('9200')).hash).not.toBe(
      loadRuleSetFromFiles(withTable('9201')).hash,
    );
  });

  it('covers only files the manifest references, and warns about the others', () => {
    const extra = [...base(), { path: 'stray.yaml', content: 'rules: []\n' }];
    const rs = loadRuleSetFromFiles(extra);
    expect(rs.hash).toBe(loadRuleSetFromFiles(base()).hash);
    expect(rs.warnings).toEqual([
      expect.objectContaining({ file: 'stray.yaml', message: expect.stringContaining('not referenced') }),
    ]);
    expect(rs.files).toEqual(['a.yaml', 'ruleset.yaml']);
  });

  it('is stable for the default rule set, whether loaded from disk or from files', async () => {
    const fromDisk = await loadRuleSet(RULES_DIR);
    const fromFiles = loadRuleSetFromFiles(readRuleSetFiles(RULES_DIR));
    expect(fromFiles.hash).toBe(fromDisk.hash);
    expect(fromDisk.warnings).toEqual([]);
    expect(fromDisk.files).toContain('tables/mue-practitioner-2026q2.csv');
    expect(fromDisk.files.some((f) => f.startsWith('tests/'))).toBe(false);
  });
});
