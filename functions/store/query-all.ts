import { type DocumentClient, QueryCommand } from './dynamo.ts';

type QueryInput = Omit<ConstructorParameters<typeof QueryCommand>[0], 'ExclusiveStartKey'>;

/** Every item a query matches, following LastEvaluatedKey page by page. For bounded partitions only. */
export async function queryAll(
  client: DocumentClient,
  input: QueryInput,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const out = await client.send(new QueryCommand({ ...input, ExclusiveStartKey }));
    items.push(...(out.Items ?? []));
    ExclusiveStartKey = out.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return items;
}
