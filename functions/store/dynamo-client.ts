import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A document client for the given endpoint. Without one the SDK's own resolution applies,
 * which honours AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_DYNAMODB (LocalStack, SAM).
 */
export function createDocumentClient(options: { endpoint?: string } = {}): DynamoDBDocumentClient {
  const client =
    options.endpoint === undefined ? new DynamoDBClient({}) : createLocalClient(options.endpoint);
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
}

/** A low-level client for DynamoDB Local (or LocalStack) at `endpoint`, which ignores credentials. */
export function createLocalClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...options,
  });
}

export interface TableNames {
  claims: string;
  records: string;
  journal: string;
}

/** Physical table names for a name prefix: tests isolate themselves with their own prefix. */
export function tableNamesFor(prefix: string): TableNames {
  return { claims: `${prefix}claims`, records: `${prefix}records`, journal: `${prefix}journal` };
}
