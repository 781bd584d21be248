import { consistencyProof } from '#claims/journal-queries.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { integerParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** GET /journal/consistency?from=M&to=N: proof that the tree of N entries extends the tree of M. */
export const handler = httpHandler(['provider', 'analyst', 'rules-admin'], async ({ event }) => {
  const from = integerParameter(event, 'from', 'query', true) as number;
  const to = integerParameter(event, 'to', 'query', true) as number;
  return json(200, await consistencyProof(from, to, app.journalRead()));
});
