import { claimView } from '#claims/claim-view.ts';
import { reviewAssignSchema, reviewETag, StaleReviewError, versionsFromIfMatch } from '#claims/review.ts';
import { assignReview } from '#claims/review-actions.ts';
import { reviewDetailView } from '#claims/review-detail.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { header, parseJsonBody } from '#http/json-body.ts';
import { pathParameter } from '#http/parameters.ts';
import { HttpProblem } from '#http/problem.ts';
import { appContext } from './app-context.ts';

/** POST /reviews/{claimId}/assign: the calling analyst takes the review (If-Match required). */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const claimId = pathParameter(event, 'claimId', /^c[0-9a-f]{31}$/);
  const body = event.body ? parseJsonBody(event, reviewAssignSchema) : {};
  const versions = versionsFromIfMatch(header(event, 'if-match'));
  if (versions === null) {
    throw new HttpProblem(
      'precondition-required',
      'Send If-Match with the review’s ETag (GET /reviews/{claimId}).',
    );
  }
  const { claims, reviews, clock } = await appContext();
  try {
    const result = await assignReview(claimId, versions, identity, { claims, reviews, clock }, body.note);
    return json(
      200,
      { review: reviewDetailView(result.review), claim: claimView(result.claim, result.receipt, identity) },
      { etag: reviewETag(result.review.version) },
    );
  } catch (error: unknown) {
    if (error instanceof StaleReviewError) throw new HttpProblem('precondition-failed', error.message);
    throw error;
  }
});
