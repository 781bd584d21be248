import { RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { npiCheckDigitValid } from '../functions/engine/npi.ts';

/** What differs between stages. Everything else is the same in dev and prod. */
export interface StageConfig {
  name: string;
  prod: boolean;
  /** Data-bearing resources (tables, keys, user pool, log groups): kept in prod, dropped elsewhere. */
  removalPolicy: RemovalPolicy;
  /** Object Lock (compliance mode) retention of each published checkpoint version, in days. */
  checkpointRetentionDays: number;
  /**
   * Provider billing systems allowed to call the provider API, each with its own Cognito app
   * client (client-credentials grant), API key and usage plan.
   */
  providerClients: ProviderClient[];
}

/** One provider system as written in the stage config; omitted limits take the defaults below. */
export interface ProviderClientConfig {
  /** Lower-case letters, digits and single dashes, e.g. `riverside-family-clinic`; unique per stage. */
  name: string;
  /** The NPIs this system bills for (10 digits, valid check digit): its tokens act for exactly these. */
  npis: string[];
  /** Steady-state requests per second and burst (token bucket) for this client's API key. */
  throttle?: { rateLimit?: number; burstLimit?: number };
  /** Requests per UTC day or calendar month (UTC) for this client's API key. */
  quota?: { limit: number; period: QuotaPeriod };
}

export type QuotaPeriod = 'DAY' | 'MONTH';

/** A provider client with every default applied. */
export interface ProviderClient {
  name: string;
  npis: string[];
  throttle: { rateLimit: number; burstLimit: number };
  quota: { limit: number; period: QuotaPeriod };
}

/**
 * Stage-wide default method throttling of each API stage. A client's usage plan cannot raise
 * it: API Gateway applies the stricter of the two, so per-client limits above it are refused.
 */
export const API_STAGE_THROTTLE = { rateLimit: 200, burstLimit: 400 } as const;

/** A billing system's limits unless its entry says otherwise: enough for batch submission. */
export const PROVIDER_CLIENT_DEFAULTS = {
  throttle: { rateLimit: 10, burstLimit: 20 },
  quota: { limit: 10_000, period: 'DAY' },
} as const satisfies Pick<ProviderClient, 'throttle' | 'quota'>;

/** The demo clinic of the local seed (functions/local/demo-seed.ts), so dev works out of the box. */
const DEMO_PROVIDER_CLIENT: ProviderClientConfig = { name: 'demo-clinic', npis: ['1234567893'] };

/**
 * Provider systems per stage: add an entry here (or pass `-c providerClients='[...]'`) and
 * deploy. Stages not named here get the demo client, except prod, which gets none by default:
 * a real provider is bound to its NPIs on purpose, never by a default.
 */
const PROVIDER_CLIENTS: Record<string, ProviderClientConfig[]> = {
  dev: [DEMO_PROVIDER_CLIENT],
  prod: [],
};

/**
 * The client → NPI map reaches the provider functions as one environment variable, and Lambda
 * allows 4 KB of environment in all; past this budget the map belongs in a table or SSM.
 */
const PROVIDER_MAP_BUDGET_BYTES = 3_000;

/** Six years: HIPAA's retention period for required documentation (45 CFR 164.316(b)(2)). */
const PROD_CHECKPOINT_RETENTION_DAYS = 6 * 365;

/**
 * The stage's settings; `-c checkpointRetentionDays=N` overrides the Object Lock retention
 * (default: six years in prod, one day elsewhere, since compliance mode cannot be shortened),
 * and `-c providerClients=JSON` the stage's provider clients.
 */
export function stageConfig(scope: Construct, name: string): StageConfig {
  const prod = name === 'prod';
  const raw = scope.node.tryGetContext('checkpointRetentionDays');
  const days = raw === undefined ? (prod ? PROD_CHECKPOINT_RETENTION_DAYS : 1) : Number(raw);
  if (!Number.isSafeInteger(days) || days < 1) {
    throw new Error(`checkpointRetentionDays must be a positive whole number of days, not ${String(raw)}`);
  }
  const clients = scope.node.tryGetContext('providerClients');
  return {
    name,
    prod,
    removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    checkpointRetentionDays: days,
    providerClients: providerClientsOf(
      clients === undefined ? (PROVIDER_CLIENTS[name] ?? [DEMO_PROVIDER_CLIENT]) : contextValue(clients),
    ),
  };
}

/** `-c providerClients=…`: JSON text on the command line, a value already parsed in cdk.json. */
function contextValue(clients: unknown): unknown {
  if (typeof clients !== 'string') return clients;
  try {
    return JSON.parse(clients);
  } catch {
    throw new Error('providerClients must be a JSON array of provider clients');
  }
}

/** Validates the stage's provider clients and applies the defaults; throws (at synth) on any mistake. */
export function providerClientsOf(value: unknown): ProviderClient[] {
  if (!Array.isArray(value)) throw new Error('providerClients must be an array of provider clients');
  const clients = value.map((entry, i) => providerClientOf(entry, i));
  const ids = new Set<string>();
  for (const client of clients) {
    const id = providerClientId(client.name);
    if (ids.has(id)) throw new Error(`provider client ${client.name}: its name is used twice`);
    ids.add(id);
  }
  // Each entry is about {"clientId":<26>,"apiKeyId":<10>,"npis":[...]} once deployed.
  const estimate = clients.reduce((sum, c) => sum + 60 + 13 * c.npis.length, 2);
  if (estimate > PROVIDER_MAP_BUDGET_BYTES) {
    throw new Error(
      `providerClients: the client-to-NPI map would take about ${estimate} bytes of Lambda environment ` +
        `(budget ${PROVIDER_MAP_BUDGET_BYTES}); move the map to a table before adding more clients`,
    );
  }
  return clients;
}

/** The name as a CloudFormation-safe PascalCase id: `riverside-clinic` → `RiversideClinic`. */
export function providerClientId(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

function providerClientOf(entry: unknown, index: number): ProviderClient {
  const where = `providerClients[${index}]`;
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new Error(`${where} must be an object with a name and npis`);
  }
  const { name, npis, throttle, quota, ...rest } = entry as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new Error(`${where}: unknown field(s) ${unknown.join(', ')}`);
  if (typeof name !== 'string' || !/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.length > 48) {
    throw new Error(
      `${where}: name must be 1-48 lower-case letters, digits and single dashes, starting with a letter`,
    );
  }
  const label = `provider client ${name}`;
  if (!Array.isArray(npis) || npis.length === 0) throw new Error(`${label}: npis must list at least one NPI`);
  for (const npi of npis) {
    if (typeof npi !== 'string' || !npiCheckDigitValid(npi)) {
      throw new Error(`${label}: ${String(npi)} is not an NPI (10 digits with a valid check digit)`);
    }
  }
  if (new Set(npis).size !== npis.length) throw new Error(`${label}: an NPI is listed twice`);
  return {
    name,
    npis: [...npis] as string[],
    throttle: throttleOf(label, throttle),
    quota: quotaOf(label, quota),
  };
}

function throttleOf(label: string, value: unknown): ProviderClient['throttle'] {
  if (value === undefined) return { ...PROVIDER_CLIENT_DEFAULTS.throttle };
  if (typeof value !== 'object' || value === null) throw new Error(`${label}: throttle must be an object`);
  const {
    rateLimit = PROVIDER_CLIENT_DEFAULTS.throttle.rateLimit,
    burstLimit,
    ...rest
  } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`${label}: throttle takes only rateLimit and burstLimit`);
  if (typeof rateLimit !== 'number' || !(rateLimit > 0) || rateLimit > API_STAGE_THROTTLE.rateLimit) {
    throw new Error(
      `${label}: throttle.rateLimit must be a number of requests per second above 0 and at most ` +
        `the stage's ${API_STAGE_THROTTLE.rateLimit}`,
    );
  }
  // Unless given, the burst keeps the defaults' ratio: twice the rate, at least 1.
  const burst = burstLimit ?? Math.max(1, Math.ceil(2 * rateLimit));
  if (typeof burst !== 'number' || !Number.isSafeInteger(burst) || burst < 1) {
    throw new Error(`${label}: throttle.burstLimit must be a whole number of requests, at least 1`);
  }
  if (burst > API_STAGE_THROTTLE.burstLimit) {
    throw new Error(
      `${label}: throttle.burstLimit must be at most the stage's ${API_STAGE_THROTTLE.burstLimit}`,
    );
  }
  return { rateLimit, burstLimit: burst };
}

function quotaOf(label: string, value: unknown): ProviderClient['quota'] {
  if (value === undefined) return { ...PROVIDER_CLIENT_DEFAULTS.quota };
  if (typeof value !== 'object' || value === null) throw new Error(`${label}: quota must be an object`);
  const { limit, period, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw new Error(`${label}: quota takes only limit and period`);
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 1) {
    throw new Error(`${label}: quota.limit must be a whole number of requests, at least 1`);
  }
  if (period !== 'DAY' && period !== 'MONTH') throw new Error(`${label}: quota.period must be DAY or MONTH`);
  return { limit, period };
}
