import { describe, expect, it } from 'vitest';
import { readRuleSetFiles, readRuleTestFiles } from '../../../functions/engine/loader.ts';
import {
  type RecordedRuleSources,
  RecordedSourcesError,
  recordedReaders,
} from '../../../functions/engine/recorded-source.ts';
import { loadRuleSetWith } from '../../../functions/engine/rule-set-loader.ts';
import { recordRuleSources } from '../../../functions/engine/rule-source-recorder.ts';
import { parseRuleTests, runRuleTests } from '../../../functions/engine/rule-tests.ts';
import { RULES_DIR } from './fixtures.ts';

// A Lambda bundle loads its rule files through what synth recorded of them, without a YAML or
// CEL parser: it must be the same rule set, traced to the same lines, and only for those files.
describe('rule files read through their synth-time record', () => {
  const files = readRuleSetFiles(RULES_DIR);
  const { ruleSet: fromYaml, recorded } = recordRuleSources(files);
  // As shipped: through JSON.
  const shipped = JSON.parse(JSON.stringify(recorded)) as RecordedRuleSources;
  const fromRecord = loadRuleSetWith(files, recordedReaders(shipped));

  it('is the same rule set: hash, rules, their source lines, tables and compiled expressions', () => {
    expect(fromRecord.hash).toBe(fromYaml.hash);
    expect(fromRecord.rules).toEqual(fromYaml.rules);
    expect(fromRecord.tables).toEqual(fromYaml.tables);
    expect(fromRecord.expressions).toEqual(fromYaml.expressions);
    expect(fromRecord.files).toEqual(fromYaml.files);
    expect(fromRecord.rules.every((rule) => rule.line > 1)).toBe(true);
  });

  it('passes every shipped rule test, with the same decisions and traces', async () => {
    const cases = parseRuleTests(await readRuleTestFiles(RULES_DIR));
    expect(cases.length).toBeGreaterThan(10);
    const report = runRuleTests(fromRecord, cases);
    expect(report.failed).toBe(0);
    for (const c of cases.slice(0, 5)) {
      expect(fromRecord.evaluate(c.claim, c.facts)).toEqual(fromYaml.evaluate(c.claim, c.facts));
    }
  });

  it('refuses a rule file edited after synth, naming it', () => {
    const edited = files.map((f) =>
      f.path === 'fraud.yaml' ? { ...f, content: `${f.content}\n# edited after synth\n` } : f,
    );
    expect(() => loadRuleSetWith(edited, recordedReaders(shipped))).toThrow(
      new RecordedSourcesError('fraud.yaml differs from the file recorded at synth'),
    );
  });

  it('refuses a rule file it has no record of, and a record of another format', () => {
    const { 'coding.yaml': _dropped, ...others } = shipped.files;
    expect(() => loadRuleSetWith(files, recordedReaders({ ...shipped, files: others }))).toThrow(
      /coding\.yaml was not recorded at synth/,
    );
    expect(() =>
      recordedReaders({ ...shipped, format: 'something-else/9' } as unknown as RecordedRuleSources),
    ).toThrow(RecordedSourcesError);
  });

  it('takes every expression from the record (a bundle has no CEL parser), refusing one not recorded', () => {
    expect(Object.keys(shipped.expressions).length).toBeGreaterThanOrEqual(fromYaml.expressions.total);
    const [dropped] = Object.keys(shipped.expressions);
    const { [dropped!]: _gone, ...others } = shipped.expressions;
    expect(() => loadRuleSetWith(files, recordedReaders({ ...shipped, expressions: others }))).toThrow(
      /^the expression '.+' was not recorded at synth$/,
    );
  });

  it('refuses to record a rule set with an expression outside the compiled subset, naming it', () => {
    const plain = "when: inList('em-office-visits', line.procedureCode)\n";
    const withMap = `when: "inList('em-office-visits', line.procedureCode) && {'a': 1}['a'] == 1"\n`;
    const edited = files.map((f) =>
      f.path === 'benefits.yaml' ? { ...f, content: f.content.replace(plain, withMap) } : f,
    );
    expect(edited.find((f) => f.path === 'benefits.yaml')?.content).toContain("{'a': 1}");
    expect(() => recordRuleSources(edited)).toThrow(
      "these expressions do not compile to code, and the Lambda bundles carry no CEL evaluator: 'inList('em-office-visits', line.procedureCode) && {'a': 1}['a'] == 1'",
    );
  });
});
