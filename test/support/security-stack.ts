import { createDocumentClient, tableNamesFor } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { type E2eStack, startE2eStack } from './local-stack.ts';
import { type TokenForge, tokenForge } from './security-tokens.ts';

export interface SecurityStack extends E2eStack {
  /** Signs tokens with the stack's own dev-issuer key, or deliberately gets them wrong. */
  forge: TokenForge;
  /** The journal's size: a refused request must not change it. */
  journalSize(): Promise<number>;
}

/**
 * The same stack as `startE2eStack()`, with the state directory kept so security tests can
 * sign tokens with the dev issuer's key (claims the issuer's `mint` never produces: `nbf` in
 * the future, another `iss`, no `sub`...) as well as with keys an attacker would hold.
 */
export async function startSecurityStack(): Promise<SecurityStack> {
  const stack = await startE2eStack();
  const journal = new JournalRepository(
    createDocumentClient({ endpoint: stack.dynamoEndpoint }),
    tableNamesFor(stack.tablePrefix).journal,
  );
  return { ...stack, forge: await tokenForge(stack.stateDir), journalSize: () => journal.size() };
}
