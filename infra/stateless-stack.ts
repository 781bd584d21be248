import { cpSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  type IResource,
  LambdaIntegration,
  ResponseType,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import {
  Architecture,
  FilterCriteria,
  FilterRule,
  Runtime,
  StartingPosition,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLER_EXPORT, type RouteDefinition, routes } from '../functions/handlers/routes.ts';
import { PROBLEM_BASE } from '../functions/http/problem.ts';
import type { StatefulStack, TableName } from './stateful-stack.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Functions and the API. Holds no data, so it can be destroyed and redeployed freely. */
export class StatelessStack extends Stack {
  readonly api: RestApi;
  readonly functions = new Map<RouteDefinition, NodejsFunction>();
  readonly integrator: NodejsFunction;

  constructor(
    scope: Construct,
    id: string,
    props: StackProps & { stage: string; stateful: StatefulStack; rulesDir: string },
  ) {
    super(scope, id, props);
    const { tables, userPool, journalSigningKey } = props.stateful;

    this.api = new RestApi(this, 'Api', {
      restApiName: `claimledger-${props.stage}`,
      deployOptions: {
        stageName: props.stage,
        tracingEnabled: true,
        throttlingRateLimit: 200,
        throttlingBurstLimit: 400,
      },
    });
    addProblemResponses(this.api);
    const authorizer = new CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [userPool] });

    for (const route of routes) {
      const fn = appFunction(this, route.module, route, { tables, rulesDir: props.rulesDir });
      this.functions.set(route, fn);
      this.api.root
        .resourceForPath(route.path)
        .addMethod(
          route.method,
          new LambdaIntegration(fn),
          route.authenticated ? { authorizer, authorizationType: AuthorizationType.COGNITO } : {},
        );
    }

    // The journal integrator: new sequenced entries (E# items) on the journal stream trigger
    // one round that integrates them into the tree and signs a checkpoint with the KMS key.
    this.integrator = appFunction(
      this,
      'journal-integrator.handler.ts',
      { access: { journal: 'write' } },
      {
        tables,
        rulesDir: props.rulesDir,
        environment: {
          JOURNAL_SIGNING_KEY_ID: journalSigningKey.keyArn,
          JOURNAL_ORIGIN: `claimledger.dev/${props.stage}/journal`,
        },
      },
    );
    journalSigningKey.grant(this.integrator, 'kms:Sign', 'kms:GetPublicKey');
    this.integrator.addEventSource(
      // exactOptionalPropertyTypes disagrees with CDK's own Table/ITable typing of tableStreamArn.
      new DynamoEventSource(tables.journal as unknown as ConstructorParameters<typeof DynamoEventSource>[0], {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 1000,
        retryAttempts: 10,
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: FilterRule.beginsWith('E#') } } },
          }),
        ],
      }),
    );
  }
}

/** One way to build every function: runtime, bundling, logs, tracing, tables and their grants. */
function appFunction(
  scope: Construct,
  module: string,
  route: Pick<RouteDefinition, 'access' | 'rules'>,
  options: {
    tables: Record<TableName, import('aws-cdk-lib/aws-dynamodb').Table>;
    /** The checked rule set, copied beside handlers that decide claims. */
    rulesDir: string;
    environment?: Record<string, string>;
  },
) {
  const { tables } = options;
  const name = module.replace(/\.handler\.ts$/, '');
  const fn = new NodejsFunction(scope, `fn-${name}`, {
    entry: join(root, 'functions/handlers', module),
    handler: HANDLER_EXPORT,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: 512,
    timeout: Duration.seconds(10),
    tracing: Tracing.ACTIVE,
    logRetention: RetentionDays.SIX_MONTHS,
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      CLAIMS_TABLE: tables.claims.tableName,
      RECORDS_TABLE: tables.records.tableName,
      JOURNAL_TABLE: tables.journal.tableName,
      RULES_DIR: '/var/task/rules',
      ...options.environment,
    },
    bundling: {
      format: OutputFormat.ESM,
      target: 'node22',
      minify: true,
      sourceMap: true,
      keepNames: true,
      externalModules: [],
      // Some bundled CommonJS dependencies call require(); give ESM output one.
      banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
      forceDockerBundling: false,
      ...(route.rules
        ? {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_input: string, output: string) => {
                // Runs at synth time on this machine: ship the rule files beside the handler.
                cpSync(options.rulesDir, join(output, 'rules'), { recursive: true });
                return [];
              },
            },
          }
        : {}),
    },
  });
  for (const [table, mode] of Object.entries(route.access) as [TableName, 'read' | 'write'][]) {
    if (mode === 'read') tables[table].grantReadData(fn);
    else tables[table].grantReadWriteData(fn);
  }
  return fn;
}

/** API Gateway's own refusals (no token, unknown route, throttled) answer in problem+json too. */
function addProblemResponses(api: (RestApi & IResource) | RestApi): void {
  const problem = (kind: string, title: string, status: number) => ({
    'application/json': JSON.stringify({
      type: `${PROBLEM_BASE}${kind}`,
      title,
      status,
      detail: '$context.error.message',
    }),
  });
  const responses: [ResponseType, string, string, number][] = [
    [ResponseType.UNAUTHORIZED, 'unauthorized', 'Unauthorized', 401],
    [ResponseType.ACCESS_DENIED, 'forbidden', 'Forbidden', 403],
    [ResponseType.MISSING_AUTHENTICATION_TOKEN, 'not-found', 'Not found', 404],
    [ResponseType.REQUEST_TOO_LARGE, 'payload-too-large', 'Payload too large', 413],
    [ResponseType.THROTTLED, 'throttled', 'Too many requests', 429],
    [ResponseType.DEFAULT_5XX, 'internal', 'Internal error', 500],
  ];
  for (const [type, kind, title, status] of responses) {
    api.addGatewayResponse(`problem-${kind}`, {
      type,
      statusCode: String(status),
      responseHeaders: { 'Content-Type': "'application/problem+json'" },
      templates: problem(kind, title, status),
    });
  }
}
