import { parseSummaryQuery, providerSummary } from '#claims/provider-summary.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { pathParameter } from '#http/parameters.ts';
import { HttpProblem } from '#http/problem.ts';
import * as app from './app-context.ts';

/**
 * GET /providers/{npi}/summary?from=&to=: a billing provider's claims, amounts, denial and pend
 * rates, fraud signals and score distribution over a window of decision days, with the median
 * of its peers (every other provider with claims in the window).
 */
export const handler = httpHandler(['analyst'], async ({ event, identity }) => {
  const npi = pathParameter(event, 'npi', /^\d{10}$/);
  const journalSearch = app.journalSearch();
  const clock = app.clock;
  const parsed = parseSummaryQuery(
    event.queryStringParameters,
    event.multiValueQueryStringParameters,
    clock().slice(0, 10),
  );
  if ('issues' in parsed) {
    throw new HttpProblem('bad-request', 'The query parameters are invalid.', { errors: parsed.issues });
  }
  return json(200, await providerSummary(npi, parsed.window, identity, journalSearch));
});
