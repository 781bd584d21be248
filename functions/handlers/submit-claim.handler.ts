import { claimSubmissionSchema } from '#claims/claim.schema.ts';
import { claimView } from '#claims/claim-view.ts';
import { keyedSerializer } from '#claims/keyed-serializer.ts';
import { submitClaim } from '#claims/submit-claim.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { log } from '#http/logger.ts';
import * as app from './app-context.ts';
import { activeRuleSet } from './rule-set-context.ts';

// One queue per Lambda instance (or local process): its concurrent claims for the same member
// are decided in turn; other instances are arbitrated by the accumulators' conditional write.
const memberQueue = keyedSerializer();

/** POST /claims: decide a provider's claim now; a retry of the same body returns the first decision. */
export const handler = httpHandler(['provider'], async ({ event, identity }) => {
  const submission = parseJsonBody(event, claimSubmissionSchema);
  const ruleSet = await activeRuleSet();
  const result = await submitClaim(submission, identity, {
    claims: app.claims(),
    ruleSet,
    clock: app.clock,
    serialize: memberQueue,
  });
  if (result.outcome === 'created') {
    // The payer's headline figure: how many claims decide without a person (auto-adjudication).
    log(
      'info',
      { component: 'adjudication' },
      {
        dimensions: { outcome: result.claim.decision.outcome },
        values: { ClaimsDecided: { value: 1, unit: 'Count' } },
      },
    );
  }
  return json(result.outcome === 'created' ? 201 : 200, claimView(result.claim, result.receipt, identity), {
    location: `/claims/${result.claim.id}`,
  });
});
