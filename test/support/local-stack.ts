import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { providerScope } from '../../functions/http/identity.ts';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { type LocalStack, startLocalStack } from '../../functions/local/local-stack.ts';

export interface E2eStack extends LocalStack {
  /** Where the dev issuer's and the journal's keys live (security tests sign with them). */
  stateDir: string;
  tokens: {
    provider: string;
    otherProvider: string;
    analyst: string;
    rulesAdmin: string;
    /** The configured provider system's client-credentials access token (send its API key too). */
    providerSystem: string;
  };
}

/** The local server on a free port, over this run's DynamoDB Local, with seeded demo data. */
export async function startE2eStack(): Promise<E2eStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'claimledger-e2e-'));
  const stack = await startLocalStack({
    port: 0,
    dynamoEndpoint: inject('dynamoEndpoint'),
    tablePrefix: `e2e${randomUUID().slice(0, 8)}-`,
    stateDir,
    seed: true,
  });
  const { issuer } = stack;
  return {
    ...stack,
    stateDir,
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
      providerSystem: await issuer.mintClientCredentials({
        clientId: stack.providerSystem.clientId,
        scopes: [providerScope('claims.write'), providerScope('claims.read')],
      }),
    },
  };
}
