import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  TooLargeError,
  ValidationError,
} from '#claims/errors.ts';
import { StaleReviewError } from '#claims/review.ts';
import { HttpProblem } from './problem.ts';

/**
 * The one place domain errors become problems. Anything unknown becomes a generic 500 whose
 * body says nothing about the cause; the caller logs the details (without PHI).
 */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  if (error instanceof NotFoundError) return new HttpProblem('not-found', error.message);
  if (error instanceof ConflictError) return new HttpProblem('conflict', error.message);
  if (error instanceof ForbiddenError) return new HttpProblem('forbidden', error.message);
  if (error instanceof TooLargeError) return new HttpProblem('payload-too-large', error.message);
  if (error instanceof StaleReviewError) return new HttpProblem('precondition-failed', error.message);
  if (error instanceof ValidationError) {
    return new HttpProblem('validation-failed', error.message, { errors: error.issues });
  }
  return new HttpProblem(
    'internal',
    'The request could not be completed. It has been logged; try again later.',
  );
}
