import { latestCheckpoint } from '#claims/journal-queries.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import * as app from './app-context.ts';

/**
 * GET /journal/checkpoint: the newest signed checkpoint. JSON by default; with
 * `Accept: text/plain` the signed note alone, as transparency-log tooling expects it.
 */
export const handler = httpHandler(['provider', 'analyst', 'rules-admin'], async ({ event }) => {
  const checkpoint = await latestCheckpoint(app.journalRead());
  const accept = event.headers?.accept ?? event.headers?.Accept ?? '';
  if (accept.includes('text/plain') && !accept.includes('application/json')) {
    return {
      statusCode: 200,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
      },
      body: checkpoint.note,
    };
  }
  return json(200, checkpoint);
});
