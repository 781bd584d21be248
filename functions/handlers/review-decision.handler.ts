import { reviewDecisionSchema } from '#claims/review.ts';
import { decideReview } from '#claims/review-actions.ts';
import { reviewRuleSet } from '#claims/review-rules.ts';
import { httpHandler } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { pathParameter } from '#http/parameters.ts';
import { appContext } from './app-context.ts';
import { requiredIfMatch, reviewActionResponse } from './review-action-http.ts';
import { activeRuleSet } from './rule-set-context.ts';

/** POST /reviews/{claimId}/decision: approve, deny (with a CARC) or escalate (If-Match required). */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const claimId = pathParameter(event, 'claimId', /^c[0-9a-f]{31}$/);
  const body = parseJsonBody(event, reviewDecisionSchema);
  const versions = requiredIfMatch(event);
  const [{ claims, reviews, clock }, ruleSet] = await Promise.all([appContext(), activeRuleSet()]);
  const result = await decideReview(claimId, body, versions, identity, {
    claims,
    reviews,
    clock,
    ruleSet: reviewRuleSet(ruleSet),
  });
  return reviewActionResponse(result, identity);
});
