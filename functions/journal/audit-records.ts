// What a whole-journal audit reads, as any source (DynamoDB, an export file) delivers it to the
// verifier in functions/cli/journal-verifier.ts. Plain data: the store reads it, the CLI checks it.

/** One stored entry as a source delivers it. */
export interface EntryRecord {
  /** Where the source found it: the item's key index in storage, the `index` field in an export. */
  index: number;
  /** The item's own `index` attribute, when the source has one besides its key. */
  claimedIndex?: number;
  key: string;
  /** The stored leaf hash (hex), which the verifier checks rather than trusts. */
  leafHash: string;
  /** The entry's canonical JSON text. */
  entry: string;
  /**
   * What the sequencer recorded for `key` (its KEY item): `null` when there is none, absent
   * when the source has no such records (an export).
   */
  sequencing?: { index?: number; leafHash: string } | null;
  /** Export line number, for messages. */
  line?: number;
}

/** A signed checkpoint as a source delivers it. */
export interface CheckpointRecord {
  /** The signed note text. */
  note: string;
  /** Where it came from, for messages: `checkpoint item 000000000300`, `line 305`. */
  source: string;
  /** What the storage item says besides its note, checked against the note. */
  stored?: { size: number; rootHash: string; origin: string };
}

/** The key a source uses for a node in the maps it hands the verifier's `addEntries`. */
export const nodeKey = (level: number, index: number): string => `${level}/${index}`;
