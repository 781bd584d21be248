import { fromHex } from '#journal/bytes.ts';
import { type DocumentClient, GetCommand, QueryCommand } from './dynamo.ts';
import { CHECKPOINT_PK, checkpointKey } from './journal-keys.ts';

/** A signed checkpoint as stored. */
export interface StoredCheckpoint {
  origin: string;
  size: number;
  rootHash: Uint8Array;
  /** The signed note, exactly as signed (checkpoint body, blank line, signature lines). */
  note: string;
}

/** Reads the journal's signed checkpoints (`pk=CHECKPOINT, sk=<12-digit size>`). */
export class CheckpointReads {
  constructor(
    protected readonly client: DocumentClient,
    protected readonly table: string,
  ) {}

  /** The newest stored checkpoint, or null before the first one. */
  async latest(): Promise<StoredCheckpoint | null> {
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': CHECKPOINT_PK },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const item = out.Items?.[0];
    return item ? fromItem(item) : null;
  }

  /** The stored checkpoint of tree size `size`, or null. */
  async bySize(size: number): Promise<StoredCheckpoint | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: checkpointKey(size), ConsistentRead: true }),
    );
    return Item ? fromItem(Item) : null;
  }
}

function fromItem(item: Record<string, unknown>): StoredCheckpoint {
  return {
    origin: String(item.origin),
    size: Number(item.size),
    rootHash: fromHex(String(item.rootHash)),
    note: String(item.note),
  };
}
