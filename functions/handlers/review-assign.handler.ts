import { reviewAssignSchema } from '#claims/review.ts';
import { assignReview } from '#claims/review-actions.ts';
import { httpHandler } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';
import { requiredIfMatch, reviewActionResponse } from './review-action-http.ts';

/** POST /reviews/{claimId}/assign: the calling analyst takes the review (If-Match required). */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const claimId = pathParameter(event, 'claimId', /^c[0-9a-f]{31}$/);
  const body = event.body ? parseJsonBody(event, reviewAssignSchema) : {};
  const versions = requiredIfMatch(event);
  const claims = app.claims();
  const reviews = app.reviews();
  const clock = app.clock;
  const result = await assignReview(claimId, versions, identity, { claims, reviews, clock }, body.note);
  return reviewActionResponse(result, identity);
});
