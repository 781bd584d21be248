// The journal table's key shapes, in one place: the sequencer, the integrator, the checkpoint
// publisher and the audit reader must all agree on them, and an auditor's tools read them too.

export interface ItemKey {
  pk: string;
  sk: string;
}

/** Zero-padded so that sort keys order as numbers do. */
export const pad12 = (n: number) => n.toString().padStart(12, '0');

/** A sequenced entry, by its index. */
export const entryKey = (index: number): ItemKey => ({ pk: `E#${pad12(index)}`, sk: 'E' });

/** A stored interior node of the Merkle tree (level ≥ 1). */
export const treeNodeKey = (level: number, index: number): ItemKey => ({
  pk: `N#${level.toString().padStart(2, '0')}#${index.toString().padStart(16, '0')}`,
  sk: 'N',
});

/** An append's idempotency record: its leaf hash, and its index once sequenced. */
export const sequencingKey = (key: string): ItemKey => ({ pk: `KEY#${key}`, sk: 'KEY' });

/** The signed checkpoint of tree size `size`; all checkpoints share one partition. */
export const CHECKPOINT_PK = 'CHECKPOINT';
export const checkpointKey = (size: number): ItemKey => ({ pk: CHECKPOINT_PK, sk: pad12(size) });

/** The sequence counter: how many entries have an index, and the round still writing its manifest. */
export const SEQUENCE_KEY: ItemKey = { pk: 'STATE', sk: 'SEQUENCE' };

/** A sequencing round's manifest, by the first index it gave (a partition each: they are large). */
export const manifestKey = (first: number): ItemKey => ({ pk: `M#${pad12(first)}`, sk: 'M' });
