/** The rule engine's public surface. */

export { FRAUD_REVIEW } from '../claims/decision.ts';
export { formatIssue, RuleEvaluationError, RuleSetError, type RuleSetIssue } from './errors.ts';
export { ENGINE_ERROR, fraudScore } from './evaluate.ts';
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
  parseRuleTests,
  type RuleTestCase,
  type RuleTestReport,
  type RuleTestResult,
  runRuleTests,
} from './rule-tests.ts';
export { parseRecords } from './test-records.ts';
