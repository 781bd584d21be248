import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { providerScope } from '#http/identity.ts';
import { demoClaim, demoProviders, demoReviewClaim } from './demo-seed.ts';
import { DynamoDbLocalError } from './dynamodb-local.ts';
import { startLocalStack } from './local-stack.ts';

/** `npm start`: the whole service on this machine, stopped cleanly with Ctrl-C. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '3000' },
      'data-dir': { type: 'string' },
      'no-seed': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('Usage: npm start -- [--port 3000] [--data-dir DIR] [--no-seed]');
    console.log('  --data-dir DIR  keep DynamoDB data and keys in DIR across restarts (default: in memory)');
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be 0-65535, got ${values.port}`);
  const dataDir = values['data-dir'] === undefined ? undefined : resolve(values['data-dir']);

  console.log('Starting DynamoDB Local and the claimledger API…');
  const stack = await startLocalStack({
    port,
    ...(dataDir ? { dataDir } : {}),
    stateDir: dataDir ?? resolve('.claimledger'),
    seed: !values['no-seed'],
  });
  const provider = await stack.issuer.mint({
    sub: 'riverside-billing',
    roles: ['provider'],
    npis: [demoProviders.familyClinic.npi],
  });
  const analyst = await stack.issuer.mint({ sub: 'analyst-ana', roles: ['analyst'] });
  const system = await stack.issuer.mintClientCredentials({
    clientId: stack.providerSystem.clientId,
    scopes: [providerScope('claims.write'), providerScope('claims.read')],
  });

  console.log(`
claimledger is running on ${stack.url}  (${dataDir ? `data in ${dataDir}` : 'in-memory data'}; ${stack.seeded ? 'demo data seeded' : 'existing data kept'})

Tokens (valid 12 h):
  export PROVIDER_TOKEN=${provider}
  export ANALYST_TOKEN=${analyst}

Submit the demo claim (Riverside Family Clinic, member M1001):
  curl -s -X POST ${stack.url}/claims -H "authorization: Bearer $PROVIDER_TOKEN" -H 'content-type: application/json' \\
    -d '${JSON.stringify(demoClaim)}'

Read it back (the id is in the answer's "id" and Location header):
  curl -s ${stack.url}/claims/<id> -H "authorization: Bearer $PROVIDER_TOKEN"

The decision journal (signed checkpoints, proofs, a claim's history):
  curl -s ${stack.url}/journal/checkpoint -H "authorization: Bearer $PROVIDER_TOKEN" -H 'accept: text/plain'
  curl -s ${stack.url}/claims/<id>/history -H "authorization: Bearer $ANALYST_TOKEN"
  npx claimledger journal verify        # recompute the tree from storage, check every checkpoint
Journal verifier key (${stack.keyCreated ? 'created now' : 'existing'}; give it to auditors, it is all they need):
  ${stack.verifierKey}

A claim with no treatment record behind it pends for fraud review; analysts work the queue:
  curl -s -X POST ${stack.url}/claims -H "authorization: Bearer $PROVIDER_TOKEN" -H 'content-type: application/json' \\
    -d '${JSON.stringify(demoReviewClaim)}'
  curl -s ${stack.url}/reviews -H "authorization: Bearer $ANALYST_TOKEN"

A provider's billing system calls with a client-credentials token (valid 1 h) and its API key:
  export SYSTEM_TOKEN=${system}
  curl -s -X POST ${stack.url}/claims -H "authorization: Bearer $SYSTEM_TOKEN" -H 'x-api-key: ${stack.providerSystem.apiKey}' \
    -H 'content-type: application/json' -d '${JSON.stringify({ ...demoClaim, claimId: 'DEMO-SYSTEM-1' })}'

Analysts load coverage and treatment records:
  curl -s -X PUT ${stack.url}/members/M2001/coverage -H "authorization: Bearer $ANALYST_TOKEN" -H 'content-type: application/json' -d @coverage.json

Press Ctrl-C to stop.`);

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping…');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof DynamoDbLocalError) console.error(error.message);
  else console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
