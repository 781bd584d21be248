import { BatchGetCommand, BatchWriteCommand, type DocumentClient } from './dynamo.ts';
import type { ItemKey } from './journal-keys.ts';

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;
// Requests in flight at once for one batch read or write: a round of 1,000 entries reads them
// in 10 BatchGets and writes its nodes in 40 BatchWrites.
const BATCH_CONCURRENCY = 4;

/** Jittered exponential pause before retrying what DynamoDB left unprocessed. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.min(1000, 10 * 2 ** attempt) * (0.5 + Math.random() / 2);
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Consistent reads of `keys` (each at most once: BatchGet rejects duplicates), 100 per request,
 * unprocessed keys retried. Returns the items found, keyed by `pk`.
 */
export async function batchGetAll(
  client: DocumentClient,
  table: string,
  keys: readonly ItemKey[],
  projection?: { expression: string; names?: Record<string, string> },
): Promise<Map<string, Record<string, unknown>>> {
  const found = await batchGetItems(client, table, keys, projection);
  return new Map([...found.values()].map((item) => [String(item.pk), item]));
}

/** The identity of an item by its whole key, for items that share a partition. */
export const itemId = (key: ItemKey) => `${key.pk}\u0000${key.sk}`;

/** {@link batchGetAll}, keyed by {@link itemId}: for keys that share a partition key. */
export async function batchGetItems(
  client: DocumentClient,
  table: string,
  keys: readonly ItemKey[],
  projection?: { expression: string; names?: Record<string, string> },
): Promise<Map<string, Record<string, unknown>>> {
  const unique = [...new Map(keys.map((key) => [itemId(key), key])).values()];
  const found = new Map<string, Record<string, unknown>>();
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
    chunks.push(unique.slice(i, i + BATCH_GET_LIMIT).map(({ pk, sk }) => ({ pk, sk })));
  }
  await inParallel(chunks, BATCH_CONCURRENCY, async (chunk) => {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const out = await client.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: pending,
              ConsistentRead: true,
              ...(projection
                ? {
                    ProjectionExpression: projection.expression,
                    ...(projection.names ? { ExpressionAttributeNames: projection.names } : {}),
                  }
                : {}),
            },
          },
        }),
      );
      for (const item of out.Responses?.[table] ?? []) {
        found.set(itemId({ pk: String(item.pk), sk: String(item.sk) }), item);
      }
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  });
  return found;
}

/**
 * Plain (unconditional) puts of `items`, 25 per BatchWrite, `concurrency` requests in flight,
 * unprocessed items retried. Only for items whose value is the same whoever writes them.
 */
export function batchPutAll(
  client: DocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
  concurrency = BATCH_CONCURRENCY,
): Promise<void> {
  return batchWriteAll(
    client,
    table,
    items.map((Item) => ({ PutRequest: { Item } })),
    concurrency,
  );
}

/** Plain deletes of `keys`, as {@link batchPutAll} writes. */
export function batchDeleteAll(
  client: DocumentClient,
  table: string,
  keys: readonly ItemKey[],
  concurrency = BATCH_CONCURRENCY,
): Promise<void> {
  return batchWriteAll(
    client,
    table,
    keys.map(({ pk, sk }) => ({ DeleteRequest: { Key: { pk, sk } } })),
    concurrency,
  );
}

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: Record<string, unknown> } };

async function batchWriteAll(
  client: DocumentClient,
  table: string,
  writes: readonly WriteRequest[],
  concurrency: number,
): Promise<void> {
  const chunks: WriteRequest[][] = [];
  for (let i = 0; i < writes.length; i += BATCH_WRITE_LIMIT)
    chunks.push(writes.slice(i, i + BATCH_WRITE_LIMIT));
  await inParallel(chunks, concurrency, async (chunk) => {
    let requests = chunk;
    for (let attempt = 0; requests.length > 0; attempt++) {
      if (attempt > 0) await backoff(attempt);
      const out = await client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] as WriteRequest[] | undefined) ?? [];
    }
  });
}

/** Runs `task` over `items`, at most `concurrency` at a time. */
async function inParallel<T>(
  items: readonly T[],
  concurrency: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
