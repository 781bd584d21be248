import { activeRules } from '#claims/rule-simulation.ts';
import { httpHandler, json } from '#http/http-handler.ts';
import * as app from './app-context.ts';
import { activeRuleSet } from './rule-set-context.ts';

/**
 * GET /rules/active: the rule set this deployment decides with, and the journal receipt of its
 * activation, so an auditor can prove which rules were live (rules-admins and analysts).
 */
export const handler = httpHandler(['rules-admin', 'analyst'], async () => {
  // activeRuleSet() journals the activation before it resolves, so the receipt exists by then.
  const ruleSet = await activeRuleSet();
  const journal = app.journal();
  return json(200, await activeRules(ruleSet, journal));
});
