import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type {
  BatchGetCommandInput,
  BatchGetCommandOutput,
  BatchWriteCommandInput,
  BatchWriteCommandOutput,
  DeleteCommandInput,
  DeleteCommandOutput,
  GetCommandInput,
  GetCommandOutput,
  PutCommandInput,
  PutCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  TransactWriteCommandInput,
  TransactWriteCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { convertToAttr, convertToNative } from '@aws-sdk/util-dynamodb';
import {
  type AwsHttpClient,
  type AwsServiceOptions,
  decodeJsonError,
  lazyAwsHttpClient,
  sendJson,
} from './aws-http.ts';

/**
 * A DynamoDB document client: the SDK's DocumentClient commands (same names, same input and
 * output shapes, native JavaScript values in and out) over {@link AwsHttpClient}. DynamoDB's
 * JSON protocol is one POST per operation, named by `X-Amz-Target`; what the SDK adds on top is
 * marshalling, which @aws-sdk/util-dynamodb does here as in lib-dynamodb (undefined attributes
 * dropped).
 */

/** A DynamoDB operation and its input; `output` only carries the output's type. */
export abstract class DocumentCommand<Input, Output> {
  abstract readonly operation: string;
  declare readonly output: Output;
  constructor(readonly input: Input) {}
}

export class GetCommand extends DocumentCommand<GetCommandInput, GetCommandOutput> {
  readonly operation = 'GetItem';
}
export class PutCommand extends DocumentCommand<PutCommandInput, PutCommandOutput> {
  readonly operation = 'PutItem';
}
export class UpdateCommand extends DocumentCommand<UpdateCommandInput, UpdateCommandOutput> {
  readonly operation = 'UpdateItem';
}
export class DeleteCommand extends DocumentCommand<DeleteCommandInput, DeleteCommandOutput> {
  readonly operation = 'DeleteItem';
}
export class QueryCommand extends DocumentCommand<QueryCommandInput, QueryCommandOutput> {
  readonly operation = 'Query';
}
export class ScanCommand extends DocumentCommand<ScanCommandInput, ScanCommandOutput> {
  readonly operation = 'Scan';
}
export class BatchGetCommand extends DocumentCommand<BatchGetCommandInput, BatchGetCommandOutput> {
  readonly operation = 'BatchGetItem';
}
export class BatchWriteCommand extends DocumentCommand<BatchWriteCommandInput, BatchWriteCommandOutput> {
  readonly operation = 'BatchWriteItem';
}
export class TransactWriteCommand extends DocumentCommand<
  TransactWriteCommandInput,
  TransactWriteCommandOutput
> {
  readonly operation = 'TransactWriteItems';
}

/** What the stores need of a client: one operation at a time. */
export interface DocumentClient {
  send<Input, Output>(command: DocumentCommand<Input, Output>): Promise<Output>;
}

/** Sees every operation a client sends, before it goes (benchmarks count requests with it). */
export type RequestListener = (operation: string, input: unknown) => void;

export class DynamoDocumentClient implements DocumentClient {
  private readonly http: () => Promise<AwsHttpClient>;
  private readonly listeners: RequestListener[] = [];

  constructor(options: Omit<AwsServiceOptions, 'service' | 's3'> = {}) {
    this.http = lazyAwsHttpClient({ ...options, service: 'dynamodb' });
  }

  onRequest(listener: RequestListener): void {
    this.listeners.push(listener);
  }

  async send<Input, Output>(command: DocumentCommand<Input, Output>): Promise<Output> {
    for (const listener of this.listeners) listener(command.operation, command.input);
    const { output, $metadata } = await sendJson(
      await this.http(),
      {
        target: `DynamoDB_20120810.${command.operation}`,
        version: '1.0',
        body: JSON.stringify(marshallInput(command.input), encodeBinary),
      },
      (answer) => {
        const error = decodeJsonError(answer);
        return { ...error, fields: unmarshallOutput(error.fields) as Record<string, unknown> };
      },
    );
    return { ...(unmarshallOutput(output) as object), $metadata } as Output;
  }
}

// --- marshalling -------------------------------------------------------------------------------
// The request and response shapes are walked structurally; an item, a key or a map of expression
// values found on the way is converted as a whole, so user data is never walked as structure.

const MARSHALL_OPTIONS = { removeUndefinedValues: true, convertTopLevelContainer: true } as const;

const itemToAttributes = (item: Record<string, unknown>): Record<string, AttributeValue> => {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(item)) {
    if (value !== undefined) out[name] = convertToAttr(value, MARSHALL_OPTIONS);
  }
  return out;
};

const attributesToItem = (attributes: Record<string, AttributeValue>): Record<string, unknown> =>
  convertToNative({ M: decodeBinaryAttributes(attributes) }) as Record<string, unknown>;

// Keys whose value is one item-shaped map, and keys whose value is a list of them.
const ITEM_KEYS = new Set([
  'Item',
  'Key',
  'ExpressionAttributeValues',
  'ExclusiveStartKey',
  'Attributes',
  'LastEvaluatedKey',
]);
const ITEM_LIST_KEYS = new Set(['Items', 'Keys']);
// Keys whose value maps table names to structure (a table may be called anything).
const TABLE_MAP_KEYS = new Set(['RequestItems', 'Responses', 'UnprocessedItems', 'UnprocessedKeys']);

function walk(
  value: unknown,
  convert: (item: Record<string, unknown>) => unknown,
  tableValues = false,
): unknown {
  if (Array.isArray(value)) return value.map((element) => walk(element, convert, tableValues));
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (tableValues) out[key] = walkTable(field, convert);
    else if (ITEM_KEYS.has(key) && isRecord(field)) out[key] = convert(field);
    else if (ITEM_LIST_KEYS.has(key) && Array.isArray(field)) out[key] = field.map((item) => convert(item));
    else out[key] = walk(field, convert, TABLE_MAP_KEYS.has(key));
  }
  return out;
}

// A table's entry of BatchGet `Responses` is a list of items; every other one is structure.
const walkTable = (field: unknown, convert: (item: Record<string, unknown>) => unknown): unknown =>
  Array.isArray(field) && field.every((element) => isRecord(element) && !isRequestShape(element))
    ? field.map((item) => convert(item))
    : walk(field, convert);

const isRequestShape = (value: Record<string, unknown>) => 'PutRequest' in value || 'DeleteRequest' in value;
const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const marshallInput = (input: unknown) => walk(input, itemToAttributes);
const unmarshallOutput = (output: unknown) =>
  walk(output, (attributes) => attributesToItem(attributes as Record<string, AttributeValue>));

/** JSON.stringify replacer: binary attribute values travel as base64 in the JSON protocol. */
function encodeBinary(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return raw instanceof Uint8Array
    ? Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64')
    : value;
}

function decodeBinaryAttributes(attributes: Record<string, AttributeValue>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) out[name] = decodeBinary(value);
  return out;
}

const fromBase64 = (text: unknown) => new Uint8Array(Buffer.from(String(text), 'base64'));

function decodeBinary(value: AttributeValue): AttributeValue {
  if (value.B !== undefined) return { B: fromBase64(value.B) };
  if (value.BS !== undefined) return { BS: value.BS.map(fromBase64) };
  if (value.M !== undefined) return { M: decodeBinaryAttributes(value.M) };
  if (value.L !== undefined) return { L: value.L.map(decodeBinary) };
  return value;
}
