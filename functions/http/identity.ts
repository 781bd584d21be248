import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Identity, Role } from '#claims/identity.ts';

const knownRoles: readonly Role[] = ['provider', 'analyst', 'rules-admin'];

/**
 * Reads the caller from `requestContext.authorizer.claims`, where API Gateway's Cognito
 * authorizer (and the local server, identically) puts the verified token's claims as strings.
 * Groups arrive as "a,b", "[a b]" or a JSON array depending on the token; all are accepted.
 * Returns null when no verified claims are present.
 */
export function identityFrom(event: APIGatewayProxyEvent): Identity | null {
  const claims = event.requestContext?.authorizer?.claims as Record<string, unknown> | undefined;
  const sub = claims?.sub;
  if (typeof sub !== 'string' || sub === '') return null;
  return {
    sub,
    roles: listClaim(claims?.['cognito:groups']).filter((g): g is Role =>
      (knownRoles as string[]).includes(g),
    ),
    npis: listClaim(claims?.['custom:npi']).filter((n) => /^\d{10}$/.test(n)),
  };
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
