import { inclusionProof } from '#claims/journal-queries.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { integerParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/**
 * GET /journal/entries/{index}/proof?size=N: inclusion proof of an entry in the tree of N
 * entries, or in the latest checkpoint without `size`. Hashes only, so any caller may ask.
 */
export const handler = httpHandler(['provider', 'analyst', 'rules-admin'], async ({ event }) => {
  const index = integerParameter(event, 'index', 'path', true) as number;
  const size = integerParameter(event, 'size', 'query', false);
  return json(200, await inclusionProof(index, size, app.journalRead()));
});
