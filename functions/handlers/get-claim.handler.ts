import { claimView } from '#claims/claim-view.ts';
import { getClaim } from '#claims/get-claim.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** GET /claims/{id}: the claim and its current decision, if the caller may see it. */
export const handler = httpHandler(['provider', 'analyst'], async ({ event, identity }) => {
  const id = pathParameter(event, 'id', /^c[0-9a-f]{31}$/);
  const claims = app.claimReads();
  const readAudit = app.readAudit();
  const { claim, receipt } = await getClaim(id, identity, claims, readAudit);
  return json(200, claimView(claim, receipt, identity));
});
