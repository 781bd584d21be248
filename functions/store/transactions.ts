import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';

/**
 * Which items of a cancelled transaction failed their condition, by position. DynamoDB
 * reports one reason per item, in request order; `ConditionalCheckFailed` marks the losers.
 */
export function failedConditions(error: unknown): number[] | null {
  if (!(error instanceof TransactionCanceledException)) return null;
  const reasons = error.CancellationReasons ?? [];
  return reasons.flatMap((reason, i) => (reason.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/** True when a transaction lost a race on a condition or to a concurrent transaction. */
export function isContention(error: unknown): boolean {
  if (!(error instanceof TransactionCanceledException)) return false;
  return (error.CancellationReasons ?? []).some(
    (r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict',
  );
}

/** True when a single conditional write (not a transaction) failed its condition. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
