/** One problem in a rule set, located for a rules analyst (1-based line and column). */
export interface RuleSetIssue {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Formats an issue the way editors and terminals link it: `file:line:column: message`. */
export function formatIssue(issue: RuleSetIssue): string {
  return `${issue.file}:${issue.line}:${issue.column}: ${issue.message}`;
}

/**
 * A rule set that cannot be loaded. Carries every problem found, not just the first, so an
 * analyst fixes a file in one pass; a rule set with issues is never activated.
 */
export class RuleSetError extends Error {
  override name = 'RuleSetError';
  readonly issues: readonly RuleSetIssue[];

  constructor(issues: readonly RuleSetIssue[]) {
    const shown = issues.slice(0, 20).map(formatIssue).join('\n');
    const more = issues.length > 20 ? `\n… and ${issues.length - 20} more` : '';
    super(`rule set has ${issues.length} problem${issues.length === 1 ? '' : 's'}:\n${shown}${more}`);
    this.issues = issues;
  }
}

/**
 * An expression or table lookup failed while evaluating a claim (missing field, division by
 * zero, overflow, a UNIQUE table with two matching rows). Evaluation catches it and pends the
 * claim; it never escapes `evaluate`.
 */
export class RuleEvaluationError extends Error {
  override name = 'RuleEvaluationError';
}
