import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { ApiKey } from 'aws-cdk-lib/aws-apigateway';
import {
  ClientAttributes,
  FeaturePlan,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  UserPoolClient,
  UserPoolResourceServer,
} from 'aws-cdk-lib/aws-cognito';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  ObjectLockRetention,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import {
  PROVIDER_RESOURCE_SERVER,
  PROVIDER_SCOPE_NAMES,
  type ProviderScopeName,
} from '../functions/http/identity.ts';
import { tableDefinitions } from '../functions/store/tables.ts';
import { acknowledge } from './nag.ts';
import { type ProviderClient, providerClientId, type StageConfig, stageConfig } from './stage.ts';

export type TableName = (typeof tableDefinitions)[number]['logicalName'];

/** OAuth scopes of the `claimledger` resource server, granted to provider systems. */
export const PROVIDER_SCOPES = {
  'claims.write': 'Submit and resubmit claims',
  'claims.read': 'Read the status of claims the provider submitted',
} as const satisfies Record<ProviderScopeName, string>;

/** What the stack creates for one configured provider system. */
export interface ProviderClientResources {
  config: ProviderClient;
  /** Client-credentials app client: its id is the token's `client_id`. */
  appClient: UserPoolClient;
  /**
   * The client's API Gateway key, bound to its usage plan by the stateless stack. Kept here, with
   * the app client, so redeploying or replacing the stateless stack never changes a key a
   * provider system has configured.
   */
  apiKey: ApiKey;
}

/**
 * The checkpoint bucket's fixed name: auditors are told where to read, and the publisher's
 * policy names the bucket without a cross-stack reference. Unique per account, region and stage.
 */
export function checkpointBucketName(stack: Stack, stage: StageConfig): string {
  return `claimledger-${stage.name}-checkpoints-${stack.account}-${stack.region}`;
}

/** Everything that holds data: tables, keys, buckets, identity. Stateless stacks get it through props. */
export class StatefulStack extends Stack {
  readonly stage: StageConfig;
  readonly tables: Record<TableName, Table>;
  readonly userPool: UserPool;
  /** Signs journal checkpoints; the private key never leaves KMS. */
  readonly journalSigningKey: Key;
  /**
   * Encrypts what is not claims data but must still be encrypted at rest: log groups, the
   * alarm topic, the dead-letter queue and the published checkpoints.
   */
  readonly operationsKey: Key;
  /** Published signed checkpoints and hash tiles, under Object Lock in compliance mode. */
  readonly checkpointBucket: Bucket;
  /** One client-credentials app client and API key per provider system of the stage config. */
  readonly providerClients: ProviderClientResources[];

  constructor(scope: Construct, id: string, props: StackProps & { stage: string }) {
    super(scope, id, props);
    // Server access logs are delivered under a bucket policy, not the legacy log-delivery ACL
    // (the access-log bucket enforces bucket-owner object ownership, which disables ACLs).
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const stage = stageConfig(this, props.stage);
    this.stage = stage;
    const { prod } = stage;
    const dataKey = new Key(this, 'DataKey', {
      enableKeyRotation: true,
      description: 'claimledger: encryption at rest for claims, records and the journal',
      removalPolicy: stage.removalPolicy,
    });

    // Never destroyed, even outside prod: checkpoints already handed to auditors are only
    // verifiable with its public key, and a new key would look like a forked log.
    this.journalSigningKey = new Key(this, 'JournalSigningKey', {
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      description: 'claimledger: Ed25519 key that signs the decision journal checkpoints',
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.operationsKey = new Key(this, 'OperationsKey', {
      enableKeyRotation: true,
      description: 'claimledger: log groups, alarm topic, dead-letter queue, published checkpoints',
      removalPolicy: stage.removalPolicy,
    });
    // CloudWatch Logs encrypts log groups with the key only if the key policy lets it, and only
    // for this account's and region's log groups.
    this.operationsKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );
    // CloudWatch alarms publish to the encrypted alarm topic.
    this.operationsKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );

    const tables = {} as Record<TableName, Table>;
    for (const def of tableDefinitions) {
      const table = new Table(this, `${def.logicalName}-table`, {
        partitionKey: { name: def.partitionKey, type: AttributeType.STRING },
        ...(def.sortKey ? { sortKey: { name: def.sortKey, type: AttributeType.STRING } } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        encryption: TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: dataKey,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: prod,
        removalPolicy: stage.removalPolicy,
        ...(def.stream ? { stream: StreamViewType.NEW_IMAGE } : {}),
      });
      for (const index of def.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
          sortKey: { name: index.sortKey, type: AttributeType.STRING },
        });
      }
      acknowledge(
        table,
        'HIPAA.Security-DynamoDBInBackupPlan',
        'Point-in-time recovery (35 days, continuous) is on and prod tables have deletion protection; ' +
          'longer retention through AWS Backup is an organisation-level backup policy, not part of this app.',
      );
      tables[def.logicalName] = table;
    }
    this.tables = tables;

    // Server access logs of the checkpoint bucket. S3 delivers access logs only to buckets with
    // SSE-S3 default encryption, so this bucket cannot use the KMS key.
    const accessLogs = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      accessLogs,
      'HIPAA.Security-S3DefaultEncryptionKMS',
      'S3 server access logging delivers only to target buckets with SSE-S3 default encryption; the logs hold request metadata of the checkpoint bucket, no PHI.',
    );
    acknowledge(
      accessLogs,
      'HIPAA.Security-S3BucketReplicationEnabled',
      'Access logs of a public-by-design checkpoint mirror; cross-region replication is not warranted.',
    );

    // Compliance mode: no one, root included, can delete or overwrite an object version before
    // its retention ends. Retained on stack deletion for the same reason as the signing key.
    this.checkpointBucket = new Bucket(this, 'Checkpoints', {
      bucketName: checkpointBucketName(this, stage),
      encryption: BucketEncryption.KMS,
      encryptionKey: this.operationsKey,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(
        Duration.days(stage.checkpointRetentionDays),
      ),
      // exactOptionalPropertyTypes disagrees with CDK's own Bucket/IBucket typing.
      serverAccessLogsBucket: accessLogs as unknown as IBucket,
      serverAccessLogsPrefix: 'checkpoints/',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.checkpointBucket,
      'HIPAA.Security-S3BucketReplicationEnabled',
      'Signed checkpoints are reproducible from the journal table (PITR) and re-published every 5 minutes; ' +
        'a second-region copy is a disaster-recovery choice left to the operator.',
    );

    // Groups are the roles (DESIGN.md decision 6); custom:npi binds a provider to its NPIs.
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      customAttributes: {
        // Comma-separated NPIs. Mutable so an administrator can rebind; no app client may
        // write it (see writeAttributes below), so users cannot grant themselves an NPI.
        npi: new StringAttribute({ mutable: true, minLen: 10, maxLen: 2048 }),
      },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      // Plus adds threat protection (compromised credentials, adaptive authentication); it is
      // billed per active user, so only prod pays for it. Essentials still allows
      // access-token customisation for client-credentials clients (see README).
      featurePlan: prod ? FeaturePlan.PLUS : FeaturePlan.ESSENTIALS,
      ...(prod ? { standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION } : {}),
      removalPolicy: stage.removalPolicy,
    });
    if (!prod) {
      acknowledge(
        this.userPool,
        'AwsSolutions-COG8',
        'Threat protection needs the Plus feature plan, billed per active user; prod uses it, dev and test stages hold no real users.',
      );
    }
    for (const group of ['provider', 'analyst', 'rules-admin']) {
      this.userPool.addGroup(`group-${group}`, { groupName: group });
    }
    const readOnlyProfile = new ClientAttributes().withStandardAttributes({ fullname: true });
    // People (analysts, rules admins, provider staff) sign in with SRP; no hosted-UI OAuth flows
    // (and so no implicit grant) until a web console brings its own callback URL.
    const consoleClient = new UserPoolClient(this, 'ConsoleClient', {
      userPool: this.userPool,
      generateSecret: false,
      // SRP for apps; USER_PASSWORD_AUTH (over TLS to Cognito) so the AWS CLI can sign in, as
      // README's smoke test does. MFA is required either way.
      authFlows: { userSrp: true, userPassword: true },
      disableOAuth: true,
      writeAttributes: readOnlyProfile,
    });

    // Provider billing systems authenticate machine to machine: the client-credentials grant
    // against the token endpoint of the pool's domain, with the resource server's scopes.
    const domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: `claimledger-${stage.name}-${this.account}` },
    });
    const scopes = PROVIDER_SCOPE_NAMES.map(
      (scopeName) => new ResourceServerScope({ scopeName, scopeDescription: PROVIDER_SCOPES[scopeName] }),
    );
    const resourceServer = new UserPoolResourceServer(this, 'Api', {
      userPool: this.userPool,
      identifier: PROVIDER_RESOURCE_SERVER,
      scopes,
    });
    // One app client and one API key per provider system. The stateless stack maps each client
    // id to the system's NPIs and binds each key to the system's usage plan.
    const oAuthScopes = scopes.map((scope) => OAuthScope.resourceServer(resourceServer, scope));
    this.providerClients = stage.providerClients.map((config) => {
      const id = providerClientId(config.name);
      const appClient = new UserPoolClient(this, `ProviderClient${id}`, {
        userPool: this.userPool,
        userPoolClientName: `claimledger-${stage.name}-${config.name}`,
        generateSecret: true,
        // Refresh only (which client credentials never issues): no user can sign in through a
        // provider system's client and receive a token with its client_id.
        authFlows: { userSrp: false },
        writeAttributes: readOnlyProfile,
        oAuth: {
          flows: { clientCredentials: true },
          scopes: oAuthScopes,
        },
        accessTokenValidity: Duration.minutes(60),
      });
      const apiKey = new ApiKey(this, `ProviderApiKey${id}`, {
        apiKeyName: `claimledger-${stage.name}-${config.name}`,
        description: `claimledger: identifies provider system ${config.name} to its usage plan (not a credential)`,
      });
      new CfnOutput(this, `ProviderClient${id}Id`, { value: appClient.userPoolClientId });
      new CfnOutput(this, `ProviderClient${id}ApiKeyId`, { value: apiKey.keyId });
      return { config, appClient, apiKey };
    });

    // What README's deploy steps need, without digging through the console.
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'ConsoleClientId', { value: consoleClient.userPoolClientId });
    new CfnOutput(this, 'TokenEndpoint', { value: `${domain.baseUrl()}/oauth2/token` });
    new CfnOutput(this, 'CheckpointBucketName', { value: this.checkpointBucket.bucketName });
  }
}
