import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rulesCheck, rulesExplain, rulesTest } from '../../../functions/cli/rules.command.ts';
import { RULES_DIR } from './fixtures.ts';

class Buffer {
  text = '';
  write(s: string) {
    this.text += s;
    return true;
  }
}

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'claimledger-rules-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const claim = {
  claimId: 'CLM-42',
  billingProviderNpi: '1234567893',
  memberId: 'M-1001',
  serviceDateFrom: '2026-05-04',
  serviceDateTo: '2026-05-04',
  diagnosisCodes: ['M17.11'],
  lines: [
    {
      procedureCode: '20610',
      units: 1,
      chargeCents: 30000,
      serviceDate: '2026-05-04',
      diagnosisPointers: [1],
    },
    {
      procedureCode: '99213',
      units: 1,
      chargeCents: 15000,
      serviceDate: '2026-05-04',
      diagnosisPointers: [1],
    },
  ],
};
const records = {
  member: { birthDate: '1980-03-15', sex: 'female' },
  coverages: [
    {
      coverageId: 'COV-1',
      planId: 'PPO',
      status: 'active',
      start: '2026-01-01',
      benefits: { deductibleCents: 20000, outOfPocketMaxCents: 300000, coinsuranceBps: 2000 },
    },
  ],
  treatments: [
    {
      recordId: 'T1',
      memberId: 'M-1001',
      providerNpi: '1234567893',
      serviceDate: '2026-05-04',
      kind: 'encounter',
      procedureCodes: [20610],
    },
  ],
};

describe('rules check', () => {
  it('summarises a good rule set with its hash', async () => {
    const out = new Buffer();
    expect(await rulesCheck(RULES_DIR, out)).toBe(0);
    expect(out.text).toMatch(/^✓ claimledger-default/);
    expect(out.text).toMatch(/hash [0-9a-f]{64}/);
    expect(out.text).toContain('table mue (mue): 9637 entries');
  });

  it('lists located problems and exits 1 on a broken rule set', async () => {
    const dir = join(work, 'broken');
    await cp(RULES_DIR, dir, { recursive: true });
    await writeFile(
      join(dir, 'plan.yaml'),
      "rules:\n  - id: plan.x\n    description: typo\n    when: line.procedureCod == '1'\n    deny: { group: CO, carc: '204', message: m }\n",
    );
    const out = new Buffer();
    expect(await rulesCheck(dir, out)).toBe(1);
    expect(out.text).toContain(
      "plan.yaml:4:16: unknown field 'procedureCod' (did you mean 'procedureCode'?)",
    );
  });

  it('warns of an expression the deployed functions cannot run (outside the compiled subset)', async () => {
    const dir = join(work, 'interpreted');
    await cp(RULES_DIR, dir, { recursive: true });
    const benefits = join(dir, 'benefits.yaml');
    await writeFile(
      benefits,
      (await readFile(benefits, 'utf8')).replace(
        "when: inList('em-office-visits', line.procedureCode)\n",
        `when: "inList('em-office-visits', line.procedureCode) && {'a': 1}['a'] == 1"\n`,
      ),
    );
    const out = new Buffer();
    expect(await rulesCheck(dir, out)).toBe(0);
    expect(out.text).toContain(
      "warning: 'inList('em-office-visits', line.procedureCode) && {'a': 1}['a'] == 1' does not compile to code",
    );
    expect(out.text).toContain('so synth and the local stack refuse it');
  });

  it('reports overlapping rows of a UNIQUE table and gaps in a table declared complete', async () => {
    const dir = join(work, 'tables');
    await cp(RULES_DIR, dir, { recursive: true });
    const csv = join(dir, 'tables', 'age-sex-edits.csv');
    await writeFile(
      csv,
      `${await readFile(csv, 'utf8')}59400,-,< 18,deny,CO,6,N129,Obstetric care for a minor\n`,
    );
    const eligibility = join(dir, 'eligibility.yaml');
    const yaml = await readFile(eligibility, 'utf8');
    // Drop the last row (coverage ended or cancelled): a combination no row covers.
    await writeFile(eligibility, yaml.replace(/\n {8}- \[true, false, '-'[^\n]*/, ''));
    const out = new Buffer();
    expect(await rulesCheck(dir, out)).toBe(1);
    expect(out.text).toMatch(
      /coding\.yaml:\d+:\d+: rule coding\.age-sex: rows 1 and \d+ overlap under UNIQUE, e\.g\. procedure = '59400', sex = 'male', age = /,
    );
    expect(out.text).toMatch(
      /eligibility\.yaml:\d+:\d+: rule eligibility\.coverage-on-date: no row matches memberFound = true, covered = false, startsLater = false/,
    );
  });
});

describe('rules test', () => {
  it('passes the shipped tests and reports that every rule is covered', async () => {
    const out = new Buffer();
    expect(await rulesTest(RULES_DIR, out)).toBe(0);
    expect(out.text).toMatch(/\d+ passed, 0 failed/);
    expect(out.text).toContain('every rule fires in at least one test');
  });

  it('prints a readable diff for a failing case and exits 1', async () => {
    const dir = join(work, 'failing');
    await cp(RULES_DIR, dir, { recursive: true });
    const original = await readFile(join(RULES_DIR, 'tests', 'clean.yaml'), 'utf8');
    await writeFile(
      join(dir, 'tests', 'clean.yaml'),
      original.replace('allowedCents: 9200', 'allowedCents: 9300'),
    );
    const out = new Buffer();
    expect(await rulesTest(dir, out)).toBe(1);
    expect(out.text).toContain(
      '✗ tests/clean.yaml:29 a clean office visit is paid at the fee schedule amount',
    );
    expect(out.text).toContain('line 1 allowedCents:\n        expected 9300\n        actual   9200');
  });
});

describe('rules explain', () => {
  it('explains a decision in text: lines, adjustments, fraud, accumulators and the trace', async () => {
    await writeFile(join(work, 'claim.json'), JSON.stringify(claim));
    await writeFile(join(work, 'records.json'), JSON.stringify(records));
    const out = new Buffer();
    const code = await rulesExplain(
      join(work, 'claim.json'),
      join(work, 'records.json'),
      { rulesDir: RULES_DIR },
      out,
    );
    expect(code).toBe(0);
    expect(out.text).toContain('Claim CLM-42: PARTIALLY APPROVED');
    expect(out.text).toContain('CO-236/N20 150.00');
    expect(out.text).toContain('✓ coding.ptp-modifier-required  → deny CO-236 (N20)');
    expect(out.text).toContain(`lookups = ["ptp('ncci-ptp', '20610', '99213') = 1"]`);
  });

  it('prints JSON with --json', async () => {
    const out = new Buffer();
    await rulesExplain(
      join(work, 'claim.json'),
      join(work, 'records.json'),
      { json: true, rulesDir: RULES_DIR },
      out,
    );
    const decision = JSON.parse(out.text);
    expect(decision.outcome).toBe('partially_approved');
    expect(decision.trace.length).toBeGreaterThan(20);
  });

  it('exits 2 on a claim that is not valid, naming the field', async () => {
    await writeFile(join(work, 'bad.json'), JSON.stringify({ ...claim, lines: [] }));
    const out = new Buffer();
    expect(await rulesExplain(join(work, 'bad.json'), undefined, { rulesDir: RULES_DIR }, out)).toBe(2);
    expect(out.text).toContain('lines:');
  });
});
