/**
 * Domain errors. Each maps to exactly one problem type (functions/http/problem.ts); their
 * messages are written for the API caller and never carry internals.
 */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

export class ForbiddenError extends Error {
  override name = 'ForbiddenError';
}

export interface FieldIssue {
  path: string;
  message: string;
}

/**
 * What the request asks to record is too large to be stored as one journaled revision
 * (DynamoDB's 400 KB item limit, with room for the other attributes).
 */
export class TooLargeError extends Error {
  override name = 'TooLargeError';
}

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    message: string,
    readonly issues: FieldIssue[],
  ) {
    super(message);
  }
}

/** Another writer changed the same accumulators first: gather facts again and re-evaluate. */
export class AccumulatorConflictError extends Error {
  override name = 'AccumulatorConflictError';
}
