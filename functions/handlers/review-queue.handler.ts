import { InvalidCursorError } from '#claims/review.ts';
import { listReviews, parseReviewQuery } from '#claims/review-queue.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { HttpProblem } from '#http/problem.ts';
import * as app from './app-context.ts';

/** GET /reviews: the fraud-review queue, highest score then oldest first, one page at a time. */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const parsed = parseReviewQuery(event.queryStringParameters);
  if ('issues' in parsed) {
    throw new HttpProblem('bad-request', 'The query parameters are invalid.', { errors: parsed.issues });
  }
  const reviews = app.reviews();
  try {
    return json(200, await listReviews(parsed.query, identity, reviews));
  } catch (error: unknown) {
    if (error instanceof InvalidCursorError) {
      throw new HttpProblem('bad-request', error.message, {
        errors: [{ path: 'cursor', message: error.message }],
      });
    }
    throw error;
  }
});
