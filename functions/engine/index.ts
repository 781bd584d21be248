/** The rule engine's public surface. */
export { formatIssue, RuleEvaluationError, RuleSetError, type RuleSetIssue } from './errors.ts';
export { ENGINE_ERROR, FRAUD_REVIEW, fraudScore } from './evaluate.ts';
export { canonicalText, type RuleSetFile, ruleSetHash } from './hash.ts';
export {
  type LoadOptions,
  loadRuleSet,
  loadRuleSetFromFiles,
  MANIFEST,
  readRuleSetFiles,
  readRuleTestFiles,
} from './loader.ts';
export { npiCheckDigitValid } from './npi.ts';
export { RuleSet, type RuleSummary, type TableSummary } from './rule-set.ts';
export {
  compareDecision,
  parseRecords,
  parseRuleTests,
  type RuleTestCase,
  type RuleTestReport,
  type RuleTestResult,
  runRuleTests,
} from './rule-tests.ts';
