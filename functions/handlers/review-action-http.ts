import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { claimView } from '#claims/claim-view.ts';
import type { Identity } from '#claims/identity.ts';
import { reviewETag, versionsFromIfMatch } from '#claims/review.ts';
import type { ReviewActionResult } from '#claims/review-actions.ts';
import { reviewDetailView } from '#claims/review-detail.ts';
import { json } from '#http/http-handler.ts';
import { header } from '#http/json-body.ts';
import { HttpProblem } from '#http/problem.ts';

/** The review versions an action may apply to, from If-Match; without it, 428. */
export function requiredIfMatch(event: APIGatewayProxyEvent): number[] {
  const versions = versionsFromIfMatch(header(event, 'if-match'));
  if (versions === null) {
    throw new HttpProblem(
      'precondition-required',
      'Send If-Match with the review’s ETag (GET /reviews/{claimId}).',
    );
  }
  return versions;
}

/** What an assign or decision answers: the review and the claim after it, with the new ETag. */
export function reviewActionResponse(result: ReviewActionResult, identity: Identity): APIGatewayProxyResult {
  return json(
    200,
    { review: reviewDetailView(result.review), claim: claimView(result.claim, result.receipt, identity) },
    { etag: reviewETag(result.review.version) },
  );
}
