import { exportJournal, parseSearchQuery, searchJournal } from '#claims/journal-search.ts';
import { InvalidCursorError } from '#claims/review.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { HttpProblem } from '#http/problem.ts';
import * as app from './app-context.ts';

/**
 * GET /journal/search: journal entries by member, provider, claim, rule, signal or type in a
 * time window, newest first, each with its index (provable). `format=csv|jsonl` exports every
 * hit in one body (API Gateway REST cannot stream), capped; `x-export-complete` says whether
 * it holds them all and `x-next-cursor` continues it.
 */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const parsed = parseSearchQuery(event.queryStringParameters, event.multiValueQueryStringParameters);
  if ('issues' in parsed) {
    throw new HttpProblem('bad-request', 'The query parameters are invalid.', { errors: parsed.issues });
  }
  const { query } = parsed;
  const journalSearch = app.journalSearch();
  try {
    if (query.format === 'json') return json(200, await searchJournal(query, identity, journalSearch));
    const exported = await exportJournal(query, identity, journalSearch);
    return {
      statusCode: 200,
      headers: {
        'content-type': exported.contentType,
        'content-disposition': `attachment; filename="journal-search.${query.format}"`,
        'cache-control': 'no-store',
        'x-export-rows': String(exported.rows),
        'x-export-complete': String(exported.complete),
        ...(exported.nextCursor === null ? {} : { 'x-next-cursor': exported.nextCursor }),
      },
      body: exported.body,
    };
  } catch (error: unknown) {
    if (!(error instanceof InvalidCursorError)) throw error;
    throw new HttpProblem('bad-request', error.message, {
      errors: [{ path: 'cursor', message: error.message }],
    });
  }
});
