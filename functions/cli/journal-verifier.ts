// The whole-journal verifier behind `claimledger journal verify`: it recomputes the RFC 9162
// tree from the entries' bytes, one page at a time, and checks everything storage (or an
// export) claims against it and against the signed checkpoints. It trusts nothing but the
// verifier key: stored leaf hashes, node items, the tree state and the checkpoint items'
// own attributes are all checked, never used.
//
// No I/O here: a source (DynamoDB pages, an export file) feeds it records in index order, so
// the same code checks storage and exports, and the benchmark measures it in memory.
//
// Speed: for entries of a few hundred bytes, per-call overhead rather than SHA-256 itself is
// the cost, and node:crypto's one-shot hash() is cheapest with string output. So the fold
// works on hex strings end to end: leaf hashes come out as hex (and compare directly with the
// stored hex), interior inputs are decoded into one reused 65-byte buffer, and bytes appear
// only at checkpoint sizes. The unit tests check the results against merkle.ts.
//
// The per-entry check (valid UTF-8, RFC 8785 canonical, journalEntrySchema) is a one-pass
// scanner over the text, journal-entry-check.ts, property-tested to accept exactly what decodeEntry
// accepts; it costs about what the two hashes of an entry cost, where JSON.parse, zod and
// re-encoding cost several times that. Spreading entries over worker threads was measured and
// left out: copying a page of entries to a worker and back costs a third to a half of the check it would
// move, the cores are shared, and the fold (and the order of problems) has to stay sequential.

import { hash } from 'node:crypto';
import type { CheckpointRecord, EntryRecord } from '#journal/audit-records.ts';
import { nodeKey } from '#journal/audit-records.ts';
import { bytesEqual, fromHex, toBase64, toHex, utf8Encode } from '#journal/bytes.ts';
import { type Checkpoint, openCheckpoint } from '#journal/checkpoint.ts';
import { decodeEntry } from '#journal/entry.ts';
import { EMPTY_ROOT, rightEdgeNodes, rootFromRightEdge } from '#journal/merkle.ts';
import type { NoteVerifierKey } from '#journal/note.ts';
import { isCanonicalEntry } from './journal-entry-check.ts';

export { type CheckpointRecord, type EntryRecord, nodeKey } from '#journal/audit-records.ts';

/** The integrated tree's stored state (STATE/TREE). */
export interface StoredTreeState {
  size: number;
  root: Uint8Array;
  edge: Uint8Array[];
}

export type ProblemKind = 'entry' | 'node' | 'checkpoint' | 'tree' | 'format';

/** One thing that is wrong, with the entry index, node or checkpoint size it concerns. */
export interface Problem {
  kind: ProblemKind;
  message: string;
  index?: number;
  node?: { level: number; index: number };
  checkpointSize?: number;
}

export interface VerifierOptions {
  /** The only key trusted: every checkpoint must be signed by it. */
  key: NoteVerifierKey;
  /** Expected checkpoint origin (the log's name). */
  origin: string;
  checkpoints: readonly CheckpointRecord[];
  /** The sequencer's counter (STATE/SEQUENCE), when the source has one. */
  sequencedSize?: number;
  /** The integrator's state, when the source has one. */
  tree?: StoredTreeState;
  /** Schema-check every entry (default true; the benchmark also measures without). */
  decode?: boolean;
  /** Problems kept in the report; later ones are only counted. */
  maxProblems?: number;
}

/** The verdict. `ok` only when there is no problem at all. */
export interface VerifyReport {
  ok: boolean;
  /** Problems in the order found, at most `maxProblems`; the first bad entry comes first among entries. */
  problems: Problem[];
  problemCount: number;
  firstBadEntry?: number;
  /** Entries read and checked. */
  entries: number;
  /** Entries that passed every per-entry check. */
  goodEntries: number;
  /** UTF-8 bytes of entries read. */
  bytes: number;
  /** Signed checkpoints whose signature verified and whose root the entries reproduce. */
  checkpointsVerified: number;
  checkpointsTotal: number;
  /** The opened checkpoints, by size. */
  checkpoints: Checkpoint[];
  /** Leaves folded into the recomputed tree, and its root. */
  size: number;
  root: Uint8Array;
  /** Entries after the latest checkpoint: present and checked, but not yet signed. */
  unsigned: number;
  /** Stored tree nodes compared with the recomputed ones. */
  nodesChecked: number;
}

interface NodeMismatch {
  level: number;
  index: number;
  first: number;
  last: number;
}

const NODE_INPUT = Buffer.alloc(65);
NODE_INPUT[0] = 1;

/** RFC 9162 leaf hash of an entry's text, SHA-256(0x00 ‖ UTF-8 bytes), in hex. */
export function leafHashHex(text: string): string {
  return hash('sha256', `\u0000${text}`, 'hex');
}

/** RFC 9162 interior hash SHA-256(0x01 ‖ left ‖ right) of two hex hashes, in hex. */
export function interiorHashHex(left: string, right: string): string {
  NODE_INPUT.write(left, 1, 32, 'hex');
  NODE_INPUT.write(right, 33, 32, 'hex');
  return hash('sha256', NODE_INPUT, 'hex');
}

/**
 * Why `text` is not the canonical encoding of a valid journal entry, or null when it is.
 *
 * {@link isCanonicalEntry} proves the common case in one pass over the text (it accepts exactly
 * what decodeEntry accepts); only a text it rejects is handed to decodeEntry, for the message.
 */
export function entryProblem(text: string): string | null {
  if (isCanonicalEntry(text)) return null;
  try {
    JSON.parse(text);
  } catch {
    return 'the entry is not JSON';
  }
  try {
    decodeEntry(utf8Encode(text));
    return null;
  } catch (error: unknown) {
    return messageOf(error);
  }
}

const EMPTY_ROOT_HEX = toHex(EMPTY_ROOT);

/**
 * Streaming verifier over one journal. Feed it entries in index order with
 * {@link addEntries}, then call {@link finish}. Memory is O(log n) for the tree plus the
 * indices of bad entries.
 */
export class JournalVerifier {
  private readonly decode: boolean;
  private readonly maxProblems: number;
  private readonly problems: Problem[] = [];
  private problemCount = 0;
  private readonly badEntries: number[] = [];
  /** What to call a bad entry in a consequence: `entry 17`, or `entries 42–43` when a node pins it down. */
  private readonly badLabels = new Map<number, string>();
  private readonly nodeMismatches: NodeMismatch[] = [];
  /** First leaf of every reported node mismatch, sorted. */
  private readonly mismatchStarts: number[] = [];
  private readonly opened: { checkpoint: Checkpoint; source: string }[] = [];
  private readonly bySize = new Map<number, Checkpoint>();
  private readonly targets = new Set<number>();
  private readonly roots = new Map<number, Uint8Array>([[0, EMPTY_ROOT]]);
  private readonly treeSize: number;
  /** The recomputed tree's right edge: levels and hex hashes of its complete subtrees. */
  private readonly edgeLevels: number[] = [];
  private readonly edgeHashes: string[] = [];
  /** Leaves folded so far. */
  private folded = 0;
  /** Set when an entry is missing or out of place: the tree cannot be recomputed past it. */
  private foldStoppedAt: number | undefined;
  /** The index the next record should have. */
  private position = 0;
  private entries = 0;
  private goodEntries = 0;
  private bytes = 0;
  private nodesChecked = 0;

  constructor(private readonly options: VerifierOptions) {
    this.decode = options.decode ?? true;
    this.maxProblems = options.maxProblems ?? 100;
    this.treeSize = options.tree?.size ?? 0;
    this.openCheckpoints();
    if (options.tree) this.targets.add(options.tree.size);
  }

  /** Number of entries the journal should hold: the largest size any source of truth claims. */
  get expectedEntries(): number {
    const latest = this.opened.at(-1)?.checkpoint.size ?? 0;
    return Math.max(this.options.sequencedSize ?? 0, this.treeSize, latest);
  }

  /** Opened checkpoints, by size. */
  get checkpoints(): Checkpoint[] {
    return this.opened.map((c) => c.checkpoint);
  }

  /**
   * Checks a page of entries and folds them into the tree. `storedNodes` holds the stored
   * interior nodes (lowercase hex, by {@link nodeKey}) that this page's leaves complete, when
   * the source has a node store; each is compared with the recomputed one.
   */
  addEntries(records: readonly EntryRecord[], storedNodes?: ReadonlyMap<string, string>): void {
    for (const record of records) {
      this.entries++;
      this.bytes += Buffer.byteLength(record.entry);
      const placed = this.place(record);
      const computed = leafHashHex(record.entry);
      const problem = placed ?? this.checkEntry(record, computed);
      if (problem === null) {
        this.goodEntries++;
      } else {
        this.badEntry(record.index, `${entryLabel(record)}: ${problem}`);
      }
      if (this.foldStoppedAt === undefined) this.fold(computed, storedNodes);
    }
  }

  /**
   * Entries stored beyond the sequenced size: never legitimate, since the sequencer writes an
   * entry and the counter in one transaction.
   */
  addExtraEntries(indices: readonly number[], sequencedSize: number): void {
    for (const index of indices) {
      this.badEntry(
        index,
        `entry ${index}: stored beyond the sequenced size ${sequencedSize} (inserted without being sequenced)`,
      );
    }
  }

  /** A problem the source found itself (a malformed state item, a format error). */
  addProblem(problem: Problem): void {
    this.problem(problem);
  }

  /** Final checks (checkpoints, tree state, sizes) and the report. */
  finish(): VerifyReport {
    const expected = this.expectedEntries;
    if (this.position < expected) {
      this.missing(this.position, expected - 1, 'the journal ends early');
      this.position = expected;
    }
    this.reportNodeMismatches();
    const checkpointsVerified = this.checkCheckpoints();
    this.checkTreeState();
    this.checkSizes();

    const signed = this.opened.at(-1)?.checkpoint.size ?? 0;
    const report: VerifyReport = {
      ok: this.problemCount === 0,
      problems: this.problems,
      problemCount: this.problemCount,
      entries: this.entries,
      goodEntries: this.goodEntries,
      bytes: this.bytes,
      checkpointsVerified,
      checkpointsTotal: this.options.checkpoints.length,
      checkpoints: this.checkpoints,
      size: this.folded,
      root: fromHex(this.edgeRoot()),
      unsigned: Math.max(0, this.folded - signed),
      nodesChecked: this.nodesChecked,
    };
    if (this.badEntries.length > 0) report.firstBadEntry = this.badEntries[0]!;
    return report;
  }

  // --- entries -------------------------------------------------------------------------------

  /** Index bookkeeping; a problem when the record is not where the next entry should be. */
  private place(record: EntryRecord): string | null {
    const { index } = record;
    if (index === this.position) {
      this.position++;
      return record.claimedIndex === undefined || record.claimedIndex === index
        ? null
        : `the item under index ${index} says it is entry ${record.claimedIndex} (moved)`;
    }
    this.stopFold(Math.min(index, this.position));
    if (index > this.position) {
      this.missing(this.position, index - 1, `the next stored entry is ${index}`);
      this.position = index + 1;
      return null;
    }
    return `out of order: it comes after entry ${this.position - 1} (duplicated or moved)`;
  }

  private checkEntry(record: EntryRecord, computedHex: string): string | null {
    if (this.decode) {
      const problem = entryProblem(record.entry);
      if (problem !== null) return `does not decode as a journal entry: ${problem}`;
    }
    if (record.leafHash !== computedHex) {
      return `stored leaf hash ${short(record.leafHash)} does not match the entry bytes (leaf hash ${short(computedHex)}): the entry or its leaf hash was edited`;
    }
    const sequencing = record.sequencing;
    if (sequencing === null) {
      return `key ${JSON.stringify(record.key)} has no sequencing record (an entry inserted into the journal)`;
    }
    if (sequencing !== undefined) {
      if (sequencing.index !== undefined && sequencing.index !== record.index) {
        return `holds the entry sequenced as entry ${sequencing.index} (key ${JSON.stringify(record.key)}): entries were moved, swapped or inserted`;
      }
      if (sequencing.leafHash !== computedHex) {
        return `leaf hash ${short(computedHex)} differs from ${short(sequencing.leafHash)}, recorded when key ${JSON.stringify(record.key)} was sequenced: the entry was rewritten`;
      }
    }
    return null;
  }

  private missing(first: number, last: number, why: string): void {
    const what = first === last ? `entry ${first} is missing` : `entries ${first}–${last} are missing`;
    this.badEntry(first, `${what} (${why})`);
  }

  private badEntry(index: number, message: string, label?: string): void {
    const at = sortedInsertionPoint(this.badEntries, index);
    this.badEntries.splice(at, 0, index);
    if (label !== undefined && !this.badLabels.has(index)) this.badLabels.set(index, label);
    this.problem({ kind: 'entry', index, message });
  }

  private badLabel(index: number): string {
    return this.badLabels.get(index) ?? `entry ${index}`;
  }

  private stopFold(at: number): void {
    this.foldStoppedAt ??= at;
  }

  // --- the tree -----------------------------------------------------------------------------

  private fold(leaf: string, storedNodes: ReadonlyMap<string, string> | undefined): void {
    const levels = this.edgeLevels;
    const hashes = this.edgeHashes;
    let level = 0;
    let node = leaf;
    // Equal-level neighbours on the edge are siblings: merge them into their parent.
    while (levels.length > 0 && levels[levels.length - 1] === level) {
      levels.pop();
      node = interiorHashHex(hashes.pop()!, node);
      level++;
      if (storedNodes !== undefined) this.checkNode(level, node, storedNodes);
    }
    levels.push(level);
    hashes.push(node);
    this.folded++;
    if (this.targets.has(this.folded)) this.roots.set(this.folded, fromHex(this.edgeRoot()));
  }

  /** Compares the node of `level` that leaf number `this.folded` just completed with the stored one. */
  private checkNode(level: number, hash: string, storedNodes: ReadonlyMap<string, string>): void {
    const span = 2 ** level;
    const last = this.folded;
    const first = last + 1 - span;
    const node = { level, index: first / span };
    if (last >= this.treeSize) return; // not integrated yet, so not stored
    this.nodesChecked++;
    const stored = storedNodes.get(nodeKey(level, node.index));
    if (stored === undefined) {
      this.problem({
        kind: 'node',
        node,
        message: `node (${level}, ${node.index}) over entries ${first}–${last} is missing from the tree store`,
      });
      return;
    }
    // A node over an entry already found bad, or over a node that already differs, differs as
    // a consequence; say nothing more.
    if (stored !== hash && !hasIn(this.badEntries, first, last) && !hasIn(this.mismatchStarts, first, last)) {
      this.nodeMismatches.push({ level, index: node.index, first, last });
      this.mismatchStarts.splice(sortedInsertionPoint(this.mismatchStarts, first), 0, first);
    }
  }

  /** Root of the leaves folded so far (hex): the edge folded from the right. */
  private edgeRoot(): string {
    const hashes = this.edgeHashes;
    if (hashes.length === 0) return EMPTY_ROOT_HEX;
    let root = hashes[hashes.length - 1]!;
    for (let i = hashes.length - 2; i >= 0; i--) root = interiorHashHex(hashes[i]!, root);
    return root;
  }

  // --- checkpoints and state ------------------------------------------------------------------

  private openCheckpoints(): void {
    const bySize = new Map<number, { checkpoint: Checkpoint; source: string }>();
    for (const record of this.options.checkpoints) {
      let checkpoint: Checkpoint;
      try {
        checkpoint = openCheckpoint(record.note, this.options.key, {
          origin: this.options.origin,
        }).checkpoint;
      } catch (error: unknown) {
        this.problem({
          kind: 'checkpoint',
          message: `${record.source}: not a valid checkpoint signed by ${keyLabel(this.options.key)}: ${messageOf(error)}`,
        });
        continue;
      }
      const stored = record.stored;
      if (
        stored &&
        (stored.size !== checkpoint.size ||
          stored.origin !== checkpoint.origin ||
          stored.rootHash !== toHex(checkpoint.rootHash))
      ) {
        this.problem({
          kind: 'checkpoint',
          checkpointSize: checkpoint.size,
          message: `${record.source}: its attributes (size ${stored.size}, root ${short(stored.rootHash)}) differ from its signed note (size ${checkpoint.size}, root ${short(toHex(checkpoint.rootHash))}): the item was edited`,
        });
      }
      const same = bySize.get(checkpoint.size);
      if (same) {
        if (!bytesEqual(same.checkpoint.rootHash, checkpoint.rootHash)) {
          this.problem({
            kind: 'checkpoint',
            checkpointSize: checkpoint.size,
            message: `${record.source} and ${same.source}: two signed checkpoints of size ${checkpoint.size} with different roots: the log forked`,
          });
        }
        continue;
      }
      bySize.set(checkpoint.size, { checkpoint, source: record.source });
    }
    this.opened.push(...[...bySize.values()].sort((a, b) => a.checkpoint.size - b.checkpoint.size));
    for (const { checkpoint } of this.opened) {
      this.targets.add(checkpoint.size);
      this.bySize.set(checkpoint.size, checkpoint);
    }
  }

  private checkpointMatches(size: number): boolean {
    const root = this.roots.get(size);
    const opened = this.bySize.get(size);
    return root !== undefined && opened !== undefined && bytesEqual(root, opened.rootHash);
  }

  /**
   * Every opened checkpoint must be the root of a prefix of the one entry sequence: that is
   * both the check that storage still holds what was signed and that the checkpoints are
   * mutually consistent. Returns how many pass.
   */
  private checkCheckpoints(): number {
    let verified = 0;
    let lastGood: number | undefined;
    for (const { checkpoint, source } of this.opened) {
      const { size } = checkpoint;
      const root = this.roots.get(size);
      if (root === undefined) {
        const reason =
          this.foldStoppedAt !== undefined && this.foldStoppedAt < size
            ? `entry ${this.foldStoppedAt} is missing or out of place, so the tree cannot be recomputed that far`
            : `only ${this.folded} entries are stored`;
        this.problem({
          kind: 'checkpoint',
          checkpointSize: size,
          message: `${source} (size ${size}) cannot be checked: ${reason}`,
        });
        continue;
      }
      if (bytesEqual(root, checkpoint.rootHash)) {
        verified++;
        lastGood = size;
        continue;
      }
      const bad = this.badEntries.find((index) => index < size);
      const cause =
        bad !== undefined
          ? `the entries changed (first bad: ${this.badLabel(bad)})`
          : lastGood === undefined
            ? `an entry below ${size} was changed after it was signed`
            : `an entry in ${lastGood}–${size - 1} was changed after it was signed (checkpoint ${lastGood} still matches)`;
      this.problem({
        kind: 'checkpoint',
        checkpointSize: size,
        message: `${source} (size ${size}): signed root ${short(toBase64(checkpoint.rootHash))} differs from the root ${short(toBase64(root))} recomputed from entries 0–${size - 1}: ${cause}`,
      });
    }
    return verified;
  }

  private checkTreeState(): void {
    const tree = this.options.tree;
    if (!tree) return;
    if (
      tree.edge.length !== rightEdgeNodes(tree.size).length ||
      !bytesEqual(rootFromRightEdge(tree.edge), tree.root)
    ) {
      this.problem({
        kind: 'tree',
        message: `tree state (size ${tree.size}): its right edge does not fold to its root (the state item was edited)`,
      });
    }
    const root = this.roots.get(tree.size);
    if (root !== undefined && !bytesEqual(root, tree.root)) {
      const bad = this.badEntries.find((index) => index < tree.size);
      this.problem({
        kind: 'tree',
        message: `tree state (size ${tree.size}): its root ${short(toBase64(tree.root))} differs from the recomputed root ${short(toBase64(root))}${bad === undefined ? ' (the state item was edited)' : ` (the entries changed; first bad: ${this.badLabel(bad)})`}`,
      });
    }
  }

  private checkSizes(): void {
    const sequenced = this.options.sequencedSize;
    if (sequenced === undefined) return;
    if (this.treeSize > sequenced) {
      this.problem({
        kind: 'tree',
        message: `the tree (size ${this.treeSize}) is larger than the sequenced journal (size ${sequenced}): the sequence counter was rewound`,
      });
    }
    const latest = this.opened.at(-1)?.checkpoint.size ?? 0;
    if (latest > sequenced) {
      this.problem({
        kind: 'checkpoint',
        checkpointSize: latest,
        message: `the latest checkpoint (size ${latest}) covers more entries than were sequenced (${sequenced}): the sequence counter was rewound`,
      });
    }
  }

  /**
   * A stored node that differs from the recomputed one, under entries that passed every
   * per-entry check, is one of two things. When a signed checkpoint over those entries still
   * matches, the entries are what was signed and the node item was rewritten. When the first
   * checkpoint covering them fails, the entries were rewritten (with their leaf hashes and key
   * records) and the node is what still remembers them.
   */
  private reportNodeMismatches(): void {
    for (const mismatch of this.nodeMismatches) {
      const { level, index, first, last } = mismatch;
      const covering = this.firstCheckpointCovering(last);
      const node = { level, index };
      if (covering && !this.checkpointMatches(covering.checkpoint.size)) {
        this.badEntry(
          first,
          `entries ${first}–${last}: one of them was rewritten after checkpoint ${covering.checkpoint.size} was signed; they no longer hash to the stored node (${level}, ${index})`,
          `entries ${first}–${last}`,
        );
      } else if (covering) {
        this.problem({
          kind: 'node',
          node,
          message: `node (${level}, ${index}): stored hash differs from the hash of entries ${first}–${last}, which match signed checkpoint ${covering.checkpoint.size}: the node item was rewritten`,
        });
      } else {
        this.problem({
          kind: 'node',
          node,
          message: `node (${level}, ${index}): stored hash differs from the hash of entries ${first}–${last}; no signed checkpoint covers them yet to tell whether the node or the entries changed`,
        });
      }
    }
  }

  /** The smallest opened checkpoint whose tree includes entry `index`. */
  private firstCheckpointCovering(index: number): { checkpoint: Checkpoint; source: string } | undefined {
    let low = 0;
    let high = this.opened.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.opened[mid]!.checkpoint.size <= index) low = mid + 1;
      else high = mid;
    }
    return this.opened[low];
  }

  private problem(problem: Problem): void {
    this.problemCount++;
    if (this.problems.length < this.maxProblems) this.problems.push(problem);
  }
}

/** True when the sorted list holds a value in [first, last]. */
function hasIn(sorted: readonly number[], first: number, last: number): boolean {
  const at = sortedInsertionPoint(sorted, first);
  return at < sorted.length && sorted[at]! <= last;
}

function sortedInsertionPoint(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! < value) low = mid + 1;
    else high = mid;
  }
  return low;
}

function entryLabel(record: EntryRecord): string {
  return record.line === undefined ? `entry ${record.index}` : `entry ${record.index} (line ${record.line})`;
}

function keyLabel(key: NoteVerifierKey): string {
  return `${key.name}+${toHex(key.keyId)}`;
}

/** First 12 characters of a hash, enough to tell two apart in a message. */
function short(text: string): string {
  return text.length > 12 ? `${text.slice(0, 12)}…` : text;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
