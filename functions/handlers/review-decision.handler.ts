import { reviewDecisionSchema } from '#claims/review.ts';
import { decideReview } from '#claims/review-actions.ts';
import { reviewRuleSet } from '#engine/review-rule-set.ts';
import { httpHandler } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';
import { requiredIfMatch, reviewActionResponse } from './review-action-http.ts';
import { activeRuleSet } from './rule-set-context.ts';

/** POST /reviews/{claimId}/decision: approve, deny (with a CARC) or escalate (If-Match required). */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const claimId = pathParameter(event, 'claimId', /^c[0-9a-f]{31}$/);
  const body = parseJsonBody(event, reviewDecisionSchema);
  const versions = requiredIfMatch(event);
  const ruleSet = await activeRuleSet();
  const claims = app.claims();
  const reviews = app.reviews();
  const clock = app.clock;
  const result = await decideReview(claimId, body, versions, identity, {
    claims,
    reviews,
    clock,
    ruleSet: reviewRuleSet(ruleSet),
  });
  return reviewActionResponse(result, identity);
});
