import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { startLocalStack } from '../../functions/local/local-stack.ts';
import { createDocumentClient, tableNamesFor } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import type { E2eStack } from './local-stack.ts';
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
  const stateDir = mkdtempSync(join(tmpdir(), 'claimledger-security-'));
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tablePrefix: `sec${randomUUID().slice(0, 8)}-`,
    stateDir,
    seed: true,
  });
  const { issuer } = stack;
  const journal = new JournalRepository(
    createDocumentClient({ endpoint: stack.dynamoEndpoint }),
    tableNamesFor(stack.tablePrefix).journal,
  );
  return {
    ...stack,
    forge: await tokenForge(stateDir),
    journalSize: () => journal.size(),
    tokens: {
      provider: await issuer.mint({
        sub: 'riverside-billing',
        roles: ['provider'],
        npis: [demoProviders.familyClinic.npi],
      }),
      otherProvider: await issuer.mint({
        sub: 'lakeside-billing',
        roles: ['provider'],
        npis: [demoProviders.orthoGroup.npi],
      }),
      analyst: await issuer.mint({ sub: 'analyst-ana', roles: ['analyst'] }),
      rulesAdmin: await issuer.mint({ sub: 'admin-rui', roles: ['rules-admin'] }),
    },
  };
}
