import { reviewETag } from '#claims/review.ts';
import { reviewDetail } from '#claims/review-detail.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** GET /reviews/{claimId}: everything to decide a review; the read itself is journaled. */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const claimId = pathParameter(event, 'claimId', /^c[0-9a-f]{31}$/);
  const claims = app.claimReads();
  const reviews = app.reviewReads();
  const journalRead = app.journalRead();
  const readAudit = app.readAudit();
  const detail = await reviewDetail(claimId, identity, {
    claims,
    reviews,
    journal: journalRead,
    ...readAudit,
  });
  return json(200, detail, { etag: reviewETag(detail.review.version) });
});
