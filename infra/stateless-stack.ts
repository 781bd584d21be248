import { cpSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  type IModel,
  type IRestApi,
  JsonSchemaType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  RequestValidator,
  ResponseType,
  RestApi,
  type StageOptions,
} from 'aws-cdk-lib/aws-apigateway';
import { Alarm, ComparisonOperator, type IMetric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import {
  Architecture,
  FilterCriteria,
  FilterRule,
  type ILayerVersion,
  Runtime,
  StartingPosition,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { FilterPattern, LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { readRuleSetFiles } from '../functions/engine/rule-files.ts';
import { recordRuleSources } from '../functions/engine/rule-source-recorder.ts';
import { HANDLER_EXPORT, type RouteDefinition, routes } from '../functions/handlers/routes.ts';
import { PROVIDER_CLIENTS_ENV, providerScope } from '../functions/http/identity.ts';
import { PROBLEM_BASE } from '../functions/http/problem.ts';
import { SEQUENCE_KEY } from '../functions/store/journal-keys.ts';
import { tableDefinitions } from '../functions/store/tables.ts';
import { LAMBDA_MAIN_FIELDS, LAMBDA_TARGET, REQUIRE_BANNER } from './lambda-build.ts';
import { acknowledge } from './nag.ts';
import { POWERTOOLS_ENVIRONMENT, POWERTOOLS_MODULE, powertoolsLayer } from './powertools-layer.ts';
import { API_STAGE_THROTTLE, providerClientId, type StageConfig } from './stage.ts';
import { checkpointBucketName, type StatefulStack, type TableName } from './stateful-stack.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Stands in for the SDK's default credential chain in Lambda bundles (see the module's comment). */
const LAMBDA_CREDENTIALS = join(root, 'functions/store/lambda-credentials.ts');

/** Handler modules whose POST accepts an empty body (everything else POST/PUT must send one). */
export const BODY_OPTIONAL_MODULES: ReadonlySet<string> = new Set(['review-assign.handler.ts']);

/** Metric the consistency alarm watches: published by a metric filter on the publisher's logs. */
export const CONSISTENCY_METRIC = {
  metricNamespace: 'claimledger',
  metricName: 'CheckpointConsistencyFailures',
};

/**
 * API access log line: route template, method, status, latencies and ids. Deliberately no
 * path, query string, caller IP or user agent: a path carries claim and member ids (PHI).
 */
export const ACCESS_LOG_FORMAT = [
  '{"requestId":"$context.requestId"',
  '"time":$context.requestTimeEpoch',
  '"method":"$context.httpMethod"',
  '"route":"$context.resourcePath"',
  '"status":$context.status',
  '"latencyMs":$context.responseLatency',
  '"integrationLatencyMs":"$context.integrationLatency"',
  '"error":"$context.error.responseType"',
  '"stage":"$context.stage"',
  '"xrayTraceId":"$context.xrayTraceId"}',
].join(',');

interface FunctionDefaults {
  tables: Record<TableName, Table>;
  /** The checked rule set, copied beside handlers that decide claims. */
  rulesDir: string;
  /** Its content hash, pinned in those functions' environment. */
  ruleSetHash: string;
  /** Its files as recorded when checked (rule-sources.json), so those functions need no YAML parser. */
  ruleSources: string;
  stage: StageConfig;
  /** Encrypts the function's log group. */
  logKey: IKey;
  /** Powertools for AWS Lambda, which the bundles leave out. */
  powertools: ILayerVersion;
}

/** Functions and the API. Holds no data, so it can be destroyed and redeployed freely. */
export class StatelessStack extends Stack {
  /** People (analysts, rules admins, provider staff) with user-pool ID tokens. */
  readonly api: RestApi;
  /**
   * Provider systems: the provider routes only, each requiring a client-credentials access token
   * with the route's scope and an API key, metered by one usage plan per system.
   */
  readonly providerApi: RestApi;
  readonly functions = new Map<RouteDefinition, NodejsFunction>();
  readonly integrator: NodejsFunction;
  readonly checkpointPublisher: NodejsFunction;
  /** Failed integrator batches (stream metadata only) and failed publisher runs. */
  readonly deadLetters: Queue;
  readonly alarmTopic: Topic;
  readonly alarms: Alarm[] = [];

  constructor(
    scope: Construct,
    id: string,
    props: StackProps & { stateful: StatefulStack; rulesDir: string },
  ) {
    super(scope, id, props);
    // Strong (export/import) references: the stateful stack cannot drop an export this stack
    // still uses, so a table or key is never removed from under a deployed function.
    this.node.setContext('@aws-cdk/core:defaultCrossStackReferences', 'strong');
    const { tables, userPool, journalSigningKey, operationsKey, stage } = props.stateful;
    // The rule files read and loaded once: the record ships beside the deciding handlers, and
    // its rule set's hash (over the files the rule set uses, as the function computes it) is
    // pinned, so a function refuses to decide with any other rule set and a rule change shows
    // in `cdk diff` as this variable changing.
    const { ruleSet, recorded } = recordRuleSources(readRuleSetFiles(props.rulesDir));
    const defaults: FunctionDefaults = {
      tables,
      rulesDir: props.rulesDir,
      ruleSetHash: ruleSet.hash,
      ruleSources: JSON.stringify(recorded),
      stage,
      logKey: operationsKey,
      powertools: powertoolsLayer(this),
    };
    const journalOrigin = `claimledger.dev/${stage.name}/journal`;

    this.alarmTopic = new Topic(this, 'Alarms', {
      displayName: `claimledger ${stage.name} alarms`,
      masterKey: operationsKey,
      enforceSSL: true,
    });
    this.deadLetters = new Queue(this, 'DeadLetters', {
      encryption: QueueEncryption.KMS,
      encryptionMasterKey: operationsKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // --- API -------------------------------------------------------------------------------
    const { api, authorizer, bodyCheck } = this.restApi('', stage, userPool, defaults, {
      restApiName: `claimledger-${stage.name}`,
      // Access and execution logging need API Gateway's account-level CloudWatch role.
      cloudWatchRole: true,
      edgeReason:
        'Callers are authenticated by Cognito and throttled per stage (200 rps, burst 400); a WAF web ACL is an account-level edge choice (e.g. AWS Firewall Manager) left to the operator.',
    });
    this.api = api;

    // The provider clients' ids (from the stateful stack) with their API keys and NPIs, for the
    // functions that serve provider routes; identity.ts reads and validates it once per container.
    const providerClientMap = this.toJsonString(
      props.stateful.providerClients.map(({ appClient, apiKey, config }) => ({
        clientId: appClient.userPoolClientId,
        apiKeyId: apiKey.keyId,
        npis: config.npis,
      })),
    );
    for (const route of routes) {
      const fn = appFunction(
        this,
        route.module,
        route,
        defaults,
        route.providerScope ? { environment: { [PROVIDER_CLIENTS_ENV]: providerClientMap } } : {},
      );
      this.functions.set(route, fn);
      const method = this.api.root
        .resourceForPath(route.path)
        .addMethod(route.method, new LambdaIntegration(fn), {
          ...(route.authenticated ? { authorizer, authorizationType: AuthorizationType.COGNITO } : {}),
          ...bodyCheck(route),
        });
      // Only the liveness probe may go without a token; any other route without one is a finding.
      if (!route.authenticated && route.module === 'health.handler.ts') {
        const reason = `${route.method} ${route.path} is the unauthenticated liveness probe: it reads no data and returns a constant.`;
        acknowledge(method, 'AwsSolutions-APIG4', reason);
        acknowledge(method, 'AwsSolutions-COG4', reason);
      }
      this.alarmOnFunction(fn, { throttles: true });
    }

    this.providerApi = this.addProviderApi(props.stateful, defaults);

    // --- journal integrator ------------------------------------------------------------------
    // New sequenced entries (E# items) on the journal stream trigger one round that integrates
    // them into the tree and signs a checkpoint with the KMS key. Concurrency 1: rounds are safe
    // to race, but racing only wastes KMS signatures and conditional-write retries.
    this.integrator = appFunction(
      this,
      'journal-integrator.handler.ts',
      { access: { journal: 'write' } },
      defaults,
      {
        environment: { JOURNAL_SIGNING_KEY_ID: journalSigningKey.keyArn, JOURNAL_ORIGIN: journalOrigin },
        reservedConcurrentExecutions: 1,
        timeout: Duration.seconds(60),
        asyncInvoked: false,
      },
    );
    journalSigningKey.grant(this.integrator, 'kms:Sign', 'kms:GetPublicKey');
    this.integrator.addEventSource(
      // exactOptionalPropertyTypes disagrees with CDK's own Table/ITable typing of tableStreamArn.
      new DynamoEventSource(tables.journal as unknown as ConstructorParameters<typeof DynamoEventSource>[0], {
        startingPosition: StartingPosition.TRIM_HORIZON,
        batchSize: 1000,
        maxBatchingWindow: Duration.seconds(1),
        bisectBatchOnError: true,
        retryAttempts: 10,
        // What lands here is the failed batch's stream coordinates (shard, sequence numbers),
        // never the entries themselves.
        onFailure: new SqsDlq(this.deadLetters),
        filters: [
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('INSERT'),
            dynamodb: { Keys: { pk: { S: FilterRule.beginsWith('E#') } } },
          }),
          // The sequence counter changing: above all when a manifest's entries are all written
          // (its mark cleared), after their E# inserts, which found the mark still set.
          FilterCriteria.filter({
            eventName: FilterRule.isEqual('MODIFY'),
            dynamodb: {
              Keys: {
                pk: { S: FilterRule.isEqual(SEQUENCE_KEY.pk) },
                sk: { S: FilterRule.isEqual(SEQUENCE_KEY.sk) },
              },
            },
          }),
        ],
      }),
    );
    // Throttling is expected here (concurrency 1, one poller per shard); lag is what matters.
    this.alarmOnFunction(this.integrator, { throttles: false });
    this.alarm(
      'IntegratorLag',
      this.integrator.metric('IteratorAge', { statistic: 'Maximum', period: Duration.minutes(1) }),
      60_000,
      'The journal integrator is more than 60 s behind the journal stream: checkpoints are stale.',
      { evaluationPeriods: 3 },
    );

    // --- checkpoint publisher ----------------------------------------------------------------
    // Every 5 minutes: verify the newest signed checkpoint against the last published one
    // (signature and consistency proof) and publish it to the Object Lock bucket.
    this.checkpointPublisher = appFunction(
      this,
      'checkpoint-publisher.handler.ts',
      { access: { journal: 'read' } },
      defaults,
      {
        environment: {
          JOURNAL_SIGNING_KEY_ID: journalSigningKey.keyArn,
          JOURNAL_ORIGIN: journalOrigin,
          CHECKPOINT_BUCKET: checkpointBucketName(this, stage),
        },
        reservedConcurrentExecutions: 1,
        timeout: Duration.seconds(60),
        deadLetterQueue: this.deadLetters,
        asyncInvoked: true,
      },
    );
    // Only the public key: the publisher verifies, it never signs.
    journalSigningKey.grant(this.checkpointPublisher, 'kms:GetPublicKey');
    // The bucket's ARN is built from its fixed name, here, rather than imported from the
    // stateful stack, so the prefix below reads the same at every synth (and in cdk-nag's ids).
    const bucketArn = `arn:${this.partition}:s3:::${checkpointBucketName(this, stage)}`;
    const publishedPrefix = `${bucketArn}/checkpoints/*`;
    const tilesPrefix = `${bucketArn}/tile/*`;
    this.checkpointPublisher.addToRolePolicy(
      new PolicyStatement({
        actions: ['s3:GetObject', 's3:PutObject'],
        resources: [`${bucketArn}/checkpoint`, publishedPrefix, tilesPrefix],
      }),
    );
    // Without ListBucket, S3 answers a GET of a missing key with 403 instead of 404, and the
    // first run (no `checkpoint` yet) could not tell "nothing published" from "denied".
    this.checkpointPublisher.addToRolePolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucketArn] }),
    );
    // The operations key encrypts both the bucket (SSE-KMS: writing needs a data key, reading
    // decrypts) and the dead-letter queue Lambda sends failed runs to with this role.
    operationsKey.grant(this.checkpointPublisher, 'kms:Decrypt', 'kms:GenerateDataKey');
    acknowledge(
      this.checkpointPublisher.role!,
      `AwsSolutions-IAM5[Resource::${nagRendering(this, publishedPrefix)}]`,
      'Write-once objects checkpoints/<size>, one per published tree size: the prefix is the narrowest ARN that names them.',
    );
    acknowledge(
      this.checkpointPublisher.role!,
      `AwsSolutions-IAM5[Resource::${nagRendering(this, tilesPrefix)}]`,
      'Write-once C2SP hash tiles tile/<level>/<index>[.p/<width>], one per tile of the published tree: the prefix is the narrowest ARN that names them (entry bundles, tile/entries, are never written).',
    );
    new Rule(this, 'PublishCheckpoints', {
      description: 'claimledger: publish the newest signed checkpoint to the checkpoint bucket',
      schedule: Schedule.rate(Duration.minutes(5)),
      targets: [new LambdaFunction(this.checkpointPublisher, { retryAttempts: 2 })],
    });
    this.alarmOnFunction(this.checkpointPublisher, { throttles: true });
    const publisherLogs = this.checkpointPublisher.logGroup as LogGroup;
    const consistencyFailures = publisherLogs.addMetricFilter('ConsistencyFailures', {
      ...CONSISTENCY_METRIC,
      filterPattern: FilterPattern.stringValue('$.problem', '=', 'inconsistent-checkpoint'),
      metricValue: '1',
    });
    this.alarm(
      'CheckpointConsistency',
      consistencyFailures.metric({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
      'A checkpoint failed verification against the published one (bad signature, rollback or inconsistent tree): the journal may have been rewritten.',
      { comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD },
    );

    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarmTopic.topicArn });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetters.queueUrl });

    // --- operational alarms ------------------------------------------------------------------
    this.alarm(
      'Api5xx',
      this.api.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
      'The API answered 5xx: no input should produce one (DESIGN.md decision 7).',
      { comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD },
    );
    this.alarm(
      'ProviderApi5xx',
      this.providerApi.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' }),
      1,
      'The provider API answered 5xx: no input should produce one (DESIGN.md decision 7).',
      { comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD },
    );
    this.alarm(
      'DeadLetters',
      this.deadLetters.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      0,
      'A journal integration batch or a checkpoint publication failed for good and was dead-lettered.',
    );
  }

  /**
   * A REST API as both of ours are built: access and execution logs (encrypted, retained), the
   * acknowledgements every API shares, problem+json gateway responses, a Cognito authorizer and
   * the edge check of JSON bodies. Construct ids are prefixed with `prefix`.
   */
  private restApi(
    prefix: string,
    stage: StageConfig,
    userPool: StatefulStack['userPool'],
    defaults: FunctionDefaults,
    options: {
      restApiName: string;
      description?: string;
      cloudWatchRole: boolean;
      /** Why the API has no WAF web ACL, for AwsSolutions-APIG3. */
      edgeReason: string;
      extraProblems?: Parameters<typeof addProblemResponses>[1];
    },
  ): {
    api: RestApi;
    authorizer: CognitoUserPoolsAuthorizer;
    bodyCheck: (
      route: RouteDefinition,
    ) =>
      | { requestValidator: RequestValidator; requestModels: Record<string, IModel> }
      | Record<string, never>;
  } {
    const accessLogs = newLogGroup(this, `${prefix}ApiAccessLogs`, defaults);
    const api = new RestApi(this, `${prefix}Api`, {
      restApiName: options.restApiName,
      ...(options.description ? { description: options.description } : {}),
      cloudWatchRole: options.cloudWatchRole,
      deployOptions: apiStageOptions(stage, accessLogs),
    });
    // API Gateway would create the execution log group itself, unencrypted and kept forever;
    // creating it first, under its fixed name, gives it the key and the retention.
    const executionLogs = newLogGroup(this, `${prefix}ApiExecutionLogs`, defaults, {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${stage.name}`,
    });
    api.deploymentStage.node.addDependency(executionLogs);
    if (options.cloudWatchRole) {
      acknowledge(
        api,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        "API Gateway's account-level logging role: the AWS-managed policy is the documented way to let API Gateway write access and execution logs.",
      );
    }
    acknowledge(api, 'AwsSolutions-APIG3', options.edgeReason);
    acknowledge(
      api,
      'HIPAA.Security-APIGWCacheEnabledAndEncrypted',
      'Stage caching is off by design: responses carry PHI and depend on the caller (authorizer claims), so none may be served from a shared cache.',
    );
    acknowledge(
      api,
      'HIPAA.Security-APIGWSSLEnabled',
      'Every integration is a Lambda proxy integration: there is no HTTP backend to present a client certificate to.',
    );
    addProblemResponses(api, options.extraProblems);
    const authorizer = new CognitoUserPoolsAuthorizer(this, `${prefix}Authorizer`, {
      cognitoUserPools: [userPool],
    });
    // Cheap validation at the edge: a POST/PUT that needs a body must send a JSON object.
    // The handler still validates it fully (zod); this only turns away obvious garbage early.
    const bodyValidator = new RequestValidator(this, `${prefix}BodyValidator`, {
      // exactOptionalPropertyTypes disagrees with CDK's own RestApi/IRestApi typing.
      restApi: api as unknown as IRestApi,
      validateRequestBody: true,
      // No method declares required parameters, so this checks nothing today; it is on so a
      // route that declares one is checked without a second validator.
      validateRequestParameters: true,
    });
    const jsonObject: IModel = api.addModel('JsonObject', {
      contentType: 'application/json',
      schema: { type: JsonSchemaType.OBJECT },
    });
    return {
      api,
      authorizer,
      bodyCheck: (route) =>
        needsBody(route)
          ? { requestValidator: bodyValidator, requestModels: { 'application/json': jsonObject } }
          : {},
    };
  }

  /**
   * The provider API: the provider routes again, on the same functions, for provider systems.
   * API Gateway's Cognito authorizer takes either ID tokens (no scopes on the method) or access
   * tokens (scopes on the method), never both on one method; people keep using ID tokens on the
   * main API, and client-credentials access tokens, which carry scopes, are accepted here only.
   * Every method requires an API key, and each system's key is in its own usage plan.
   */
  private addProviderApi(stateful: StatefulStack, defaults: FunctionDefaults): RestApi {
    const { stage, userPool } = stateful;
    const { api, authorizer, bodyCheck } = this.restApi('Provider', stage, userPool, defaults, {
      restApiName: `claimledger-${stage.name}-providers`,
      description: 'claimledger for provider systems: client-credentials tokens and an API key per system',
      // The account-level CloudWatch role is the main API's (one per account and region).
      cloudWatchRole: false,
      edgeReason:
        'Callers are authenticated by Cognito (client-credentials access tokens with a scope per method) and throttled per stage (200 rps, burst 400) and per provider system (usage plans); a WAF web ACL is an account-level edge choice left to the operator.',
      extraProblems: [
        [ResponseType.INVALID_API_KEY, 'forbidden', 'Forbidden', 403],
        [ResponseType.QUOTA_EXCEEDED, 'throttled', 'Too many requests', 429],
      ],
    });
    const cloudWatchAccount = this.api.node.tryFindChild('Account');
    if (cloudWatchAccount) api.deploymentStage.node.addDependency(cloudWatchAccount);
    for (const [route, fn] of this.functions) {
      const scope = route.providerScope;
      if (scope === undefined) continue;
      api.root.resourceForPath(route.path).addMethod(route.method, new LambdaIntegration(fn), {
        authorizer,
        authorizationType: AuthorizationType.COGNITO,
        authorizationScopes: [providerScope(scope)],
        apiKeyRequired: true,
        ...bodyCheck(route),
      });
    }
    for (const { config, apiKey } of stateful.providerClients) {
      const plan = api.addUsagePlan(`UsagePlan${providerClientId(config.name)}`, {
        name: `claimledger-${stage.name}-${config.name}`,
        description: `claimledger: throttle and quota of provider system ${config.name}`,
        throttle: config.throttle,
        quota: {
          limit: config.quota.limit,
          period: Period[config.quota.period],
        },
        // exactOptionalPropertyTypes disagrees with CDK's own RestApi/IRestApi typing.
        apiStages: [{ api: api as unknown as IRestApi, stage: api.deploymentStage }],
      });
      plan.addApiKey(apiKey);
    }
    return api;
  }

  private alarmOnFunction(fn: NodejsFunction, options: { throttles: boolean }): void {
    const name = fn.node.id;
    const period = Duration.minutes(5);
    this.alarm(`${name}-errors`, fn.metricErrors({ period, statistic: 'Sum' }), 1, `${name} failed`, {
      comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    if (options.throttles) {
      this.alarm(
        `${name}-throttles`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        1,
        `${name} throttled`,
        {
          comparison: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      );
    }
  }

  private alarm(
    id: string,
    metric: IMetric,
    threshold: number,
    description: string,
    options: { comparison?: ComparisonOperator; evaluationPeriods?: number } = {},
  ): Alarm {
    const alarm = new Alarm(this, `alarm-${id}`, {
      metric,
      threshold,
      alarmDescription: description,
      comparisonOperator: options.comparison ?? ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: options.evaluationPeriods ?? 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.alarmTopic));
    this.alarms.push(alarm);
    return alarm;
  }
}

/** Whether API Gateway checks the route's body is a JSON object: POST/PUT, unless it may be empty. */
function needsBody(route: RouteDefinition): boolean {
  return (route.method === 'POST' || route.method === 'PUT') && !BODY_OPTIONAL_MODULES.has(route.module);
}

/**
 * One stage's settings, the same for both APIs: default method throttling, X-Ray, JSON access
 * logs without PHI, execution logs of errors only and never bodies.
 */
function apiStageOptions(stage: StageConfig, accessLogs: LogGroup): StageOptions {
  return {
    stageName: stage.name,
    tracingEnabled: true,
    throttlingRateLimit: API_STAGE_THROTTLE.rateLimit,
    throttlingBurstLimit: API_STAGE_THROTTLE.burstLimit,
    accessLogDestination: new LogGroupLogDestination(accessLogs),
    accessLogFormat: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
    // Errors only, and never request or response bodies (dataTrace): no PHI in these logs.
    loggingLevel: MethodLoggingLevel.ERROR,
    dataTraceEnabled: false,
    metricsEnabled: true,
  };
}

// CDK's table grants, minus the stream actions (only the integrator's event source reads the
// stream, with its own grant) and with each index named instead of `<table>/index/*`.
const TABLE_READ_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
];
const TABLE_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** Data access to one table, its declared indexes and its key; nothing else. */
function grantTableData(fn: NodejsFunction, table: Table, name: TableName, mode: 'read' | 'write'): void {
  const indexes = tableDefinitions.find((def) => def.logicalName === name)?.indexes ?? [];
  fn.addToRolePolicy(
    new PolicyStatement({
      actions: mode === 'read' ? TABLE_READ_ACTIONS : [...TABLE_READ_ACTIONS, ...TABLE_WRITE_ACTIONS],
      resources: [table.tableArn, ...indexes.map((index) => `${table.tableArn}/index/${index.name}`)],
    }),
  );
  if (mode === 'read') table.encryptionKey?.grantDecrypt(fn);
  else table.encryptionKey?.grantEncryptDecrypt(fn);
}

/**
 * A string with pseudo-parameters as cdk-nag renders it in finding ids: `${AWS::AccountId}`
 * becomes `<AWS::AccountId>`.
 */
function nagRendering(stack: Stack, value: string): string {
  const resolved = stack.resolve(value) as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof resolved === 'string') return resolved;
  return resolved['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `<${(part as { Ref: string }).Ref}>`))
    .join(resolved['Fn::Join'][0]);
}

/** A log group with the project's retention, encrypted with the operations key. */
function newLogGroup(
  scope: Construct,
  id: string,
  defaults: Pick<FunctionDefaults, 'stage' | 'logKey'>,
  options: { logGroupName?: string } = {},
): LogGroup {
  return new LogGroup(scope, id, {
    ...options,
    retention: RetentionDays.SIX_MONTHS,
    encryptionKey: defaults.logKey,
    removalPolicy: defaults.stage.removalPolicy,
  });
}

/**
 * One way to build every function: runtime, bundling, its own encrypted log group, tracing,
 * a role that may write only that log group, and the tables it uses with their grants.
 */
function appFunction(
  scope: Construct,
  module: string,
  route: Pick<RouteDefinition, 'access' | 'rules'>,
  defaults: FunctionDefaults,
  options: {
    environment?: Record<string, string>;
    reservedConcurrentExecutions?: number;
    timeout?: Duration;
    /** Async (event) invocations get a dead-letter queue; sync and stream ones cannot use one. */
    deadLetterQueue?: Queue;
    /** Whether the function is invoked asynchronously (EventBridge) rather than by API Gateway. */
    asyncInvoked?: boolean;
  } = {},
) {
  const { tables } = defaults;
  const name = module.replace(/\.handler\.ts$/, '');
  const logGroup = newLogGroup(scope, `logs-${name}`, defaults);
  // Our own role instead of the AWSLambdaBasicExecutionRole managed policy, whose log
  // permissions cover every log group in the account.
  const role = new Role(scope, `role-${name}`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  const fn = new NodejsFunction(scope, `fn-${name}`, {
    entry: join(root, 'functions/handlers', module),
    handler: HANDLER_EXPORT,
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    memorySize: 512,
    timeout: options.timeout ?? Duration.seconds(10),
    tracing: Tracing.ACTIVE,
    layers: [defaults.powertools],
    role,
    logGroup,
    ...(options.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
    ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue } : {}),
    environment: {
      NODE_OPTIONS: '--enable-source-maps',
      ...POWERTOOLS_ENVIRONMENT,
      CLAIMS_TABLE: tables.claims.tableName,
      RECORDS_TABLE: tables.records.tableName,
      JOURNAL_TABLE: tables.journal.tableName,
      // README "Journal throughput on real DynamoDB": 16 pending partitions take ~2,600 appends/s.
      JOURNAL_PENDING_SHARDS: '16',
      RULES_DIR: '/var/task/rules',
      ...(route.rules
        ? { RULE_SET_HASH: defaults.ruleSetHash, RULE_SOURCES: '/var/task/rule-sources.json' }
        : {}),
      ...options.environment,
    },
    bundling: {
      format: OutputFormat.ESM,
      target: LAMBDA_TARGET,
      minify: true,
      sourceMap: true,
      // In the Powertools layer, which the runtime resolves ES module imports from.
      externalModules: [POWERTOOLS_MODULE],
      mainFields: LAMBDA_MAIN_FIELDS,
      esbuildArgs: { '--alias': `@aws-sdk/credential-provider-node=${LAMBDA_CREDENTIALS}` },
      banner: REQUIRE_BANNER,
      forceDockerBundling: false,
      ...(route.rules
        ? {
            commandHooks: {
              beforeBundling: () => [],
              beforeInstall: () => [],
              afterBundling: (_input: string, output: string) => {
                // Runs at synth time on this machine: ship the rule files beside the handler.
                cpSync(defaults.rulesDir, join(output, 'rules'), { recursive: true });
                writeFileSync(join(output, 'rule-sources.json'), defaults.ruleSources);
                return [];
              },
            },
          }
        : {}),
    },
  });
  for (const [name, mode] of Object.entries(route.access) as [TableName, 'read' | 'write'][]) {
    grantTableData(fn, tables[name], name, mode);
    if (mode === 'write') {
      for (const action of ['kms:ReEncrypt*', 'kms:GenerateDataKey*']) {
        acknowledge(
          role,
          `AwsSolutions-IAM5[Action::${action}]`,
          "CDK's encrypt/decrypt grant on a customer-managed key (the tables' data key, the dead-letter queue's operations key): the statement names only that key.",
        );
      }
    }
  }
  acknowledgeFunctionFindings(fn, role, options);
  return fn;
}

/** The cdk-nag findings every function shares, each with the reason it stands. */
function acknowledgeFunctionFindings(
  fn: NodejsFunction,
  role: Role,
  options: { reservedConcurrentExecutions?: number; deadLetterQueue?: Queue; asyncInvoked?: boolean },
): void {
  acknowledge(
    fn,
    'HIPAA.Security-LambdaInsideVPC',
    'The functions call only AWS APIs (DynamoDB, KMS, S3) over TLS with IAM-signed requests and expose no network listener; a VPC would add NAT or endpoints and cold-start cost without narrowing that surface.',
  );
  acknowledge(
    fn,
    'AwsSolutions-L1',
    'DESIGN.md decision 9 fixes nodejs22.x (an LTS runtime supported by Lambda until 2027) so local Node and Lambda agree; moving to a newer runtime is a deliberate upgrade, not a lint fix.',
  );
  if (options.reservedConcurrentExecutions === undefined) {
    acknowledge(
      fn,
      'HIPAA.Security-LambdaConcurrency',
      'API functions are bounded by the stage throttle (200 rps, burst 400); reserving concurrency for each of them would carve the account pool into fixed slices and fail deployment in accounts with the default quota.',
    );
  }
  if (!options.deadLetterQueue) {
    acknowledge(
      fn,
      'HIPAA.Security-LambdaDLQ',
      options.asyncInvoked === false
        ? 'Invoked by a DynamoDB stream event source mapping, whose on-failure destination is the encrypted dead-letter queue; a function DLQ applies only to asynchronous invocations.'
        : 'Invoked synchronously by API Gateway: a failure is returned to the caller as problem+json, and a function DLQ applies only to asynchronous invocations.',
    );
  }
  acknowledge(
    role,
    'HIPAA.Security-IAMNoInlinePolicy',
    "CDK grants write one policy per function role naming exactly that function's tables, keys and log group; shared managed policies would have to be the union, i.e. broader.",
  );
  acknowledge(
    role,
    'AwsSolutions-IAM5[Resource::*]',
    'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) and dynamodb:ListStreams, none of which supports resource-level permissions.',
  );
}

/** API Gateway's own refusals (no token, unknown route, throttled) answer in problem+json too. */
function addProblemResponses(api: RestApi, extra: [ResponseType, string, string, number][] = []): void {
  const problem = (kind: string, title: string, status: number) => ({
    'application/json': JSON.stringify({
      type: `${PROBLEM_BASE}${kind}`,
      title,
      status,
      detail: '$context.error.message',
    }),
  });
  const responses: [ResponseType, string, string, number][] = [
    [ResponseType.BAD_REQUEST_BODY, 'bad-request', 'Bad request', 400],
    [ResponseType.UNAUTHORIZED, 'unauthorized', 'Unauthorized', 401],
    [ResponseType.ACCESS_DENIED, 'forbidden', 'Forbidden', 403],
    [ResponseType.MISSING_AUTHENTICATION_TOKEN, 'not-found', 'Not found', 404],
    [ResponseType.REQUEST_TOO_LARGE, 'payload-too-large', 'Payload too large', 413],
    [ResponseType.THROTTLED, 'throttled', 'Too many requests', 429],
    [ResponseType.DEFAULT_5XX, 'internal', 'Internal error', 500],
    ...extra,
  ];
  const ids = new Set<string>();
  for (const [type, kind, title, status] of responses) {
    // One construct per response type; a kind shared by two types names the second by its type.
    const id = ids.has(`problem-${kind}`) ? `problem-${kind}-${type.responseType}` : `problem-${kind}`;
    ids.add(id);
    api.addGatewayResponse(id, {
      type,
      statusCode: String(status),
      responseHeaders: { 'Content-Type': "'application/problem+json'" },
      templates: problem(kind, title, status),
    });
  }
}
