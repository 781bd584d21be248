import { activeRules } from '#claims/rule-simulation.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import { appContext } from './app-context.ts';
import { activeRuleSet } from './rule-set-context.ts';

/**
 * GET /rules/active: the rule set this deployment decides with, and the journal receipt of its
 * activation, so an auditor can prove which rules were live (rules-admins and analysts).
 */
export const handler = httpHandler(['rules-admin', 'analyst'], async () => {
  // activeRuleSet() journals the activation before it resolves, so the receipt exists by then.
  const [{ journal }, ruleSet] = await Promise.all([appContext(), activeRuleSet()]);
  return json(200, await activeRules(ruleSet, journal));
});
