import { RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import { UserPool, UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Key, KeySpec, KeyUsage } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import { tableDefinitions } from '../functions/store/tables.ts';

export type TableName = (typeof tableDefinitions)[number]['logicalName'];

/** Everything that holds data: tables, keys, identity. Stateless stacks get it through props. */
export class StatefulStack extends Stack {
  readonly tables: Record<TableName, Table>;
  readonly userPool: UserPool;
  /** Signs journal checkpoints; the private key never leaves KMS. */
  readonly journalSigningKey: Key;

  constructor(scope: Construct, id: string, props: StackProps & { stage: string }) {
    super(scope, id, props);
    const prod = props.stage === 'prod';
    const dataKey = new Key(this, 'DataKey', {
      enableKeyRotation: true,
      description: 'claimledger: encryption at rest for claims, records and the journal',
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });

    // Never destroyed, even outside prod: checkpoints already handed to auditors are only
    // verifiable with its public key, and a new key would look like a forked log.
    this.journalSigningKey = new Key(this, 'JournalSigningKey', {
      keySpec: KeySpec.ECC_NIST_EDWARDS25519,
      keyUsage: KeyUsage.SIGN_VERIFY,
      description: 'claimledger: Ed25519 key that signs the decision journal checkpoints',
      removalPolicy: RemovalPolicy.RETAIN,
    });

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
        removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
        ...(def.stream ? { stream: StreamViewType.NEW_IMAGE } : {}),
      });
      for (const index of def.indexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
          sortKey: { name: index.sortKey, type: AttributeType.STRING },
        });
      }
      tables[def.logicalName] = table;
    }
    this.tables = tables;

    // Groups are the roles (DESIGN.md decision 6); custom:npi binds a provider to its NPIs.
    this.userPool = new UserPool(this, 'Users', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      customAttributes: {},
      removalPolicy: prod ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    for (const group of ['provider', 'analyst', 'rules-admin']) {
      this.userPool.addGroup(`group-${group}`, { groupName: group });
    }
    new UserPoolClient(this, 'ConsoleClient', { userPool: this.userPool, generateSecret: false });
  }
}
