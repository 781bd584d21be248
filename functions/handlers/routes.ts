import type { ProviderScopeName } from '#http/identity.ts';

/**
 * Every HTTP route, once. The local server dispatches from this table and the CDK stateless
 * stack creates one function and one API method per entry, so there is one implementation of
 * each route (DESIGN.md decision 5) and the two cannot disagree about which module serves it.
 */
export interface RouteDefinition {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** API Gateway resource path, with `{name}` path parameters. */
  path: string;
  /** Module under functions/handlers/ that exports the Lambda entry point. */
  module: string;
  /** False only for routes that must answer without a token (health). */
  authenticated: boolean;
  /** Table access the function's role is granted: nothing more (least privilege). */
  access: Partial<Record<'claims' | 'records' | 'journal', 'read' | 'write'>>;
  /** Whether the bundle ships the rule files. */
  rules?: true;
  /**
   * Set on the routes the `provider` role may call (their handlers' role lists): the OAuth scope
   * a provider system's client-credentials token needs. These routes, and only these, are also
   * served on the provider API, where every method requires the caller's API key.
   */
  providerScope?: ProviderScopeName;
}

/** The export every handler module provides; CDK's `handler` prop is built from it. */
export const HANDLER_EXPORT = 'handler';

export const routes: readonly RouteDefinition[] = [
  { method: 'GET', path: '/health', module: 'health.handler.ts', authenticated: false, access: {} },
  {
    method: 'POST',
    path: '/claims',
    module: 'submit-claim.handler.ts',
    authenticated: true,
    // Reads records and accumulators, writes accumulators with the claim.
    access: { claims: 'write', records: 'write', journal: 'write' },
    rules: true,
    providerScope: 'claims.write',
  },
  {
    method: 'GET',
    path: '/claims/{id}',
    module: 'get-claim.handler.ts',
    authenticated: true,
    // Appends to the journal: an analyst's read of a claim's detail is journaled.
    access: { claims: 'read', journal: 'write' },
    providerScope: 'claims.read',
  },
  {
    method: 'PUT',
    path: '/members/{memberId}/coverage',
    module: 'put-coverage.handler.ts',
    authenticated: true,
    access: { records: 'write', journal: 'write' },
  },
  {
    method: 'POST',
    path: '/treatments',
    module: 'add-treatment.handler.ts',
    authenticated: true,
    access: { records: 'write', journal: 'write' },
  },
  {
    method: 'GET',
    path: '/claims/{id}/history',
    module: 'claim-history.handler.ts',
    authenticated: true,
    // Writes the journal: the read itself is journaled (an audited read).
    access: { claims: 'read', journal: 'write' },
  },
  {
    method: 'GET',
    path: '/journal/checkpoint',
    module: 'journal-checkpoint.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
    providerScope: 'claims.read',
  },
  {
    method: 'GET',
    path: '/journal/entries/{index}',
    module: 'journal-entry.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
  },
  {
    method: 'GET',
    path: '/journal/entries/{index}/proof',
    module: 'journal-proof.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
    providerScope: 'claims.read',
  },
  {
    method: 'GET',
    path: '/journal/consistency',
    module: 'journal-consistency.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
    providerScope: 'claims.read',
  },
  {
    method: 'GET',
    path: '/reviews',
    module: 'review-queue.handler.ts',
    authenticated: true,
    access: { claims: 'read' },
  },
  {
    method: 'GET',
    path: '/reviews/{claimId}',
    module: 'review-detail.handler.ts',
    authenticated: true,
    // Writes the journal: an analyst's read of a claim's detail is journaled (record.read).
    access: { claims: 'read', journal: 'write' },
  },
  {
    method: 'POST',
    path: '/reviews/{claimId}/assign',
    module: 'review-assign.handler.ts',
    authenticated: true,
    access: { claims: 'write', journal: 'write' },
  },
  {
    method: 'POST',
    path: '/reviews/{claimId}/decision',
    module: 'review-decision.handler.ts',
    authenticated: true,
    // An approval re-evaluates the claim (facts from records) and moves its accumulators.
    access: { claims: 'write', records: 'write', journal: 'write' },
    rules: true,
  },
  {
    method: 'GET',
    path: '/journal/search',
    module: 'journal-search.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
  },
  {
    method: 'GET',
    path: '/providers/{npi}/summary',
    module: 'provider-summary.handler.ts',
    authenticated: true,
    access: { journal: 'read' },
  },
  {
    method: 'GET',
    path: '/rules/active',
    module: 'rules-active.handler.ts',
    authenticated: true,
    // Writes the journal only when this is the rule set's first use anywhere: its activation.
    access: { journal: 'write' },
    rules: true,
  },
  {
    method: 'POST',
    path: '/rules/simulate',
    module: 'rules-simulate.handler.ts',
    authenticated: true,
    // The simulation reads and writes nothing; journal access is for the activation on first use.
    access: { journal: 'write' },
    rules: true,
  },
];
