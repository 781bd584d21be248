import { isDeepStrictEqual } from 'node:util';
import { type CelFrontEnd, isProblem } from './cel.ts';
import { celJsFrontEnd } from './cel-checker.ts';
import type { RuleSetFile } from './hash.ts';
import { readYaml } from './loader.ts';
import {
  expressionKey,
  positionKey,
  RECORDED_FORMAT,
  type RecordedFile,
  type RecordedRuleSources,
  recordExpression,
  textSha256,
} from './recorded-source.ts';
import type { RuleSet } from './rule-set.ts';
import { type LoadOptions, loadRuleSetWith } from './rule-set-loader.ts';
import type { RuleSource, SourcePath } from './rule-source.ts';

/**
 * Loads the rule set from its YAML files with cel-js and records, for each rule file, its value
 * and every position the loader asked for, and each expression's checked AST: what a Lambda
 * bundle needs to load the same rule set without YAML or a CEL parser (recorded-source.ts).
 * Synth writes it beside the handlers; the local stack writes it at start, so that both run the
 * same loading path. Throws RuleSetError as loading does, and refuses a rule set with an
 * expression that does not compile to code: a bundle has no CEL evaluator to fall back on.
 */
export function recordRuleSources(
  files: readonly RuleSetFile[],
  options: LoadOptions = {},
): { ruleSet: RuleSet; recorded: RecordedRuleSources } {
  const recorded: RecordedRuleSources = { format: RECORDED_FORMAT, files: {}, expressions: {} };
  const ruleSet = loadRuleSetWith(
    files,
    {
      source: (file) => {
        const entry: RecordedFile = { sha256: textSha256(file.content), value: undefined, positions: {} };
        recorded.files[file.path] = entry;
        return recording(readYaml(file), entry);
      },
      cel: recordingChecks(celJsFrontEnd, recorded),
    },
    options,
  );
  if (ruleSet.expressions.interpreted.length > 0) {
    throw new Error(
      `these expressions do not compile to code, and the Lambda bundles carry no CEL evaluator: ${ruleSet.expressions.interpreted.map((source) => `'${source}'`).join(', ')}`,
    );
  }
  return { ruleSet, recorded };
}

/** `frontEnd`, noting every expression it checks into `recorded`. */
function recordingChecks(frontEnd: CelFrontEnd, recorded: RecordedRuleSources): CelFrontEnd {
  return (declarations) => {
    const checker = frontEnd(declarations);
    return {
      check(source, phase, expect, itType) {
        const checked = checker.check(source, phase, expect, itType);
        if (!isProblem(checked)) {
          recorded.expressions[expressionKey(source, phase, expect, itType)] = recordExpression(checked);
        }
        return checked;
      },
    };
  };
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
