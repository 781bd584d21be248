import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/handlers/routes.ts';
import { POWERTOOLS_ENVIRONMENT, powertoolsVersion } from '../../infra/powertools-layer.ts';
import { StatefulStack } from '../../infra/stateful-stack.ts';
import { ACCESS_LOG_FORMAT, BODY_OPTIONAL_MODULES } from '../../infra/stateless-stack.ts';
import { logicalId, ofType, resourcesOf, type Synthesized, synthesizeWithoutBundling } from './synth.ts';

/** Environment variables a function may carry: names of things, never data about a member. */
const ALLOWED_ENVIRONMENT = new Set([
  'NODE_OPTIONS',
  'CLAIMS_TABLE',
  'RECORDS_TABLE',
  'JOURNAL_TABLE',
  'JOURNAL_PENDING_SHARDS',
  'RULES_DIR',
  'JOURNAL_SIGNING_KEY_ID',
  'JOURNAL_ORIGIN',
  'CHECKPOINT_BUCKET',
  // The shipped rule set's content hash, pinned at synth: see stacks.test.ts.
  'RULE_SET_HASH',
  // Where the rule files' synth-time record lies in the bundle (a path).
  'RULE_SOURCES',
  // Provider clients' ids, API key ids and NPIs (public identifiers): see provider-clients.test.ts.
  'PROVIDER_CLIENTS',
  // Powertools' service name, metrics namespace and log level, and its captures turned off.
  ...Object.keys(POWERTOOLS_ENVIRONMENT),
]);
/** Literal values that would be PHI or a secret: member ids, SSNs, NPIs, dates, emails, keys. */
const PHI_LIKE = [
  /\bM\d{3,}\b/,
  /\b\d{3}-\d{2}-\d{4}\b/,
  /\b\d{10}\b/,
  /\d{4}-\d{2}-\d{2}/,
  /@/,
  /-----BEGIN/,
];

describe('hardening: encryption, retention, logging, alarms (dev stage)', () => {
  let dev: Synthesized;
  beforeAll(() => {
    dev = synthesizeWithoutBundling('dev');
  });

  it('encrypts the tables, queue, topic and every log group with customer-managed KMS keys', () => {
    dev.statefulTemplate.allResourcesProperties('AWS::DynamoDB::Table', {
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: Match.anyValue() },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    dev.statelessTemplate.allResourcesProperties('AWS::SQS::Queue', { KmsMasterKeyId: Match.anyValue() });
    dev.statelessTemplate.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    const logGroups = ofType(dev.statelessTemplate, 'AWS::Logs::LogGroup');
    // One per function, and each API's (people's and provider systems') access and execution logs.
    expect(logGroups).toHaveLength(routes.length + 2 + 2 * 2);
    for (const [id, group] of logGroups) {
      expect(group.Properties.KmsKeyId, id).toBeDefined();
      expect(group.Properties.RetentionInDays, id).toBe(180);
    }
  });

  it('gives every function its own log group, not the deprecated logRetention custom resource', () => {
    const groups = new Set(ofType(dev.statelessTemplate, 'AWS::Logs::LogGroup').map(([id]) => id));
    for (const [id, fn] of ofType(dev.statelessTemplate, 'AWS::Lambda::Function')) {
      const ref = (fn.Properties.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref;
      expect(groups.has(ref ?? ''), id).toBe(true);
    }
    expect(ofType(dev.statelessTemplate, 'Custom::LogRetention')).toEqual([]);
  });

  it('publishes checkpoints to a versioned, KMS-encrypted, TLS-only, private bucket under Object Lock', () => {
    const bucket = dev.statefulTemplate.findResources('AWS::S3::Bucket', {
      Properties: { ObjectLockEnabled: true },
    });
    expect(Object.keys(bucket)).toHaveLength(1);
    const [id, resource] = Object.entries(bucket)[0]!;
    expect(resource.DeletionPolicy).toBe('Retain');
    expect(resource.Properties).toMatchObject({
      VersioningConfiguration: { Status: 'Enabled' },
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 1 } },
      },
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: expect.anything() } },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LoggingConfiguration: { DestinationBucketName: expect.anything() },
    });
    dev.statefulTemplate.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('takes the Object Lock retention from context', () => {
    // The stateful stack alone: enough to see the bucket, and no bundling or cdk-nag run.
    const stateful = (context: Record<string, unknown>) =>
      Template.fromStack(new StatefulStack(new App({ context }), 'retention', { stage: 'dev' }));
    stateful({ checkpointRetentionDays: '30' }).hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 30 } } },
    });
    expect(() => stateful({ checkpointRetentionDays: 'forever' })).toThrow(/checkpointRetentionDays/);
  });

  it('carries no PHI-bearing or unexpected environment variables', () => {
    // Traces and logs never get the event, the response or an error message: they carry PHI.
    expect(POWERTOOLS_ENVIRONMENT).toMatchObject({
      POWERTOOLS_LOGGER_LOG_EVENT: 'false',
      POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
      POWERTOOLS_TRACER_CAPTURE_ERROR: 'false',
    });
    for (const [id, fn] of ofType(dev.statelessTemplate, 'AWS::Lambda::Function')) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      for (const name of Object.keys(POWERTOOLS_ENVIRONMENT)) expect(variables, `${id}`).toHaveProperty(name);
      for (const [name, value] of Object.entries(variables)) {
        expect(ALLOWED_ENVIRONMENT.has(name), `${id}: ${name}`).toBe(true);
        if (name.startsWith('POWERTOOLS_'))
          expect(value, `${id}: ${name}`).toBe(
            POWERTOOLS_ENVIRONMENT[name as keyof typeof POWERTOOLS_ENVIRONMENT],
          );
        // Tokens (table names, key ARNs, the bucket name) are references; literals are checked.
        if (typeof value !== 'string') continue;
        for (const pattern of PHI_LIKE) expect(value, `${id}: ${name}`).not.toMatch(pattern);
      }
    }
  });

  it('gives every function the Powertools layer built from the installed version', () => {
    const version = powertoolsVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    const layers = ofType(dev.statelessTemplate, 'AWS::Lambda::LayerVersion');
    expect(layers).toHaveLength(1);
    const [layerId, layer] = layers[0] as (typeof layers)[number];
    expect(layer.Properties).toMatchObject({
      Description: expect.stringContaining(`Powertools for AWS Lambda (TypeScript) ${version}`),
      CompatibleRuntimes: ['nodejs22.x'],
      CompatibleArchitectures: ['arm64'],
    });
    const functions = ofType(dev.statelessTemplate, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(20);
    for (const [id, fn] of functions) expect(fn.Properties.Layers, id).toEqual([{ Ref: layerId }]);
  });

  it('logs API access as JSON with the route template, never the path, query or caller', () => {
    const fields = JSON.parse(ACCESS_LOG_FORMAT.replace(/:\$context\.[\w.]+/g, ':0')) as Record<
      string,
      unknown
    >;
    expect(Object.keys(fields)).toEqual(
      expect.arrayContaining(['requestId', 'route', 'status', 'latencyMs']),
    );
    expect(ACCESS_LOG_FORMAT).toContain('$context.resourcePath');
    expect(ACCESS_LOG_FORMAT).not.toMatch(
      /\$context\.(path|identity|authorizer|requestOverride)|querystring|\$input/i,
    );
    dev.statelessTemplate.hasResourceProperties('AWS::ApiGateway::Stage', {
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: ACCESS_LOG_FORMAT },
      TracingEnabled: true,
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          HttpMethod: '*',
          ResourcePath: '/*',
        }),
      ]),
    });
  });

  it('requires a JSON object body on POST and PUT routes that need one', () => {
    const methods = ofType(dev.statelessTemplate, 'AWS::ApiGateway::Method').map(([, m]) => m.Properties);
    const withBody = routes.filter(
      (r) => (r.method === 'POST' || r.method === 'PUT') && !BODY_OPTIONAL_MODULES.has(r.module),
    );
    expect(withBody.length).toBeGreaterThan(0);
    const validated = methods.filter((m) => m.RequestValidatorId !== undefined);
    const onApi = (api: IConstruct) =>
      validated.filter((m) => JSON.stringify(m.RestApiId) === JSON.stringify({ Ref: logicalId(api) }));
    // Every such route on the people's API, and those of them the provider API serves there too.
    expect(onApi(dev.stateless.api)).toHaveLength(withBody.length);
    expect(onApi(dev.stateless.providerApi)).toHaveLength(withBody.filter((r) => r.providerScope).length);
    expect(validated).toHaveLength(onApi(dev.stateless.api).length + onApi(dev.stateless.providerApi).length);
    for (const method of validated) {
      expect(['POST', 'PUT']).toContain(method.HttpMethod);
      expect(method.RequestModels).toEqual({ 'application/json': expect.anything() });
    }
    dev.statelessTemplate.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
    });
  });

  it('feeds the integrator in batches, one at a time, bisecting failures into an encrypted DLQ', () => {
    const integrator = logicalId(dev.stateless.integrator);
    dev.statelessTemplate.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: 1,
      Role: Match.anyValue(),
    });
    expect(resourcesOf(dev.statelessTemplate)[integrator]?.Properties.ReservedConcurrentExecutions).toBe(1);
    dev.statelessTemplate.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: integrator },
      BatchSize: 1000,
      MaximumBatchingWindowInSeconds: 1,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(dev.stateless.deadLetters), 'Arn'] } },
      },
    });
  });

  it('runs the checkpoint publisher every 5 minutes', () => {
    dev.statelessTemplate.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(dev.stateless.checkpointPublisher), 'Arn'] } }),
      ],
    });
  });

  it('alarms to the encrypted topic on 5xx, function errors and throttles, dead letters, lag and inconsistency', () => {
    const alarms = ofType(dev.statelessTemplate, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topic = { Ref: logicalId(dev.stateless.alarmTopic) };
    for (const alarm of alarms) expect(alarm.AlarmActions).toEqual([topic]);
    const find = (metric: string, namespace: string) =>
      alarms.filter((a) => a.MetricName === metric && a.Namespace === namespace);
    // One per API: the people's and the provider systems'.
    expect(find('5XXError', 'AWS/ApiGateway').map((a) => JSON.stringify(a.Dimensions))).toEqual(
      expect.arrayContaining(
        ['claimledger-dev', 'claimledger-dev-providers'].map((name) =>
          JSON.stringify([{ Name: 'ApiName', Value: name }]),
        ),
      ),
    );
    expect(find('5XXError', 'AWS/ApiGateway')).toHaveLength(2);
    // Every function's errors; throttles of all but the integrator, which is throttled by design.
    expect(find('Errors', 'AWS/Lambda')).toHaveLength(routes.length + 2);
    expect(find('Throttles', 'AWS/Lambda')).toHaveLength(routes.length + 1);
    expect(find('ApproximateNumberOfMessagesVisible', 'AWS/SQS')).toEqual([
      expect.objectContaining({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' }),
    ]);
    expect(find('IteratorAge', 'AWS/Lambda')).toEqual([
      expect.objectContaining({
        Threshold: 60_000,
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(dev.stateless.integrator) } }],
      }),
    ]);
    expect(find('CheckpointConsistencyFailures', 'claimledger')).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' }),
    ]);
    dev.statelessTemplate.hasResourceProperties('AWS::Logs::MetricFilter', {
      LogGroupName: { Ref: logicalId(dev.stateless.checkpointPublisher.logGroup) },
      FilterPattern: '{ $.problem = "inconsistent-checkpoint" }',
      MetricTransformations: [
        Match.objectLike({ MetricNamespace: 'claimledger', MetricName: 'CheckpointConsistencyFailures' }),
      ],
    });
  });

  it('offers provider systems a client-credentials app client with the claimledger scopes', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'claimledger',
      Scopes: [
        Match.objectLike({ ScopeName: 'claims.write' }),
        Match.objectLike({ ScopeName: 'claims.read' }),
      ],
    });
    const clients = ofType(dev.statefulTemplate, 'AWS::Cognito::UserPoolClient').map(([, c]) => c.Properties);
    const machine = clients.filter((c) => c.GenerateSecret === true);
    expect(machine).toHaveLength(1);
    expect(machine[0]?.AllowedOAuthFlows).toEqual(['client_credentials']);
    // Scopes are `<resource server>/<scope>`, the server's id being a reference.
    const scopes = JSON.stringify(machine[0]?.AllowedOAuthScopes);
    expect(scopes).toMatch(/"\/claims\.write"/);
    expect(scopes).toMatch(/"\/claims\.read"/);
    // The people's client has no OAuth flows at all, so certainly no implicit grant.
    for (const client of clients.filter((c) => c.GenerateSecret !== true)) {
      expect(client.AllowedOAuthFlows).toBeUndefined();
      expect(client.ExplicitAuthFlows).toEqual([
        'ALLOW_USER_PASSWORD_AUTH',
        'ALLOW_USER_SRP_AUTH',
        'ALLOW_REFRESH_TOKEN_AUTH',
      ]);
    }
    dev.statefulTemplate.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
    dev.statefulTemplate.hasResourceProperties('AWS::Cognito::UserPool', { MfaConfiguration: 'ON' });
  });

  it('lets no app client write custom:npi, so no user can bind themselves to an NPI', () => {
    for (const [id, client] of ofType(dev.statefulTemplate, 'AWS::Cognito::UserPoolClient')) {
      expect(client.Properties.WriteAttributes, id).toEqual(['name']);
    }
  });
});

describe('prod stage', () => {
  let prod: Synthesized;
  beforeAll(() => {
    prod = synthesizeWithoutBundling('prod');
  });

  it('retains and protects everything that holds data', () => {
    for (const [id, table] of ofType(prod.statefulTemplate, 'AWS::DynamoDB::Table')) {
      expect(table.DeletionPolicy, id).toBe('Retain');
      expect(table.Properties.DeletionProtectionEnabled, id).toBe(true);
    }
    for (const type of ['AWS::KMS::Key', 'AWS::S3::Bucket', 'AWS::Cognito::UserPool']) {
      for (const [id, resource] of ofType(prod.statefulTemplate, type))
        expect(resource.DeletionPolicy, id).toBe('Retain');
    }
    for (const [id, group] of ofType(prod.statelessTemplate, 'AWS::Logs::LogGroup')) {
      expect(group.DeletionPolicy, id).toBe('Retain');
    }
  });

  it('keeps published checkpoints for six years and turns on Cognito threat protection', () => {
    prod.statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: { Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 6 * 365 } } },
    });
    prod.statefulTemplate.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
    });
  });
});
