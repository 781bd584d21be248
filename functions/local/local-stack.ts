import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { REPOSITORY_RULES_DIR, readRuleSetFiles } from '#engine/rule-files.ts';
import { recordRuleSources } from '#engine/rule-source-recorder.ts';
import { HANDLER_EXPORT, type RouteDefinition, routes } from '#handlers/routes.ts';
import { PROVIDER_CLIENTS_ENV } from '#http/identity.ts';
import { createTables } from '#store/create-tables.ts';
import { createLocalClient, tableNamesFor } from '#store/dynamo-client.ts';
import { demoProviders, seedDemo } from './demo-seed.ts';
import { type DevIssuer, devIssuer } from './dev-issuer.ts';
import { type RunningDynamoDb, startDynamoDbLocal } from './dynamodb-local.ts';
import { startIntegratorThread } from './integrator-thread.ts';
import type { RunningIntegrator } from './journal-integrator.ts';
import { loadOrCreateJournalKey } from './journal-key.ts';
import { createLocalServer, type LambdaHandler, listeningPort } from './server.ts';

export interface LocalStackOptions {
  /** HTTP port; 0 picks a free one. */
  port: number;
  /** Persist DynamoDB data and keys here; in memory when absent. */
  dataDir?: string;
  /** Keys (dev issuer, journal signer) live here. */
  stateDir: string;
  /** Use an already running DynamoDB (tests share one per run) instead of starting one. */
  dynamoEndpoint?: string;
  tablePrefix?: string;
  seed: boolean;
  /** Extra routes (benchmarks' baselines) served the same way as the API's own. */
  extraRoutes?: { route: RouteDefinition; handler: LambdaHandler }[];
}

/** The log's name: the checkpoint origin and the signing key's name. */
export const LOCAL_JOURNAL_ORIGIN = 'claimledger.local/journal';

/** Written to `<stateDir>/local.json` so the CLI finds the running stack without flags. */
export const LOCAL_STATE_FILE = 'local.json';

export interface LocalStack {
  url: string;
  issuer: DevIssuer;
  /** One provider system, configured as a stage's `providerClients` entry would be. */
  providerSystem: { clientId: string; apiKey: string; npis: readonly string[] };
  /** The journal's verifier key (`<name>+<id>+<key>`): all an auditor needs to check checkpoints. */
  verifierKey: string;
  /** True when this start created the signing key. */
  keyCreated: boolean;
  integrator: RunningIntegrator;
  seeded: boolean;
  dynamoEndpoint: string;
  tablePrefix: string;
  stop(): Promise<void>;
}

/**
 * Everything `npm start` runs, as a function tests and benchmarks can call: DynamoDB Local,
 * tables, demo data, and the HTTP server in front of the real handler modules.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dynamo = options.dynamoEndpoint
    ? undefined
    : await startDynamoDbLocal(options.dataDir ? { dataDir: join(options.dataDir, 'dynamodb') } : {});
  const endpoint = options.dynamoEndpoint ?? (dynamo as RunningDynamoDb).endpoint;
  const tablePrefix = options.tablePrefix ?? 'claimledger-local-';
  const names = tableNamesFor(tablePrefix);

  // Handlers read their configuration from the environment, as a Lambda does.
  const providerSystem = {
    clientId: 'localRiversideBilling',
    apiKeyId: 'localRiversideKey',
    // A fresh key each start: only this process's gateway knows it.
    apiKey: randomBytes(20).toString('hex'),
    npis: [demoProviders.familyClinic.npi],
  };
  // Deciding handlers load the rule files through their record, as in a Lambda bundle; here it
  // is made from the rule files at each start (so an edited rule set takes effect on restart).
  const rulesDir = process.env.RULES_DIR ?? REPOSITORY_RULES_DIR;
  const ruleSources = join(options.stateDir, 'rule-sources.json');
  mkdirSync(options.stateDir, { recursive: true });
  writeFileSync(ruleSources, JSON.stringify(recordRuleSources(readRuleSetFiles(rulesDir)).recorded));
  Object.assign(process.env, {
    RULES_DIR: rulesDir,
    RULE_SOURCES: ruleSources,
    CLAIMS_TABLE: names.claims,
    RECORDS_TABLE: names.records,
    JOURNAL_TABLE: names.journal,
    DYNAMODB_ENDPOINT: endpoint,
    [PROVIDER_CLIENTS_ENV]: JSON.stringify([
      { clientId: providerSystem.clientId, apiKeyId: providerSystem.apiKeyId, npis: providerSystem.npis },
    ]),
  });

  const raw = createLocalClient(endpoint);
  const fresh = (await createTables(raw, names)).includes(names.journal);
  raw.destroy();

  const { appContext } = await import('#handlers/app-context.ts');
  const { activeRuleSet } = await import('#handlers/rule-set-context.ts');
  const context = await appContext();
  // Load, check and journal the rule set's activation now rather than on the first claim.
  await activeRuleSet();
  const seeded = options.seed && fresh;
  if (seeded) await seedDemo(context);

  // Integration runs on its own thread here; in the cloud the journal table's stream triggers it.
  const key = loadOrCreateJournalKey(options.stateDir, LOCAL_JOURNAL_ORIGIN);
  const integrator = await startIntegratorThread({
    stateDir: options.stateDir,
    origin: LOCAL_JOURNAL_ORIGIN,
  });

  const issuer = await devIssuer(options.stateDir);
  const extra = new Map((options.extraRoutes ?? []).map((e) => [e.route, e.handler]));
  const server: Server = createLocalServer({
    routes: [...routes, ...extra.keys()],
    verifyToken: (token) => issuer.verify(token),
    apiKeys: new Map([[providerSystem.apiKey, providerSystem.apiKeyId]]),
    handlerFor: async (route) => {
      const own = extra.get(route);
      if (own) return own;
      const module = (await import(/* @vite-ignore */ `../handlers/${route.module}`)) as Record<
        string,
        LambdaHandler
      >;
      const handler = module[HANDLER_EXPORT];
      if (!handler) throw new Error(`${route.module} does not export ${HANDLER_EXPORT}`);
      return handler;
    },
  });
  await new Promise<void>((done) => server.listen(options.port, '127.0.0.1', done));
  const url = `http://127.0.0.1:${listeningPort(server)}`;
  writeFileSync(
    join(options.stateDir, LOCAL_STATE_FILE),
    `${JSON.stringify(
      {
        apiUrl: url,
        dynamoEndpoint: endpoint,
        tablePrefix,
        origin: LOCAL_JOURNAL_ORIGIN,
        verifierKey: key.verifierKey,
      },
      null,
      2,
    )}\n`,
  );
  return {
    url,
    issuer,
    providerSystem: {
      clientId: providerSystem.clientId,
      apiKey: providerSystem.apiKey,
      npis: providerSystem.npis,
    },
    verifierKey: key.verifierKey,
    keyCreated: key.created,
    integrator,
    seeded,
    dynamoEndpoint: endpoint,
    tablePrefix,
    stop: async () => {
      await integrator.stop();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      await dynamo?.stop();
    },
  };
}
