import { isDeepStrictEqual } from 'node:util';
import type { RuleSetFile } from './hash.ts';
import { readYaml } from './loader.ts';
import {
  positionKey,
  RECORDED_FORMAT,
  type RecordedFile,
  type RecordedRuleSources,
  textSha256,
} from './recorded-source.ts';
import type { RuleSet } from './rule-set.ts';
import { type LoadOptions, loadRuleSetWith } from './rule-set-loader.ts';
import type { RuleSource, SourcePath } from './rule-source.ts';

/**
 * Loads the rule set from its YAML files and records, for each rule file, its value and every
 * position the loader asked for: what a Lambda bundle needs to load the same rule set without
 * YAML (recorded-source.ts). Synth writes it beside the handlers; the local stack writes it at
 * start, so that both run the same loading path. Throws RuleSetError as loading does.
 */
export function recordRuleSources(
  files: readonly RuleSetFile[],
  options: LoadOptions = {},
): { ruleSet: RuleSet; recorded: RecordedRuleSources } {
  const recorded: RecordedRuleSources = { format: RECORDED_FORMAT, files: {} };
  const ruleSet = loadRuleSetWith(
    files,
    (file) => {
      const entry: RecordedFile = { sha256: textSha256(file.content), value: undefined, positions: {} };
      recorded.files[file.path] = entry;
      return recording(readYaml(file), entry);
    },
    options,
  );
  return { ruleSet, recorded };
}

/** `source`, noting its value and the positions asked of it into `entry`. */
function recording(source: RuleSource, entry: RecordedFile): RuleSource {
  return {
    path: source.path,
    syntaxIssues: () => source.syntaxIssues(),
    toJS: () => {
      const value = source.toJS();
      // The record is JSON: a value JSON would change (NaN, a date) must not ship changed.
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(value)), value)) {
        throw new Error(
          `${source.path}: its YAML holds a value JSON cannot carry (NaN, ±Infinity or a date)`,
        );
      }
      entry.value = value;
      return value;
    },
    at: (path: SourcePath) => {
      const position = source.at(path);
      entry.positions[positionKey(path)] = [position.line, position.column];
      return position;
    },
    atKey: (path, key) => source.atKey(path, key),
    issue: (path, message) => source.issue(path, message),
    inScalar: (path, offset) => source.inScalar(path, offset),
    zodIssues: (error, base) => source.zodIssues(error, base),
  };
}
