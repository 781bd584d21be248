import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Method } from 'aws-cdk-lib/aws-apigateway';
import { beforeAll, describe, expect, it } from 'vitest';
import { npiCheckDigit } from '../../functions/engine/npi.ts';
import { routes } from '../../functions/handlers/routes.ts';
import { PROVIDER_CLIENTS_ENV, parseProviderClients } from '../../functions/http/identity.ts';
import {
  API_STAGE_THROTTLE,
  PROVIDER_CLIENT_DEFAULTS,
  type ProviderClientConfig,
  providerClientsOf,
} from '../../infra/stage.ts';
import { logicalId, ofType, resourcesOf, type Synthesized, synthesizeWithoutBundling } from './synth.ts';

/** Three systems: one on the defaults, two with their own throttle and quota. */
const CLIENTS: ProviderClientConfig[] = [
  { name: 'riverside-clinic', npis: ['1234567893'] },
  {
    name: 'lakeside-ortho',
    npis: ['1452637980', '1234567893'],
    throttle: { rateLimit: 25, burstLimit: 50 },
    quota: { limit: 300_000, period: 'MONTH' },
  },
  {
    name: 'night-batch',
    npis: ['1003005315'],
    throttle: { rateLimit: 2 },
    quota: { limit: 500, period: 'DAY' },
  },
];
const EXPECTED = [
  { name: 'riverside-clinic', id: 'RiversideClinic', rate: 10, burst: 20, limit: 10_000, period: 'DAY' },
  { name: 'lakeside-ortho', id: 'LakesideOrtho', rate: 25, burst: 50, limit: 300_000, period: 'MONTH' },
  { name: 'night-batch', id: 'NightBatch', rate: 2, burst: 4, limit: 500, period: 'DAY' },
];

/** The modules whose handler lets the `provider` role in, read from the handler source. */
function providerModules(): string[] {
  return routes
    .filter((route) => {
      const source = readFileSync(
        join(import.meta.dirname, '../../functions/handlers', route.module),
        'utf8',
      );
      const roles = /httpHandler\(\s*\[([^\]]*)\]/.exec(source)?.[1] ?? '';
      return /'provider'/.test(roles);
    })
    .map((route) => route.module);
}

/**
 * The PROVIDER_CLIENTS value as the function would see it once deployed: every
 * `Fn::ImportValue` replaced by a made-up alphanumeric id, remembered by export name.
 */
function resolveMap(value: unknown, ids: Map<string, string>): string {
  if (typeof value === 'string') return value;
  const [separator, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const name = (part as { 'Fn::ImportValue': string })['Fn::ImportValue'];
      if (!ids.has(name)) ids.set(name, `id${ids.size}x`);
      return ids.get(name)!;
    })
    .join(separator);
}

describe('provider clients: an app client, an API key and a usage plan each', () => {
  let synth: Synthesized;
  beforeAll(() => {
    // Synthesized with the cdk-nag packs, so this also proves several clients add no finding.
    synth = synthesizeWithoutBundling('test', { providerClients: CLIENTS });
  });

  it('reports no unacknowledged cdk-nag finding with several clients', () => {
    const report = JSON.parse(
      readFileSync(join(synth.assemblyDirectory, 'validation-report.json'), 'utf8'),
    ) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });

  it('creates one client-credentials app client per configured client, and no user sign-in through it', () => {
    const machine = ofType(synth.statefulTemplate, 'AWS::Cognito::UserPoolClient').filter(
      ([, c]) => c.Properties.GenerateSecret === true,
    );
    expect(machine.map(([, c]) => c.Properties.ClientName).sort()).toEqual(
      EXPECTED.map((c) => `claimledger-test-${c.name}`).sort(),
    );
    for (const [id, client] of machine) {
      expect(client.Properties.AllowedOAuthFlows, id).toEqual(['client_credentials']);
      expect(client.Properties.ExplicitAuthFlows, id).toEqual(['ALLOW_REFRESH_TOKEN_AUTH']);
      const scopes = JSON.stringify(client.Properties.AllowedOAuthScopes);
      expect(scopes, id).toMatch(/"\/claims\.write"/);
      expect(scopes, id).toMatch(/"\/claims\.read"/);
    }
    synth.statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 1);
  });

  it('creates one API key and one usage plan per client, with its throttle and quota, bound to the provider API stage', () => {
    const keys = ofType(synth.statefulTemplate, 'AWS::ApiGateway::ApiKey');
    expect(keys.map(([, k]) => k.Properties.Name).sort()).toEqual(
      EXPECTED.map((c) => `claimledger-test-${c.name}`).sort(),
    );
    // No fixed key value in the template: CloudFormation generates each one.
    for (const [, key] of keys) expect(key.Properties.Value).toBeUndefined();

    const plans = ofType(synth.statelessTemplate, 'AWS::ApiGateway::UsagePlan');
    expect(plans).toHaveLength(EXPECTED.length);
    const planKeys = ofType(synth.statelessTemplate, 'AWS::ApiGateway::UsagePlanKey');
    expect(planKeys).toHaveLength(EXPECTED.length);
    const stage = logicalId(synth.stateless.providerApi.deploymentStage);
    for (const expected of EXPECTED) {
      const [planId, plan] = plans.find(
        ([, p]) => p.Properties.UsagePlanName === `claimledger-test-${expected.name}`,
      )!;
      expect(plan.Properties).toMatchObject({
        Throttle: { RateLimit: expected.rate, BurstLimit: expected.burst },
        Quota: { Limit: expected.limit, Period: expected.period },
        ApiStages: [{ ApiId: { Ref: logicalId(synth.stateless.providerApi) }, Stage: { Ref: stage } }],
      });
      // Exactly one key in the plan, and it is this client's key.
      const bound = planKeys.filter(
        ([, k]) => JSON.stringify(k.Properties.UsagePlanId) === JSON.stringify({ Ref: planId }),
      );
      expect(bound).toHaveLength(1);
      expect(JSON.stringify(bound[0]![1].Properties.KeyId)).toContain(`ProviderApiKey${expected.id}`);
    }
    // The main API is in no usage plan: people are not metered per key.
    for (const [, plan] of plans) {
      expect(JSON.stringify(plan.Properties.ApiStages)).not.toContain(logicalId(synth.stateless.api));
    }
  });

  it('outputs each client id and API key id for the deploy steps', () => {
    const outputs = Object.keys((synth.statefulTemplate.toJSON() as { Outputs: object }).Outputs);
    for (const { id } of EXPECTED) {
      expect(outputs).toContain(`ProviderClient${id}Id`);
      expect(outputs).toContain(`ProviderClient${id}ApiKeyId`);
    }
  });

  it('serves exactly the provider routes on the provider API, each with its scope and an API key required', () => {
    expect(
      routes
        .filter((route) => route.providerScope)
        .map((route) => route.module)
        .sort(),
    ).toEqual(providerModules().sort());
    const template = resourcesOf(synth.statelessTemplate);
    const describe = (method: Method) => {
      const props = template[logicalId(method)]!.Properties;
      return {
        route: `${method.httpMethod} ${method.resource.path}`,
        apiKeyRequired: props.ApiKeyRequired ?? false,
        scopes: props.AuthorizationScopes,
        auth: props.AuthorizationType,
      };
    };
    const provider = synth.stateless.providerApi.methods.map(describe);
    const expected = routes
      .filter((route) => route.providerScope)
      .map((route) => ({
        route: `${route.method} ${route.path}`,
        apiKeyRequired: true,
        scopes: [`claimledger/${route.method === 'GET' ? 'claims.read' : 'claims.write'}`],
        auth: 'COGNITO_USER_POOLS',
      }));
    expect(provider.sort((a, b) => a.route.localeCompare(b.route))).toEqual(
      expected.sort((a, b) => a.route.localeCompare(b.route)),
    );
    // The people's API: every route as before, no API key and no scopes (ID tokens) anywhere.
    const people = synth.stateless.api.methods.map(describe);
    expect(people).toHaveLength(routes.length);
    for (const method of people) {
      expect(method.apiKeyRequired, method.route).toBe(false);
      expect(method.scopes, method.route).toBeUndefined();
    }
    // Every method in the template belongs to one of the two APIs.
    expect(ofType(synth.statelessTemplate, 'AWS::ApiGateway::Method')).toHaveLength(
      people.length + provider.length,
    );
  });

  it('throttles both API stages by default, and answers a bad key or a spent quota in problem+json', () => {
    for (const api of [synth.stateless.api, synth.stateless.providerApi]) {
      const stage = resourcesOf(synth.statelessTemplate)[logicalId(api.deploymentStage)]!;
      expect(stage.Properties.MethodSettings).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: API_STAGE_THROTTLE.rateLimit,
            ThrottlingBurstLimit: API_STAGE_THROTTLE.burstLimit,
          }),
        ]),
      );
    }
    const responses = ofType(synth.statelessTemplate, 'AWS::ApiGateway::GatewayResponse')
      .map(([, r]) => r.Properties)
      .filter(
        (r) =>
          JSON.stringify(r.RestApiId) === JSON.stringify({ Ref: logicalId(synth.stateless.providerApi) }),
      );
    expect(responses).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ResponseType: 'INVALID_API_KEY', StatusCode: '403' }),
        expect.objectContaining({ ResponseType: 'QUOTA_EXCEEDED', StatusCode: '429' }),
        expect.objectContaining({ ResponseType: 'THROTTLED', StatusCode: '429' }),
      ]),
    );
  });

  it('gives the client → NPI map to the functions of provider routes only, in the form identity.ts reads', () => {
    const template = resourcesOf(synth.statelessTemplate);
    const variables = (fn: { node: unknown }) =>
      (template[logicalId(fn as never)]!.Properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
    for (const [route, fn] of synth.stateless.functions) {
      expect(PROVIDER_CLIENTS_ENV in variables(fn), route.module).toBe(route.providerScope !== undefined);
    }
    expect(PROVIDER_CLIENTS_ENV in variables(synth.stateless.integrator)).toBe(false);
    expect(PROVIDER_CLIENTS_ENV in variables(synth.stateless.checkpointPublisher)).toBe(false);

    const ids = new Map<string, string>();
    const submit = [...synth.stateless.functions].find(([r]) => r.module === 'submit-claim.handler.ts')![1];
    const raw = resolveMap(variables(submit)[PROVIDER_CLIENTS_ENV], ids);
    const { clients, malformed } = parseProviderClients(raw);
    expect(malformed).toBe(false);
    expect(clients.size).toBe(CLIENTS.length);
    const idOf = (exportPart: string) => [...ids].find(([name]) => name.includes(exportPart))![1];
    for (const [i, expected] of EXPECTED.entries()) {
      // Each client id (an import of the app client's ref) comes with its own key and NPIs.
      const binding = clients.get(idOf(`ProviderClient${expected.id}`));
      expect(binding, expected.name).toEqual({
        apiKeyId: idOf(`ProviderApiKey${expected.id}`),
        npis: CLIENTS[i]!.npis,
      });
    }
    // Every provider function gets the same map.
    for (const [route, fn] of synth.stateless.functions) {
      if (!route.providerScope) continue;
      expect(variables(fn)[PROVIDER_CLIENTS_ENV], route.module).toEqual(
        variables(submit)[PROVIDER_CLIENTS_ENV],
      );
    }
  });
});

describe('provider clients by stage', () => {
  it('gives dev one demo client on the defaults and prod none until configured', () => {
    const dev = synthesizeWithoutBundling('dev');
    dev.statelessTemplate.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    dev.statelessTemplate.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'claimledger-dev-demo-clinic',
      Throttle: {
        RateLimit: PROVIDER_CLIENT_DEFAULTS.throttle.rateLimit,
        BurstLimit: PROVIDER_CLIENT_DEFAULTS.throttle.burstLimit,
      },
      Quota: { Limit: PROVIDER_CLIENT_DEFAULTS.quota.limit, Period: PROVIDER_CLIENT_DEFAULTS.quota.period },
    });
    expect(dev.stateful.stage.providerClients.map((c) => c.npis)).toEqual([['1234567893']]);

    const prod = synthesizeWithoutBundling('prod');
    expect(prod.stateful.stage.providerClients).toEqual([]);
    prod.statelessTemplate.resourceCountIs('AWS::ApiGateway::UsagePlan', 0);
    prod.statefulTemplate.resourceCountIs('AWS::ApiGateway::ApiKey', 0);
    // The provider API still exists, and still requires a key on every method: nobody gets in.
    for (const [, method] of ofType(prod.statelessTemplate, 'AWS::ApiGateway::Method')) {
      if (method.Properties.AuthorizationScopes !== undefined)
        expect(method.Properties.ApiKeyRequired).toBe(true);
    }
    const submit = [...prod.stateless.functions].find(([r]) => r.module === 'submit-claim.handler.ts')![1];
    const env = resourcesOf(prod.statelessTemplate)[logicalId(submit)]!.Properties.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(env.Variables[PROVIDER_CLIENTS_ENV]).toBe('[]');
  });

  it('takes the clients from -c providerClients as JSON text too', () => {
    const synth = synthesizeWithoutBundling('dev', {
      providerClients: JSON.stringify([
        { name: 'a', npis: ['1234567893'] },
        { name: 'b', npis: ['1452637980'] },
      ]),
    });
    synth.statelessTemplate.resourceCountIs('AWS::ApiGateway::UsagePlan', 2);
    synth.statefulTemplate.resourceCountIs('AWS::ApiGateway::ApiKey', 2);
  });

  it('refuses, at synth, a client the stage config gets wrong', () => {
    const ok = { name: 'clinic', npis: ['1234567893'] };
    const refused: [unknown, RegExp][] = [
      [{ name: 'clinic' }, /npis/],
      [[ok, { ...ok, name: 'Clinic' }], /name must be/],
      [[ok, ok], /used twice/],
      [
        [
          { ...ok, name: 'a-1' },
          { ...ok, name: 'a1' },
        ],
        /used twice/,
      ],
      [[{ ...ok, npis: ['1234567890'] }], /not an NPI/],
      [[{ ...ok, npis: ['1234567893', '1234567893'] }], /listed twice/],
      [[{ ...ok, throttle: { rateLimit: 0 } }], /rateLimit/],
      [[{ ...ok, throttle: { rateLimit: API_STAGE_THROTTLE.rateLimit + 1 } }], /rateLimit/],
      [[{ ...ok, throttle: { burstLimit: 1.5 } }], /burstLimit/],
      [[{ ...ok, throttle: { burstLimit: API_STAGE_THROTTLE.burstLimit + 1 } }], /burstLimit/],
      [[{ ...ok, quota: { limit: 100, period: 'WEEK' } }], /period/],
      [[{ ...ok, quota: { limit: -1, period: 'DAY' } }], /limit/],
      [[{ ...ok, secret: 'x' }], /unknown field/],
    ];
    for (const [value, error] of refused) {
      expect(() => providerClientsOf(Array.isArray(value) ? value : [value]), JSON.stringify(value)).toThrow(
        error,
      );
    }
    expect(() => synthesizeWithoutBundling('dev', { providerClients: 'not json' })).toThrow(/JSON array/);
    expect(providerClientsOf([ok])).toEqual([
      { ...ok, throttle: PROVIDER_CLIENT_DEFAULTS.throttle, quota: PROVIDER_CLIENT_DEFAULTS.quota },
    ]);
  });

  it('refuses a map too large for the Lambda environment', () => {
    // Distinct valid NPIs: nine digits and their check digit.
    const npis = Array.from({ length: 40 }, (_, i) => String(100_000_000 + i));
    const clients = Array.from({ length: 8 }, (_, c) => ({
      name: `clinic-${c}`,
      npis: npis.map((nine) => nine + String(npiCheckDigit(nine))),
    }));
    expect(() => providerClientsOf(clients)).toThrow(/bytes of Lambda environment/);
  });
});
