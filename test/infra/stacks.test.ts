import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { HANDLER_EXPORT, routes } from '../../functions/handlers/routes.ts';
import { buildApp } from '../../infra/app.ts';

describe('CDK app', () => {
  let stateful: Template;
  let stateless: Template;

  beforeAll(() => {
    // The one fully bundled synth of the infra tests (the others skip bundling, see synth.ts);
    // synthesized once for both templates.
    const app = new App({ context: { stage: 'test' } });
    const { stateful: a, stateless: b } = buildApp(app);
    const assembly = app.synth();
    stateful = Template.fromJSON(assembly.getStackByName(a.stackName).template);
    stateless = Template.fromJSON(assembly.getStackByName(b.stackName).template);
  });

  it('declares the three tables encrypted with a customer key, with PITR, and the journal stream', () => {
    stateful.resourceCountIs('AWS::DynamoDB::Table', 3);
    stateful.allResourcesProperties('AWS::DynamoDB::Table', {
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([Match.objectLike({ IndexName: 'by-member' })]),
    });
  });

  it('creates one arm64 nodejs22.x function per route, plus the integrator and the checkpoint publisher', () => {
    const functions = stateless.findResources('AWS::Lambda::Function', {
      Properties: { Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: `index.${HANDLER_EXPORT}` },
    });
    expect(Object.keys(functions)).toHaveLength(routes.length + 2);
    expect(Object.keys(stateless.findResources('AWS::Lambda::Function'))).toHaveLength(routes.length + 2);
  });

  it('pins the shipped rule set by its content hash on exactly the functions that decide with it', async () => {
    const pinned = Object.values(
      stateless.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: { RULE_SET_HASH: Match.anyValue() } } },
      }),
    ).map(
      (fn) => (fn.Properties as { Environment: { Variables: Record<string, string> } }).Environment.Variables,
    );
    expect(pinned).toHaveLength(routes.filter((route) => route.rules).length);
    // The hash the functions compute when they load the rule set: over the files it uses.
    const hash = (await loadRuleSet(join(import.meta.dirname, '../../rules'))).hash;
    for (const variables of pinned) expect(variables.RULE_SET_HASH).toBe(hash);
  });

  it('gives every function the same journal pending-partition count, 16, so writers and sweeps agree', () => {
    const counts = Object.values(stateless.findResources('AWS::Lambda::Function')).map(
      (fn) =>
        (fn.Properties as { Environment: { Variables: Record<string, string> } }).Environment.Variables
          .JOURNAL_PENDING_SHARDS,
    );
    expect(new Set(counts)).toEqual(new Set(['16']));
  });

  it('signs checkpoints with a retained Ed25519 KMS key that only the integrator may use', () => {
    stateful.hasResource('AWS::KMS::Key', {
      Properties: { KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' },
      DeletionPolicy: 'Retain',
    });
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy'));
    const signing = policies.filter((p) => JSON.stringify(p.Properties.PolicyDocument).includes('kms:Sign'));
    expect(signing).toHaveLength(1);
    expect(JSON.stringify(signing[0]?.Properties.Roles)).toMatch(/journalintegrator/);
  });

  it('triggers the integrator only on newly sequenced journal entries and the sequence counter', () => {
    stateless.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      StartingPosition: 'TRIM_HORIZON',
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { Keys: { pk: { S: [{ prefix: 'E#' }] } } },
            }),
          },
          {
            // Not the tree state the integrator writes itself (STATE/TREE), nor the lease.
            Pattern: JSON.stringify({
              eventName: ['MODIFY'],
              dynamodb: { Keys: { pk: { S: ['STATE'] }, sk: { S: ['SEQUENCE'] } } },
            }),
          },
        ],
      },
    });
  });

  it('exposes every route, with the Cognito authorizer on all but health', () => {
    const methods = Object.values(stateless.findResources('AWS::ApiGateway::Method')).map(
      (m) => m.Properties,
    );
    for (const route of routes) {
      const found = methods.filter((m) => m.HttpMethod === route.method);
      expect(found.length, `${route.method} ${route.path}`).toBeGreaterThan(0);
    }
    // The people's API (ID tokens, no scopes) and the provider systems' API (access tokens with scopes).
    const peoples = methods.filter((m) => m.AuthorizationScopes === undefined);
    const providers = methods.filter((m) => m.AuthorizationScopes !== undefined);
    const authTypes = peoples.filter((m) => m.HttpMethod !== 'OPTIONS').map((m) => m.AuthorizationType);
    expect(authTypes.filter((t) => t === 'COGNITO_USER_POOLS')).toHaveLength(
      routes.filter((r) => r.authenticated).length,
    );
    expect(providers.map((m) => m.AuthorizationType)).toEqual(
      routes.filter((r) => r.providerScope).map(() => 'COGNITO_USER_POOLS'),
    );
  });

  it('points every route, the integrator and the publisher at a module that exports the handler', async () => {
    const modules = [
      ...routes.map((r) => r.module),
      'journal-integrator.handler.ts',
      'checkpoint-publisher.handler.ts',
    ];
    for (const file of modules) {
      const module = (await import(/* @vite-ignore */ `../../functions/handlers/${file}`)) as Record<
        string,
        unknown
      >;
      expect(typeof module[HANDLER_EXPORT], file).toBe('function');
    }
  });

  it('grants a read-only route no write action on any table', () => {
    const policies = Object.values(stateless.findResources('AWS::IAM::Policy'));
    const readOnly = policies.find((p) => JSON.stringify(p.Properties.Roles).includes('journalcheckpoint'));
    expect(readOnly).toBeDefined();
    const actions = JSON.stringify(readOnly?.Properties.PolicyDocument);
    expect(actions).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/);
  });

  it('answers API Gateway refusals in problem+json', () => {
    stateless.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'UNAUTHORIZED',
      StatusCode: '401',
      ResponseParameters: { 'gatewayresponse.header.Content-Type': "'application/problem+json'" },
    });
  });
});
