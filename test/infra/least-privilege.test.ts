import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { routes } from '../../functions/handlers/routes.ts';
import { logicalId, type Synthesized, synthesizeWithoutBundling } from './synth.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/**
 * Actions that support no resource-level permissions, so `Resource: *` is the only form IAM
 * accepts: X-Ray's (active tracing) and dynamodb:ListStreams (the stream event source).
 */
const RESOURCELESS_ACTIONS = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'dynamodb:ListStreams',
]);
const WRITE_ACTION =
  /^(dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)|s3:(Put|Delete|Restore|Abort|Replicate).*|sqs:(SendMessage|DeleteMessage|PurgeQueue)|kms:(Sign|Encrypt|ReEncrypt.*|GenerateDataKey.*))$/;
const S3_WRITE = /^s3:(Put|Delete|Restore|Abort|Replicate|\*)/;

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resourcesOf = (s: Statement) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);

describe('least privilege, read from the synthesized template', () => {
  let synth: Synthesized;
  /** Every function of the stack with the statements of its role's policies. */
  let functions: { name: string; fn: NodejsFunction; statements: Statement[] }[];

  beforeAll(() => {
    synth = synthesizeWithoutBundling('test');
    const template = synth.statelessTemplate.toJSON() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const policies = Object.values(template.Resources).filter((r) => r.Type === 'AWS::IAM::Policy');
    const all: [string, NodejsFunction][] = [
      ...[...synth.stateless.functions].map(([route, fn]): [string, NodejsFunction] => [route.module, fn]),
      ['journal-integrator', synth.stateless.integrator],
      ['checkpoint-publisher', synth.stateless.checkpointPublisher],
    ];
    functions = all.map(([name, fn]) => {
      const roleId = logicalId(fn.role!);
      const props = template.Resources[logicalId(fn)]?.Properties;
      expect(props?.Role, name).toEqual({ 'Fn::GetAtt': [roleId, 'Arn'] });
      const statements = policies
        .filter((p) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: roleId }]))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      return { name, fn, statements };
    });
  });

  it('covers every function in the stack', () => {
    expect(functions).toHaveLength(routes.length + 2);
    expect(Object.keys(synth.statelessTemplate.findResources('AWS::Lambda::Function'))).toHaveLength(
      functions.length,
    );
  });

  it('gives no role a wildcard action, and no role an AWS-managed policy', () => {
    const roles = synth.statelessTemplate.findResources('AWS::IAM::Role');
    for (const { name, fn, statements } of functions) {
      for (const action of statements.flatMap(actionsOf)) {
        expect(action, name).not.toMatch(/^\*$|:\*$/);
      }
      expect(roles[logicalId(fn.role!)]?.Properties.ManagedPolicyArns, name).toBeUndefined();
    }
  });

  it('uses Resource "*" only for actions that support no resource-level permissions (X-Ray, ListStreams)', () => {
    for (const { name, statements } of functions) {
      for (const statement of statements.filter((s) => resourcesOf(s).includes('*'))) {
        for (const action of actionsOf(statement)) {
          expect(RESOURCELESS_ACTIONS.has(action), `${name}: ${action} on *`).toBe(true);
        }
      }
    }
  });

  it('lets every function write only its own log group', () => {
    for (const { name, fn, statements } of functions) {
      const logStatements = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('logs:')));
      expect(logStatements, name).toEqual([
        expect.objectContaining({
          Resource: { 'Fn::GetAtt': [logicalId(fn.logGroup), 'Arn'] },
        }),
      ]);
    }
  });

  it('grants read-only routes no write action on anything', () => {
    const readOnly = functions.filter(({ name }) => {
      const route = routes.find((r) => r.module === name);
      return route?.method === 'GET' && Object.values(route.access).every((mode) => mode === 'read');
    });
    expect(readOnly.map((f) => f.name)).toContain('journal-checkpoint.handler.ts');
    for (const { name, statements } of readOnly) {
      expect(
        statements.flatMap(actionsOf).filter((a) => WRITE_ACTION.test(a)),
        name,
      ).toEqual([]);
    }
  });

  it('lets only the integrator sign, and the publisher only read the public key', () => {
    const signers = functions.filter(({ statements }) => statements.flatMap(actionsOf).includes('kms:Sign'));
    expect(signers.map((f) => f.name)).toEqual(['journal-integrator']);
    const publisher = functions.find((f) => f.name === 'checkpoint-publisher')!;
    const signingKey = publisher.statements.filter((s) =>
      JSON.stringify(s.Resource).includes('JournalSigningKey'),
    );
    expect(signingKey.flatMap(actionsOf)).toEqual(['kms:GetPublicKey']);
  });

  it('lets only the publisher write the checkpoint bucket, and only its checkpoints and hash tiles', () => {
    const writers = functions.filter(({ statements }) =>
      statements.flatMap(actionsOf).some((a) => S3_WRITE.test(a)),
    );
    expect(writers.map((f) => f.name)).toEqual(['checkpoint-publisher']);
    const s3 = writers[0]!.statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
    expect(s3.flatMap(actionsOf).sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    // ListBucket is on the bucket itself; GetObject/PutObject only on the checkpoint keys.
    const list = s3.find((s) => actionsOf(s).includes('s3:ListBucket'))!;
    expect(JSON.stringify(list.Resource)).toMatch(/:s3:::claimledger-test-checkpoints-/);
    expect(JSON.stringify(list.Resource)).not.toMatch(/\/|\*/);
    const objects = JSON.stringify(
      s3.filter((s) => !actionsOf(s).includes('s3:ListBucket')).flatMap(resourcesOf),
    );
    expect(objects).toMatch(/checkpoints-.*\/checkpoint"/);
    expect(objects).toMatch(/checkpoints-.*\/checkpoints\/\*"/);
    expect(objects).toMatch(/checkpoints-.*\/tile\/\*"/);
    expect(objects).not.toMatch(/entries/);
  });
});
