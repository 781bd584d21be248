import { journalEntry } from '#claims/journal-queries.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { integerParameter } from '#http/parameters.ts';
import * as app from './app-context.ts';

/** GET /journal/entries/{index}: one journal entry, decoded (analysts: entries carry PHI). */
export const handler = httpHandler(['analyst'], async ({ event }) => {
  const index = integerParameter(event, 'index', 'path', true) as number;
  return json(200, await journalEntry(index, app.journalRead()));
});
