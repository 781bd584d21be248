import { claimHistory } from '#claims/journal-queries.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { pathParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** GET /claims/{id}/history: every revision of a claim with its journal entry and proof. */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const id = pathParameter(event, 'id', /^c[0-9a-f]{31}$/);
  const claims = app.claimReads();
  const journalRead = app.journalRead();
  const readAudit = app.readAudit();
  return json(200, await claimHistory(id, identity, { claims, journal: journalRead, ...readAudit }));
});
