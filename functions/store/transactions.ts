import { isAwsError } from './aws-http.ts';
import type { DocumentClient, DocumentCommand } from './dynamo.ts';

interface CancellationReason {
  Code?: string;
}

const cancellationReasons = (error: unknown): CancellationReason[] | null =>
  isAwsError(error, 'TransactionCanceledException')
    ? ((error.CancellationReasons as CancellationReason[] | undefined) ?? [])
    : null;

/**
 * Which items of a cancelled transaction failed their condition, by position. DynamoDB
 * reports one reason per item, in request order; `ConditionalCheckFailed` marks the losers.
 */
export function failedConditions(error: unknown): number[] | null {
  const reasons = cancellationReasons(error);
  if (reasons === null) return null;
  return reasons.flatMap((reason, i) => (reason.Code === 'ConditionalCheckFailed' ? [i] : []));
}

/** True when a transaction lost a race on a condition or to a concurrent transaction. */
export function isContention(error: unknown): boolean {
  return (cancellationReasons(error) ?? []).some(
    (r) => r.Code === 'ConditionalCheckFailed' || r.Code === 'TransactionConflict',
  );
}

/** True when a single conditional write (not a transaction) failed its condition. */
export function isConditionFailure(error: unknown): boolean {
  return isAwsError(error, 'ConditionalCheckFailedException');
}

/** Sends a single conditional write: true when it was made, false when its condition failed. */
export async function conditionalWrite<Input, Output>(
  client: DocumentClient,
  command: DocumentCommand<Input, Output>,
): Promise<boolean> {
  try {
    await client.send(command);
    return true;
  } catch (error: unknown) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
