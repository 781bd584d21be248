import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  identityFrom,
  PROVIDER_CLIENTS_ENV,
  type ProviderClientMap,
  parseProviderClients,
} from '../../functions/http/identity.ts';

const CLIENT = '4tq1bsbmnhhcb6v2pnv1oe1vds';
const KEY = 'a1b2c3d4e5';
const OTHER_CLIENT = '7d8e9f0a1b2c3d4e5f6a7b8c9d';
const OTHER_KEY = 'z9y8x7w6v5';
const MAP_TEXT = JSON.stringify([
  { clientId: CLIENT, apiKeyId: KEY, npis: ['1234567893', '1452637980'] },
  { clientId: OTHER_CLIENT, apiKeyId: OTHER_KEY, npis: ['1003005315'] },
]);
/** The configured provider systems, parsed once. */
const CLIENTS: ProviderClientMap = parseProviderClients(MAP_TEXT).clients;

/** An API Gateway event with the authorizer's claims and the API key id it saw. */
const event = (claims: Record<string, unknown> | undefined, apiKeyId: string | null = KEY) =>
  ({
    requestContext: {
      authorizer: claims ? { claims } : null,
      identity: { apiKeyId },
    },
  }) as unknown as APIGatewayProxyEvent;

/** A client-credentials access token's claims as Cognito issues them. */
const machineClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: CLIENT,
  client_id: CLIENT,
  token_use: 'access',
  scope: 'claimledger/claims.write claimledger/claims.read',
  iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_example',
  version: '2',
  jti: 'f0e9d8c7',
  ...overrides,
});

const noRole = { sub: CLIENT, roles: [], npis: [] };

describe('client-credentials tokens of configured provider clients', () => {
  it('are the provider role with exactly the client’s NPIs', () => {
    expect(identityFrom(event(machineClaims()), CLIENTS)).toEqual({
      sub: CLIENT,
      roles: ['provider'],
      npis: ['1234567893', '1452637980'],
    });
    expect(
      identityFrom(event(machineClaims({ sub: OTHER_CLIENT, client_id: OTHER_CLIENT }), OTHER_KEY), CLIENTS),
    ).toEqual({ sub: OTHER_CLIENT, roles: ['provider'], npis: ['1003005315'] });
  });

  it('need only one provider scope: the method’s scope is API Gateway’s to check', () => {
    for (const scope of [
      'claimledger/claims.read',
      'claimledger/claims.write',
      'openid claimledger/claims.read',
    ]) {
      expect(identityFrom(event(machineClaims({ scope })), CLIENTS)?.roles, scope).toEqual(['provider']);
    }
  });

  it('get no role without a provider scope', () => {
    for (const scope of [
      undefined,
      '',
      'aws.cognito.signin.user.admin',
      'claimledger/claims.delete',
      'claimledger/claims.writer',
      'other/claimledger/claims.write',
      'claimledger/claims.write,claimledger/claims.read',
      'CLAIMLEDGER/CLAIMS.WRITE',
    ]) {
      expect(identityFrom(event(machineClaims({ scope })), CLIENTS), String(scope)).toEqual(noRole);
    }
    expect(identityFrom(event(machineClaims({ scope: ['claimledger/claims.write'] })), CLIENTS)).toEqual(
      noRole,
    );
  });

  it('get no role with another client’s API key, or none', () => {
    expect(identityFrom(event(machineClaims(), OTHER_KEY), CLIENTS)).toEqual(noRole);
    expect(identityFrom(event(machineClaims(), null), CLIENTS)).toEqual(noRole);
    const withoutIdentity = {
      requestContext: { authorizer: { claims: machineClaims() } },
    } as unknown as APIGatewayProxyEvent;
    expect(identityFrom(withoutIdentity, CLIENTS)).toEqual(noRole);
  });

  it('get no role unless issued to the client itself as an access token', () => {
    // A person who signed in through the client: sub is the person, not the client.
    expect(identityFrom(event(machineClaims({ sub: 'person-sub' })), CLIENTS)).toEqual({
      sub: 'person-sub',
      roles: [],
      npis: [],
    });
    expect(identityFrom(event(machineClaims({ token_use: 'id' })), CLIENTS)).toEqual(noRole);
    expect(identityFrom(event(machineClaims({ token_use: undefined })), CLIENTS)).toEqual(noRole);
  });

  it('take neither groups nor custom:npi from the token', () => {
    const claims = machineClaims({ 'cognito:groups': 'analyst,rules-admin', 'custom:npi': '1003005315' });
    expect(identityFrom(event(claims), CLIENTS)).toEqual({
      sub: CLIENT,
      roles: ['provider'],
      npis: ['1234567893', '1452637980'],
    });
    expect(identityFrom(event({ ...claims, scope: 'aws.cognito.signin.user.admin' }), CLIENTS)).toEqual(
      noRole,
    );
  });

  it('of an unknown client get no role, as before', () => {
    const unknown = machineClaims({ sub: 'unknownclient', client_id: 'unknownclient' });
    expect(identityFrom(event(unknown), CLIENTS)).toEqual({ sub: 'unknownclient', roles: [], npis: [] });
    expect(identityFrom(event(machineClaims()), new Map())).toEqual(noRole);
  });
});

describe('user-pool tokens keep working exactly as before', () => {
  it('read groups and NPIs from ID tokens and the console client’s access tokens', () => {
    const person = { sub: 'p', 'cognito:groups': 'provider', 'custom:npi': '1234567893', token_use: 'id' };
    expect(identityFrom(event(person, null), CLIENTS)).toEqual({
      sub: 'p',
      roles: ['provider'],
      npis: ['1234567893'],
    });
    const analystAccess = {
      sub: 'q',
      client_id: 'consoleclient',
      token_use: 'access',
      scope: 'aws.cognito.signin.user.admin',
      'cognito:groups': '[analyst]',
    };
    expect(identityFrom(event(analystAccess, null), CLIENTS)).toEqual({
      sub: 'q',
      roles: ['analyst'],
      npis: [],
    });
    expect(identityFrom(event(undefined), CLIENTS)).toBeNull();
  });

  it('give the same identity whatever provider clients are configured', () => {
    fc.assert(
      fc.property(
        fc.record({
          sub: fc.string({ minLength: 1 }),
          'cognito:groups': fc.oneof(
            fc.constantFrom('provider', 'analyst', '[analyst rules-admin]'),
            fc.string(),
          ),
          'custom:npi': fc.oneof(fc.constant('1234567893,1452637980'), fc.string()),
        }),
        fc.option(fc.string(), { nil: undefined }),
        (claims, mapText) => {
          // No client_id: an ID token.
          expect(identityFrom(event(claims), parseProviderClients(mapText).clients)).toEqual(
            identityFrom(event(claims), new Map()),
          );
        },
      ),
    );
  });
});

describe('the provider-client map', () => {
  it('parses the form the stack writes', () => {
    const { clients: map, malformed } = parseProviderClients(MAP_TEXT);
    expect(malformed).toBe(false);
    expect([...map.keys()]).toEqual([CLIENT, OTHER_CLIENT]);
    expect(map.get(CLIENT)).toEqual({ apiKeyId: KEY, npis: ['1234567893', '1452637980'] });
    expect(parseProviderClients('[]')).toEqual({ clients: new Map(), malformed: false });
    expect(parseProviderClients(undefined)).toEqual({ clients: new Map(), malformed: false });
    expect(parseProviderClients('')).toEqual({ clients: new Map(), malformed: false });
  });

  it('is refused whole when any part of it is malformed', () => {
    const entry = { clientId: CLIENT, apiKeyId: KEY, npis: ['1234567893'] };
    const malformed: unknown[] = [
      '{',
      'null',
      '{}',
      JSON.stringify({ [CLIENT]: ['1234567893'] }),
      JSON.stringify([entry, { ...entry, npis: ['1234567890'] }]),
      JSON.stringify([{ ...entry, npis: [] }]),
      JSON.stringify([{ ...entry, npis: '1234567893' }]),
      JSON.stringify([{ ...entry, npis: [1234567893] }]),
      JSON.stringify([{ ...entry, apiKeyId: undefined }]),
      JSON.stringify([{ ...entry, clientId: '' }]),
      JSON.stringify([{ ...entry, clientId: 'has space' }]),
      JSON.stringify([{ ...entry, role: 'analyst' }]),
      JSON.stringify([entry, entry]),
      42,
      { [CLIENT]: entry },
    ];
    for (const raw of malformed) {
      const parsed = parseProviderClients(raw);
      expect(parsed.malformed, String(raw)).toBe(true);
      expect(parsed.clients.size, String(raw)).toBe(0);
      // So even the well-formed client in it is not recognised.
      expect(identityFrom(event(machineClaims()), parsed.clients)?.roles, String(raw)).toEqual([]);
    }
  });

  it('is read from the environment once, and a malformed one is reported once and recognises nobody', async () => {
    const lines: string[] = [];
    vi.resetModules();
    const logger = await import('../../functions/http/logger.ts');
    const previous = logger.setLogSink((line) => lines.push(line));
    try {
      vi.stubEnv(PROVIDER_CLIENTS_ENV, '[{"clientId":');
      const fresh = await import('../../functions/http/identity.ts');
      expect(fresh.identityFrom(event(machineClaims()))?.roles).toEqual([]);
      // Fixing the variable does not change a running container: the map was read once.
      vi.stubEnv(PROVIDER_CLIENTS_ENV, MAP_TEXT);
      expect(fresh.identityFrom(event(machineClaims()))?.roles).toEqual([]);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'warn', component: 'identity' });

      vi.resetModules();
      const next = await import('../../functions/http/identity.ts');
      expect(next.identityFrom(event(machineClaims()))?.roles).toEqual(['provider']);
    } finally {
      logger.setLogSink(previous);
    }
  });
});

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('bad inputs never throw and never grant a role (property-based)', () => {
  const anyClaimValue = fc.oneof(fc.string(), fc.constantFrom(CLIENT, KEY, 'access', 'id'), fc.anything());
  const anyScope = fc.oneof(
    fc.string(),
    fc
      .array(fc.constantFrom('claimledger/claims.write', 'claimledger/claims.read', 'openid', 'x'))
      .map((s) => s.join(' ')),
    fc.anything(),
  );

  it('parses any text or value without throwing, and every binding it accepts is well formed', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
          fc.anything(),
        ),
        (raw) => {
          const { clients: map, malformed } = parseProviderClients(raw);
          if (malformed) expect(map.size).toBe(0);
          for (const [clientId, binding] of map) {
            expect(clientId).toMatch(/^[A-Za-z0-9]+$/);
            expect(binding.apiKeyId).toMatch(/^[A-Za-z0-9]+$/);
            for (const npi of binding.npis) expect(npi).toMatch(/^\d{10}$/);
          }
        },
      ),
    );
  });

  it('grants the provider role only to a mapped client’s own access token with a provider scope and its key', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constant(MAP_TEXT),
          fc.string(),
          fc.jsonValue().map((v) => JSON.stringify(v)),
        ),
        fc.record(
          {
            sub: anyClaimValue,
            client_id: anyClaimValue,
            token_use: anyClaimValue,
            scope: anyScope,
          },
          { requiredKeys: [] },
        ),
        fc.oneof(fc.constantFrom(KEY, OTHER_KEY, null), fc.string()),
        (mapText, claims, apiKeyId) => {
          const map = parseProviderClients(mapText).clients;
          const identity = identityFrom(event(claims, apiKeyId), map);
          // No groups in these tokens: the provider role can only come from the client mapping.
          if (identity === null) return;
          if (identity.roles.length === 0) {
            expect(identity.npis).toEqual([]);
            return;
          }
          const binding = map.get(claims.client_id as string);
          expect(identity.roles).toEqual(['provider']);
          expect(binding).toBeDefined();
          expect(claims.sub).toBe(claims.client_id);
          expect(claims.token_use).toBe('access');
          expect(apiKeyId).toBe(binding!.apiKeyId);
          expect(String(claims.scope).split(' ')).toEqual(
            expect.arrayContaining([expect.stringMatching(/^claimledger\/claims\.(read|write)$/)]),
          );
          expect(identity.npis).toEqual(binding!.npis);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('never grants a role to an unknown client, whatever else the token says', () => {
    fc.assert(
      fc.property(
        fc.string().filter((id) => id !== CLIENT && id !== OTHER_CLIENT),
        anyScope,
        fc.oneof(fc.constantFrom(KEY, OTHER_KEY, null), fc.string()),
        (clientId, scope, apiKeyId) => {
          const claims = { sub: clientId || 'x', client_id: clientId, token_use: 'access', scope };
          expect(identityFrom(event(claims, apiKeyId), CLIENTS)?.roles).toEqual([]);
        },
      ),
    );
  });

  it('never grants a role through a damaged map, even to a token that is otherwise perfect', () => {
    const entry = { clientId: CLIENT, apiKeyId: KEY, npis: ['1234567893'] };
    const damage = fc.oneof(
      // A field dropped, retyped or added.
      fc.constantFrom('clientId', 'apiKeyId', 'npis').map((field) => {
        const { [field as keyof typeof entry]: _, ...rest } = entry;
        return [rest];
      }),
      fc
        .record({ field: fc.constantFrom('clientId', 'apiKeyId', 'npis'), value: fc.anything() })
        .map(({ field, value }) => [{ ...entry, [field]: value }]),
      fc.string({ minLength: 1 }).map((extra) => [{ ...entry, [`x${extra}`]: 1 }]),
      // An NPI with a wrong check digit, or the client twice.
      fc
        .integer({ min: 0, max: 9 })
        .filter((d) => d !== 3)
        .map((d) => [{ ...entry, npis: [`123456789${d}`] }]),
      fc.constant([entry, { ...entry, apiKeyId: OTHER_KEY }]),
    );
    fc.assert(
      fc.property(damage, fc.boolean(), (value, truncate) => {
        const text = JSON.stringify(value) ?? '';
        const raw = truncate ? text.slice(0, Math.max(0, text.length - 2)) : text;
        const parsed = parseProviderClients(raw);
        // Damage that happens to leave a valid map (e.g. `clientId` retyped to another valid id)
        // must then not be this client: the token below names CLIENT with KEY.
        const identity = identityFrom(event(machineClaims()), parsed.clients);
        if (!parsed.malformed && parsed.clients.get(CLIENT)?.apiKeyId === KEY) return;
        expect(identity?.roles).toEqual([]);
      }),
    );
  });
});
