import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Identity, Role } from '#claims/identity.ts';
import { npiCheckDigitValid } from '#engine/npi.ts';
import { once } from '#functions/once.ts';
import { log } from './logger.ts';

const knownRoles: readonly Role[] = ['provider', 'analyst', 'rules-admin'];

/** The Cognito resource server and its scopes granted to provider systems (client credentials). */
export const PROVIDER_RESOURCE_SERVER = 'claimledger';
export const PROVIDER_SCOPE_NAMES = ['claims.write', 'claims.read'] as const;
export type ProviderScopeName = (typeof PROVIDER_SCOPE_NAMES)[number];
/** A scope as it appears in an access token's `scope` claim and on API methods. */
export const providerScope = (name: ProviderScopeName) => `${PROVIDER_RESOURCE_SERVER}/${name}`;
const providerScopes: ReadonlySet<string> = new Set(PROVIDER_SCOPE_NAMES.map(providerScope));

/**
 * The environment variable that carries the provider clients to the functions serving provider
 * routes: a JSON array of `{clientId, apiKeyId, npis}` (NPIs are public identifiers, not PHI).
 */
export const PROVIDER_CLIENTS_ENV = 'PROVIDER_CLIENTS';

/** What a configured provider system may do: bill for these NPIs, using this API key. */
export interface ProviderClientBinding {
  apiKeyId: string;
  npis: readonly string[];
}
export type ProviderClientMap = ReadonlyMap<string, ProviderClientBinding>;

/** Cognito app client ids and API Gateway key ids are alphanumeric. */
const ID = /^[A-Za-z0-9]{1,128}$/;

/** One well-formed map entry, or null. Checked by hand: no schema library in every handler's bundle. */
function bindingOf(entry: unknown): [string, ProviderClientBinding] | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
  const keys = Object.keys(entry);
  if (keys.length !== 3 || !['clientId', 'apiKeyId', 'npis'].every((key) => keys.includes(key))) return null;
  const { clientId, apiKeyId, npis } = entry as Record<string, unknown>;
  if (typeof clientId !== 'string' || !ID.test(clientId)) return null;
  if (typeof apiKeyId !== 'string' || !ID.test(apiKeyId)) return null;
  if (!Array.isArray(npis) || npis.length === 0) return null;
  if (!npis.every((npi): npi is string => typeof npi === 'string' && npiCheckDigitValid(npi))) return null;
  return [clientId, { apiKeyId, npis: Object.freeze([...new Set(npis)]) }];
}

/**
 * Parses the provider-client map. Never throws: anything malformed (bad JSON, a wrong shape, a
 * bad NPI, a client listed twice) gives an empty map with `malformed`, so a bad deployment
 * recognises no provider system at all rather than some of them wrongly. Unset is empty.
 */
export function parseProviderClients(raw: unknown): { clients: ProviderClientMap; malformed: boolean } {
  const empty = new Map<string, ProviderClientBinding>();
  if (raw === undefined || raw === '') return { clients: empty, malformed: false };
  if (typeof raw !== 'string') return { clients: empty, malformed: true };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { clients: empty, malformed: true };
  }
  if (!Array.isArray(json)) return { clients: empty, malformed: true };
  const clients = new Map<string, ProviderClientBinding>();
  for (const entry of json) {
    const binding = bindingOf(entry);
    if (binding === null || clients.has(binding[0])) return { clients: empty, malformed: true };
    clients.set(...binding);
  }
  return { clients, malformed: false };
}

/** The map from this function's environment, read and validated once per container. */
export const configuredProviderClients = once((): ProviderClientMap => {
  const { clients, malformed } = parseProviderClients(process.env[PROVIDER_CLIENTS_ENV]);
  if (malformed) {
    log('warn', {
      component: 'identity',
      message: `${PROVIDER_CLIENTS_ENV} is malformed: no provider system is recognised`,
    });
  }
  return clients;
});

/**
 * Reads the caller from `requestContext.authorizer.claims`, where API Gateway's Cognito
 * authorizer (and the local server, identically) puts the verified token's claims as strings.
 * Returns null when no verified claims are present.
 *
 * A user-pool token (a person) gives its `cognito:groups` as roles and `custom:npi` as NPIs;
 * groups arrive as "a,b", "[a b]" or a JSON array depending on the token; all are accepted.
 *
 * A token whose `client_id` is a configured provider client is a provider system's
 * client-credentials access token: it is the `provider` role with that client's NPIs only if it
 * is an access token issued to the client itself (`sub` = `client_id`), carries a provider scope
 * and came with that client's own API key; otherwise it gets no role at all (403 downstream).
 */
export function identityFrom(
  event: APIGatewayProxyEvent,
  providerClients: ProviderClientMap = configuredProviderClients(),
): Identity | null {
  const claims = event.requestContext?.authorizer?.claims as Record<string, unknown> | undefined;
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub === '') return null;
  const clientId = claims?.client_id;
  const client = typeof clientId === 'string' ? providerClients.get(clientId) : undefined;
  if (client !== undefined) {
    const granted =
      sub === clientId &&
      claims?.token_use === 'access' &&
      scopesOf(claims?.scope).some((scope) => providerScopes.has(scope)) &&
      event.requestContext?.identity?.apiKeyId === client.apiKeyId;
    return granted ? { sub, roles: ['provider'], npis: [...client.npis] } : { sub, roles: [], npis: [] };
  }
  return {
    sub,
    roles: listClaim(claims?.['cognito:groups']).filter((g): g is Role =>
      (knownRoles as string[]).includes(g),
    ),
    npis: listClaim(claims?.['custom:npi']).filter((n) => /^\d{10}$/.test(n)),
  };
}

/** An access token's `scope` claim: space-separated. */
function scopesOf(value: unknown): string[] {
  return typeof value === 'string' ? value.split(' ').filter(Boolean) : [];
}

function listClaim(value: unknown): string[] {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value !== 'string') return [];
  return value
    .replace(/^\[|\]$/g, '')
    .split(/[\s,]+/)
    .map((s) => s.replace(/^"|"$/g, ''))
    .filter(Boolean);
}
