import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ItemKey } from './journal-keys.ts';

const BATCH_GET_LIMIT = 100;
const BATCH_WRITE_LIMIT = 25;

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
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly ItemKey[],
  projection?: { expression: string; names?: Record<string, string> },
): Promise<Map<string, Record<string, unknown>>> {
  const unique = [...new Map(keys.map((key) => [`${key.pk}\u0000${key.sk}`, key])).values()];
  const found = new Map<string, Record<string, unknown>>();
  for (let i = 0; i < unique.length; i += BATCH_GET_LIMIT) {
    let pending: Record<string, unknown>[] = unique.slice(i, i + BATCH_GET_LIMIT).map((key) => ({ ...key }));
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
      for (const item of out.Responses?.[table] ?? []) found.set(String(item.pk), item);
      pending = (out.UnprocessedKeys?.[table]?.Keys as Record<string, unknown>[] | undefined) ?? [];
    }
  }
  return found;
}

/**
 * Plain (unconditional) puts of `items`, 25 per BatchWrite, `concurrency` requests in flight,
 * unprocessed items retried. Only for items whose value is the same whoever writes them.
 */
export async function batchPutAll(
  client: DynamoDBDocumentClient,
  table: string,
  items: readonly Record<string, unknown>[],
  concurrency = 4,
): Promise<void> {
  const chunks: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT)
    chunks.push(items.slice(i, i + BATCH_WRITE_LIMIT));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as Record<string, unknown>[];
      let requests = chunk.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        const out = await client.send(new BatchWriteCommand({ RequestItems: { [table]: requests } }));
        requests = (out.UnprocessedItems?.[table] as typeof requests | undefined) ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, chunks.length) }, worker));
}
