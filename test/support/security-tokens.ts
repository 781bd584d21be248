import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, type JWTPayload, SignJWT } from 'jose';
import { demoProviders } from '../../functions/local/demo-seed.ts';
import { DEV_AUDIENCE, DEV_ISSUER } from '../../functions/local/dev-issuer.ts';

const b64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token the local authorizer must refuse with 401, and why. */
export interface BadToken {
  kind: string;
  /** The `Authorization` header to send; undefined sends none. */
  authorization: string | undefined;
}

export interface TokenForge {
  /** Signs `claims` with the dev issuer's own key (ES256), defaults filled in unless overridden. */
  sign(claims: JWTPayload, options?: { omit?: string[] }): Promise<string>;
  /** Every kind of token an attacker or a broken client could send, each to be refused with 401. */
  badTokens(): Promise<BadToken[]>;
}

/** A provider's claims as the dev issuer mints them, valid for an hour. */
export function providerClaims(): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'riverside-billing',
    'cognito:groups': ['provider'],
    'custom:npi': demoProviders.familyClinic.npi,
    token_use: 'id',
    iss: DEV_ISSUER,
    aud: DEV_AUDIENCE,
    iat: now,
    exp: now + 3600,
  };
}

/**
 * Loads the dev issuer's key pair from the stack's state directory (functions/local/dev-issuer.ts
 * writes it there), so tests can sign exactly the claims they need with the trusted key.
 */
export async function tokenForge(stateDir: string): Promise<TokenForge> {
  const jwk = JSON.parse(readFileSync(join(stateDir, 'dev-issuer-key.json'), 'utf8')) as JWK;
  const privateKey = await importJWK(jwk, 'ES256');
  const { d: _secret, ...publicJwk } = jwk;

  const sign = async (claims: JWTPayload, options: { omit?: string[] } = {}) => {
    const payload: JWTPayload = { ...providerClaims(), ...claims };
    for (const name of options.omit ?? []) delete payload[name];
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', typ: 'JWT' }).sign(privateKey);
  };

  const badTokens = async (): Promise<BadToken[]> => {
    const now = Math.floor(Date.now() / 1000);
    const valid = await sign({});
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const analystPayload = b64url({ ...providerClaims(), 'cognito:groups': ['analyst'] });

    // An attacker's own key pair: a well-formed ES256 token the service never issued.
    const attacker = await generateKeyPair('ES256', { extractable: true });
    const foreign = await new SignJWT(providerClaims())
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .sign(attacker.privateKey);
    // The same, announcing the attacker's key in the header (CVE-2018-0114 style).
    const embedded = await new SignJWT(providerClaims())
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', jwk: await exportJWK(attacker.publicKey) })
      .sign(attacker.privateKey);
    // Algorithm confusion: HS256 keyed with the issuer's *public* key, in the forms a
    // verifier that trusts the header's alg might use as the HMAC secret.
    const pem = createPublicKey({ key: publicJwk as JsonWebKey, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const hs256 = (secret: string) =>
      new SignJWT(providerClaims())
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .sign(new TextEncoder().encode(secret));

    const bearer = (token: string) => `Bearer ${token}`;
    return [
      { kind: 'missing', authorization: undefined },
      { kind: 'empty bearer', authorization: 'Bearer ' },
      { kind: 'other scheme', authorization: `Basic ${Buffer.from('analyst:analyst').toString('base64')}` },
      { kind: 'token without scheme', authorization: valid },
      { kind: 'garbage', authorization: bearer('not-a-jwt') },
      { kind: 'three empty segments', authorization: bearer('..') },
      { kind: 'expired', authorization: bearer(await sign({ iat: now - 7200, exp: now - 60 })) },
      { kind: 'not yet valid', authorization: bearer(await sign({ nbf: now + 3600 })) },
      { kind: 'wrong issuer', authorization: bearer(await sign({ iss: 'https://evil.example/issuer' })) },
      { kind: 'wrong audience', authorization: bearer(await sign({ aud: 'some-other-client' })) },
      { kind: 'missing sub', authorization: bearer(await sign({}, { omit: ['sub'] })) },
      { kind: 'empty sub', authorization: bearer(await sign({ sub: '' })) },
      { kind: 'signed by another key', authorization: bearer(foreign) },
      { kind: 'embedded attacker jwk', authorization: bearer(embedded) },
      {
        kind: 'alg none',
        authorization: bearer(`${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(providerClaims())}.`),
      },
      {
        kind: 'alg None (case variant)',
        authorization: bearer(`${b64url({ alg: 'None', typ: 'JWT' })}.${b64url(providerClaims())}.`),
      },
      { kind: 'HS256 keyed with the public PEM', authorization: bearer(await hs256(pem)) },
      {
        kind: 'HS256 keyed with the public JWK',
        authorization: bearer(await hs256(JSON.stringify(publicJwk))),
      },
      { kind: 'tampered payload', authorization: bearer(`${header}.${analystPayload}.${signature}`) },
      { kind: 'signature stripped', authorization: bearer(`${header}.${payload}.`) },
      {
        kind: 'signature of another token',
        authorization: bearer(`${header}.${payload}.${(await sign({ sub: 'someone-else' })).split('.')[2]}`),
      },
    ];
  };

  return { sign, badTokens };
}
