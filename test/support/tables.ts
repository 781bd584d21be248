import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import { createTables } from '../../functions/store/create-tables.ts';
import {
  createDocumentClient,
  createLocalClient,
  type TableNames,
  tableNamesFor,
} from '../../functions/store/dynamo-client.ts';

/** Fresh, uniquely named tables in the run's DynamoDB Local, so test files never share data. */
export async function freshTables(): Promise<{
  endpoint: string;
  prefix: string;
  names: TableNames;
  doc: ReturnType<typeof createDocumentClient>;
}> {
  const endpoint = inject('dynamoEndpoint');
  const prefix = `t${randomUUID().slice(0, 8)}-`;
  const names = tableNamesFor(prefix);
  const raw = createLocalClient(endpoint);
  await createTables(raw, names);
  raw.destroy();
  return { endpoint, prefix, names, doc: createDocumentClient({ endpoint }) };
}
