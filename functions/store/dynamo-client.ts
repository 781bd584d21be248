import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDocumentClient } from './dynamo.ts';

/** DynamoDB Local (and LocalStack) ignore credentials, but requests must still be signed. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/**
 * A document client for the given endpoint. Without one, the endpoint comes from
 * AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL (LocalStack, SAM) or is DynamoDB's regional one,
 * and credentials come from the SDK's provider chain.
 */
export function createDocumentClient(options: { endpoint?: string } = {}): DynamoDocumentClient {
  if (options.endpoint === undefined) return new DynamoDocumentClient();
  return new DynamoDocumentClient({
    endpoint: options.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
  });
}

/**
 * The SDK's client for DynamoDB Local (or LocalStack) at `endpoint`: for table administration
 * (create, describe, delete), which no Lambda function does.
 */
export function createLocalClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: LOCAL_CREDENTIALS,
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
