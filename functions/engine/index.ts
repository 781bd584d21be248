/** The rule engine's public surface. */
export { formatIssue, RuleEvaluationError, RuleSetError, type RuleSetIssue } from './errors.ts';
export { ENGINE_ERROR, FRAUD_REVIEW, fraudScore } from './evaluate.ts';
export { canonicalText, type RuleSetFile, ruleSetHash } from './hash.ts';
export { loadRuleSet, loadRuleSetFromFiles, MANIFEST, readRuleSetFiles } from './loader.ts';
export { npiCheckDigitValid } from './npi.ts';
export { RuleSet, type RuleSummary, type TableSummary } from './rule-set.ts';
