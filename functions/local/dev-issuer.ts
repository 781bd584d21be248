import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, jwtVerify, SignJWT } from 'jose';
import type { Role } from '#claims/identity.ts';

/** The local stand-in for the Cognito user pool: same claims, a key of its own. */
export const DEV_ISSUER = 'claimledger-dev-issuer';
export const DEV_AUDIENCE = 'claimledger-local';
const ALG = 'ES256';

export interface DevIssuer {
  mint(options: { sub: string; roles: Role[]; npis?: string[]; ttlSeconds?: number }): Promise<string>;
  /**
   * An access token as Cognito issues one to an app client by the client-credentials grant:
   * `sub` and `client_id` are the client, `scope` its granted scopes, no groups and no NPIs.
   */
  mintClientCredentials(options: {
    clientId: string;
    scopes: readonly string[];
    ttlSeconds?: number;
  }): Promise<string>;
  /** Verifies a bearer token as API Gateway's Cognito authorizer would; throws if invalid. */
  verify(token: string): Promise<JWTPayload>;
}

/**
 * Loads the dev signing key from `stateDir` or creates it on first use, so tokens minted by
 * `claimledger token` keep working against a server started later from the same directory.
 */
export async function devIssuer(stateDir: string): Promise<DevIssuer> {
  const file = join(stateDir, 'dev-issuer-key.json');
  let jwk: JWK;
  if (existsSync(file)) {
    jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair(ALG, { extractable: true });
    jwk = await exportJWK(privateKey);
    mkdirSync(stateDir, { recursive: true });
    writeFileSync(file, JSON.stringify(jwk), { mode: 0o600 });
  }
  const privateKey = await importJWK(jwk, ALG);
  const { d: _secret, ...publicJwk } = jwk;
  const publicKey = await importJWK(publicJwk, ALG);
  const sign = (claims: JWTPayload, sub: string, ttlSeconds: number) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(privateKey);
  return {
    mint: ({ sub, roles, npis = [], ttlSeconds = 12 * 3600 }) =>
      sign(
        {
          'cognito:groups': roles,
          ...(npis.length > 0 ? { 'custom:npi': npis.join(',') } : {}),
          token_use: 'id',
        },
        sub,
        ttlSeconds,
      ),
    // Cognito's client-credentials tokens last an hour by default.
    mintClientCredentials: ({ clientId, scopes, ttlSeconds = 3600 }) =>
      sign({ client_id: clientId, scope: scopes.join(' '), token_use: 'access' }, clientId, ttlSeconds),
    verify: async (token) =>
      (
        await jwtVerify(token, publicKey, {
          issuer: DEV_ISSUER,
          audience: DEV_AUDIENCE,
          algorithms: [ALG],
          // Cognito always sets these; a token without an expiry must not live forever here either.
          requiredClaims: ['exp', 'iat', 'sub'],
        })
      ).payload,
  };
}
