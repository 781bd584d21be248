import { celJsFrontEnd } from './cel-checker.ts';
import type { RuleSetFile } from './hash.ts';
import { readRuleSetFiles } from './rule-files.ts';
import type { RuleSet } from './rule-set.ts';
import { type LoadOptions, loadRuleSetWith } from './rule-set-loader.ts';
import { YamlSource } from './yaml-source.ts';

// Rule sets read from their YAML files, checked by cel-js: the CLI, the local stack, synth and
// tests. A Lambda bundle loads through rule-set-loader.ts and recorded-source.ts instead,
// without YAML or a CEL parser.
export { readRuleSetFiles, readRuleTestFiles } from './rule-files.ts';
export { type LoadOptions, MANIFEST } from './rule-set-loader.ts';

/** Reads a rule file's YAML, keeping source positions. */
export const readYaml = (file: RuleSetFile) => new YamlSource(file.path, file.content);

/**
 * Loads a rule set from in-memory YAML files (paths relative to the rule-set root, which holds
 * ruleset.yaml). Throws RuleSetError listing every located problem.
 */
export function loadRuleSetFromFiles(files: readonly RuleSetFile[], options: LoadOptions = {}): RuleSet {
  return loadRuleSetWith(files, { source: readYaml, cel: celJsFrontEnd }, options);
}

/**
 * Loads the rule set in `dir` (ruleset.yaml at its root). All reading happens here, before
 * any evaluation; the returned RuleSet does no I/O.
 */
export async function loadRuleSet(dir: string, options: LoadOptions = {}): Promise<RuleSet> {
  return loadRuleSetFromFiles(readRuleSetFiles(dir), options);
}
