import { readFileSync } from 'node:fs';
import { type RecordedRuleSources, recordedReaders } from './recorded-source.ts';
import { readRuleSetFiles } from './rule-files.ts';
import type { RuleSet } from './rule-set.ts';
import { loadRuleSetWith } from './rule-set-loader.ts';

/**
 * The rule set in `rulesDir` read through the record at `recordPath` (rule-sources.json): how a
 * deciding function loads the rule files shipped beside it, with no YAML or CEL parser.
 *
 * @throws RecordedSourcesError when the files are not the ones recorded.
 */
export function loadShippedRuleSet(rulesDir: string, recordPath: string): RuleSet {
  const recorded = JSON.parse(readFileSync(recordPath, 'utf8')) as RecordedRuleSources;
  return loadRuleSetWith(readRuleSetFiles(rulesDir), recordedReaders(recorded));
}
