import { simulateClaim, simulationRequestSchema } from '#claims/rule-simulation.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { parseJsonBody } from '#http/json-body.ts';
import { activeRuleSet } from './rule-set-context.ts';

/**
 * POST /rules/simulate: what the active rule set would decide for a claim and the records
 * supplied with it, trace included. Computed in memory: nothing is stored or journaled.
 */
export const handler = httpHandler(['rules-admin'], async ({ event }) => {
  const request = parseJsonBody(event, simulationRequestSchema);
  return json(200, simulateClaim(await activeRuleSet(), request));
});
