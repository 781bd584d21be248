import {
  type AttributeDefinition,
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { TableNames } from './dynamo-client.ts';
import { keyAttributeType, tableDefinitions } from './tables.ts';

/**
 * Creates every table that does not exist yet (local and test use; the cloud uses CDK).
 * Returns the names of the tables it created, so callers can tell a fresh store.
 */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<string[]> {
  const created: string[] = [];
  await Promise.all(
    tableDefinitions.map(async (table) => {
      const attributes = new Set([table.partitionKey, ...(table.sortKey ? [table.sortKey] : [])]);
      for (const index of table.indexes) {
        attributes.add(index.partitionKey);
        attributes.add(index.sortKey);
      }
      const definitions: AttributeDefinition[] = [...attributes].map((AttributeName) => ({
        AttributeName,
        AttributeType: keyAttributeType,
      }));
      const name = names[table.logicalName];
      try {
        await client.send(
          new CreateTableCommand({
            TableName: name,
            BillingMode: 'PAY_PER_REQUEST',
            AttributeDefinitions: definitions,
            KeySchema: [
              { AttributeName: table.partitionKey, KeyType: 'HASH' },
              ...(table.sortKey ? [{ AttributeName: table.sortKey, KeyType: 'RANGE' as const }] : []),
            ],
            ...(table.indexes.length > 0
              ? {
                  GlobalSecondaryIndexes: table.indexes.map((index) => ({
                    IndexName: index.name,
                    KeySchema: [
                      { AttributeName: index.partitionKey, KeyType: 'HASH' as const },
                      { AttributeName: index.sortKey, KeyType: 'RANGE' as const },
                    ],
                    Projection: { ProjectionType: 'ALL' as const },
                  })),
                }
              : {}),
          }),
        );
        created.push(name);
      } catch (error: unknown) {
        if (!(error instanceof ResourceInUseException)) throw error;
      }
      await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
    }),
  );
  return created;
}
