import { memberCoverageSchema } from '#claims/records.schema.ts';
import { putCoverage } from '#claims/records.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** PUT /members/{memberId}/coverage: replace a member's coverage as a new, journaled revision. */
export const handler = httpHandler(['analyst', 'rules-admin'], async ({ event, identity }) => {
  const memberId = pathParameter(event, 'memberId', /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
  const body = parseJsonBody(event, memberCoverageSchema);
  const records = app.records();
  const clock = app.clock;
  const { coverage, receipt, changed } = await putCoverage(memberId, body, identity, { records, clock });
  return json(changed && coverage.revision === 1 ? 201 : 200, {
    ...coverage,
    journal: receipt && { index: receipt.index, leafHash: receipt.leafHash },
  });
});
