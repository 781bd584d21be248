import { createHash, randomUUID } from 'node:crypto';
import { TooLargeError } from '#claims/errors.ts';
import { encodeEntry, type JournalEntry, leafHash } from '#journal/entry.ts';
import { isAwsError } from './aws-http.ts';
import { batchDeleteAll, batchGetAll, batchGetItems, batchPutAll, itemId } from './batch.ts';
import {
  type DocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from './dynamo.ts';
import { entryKey, manifestKey, SEQUENCE_KEY, sequencingKey } from './journal-keys.ts';
import { queryAll } from './query-all.ts';
import { conditionalWrite, failedConditions, isContention } from './transactions.ts';

/** What a writer gets back once its entry has a place in the log. */
export interface JournalReceipt {
  index: number;
  leafHash: string;
  key: string;
}

export interface StoredEntry extends JournalReceipt {
  /** The canonical (RFC 8785) bytes of the entry, as UTF-8 text. */
  entry: string;
}

/** A transaction item in the document client's shape. */
export type DocTransactItem = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>[number];

export class JournalSequencingError extends Error {
  override name = 'JournalSequencingError';
}

export class JournalKeyConflictError extends Error {
  override name = 'JournalKeyConflictError';
}

// A round of up to 33 entries commits them in one transaction: each takes 3 items (entry,
// pending delete, key update) and the counter one, within DynamoDB's 100-item limit. A larger
// round commits a manifest instead, of up to MANIFEST_MAX entries (~200 B each in one item).
const TRANSACTION_BATCH = 33;
const MANIFEST_MAX = 500;
// A transaction carries at most 4 MB: a round whose entries come near that (large records,
// many pending partitions) commits a manifest however few entries it has.
const TRANSACTION_ENTRY_BYTES = 3 * 1024 * 1024;
// How long a process appends only by group commit after losing a direct attempt.
const DIRECT_PAUSE_MS = 10_000;
// The sequencer lease: how long it lasts unless renewed, and the time left under which its
// holder renews it before a round; how often a writer that does not hold it looks whether its
// entry was sequenced, and reads the lease item; how long a writer waits for its index at most.
const LEASE_MS = 2_000;
const LEASE_RENEW_MS = 500;
const POLL_MS = 15;
const LEASE_RECHECK_MS = 200;
// A lease handed on lasts this long unless its new holder renews it: long enough for a round
// or two without a renewal, short enough that a successor that died (its writer crashed after
// staging) holds the others up for no longer than this.
const HANDOVER_MS = 1_000;
const RECEIPT_TIMEOUT_MS = 20_000;
// How often the integrator looks for entries that writers which died left pending.
const SWEEP_EVERY_MS = 1_000;
const LEASE_KEY = { pk: 'STATE', sk: 'SEQUENCER' } as const;
// An entry is stored whole in one item (pending, then sequenced); DynamoDB items stop at 400 KB.
const MAX_ENTRY_BYTES = 350 * 1024;

/** What one sequencing round did, and which of this process's pending reads it made. */
interface Round {
  receipts: Map<string, JournalReceipt>;
  read: number;
}

/**
 * The journal's write side: append directly when uncontended, else stage, then sequence.
 *
 * Either way the entry is written inside the caller's own transaction, so a decision and its
 * journal entry are written together or not at all. Directly, the entry takes the next index
 * in that transaction, conditional on the size counter (one round trip, shared by the
 * process's concurrent appends). Otherwise staging
 * puts the entry in one of a few pending partitions, and sequencing gives pending entries
 * dense indices in batches (group commit) after the current size, conditional on the size
 * not having moved: writers never lose, duplicate or reorder an acknowledged entry, and a
 * writer that crashed after staging is sequenced by the next round.
 *
 * Who runs the rounds: the process holding the sequencer lease (a `STATE/SEQUENCER` item with
 * an owner and an expiry), while it has appends waiting, then hands it to a writer still
 * waiting; other processes' writers wait for their index (or the lease) by reading their key
 * item. A round that loses the counter to direct appends marks it `starved`, which stops them
 * until a round commits. Without the lease, every waiting process would race
 * for the counter and all but one would lose a full transaction each round. The lease only
 * decides who tries: correctness never depends on it (the counter's condition arbitrates), so
 * an expired lease or clocks that disagree cost throughput, never entries. See README
 * "Journal sequencing" for the throughput math.
 */
export class JournalRepository {
  private inFlight: Promise<Round> | undefined;
  /** How many rounds of this process have started reading the pending partitions. */
  private pendingReads = 0;
  /** Direct appends waiting for the transaction in flight to finish, to go in the next one. */
  private readonly directQueue: DirectAppend[] = [];
  private directInFlight = false;
  /**
   * The size after this process's last direct append, or its last group commit when that held
   * one entry only: right until another writer appends. Only a known size is tried directly;
   * reading it first would cost the round trip the direct path saves.
   */
  private knownSize: number | undefined;
  /** After a lost direct attempt, other writers are active (or a round starved): group commit only, for a while. */
  private directPausedUntil = 0;
  /** This process's name on the sequencer lease, and when the lease it holds expires (0: none). */
  private readonly owner = randomUUID();
  private leaseUntil = 0;
  /** When this process last swept for orphans. */
  private lastSweep = 0;
  /** Appends (and receipt look-ups) of this process waiting for an index: the lease is held while any do. */
  private waiting = 0;

  private readonly pendingShards: number;
  private readonly transactionBatch: number;

  /**
   * `pendingShards`: partitions staged entries are spread over (each takes ~166 appends/s on
   * DynamoDB). `transactionBatch`: the largest round committed in one transaction rather than
   * by manifest (tests set 0 to exercise manifests).
   */
  constructor(
    private readonly client: DocumentClient,
    private readonly table: string,
    options: { pendingShards?: number; transactionBatch?: number } = {},
  ) {
    this.pendingShards = options.pendingShards ?? 4;
    this.transactionBatch = options.transactionBatch ?? TRANSACTION_BATCH;
  }

  /**
   * The transaction items that stage `entry` under the idempotency `key`. The key item's
   * condition makes a second append with the same key fail the caller's transaction.
   */
  stage(key: string, entry: JournalEntry): { items: DocTransactItem[]; leafHash: string } {
    const prepared = prepare(this.table, key, entry);
    return { items: this.stagedItems(key, entry.at, prepared), leafHash: prepared.leafHash };
  }

  private stagedItems(
    key: string,
    at: string,
    { leafHash: hash, text, documentItem }: Prepared,
  ): DocTransactItem[] {
    const shard = createHash('sha256').update(key).digest().readUInt16BE(0) % this.pendingShards;
    return [
      {
        Put: {
          TableName: this.table,
          // Sorted by staging time within a shard, so sequencing takes the oldest first.
          // The owner: whom the lease holder may hand the lease to when it is done.
          Item: {
            pk: `PENDING#${shard}`,
            sk: `${at}#${key}`,
            key,
            entry: text,
            leafHash: hash,
            owner: this.owner,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      newItem(this.table, { ...sequencingKey(key), key, leafHash: hash }),
      documentItem,
    ];
  }

  /** Keys of every entry about `docId`, by revision then journal index, with their index once sequenced. */
  async documentEntries(docId: string): Promise<{ key: string; index?: number; leafHash: string }[]> {
    const items = await queryAll(this.client, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `DOC#${docId}` },
      ConsistentRead: true,
    });
    // One BatchGet per 100 revisions, not a GetItem each: a claim's history grows with every
    // audited read of it.
    const found = await batchGetAll(
      this.client,
      this.table,
      items.map((item) => sequencingKey(String(item.key))),
    );
    const refs = items.flatMap((item) => {
      const key = String(item.key);
      const sequenced = found.get(sequencingKey(key).pk);
      // The sort key starts with the zero-padded revision.
      return sequenced ? [{ revision: String(item.sk).slice(0, 10), key, ...receiptOf(sequenced) }] : [];
    });
    // Within a revision (a claim's audited reads share one), in journal order, pending last.
    const order = (ref: { index?: number }) => ref.index ?? Number.MAX_SAFE_INTEGER;
    refs.sort((a, b) => (a.revision === b.revision ? order(a) - order(b) : a.revision < b.revision ? -1 : 1));
    return refs.map(({ revision: _revision, ...ref }) => ref);
  }

  /**
   * Appends `entry` under the idempotency `key`, in one transaction with the caller's
   * `alongside` items (which come first, so the caller reads its own failed conditions by the
   * same positions on either path). While this process is the only writer it knows the size:
   * the entry takes the next index directly, alone or in a batch with this process's other
   * concurrent appends. When another writer moved the size first, it is staged and sequenced
   * by group commit.
   */
  async append(key: string, entry: JournalEntry, alongside: DocTransactItem[] = []): Promise<JournalReceipt> {
    const prepared = prepare(this.table, key, entry);
    if (this.directOpen()) {
      const receipt = await new Promise<JournalReceipt | null>((resolve, reject) => {
        this.directQueue.push({
          key,
          prepared,
          alongside,
          footprint: footprint(key, prepared, alongside),
          resolve,
          reject,
        });
        if (!this.directInFlight) void this.flushDirect();
      });
      if (receipt) return receipt;
    }
    try {
      await this.client.send(
        new TransactWriteCommand({
          TransactItems: [...alongside, ...this.stagedItems(key, entry.at, prepared)],
        }),
      );
    } catch (error: unknown) {
      const failed = failedConditions(error);
      // Only the journal's own items failed: this key was appended before.
      if (failed && failed.length > 0 && failed.every((i) => i >= alongside.length)) {
        return this.receiptOfRetry(key, prepared.leafHash);
      }
      throw error;
    }
    return this.receipt(key, true);
  }

  /** The key is taken: the same entry is a retry and gets the first receipt; another is a caller bug. */
  private async receiptOfRetry(key: string, leafHash: string): Promise<JournalReceipt> {
    const existing = await this.findByKey(key);
    if (existing?.leafHash === leafHash) return this.receipt(key);
    throw new JournalKeyConflictError(`journal key ${key} already holds a different entry`);
  }

  /** Whether an append may try the direct path: the size is known and no group commit of ours runs. */
  private directOpen(): boolean {
    return this.knownSize !== undefined && !this.inFlight && Date.now() >= this.directPausedUntil;
  }

  /**
   * Commits the queued direct appends, one transaction at a time, each holding as many of them
   * as fit (Tessera's in-process batching): appends that arrive while a transaction is in flight
   * go into the next. When the size turns out to have moved, everything queued takes the
   * staging path.
   */
  private async flushDirect(): Promise<void> {
    this.directInFlight = true;
    try {
      while (this.directQueue.length > 0) {
        if (!this.directOpen()) {
          for (const queued of this.directQueue.splice(0)) queued.resolve(null);
          break;
        }
        await this.commitDirect(takeBatch(this.directQueue), this.knownSize!);
      }
    } finally {
      this.directInFlight = false;
    }
  }

  /**
   * The direct path: each append's caller items, entry item, key item (with its index) and
   * document item, and the size counter, conditional on the size this process last saw, all in
   * one transaction: one round trip, never pending, and as crash-safe as any transaction (all
   * of it or none). Settles every append of the batch:
   * - committed: its receipt;
   * - the size had moved (another writer appended) or the transaction lost to a concurrent one:
   *   null, so it takes the staging path, and this process pauses direct attempts
   *   (DIRECT_PAUSE_MS) so that, under contention, they do not keep taking the counter from
   *   group commits;
   * - its own items' conditions failed: alone, its caller's error (with the caller's positions)
   *   or the receipt of the earlier append of its key; in a batch, null, so that it is tried
   *   alone on the staging path and answered by the positions of its own transaction, while
   *   the rest of the batch goes back to the queue;
   * - any other error: the error, as its own transaction would have.
   */
  private async commitDirect(batch: DirectAppend[], size: number): Promise<void> {
    const items: DocTransactItem[] = [];
    // The batch position of the append each transaction item belongs to.
    const owners: number[] = [];
    batch.forEach(({ key, prepared: { leafHash: hash, text, documentItem }, alongside }, i) => {
      const index = size + i;
      items.push(
        ...alongside,
        newItem(this.table, { ...entryKey(index), index, key, entry: text, leafHash: hash }),
        newItem(this.table, { ...sequencingKey(key), key, leafHash: hash, index }),
        documentItem,
      );
      while (owners.length < items.length) owners.push(i);
    });
    items.push(sizeUpdate(this.table, size, size + batch.length, 'direct'));
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (error: unknown) {
      const failed = failedConditions(error);
      if (failed === null) {
        // A request DynamoDB refused outright (an item too large, say) fails the same way
        // whoever it is batched with: each append of a batch is tried alone instead. Any other
        // error may have come after the commit, so it is the caller's, as it would be alone.
        const refused = batch.length > 1 && isAwsError(error, 'ValidationException');
        for (const append of batch) refused ? append.resolve(null) : append.reject(error);
        return;
      }
      // Which appends' own items failed (the counter, the last item, belongs to none).
      const failing = new Set(failed.flatMap((i) => (i < owners.length ? [owners[i]!] : [])));
      if (failing.size === 0 || failed.includes(items.length - 1)) {
        this.knownSize = undefined;
        this.directPausedUntil = Date.now() + DIRECT_PAUSE_MS;
        for (const append of batch) append.resolve(null);
        return;
      }
      if (batch.length === 1) {
        const [append] = batch as [DirectAppend];
        // The caller's own conditions failed: its business, with the positions it expects.
        if (failed.some((i) => i < append.alongside.length)) append.reject(error);
        else this.receiptOfRetry(append.key, append.prepared.leafHash).then(append.resolve, append.reject);
        return;
      }
      for (const [i, append] of batch.entries()) if (failing.has(i)) append.resolve(null);
      this.directQueue.unshift(...batch.filter((_, i) => !failing.has(i)));
      return;
    }
    this.knownSize = size + batch.length;
    batch.forEach(({ key, prepared, resolve }, i) => {
      resolve({ index: size + i, leafHash: prepared.leafHash, key });
    });
  }

  /**
   * Appends an entry that must exist once per key however many processes try (a rule set's
   * activation): the first writer's entry stands and everyone gets its receipt.
   */
  async appendOnce(key: string, entry: JournalEntry): Promise<JournalReceipt> {
    if ((await this.findByKey(key)) !== null) return this.receipt(key);
    try {
      return await this.append(key, entry);
    } catch (error: unknown) {
      if (error instanceof JournalKeyConflictError) return this.receipt(key);
      throw error;
    }
  }

  /**
   * Waits until `key` has its index and returns the receipt. While waiting, this process runs
   * the sequencing rounds if it holds (or can take, or is handed) the sequencer lease, and
   * otherwise looks at its key item every POLL_MS. It reads the lease item itself only at the
   * first look-up and then every LEASE_RECHECK_MS: a holder that is done hands the lease on to
   * a waiting writer through that writer's key item, so waiting writers need not all watch the
   * one lease item (which takes 3,000 reads/s on DynamoDB: a few hundred writers polling it
   * every 15 ms would be throttled). `staged` says the caller has just staged the entry, so a
   * process holding the lease can go straight to a round.
   */
  async receipt(key: string, staged = false): Promise<JournalReceipt> {
    this.waiting++;
    // Rounds of this process that read the pending partitions after now see this entry.
    const staging = this.pendingReads;
    try {
      const deadline = Date.now() + RECEIPT_TIMEOUT_MS;
      let lease: Lease | undefined;
      let leaseReadAt = Number.NEGATIVE_INFINITY;
      let lookUp = !(staged && this.holdsLease());
      while (Date.now() < deadline) {
        if (lookUp) {
          const withLease = Date.now() - leaseReadAt >= LEASE_RECHECK_MS;
          const seen = await this.lookUp(key, withLease);
          if (seen.found === null)
            throw new JournalSequencingError(`no journal entry was staged under key ${key}`);
          const { index, leafHash: hash } = seen.found;
          if (index !== undefined) return { index, leafHash: hash, key };
          if (withLease) {
            lease = seen.lease;
            leaseReadAt = Date.now();
          }
        }
        lookUp = true;
        const heldByOther = lease !== undefined && lease.owner !== this.owner && lease.until >= Date.now();
        if (await this.holdLease(heldByOther)) {
          const round = await this.sequenceShared();
          const assigned = round.receipts.get(key);
          if (assigned) return assigned;
          // A round that read the pending entries before this one was staged could not take
          // it: the next round will, and nobody else sequences while this process holds the
          // lease, so there is nothing to look up meanwhile.
          if (round.read <= staging) lookUp = false;
        } else {
          // Another process took the lease first: read it once more, to learn until when.
          if (!heldByOther) leaseReadAt = Number.NEGATIVE_INFINITY;
          await sleep(POLL_MS * (0.5 + Math.random()));
        }
      }
      throw new JournalSequencingError(
        `entry ${key} was not sequenced within ${RECEIPT_TIMEOUT_MS / 1000} s`,
      );
    } finally {
      if (--this.waiting === 0) await this.handOverLease();
    }
  }

  /**
   * The key item (a consistent read), and the sequencer lease when `withLease`. The lease is
   * read eventually consistent, at half the cost on its one hot item: a stale lease only makes
   * a writer wait for the next look-up or try a take that fails. A key item on which the last
   * holder handed the lease to this process makes it the holder.
   */
  private async lookUp(
    key: string,
    withLease: boolean,
  ): Promise<{ found: { index?: number; leafHash: string } | null; lease?: Lease }> {
    const [{ Item: item }, leaseItem] = await Promise.all([
      this.client.send(
        new GetCommand({ TableName: this.table, Key: sequencingKey(key), ConsistentRead: true }),
      ),
      withLease
        ? this.client.send(new GetCommand({ TableName: this.table, Key: LEASE_KEY })).then((out) => out.Item)
        : undefined,
    ]);
    const handed = item?.lease as Lease | undefined;
    if (handed?.owner === this.owner && handed.until > this.leaseUntil) this.leaseUntil = handed.until;
    return {
      found: item ? receiptOf(item) : null,
      ...(leaseItem ? { lease: { owner: String(leaseItem.owner), until: Number(leaseItem.until) } } : {}),
    };
  }

  /** Whether this process holds the lease with time to spare (else it renews it first). */
  private holdsLease(): boolean {
    return this.leaseUntil - Date.now() > LEASE_RENEW_MS;
  }

  /**
   * True when this process holds the sequencer lease, taking or renewing it if needed; a lease
   * handed to this process is renewed. `heldByOther`, from the lease as last read, spares a
   * write that could only fail while another owner's lease is live. Expiry compares clocks of
   * different machines: skew only moves when a stale lease is taken over.
   */
  private async holdLease(heldByOther = false): Promise<boolean> {
    if (this.holdsLease()) return true;
    const now = Date.now();
    if (heldByOther && this.leaseUntil <= now) return false;
    const taken = await conditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.table,
        Key: LEASE_KEY,
        UpdateExpression: 'SET #owner = :me, #until = :until',
        ConditionExpression: 'attribute_not_exists(pk) OR #owner = :me OR #until < :now',
        ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
        ExpressionAttributeValues: { ':me': this.owner, ':now': now, ':until': now + LEASE_MS },
      }),
    );
    if (!taken) return false;
    this.leaseUntil = now + LEASE_MS;
    return true;
  }

  /**
   * Once nothing of this process waits, hands the lease to the writer of the newest pending
   * entry (the likeliest to be alive and waiting: a crashed writer's orphan is old), marking
   * that writer's key item so that its next poll finds it holds the lease; or, when nothing is
   * pending (or the hand-over fails), gives the lease up. Either way no other writer waits for
   * it to expire. Best effort: if the last write fails, the lease expires, and writers re-read
   * it every LEASE_RECHECK_MS.
   */
  private async handOverLease(): Promise<void> {
    if (this.leaseUntil === 0) return;
    this.leaseUntil = 0;
    const successor = await this.newestPendingWriter().catch(() => undefined);
    const lease = (owner: string, until: number) => ({
      TableName: this.table,
      Key: LEASE_KEY,
      UpdateExpression: 'SET #owner = :owner, #until = :until',
      ConditionExpression: '#owner = :me',
      ExpressionAttributeNames: { '#owner': 'owner', '#until': 'until' },
      ExpressionAttributeValues: { ':me': this.owner, ':owner': owner, ':until': until },
    });
    if (successor) {
      const until = Date.now() + HANDOVER_MS;
      const handedOver = await this.client
        .send(
          new TransactWriteCommand({
            TransactItems: [
              { Update: lease(successor.owner, until) },
              {
                Update: {
                  TableName: this.table,
                  Key: sequencingKey(successor.key),
                  UpdateExpression: 'SET #lease = :lease',
                  ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#index)',
                  ExpressionAttributeNames: { '#lease': 'lease', '#index': 'index' },
                  ExpressionAttributeValues: { ':lease': { owner: successor.owner, until } },
                },
              },
            ],
          }),
        )
        .then(
          () => true,
          () => false,
        );
      if (handedOver) return;
    }
    await this.client.send(new UpdateCommand(lease(this.owner, 0))).catch(() => undefined);
  }

  /** The owner and key of the most recently staged pending entry of another process, if any. */
  private async newestPendingWriter(): Promise<{ owner: string; key: string } | undefined> {
    const newest = await this.pendingPartitions({ limit: 1, newestFirst: true });
    const item = newest
      .filter((item) => typeof item.owner === 'string' && item.owner !== this.owner)
      .sort((a, b) => (String(a.sk) < String(b.sk) ? 1 : -1))[0];
    return item ? { owner: String(item.owner), key: String(item.key) } : undefined;
  }

  /** The receipt of an entry by its key, or null; `index` is absent while it is still pending. */
  async findByKey(key: string): Promise<{ index?: number; leafHash: string } | null> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: sequencingKey(key), ConsistentRead: true }),
    );
    return Item ? receiptOf(Item) : null;
  }

  /** Number of sequenced entries (the next index). */
  async size(): Promise<number> {
    return (await this.sequence()).size;
  }

  /**
   * Number of entries whose items are all written: the size, less the entries of a manifest
   * still being written (its round is in progress, or crashed and is finished by the next).
   * The integrator builds the tree this far.
   */
  async writtenSize(): Promise<number> {
    const { size, writing } = await this.sequence();
    return writing ?? size;
  }

  /** The counter item: the size, and the first index of a manifest still being written. */
  async sequence(): Promise<{ size: number; writing?: number }> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: SEQUENCE_KEY, ConsistentRead: true }),
    );
    if (!Item) return { size: 0 };
    return {
      size: Number(Item.size),
      ...(Item.writing === undefined ? {} : { writing: Number(Item.writing) }),
    };
  }

  /**
   * Concurrent callers in one process share a single sequencing round instead of racing each
   * other for the counter; across processes the counter's condition arbitrates.
   */
  private sequenceShared(): Promise<Round> {
    this.inFlight ??= this.sequencePending().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * One group commit: gives the oldest pending entries (up to MANIFEST_MAX) the next indices,
   * conditional on the size not having moved. Losing that race is normal: another writer
   * sequenced them. A round of up to `transactionBatch` entries (and 3 MB) writes them in one
   * transaction; a larger one commits a manifest (the entries' keys and leaf hashes) with the
   * counter, in a 2-item transaction, then writes the entry and key items from it and deletes
   * the pending ones. Until that is done the counter marks the manifest as being written:
   * direct appends and other rounds wait for it, and whoever finds it so (a crashed round's)
   * finishes it first. Returns the receipts of the entries this round sequenced.
   */
  private async sequencePending(): Promise<Round> {
    const { size, writing } = await this.sequence();
    if (writing !== undefined) await this.finishManifest(writing);
    // Read only now, after the counter: every round committed before that read has deleted its
    // pending items, and any round committed after it moves the size and fails this one. So
    // nothing read here is sequenced already, without a condition on each entry.
    const read = ++this.pendingReads;
    const pending = await this.oldestPending();
    if (pending.length === 0) return { receipts: new Map(), read };
    const receipts = new Map(
      pending.map((p, i) => [p.key, { index: size + i, leafHash: p.leafHash, key: p.key }]),
    );
    const bytes = pending.reduce((sum, p) => sum + Buffer.byteLength(p.entry), 0);
    const committed =
      pending.length <= this.transactionBatch && bytes <= TRANSACTION_ENTRY_BYTES
        ? await this.commitTransaction(size, pending)
        : await this.commitManifest(size, pending);
    if (!committed) {
      await this.markStarved();
      return { receipts: new Map(), read };
    }
    // A round of one entry means nobody else was appending: the next append may go direct.
    // A fuller round means contention, where direct attempts would only lose the counter race.
    this.knownSize = pending.length === 1 ? size + 1 : undefined;
    return { receipts, read };
  }

  /** A small round: every entry's items and the counter in one transaction. */
  private async commitTransaction(size: number, pending: PendingEntry[]): Promise<boolean> {
    const items: DocTransactItem[] = [sizeUpdate(this.table, size, size + pending.length, 'round')];
    pending.forEach((p, i) => {
      const index = size + i;
      items.push(
        newItem(this.table, { ...entryKey(index), index, key: p.key, entry: p.entry, leafHash: p.leafHash }),
        {
          Delete: {
            TableName: this.table,
            Key: { pk: p.pk, sk: p.sk },
            ConditionExpression: 'attribute_exists(pk)',
          },
        },
        {
          Update: {
            TableName: this.table,
            Key: sequencingKey(p.key),
            UpdateExpression: 'SET #index = :index',
            ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(#index)',
            ExpressionAttributeNames: { '#index': 'index' },
            ExpressionAttributeValues: { ':index': index },
          },
        },
      );
    });
    return this.committed(new TransactWriteCommand({ TransactItems: items }));
  }

  /** A large round: the manifest and the counter in one transaction, then the entries from it. */
  private async commitManifest(size: number, pending: PendingEntry[]): Promise<boolean> {
    const manifest: ManifestEntry[] = pending.map(({ entry: _text, ...rest }) => rest);
    const counter = sizeUpdate(this.table, size, size + pending.length, 'manifest');
    const committed = await this.committed(
      new TransactWriteCommand({
        TransactItems: [
          counter,
          newItem(this.table, { ...manifestKey(size), first: size, entries: manifest }),
        ],
      }),
    );
    if (committed)
      await this.writeManifest(size, manifest, new Map(pending.map((p) => [itemId(p), p.entry])));
    return committed;
  }

  /** Finishes writing the manifest at `first`, whoever committed it (a crashed round's). */
  private async finishManifest(first: number): Promise<void> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: manifestKey(first), ConsistentRead: true }),
    );
    if (!Item)
      throw new JournalSequencingError(
        `the counter says manifest ${first} is being written, but it is missing`,
      );
    const manifest = Item.entries as ManifestEntry[];
    const pending = await batchGetItems(this.client, this.table, manifest);
    await this.writeManifest(
      first,
      manifest,
      new Map([...pending].map(([id, item]) => [id, String(item.entry)])),
    );
  }

  /**
   * Writes a committed manifest's entry and key items (plain puts: their values follow from the
   * manifest, so writing them twice is harmless), then deletes its pending items, then clears
   * the counter's mark. A pending item already gone was deleted after every entry was written.
   */
  private async writeManifest(
    first: number,
    manifest: ManifestEntry[],
    texts: Map<string, string>,
  ): Promise<void> {
    const items = manifest.flatMap((m, i) => {
      const text = texts.get(itemId(m));
      const key = { ...sequencingKey(m.key), key: m.key, leafHash: m.leafHash, index: first + i };
      return text === undefined
        ? [key]
        : [{ ...entryKey(first + i), index: first + i, key: m.key, entry: text, leafHash: m.leafHash }, key];
    });
    const missing = manifest.flatMap((m, i) => (texts.has(itemId(m)) ? [] : [first + i]));
    if (missing.length > 0) {
      const written = await this.entries(missing);
      if (written.length !== missing.length) {
        throw new JournalSequencingError(`manifest ${first}: an entry is neither pending nor written`);
      }
    }
    await batchPutAll(this.client, this.table, items);
    await batchDeleteAll(this.client, this.table, manifest);
    // False when another process finished it first.
    await conditionalWrite(
      this.client,
      new UpdateCommand({
        TableName: this.table,
        Key: SEQUENCE_KEY,
        UpdateExpression: 'REMOVE #writing',
        ConditionExpression: '#writing = :first',
        ExpressionAttributeNames: { '#writing': 'writing' },
        ExpressionAttributeValues: { ':first': first },
      }),
    );
  }

  /**
   * After a lost round: marks the counter so that direct appends fail (and their processes
   * turn to staging for DIRECT_PAUSE_MS) until a round commits. A round loses to another
   * round too, rarely (rounds are the lease holder's); the mark then costs one direct attempt.
   */
  private async markStarved(): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: SEQUENCE_KEY,
        UpdateExpression: 'SET #starved = :true',
        ExpressionAttributeNames: { '#starved': 'starved' },
        ExpressionAttributeValues: { ':true': true },
      }),
    );
  }

  /** Sends a sequencing transaction: false when it lost a race (the size moved, or a conflict). */
  private async committed(command: TransactWriteCommand): Promise<boolean> {
    try {
      await this.client.send(command);
      return true;
    } catch (error: unknown) {
      if (isContention(error)) return false;
      throw error;
    }
  }

  /**
   * One group commit of whatever is pending, for entries whose writers crashed after staging
   * (a live writer sequences its own). Uncontended appends go direct and never look at the
   * pending partitions, so the integrator sweeps them: one batch, not until empty, so that
   * under load its round still goes on to integrate and sign. Skipped while
   * any writer holds the sequencer lease (its rounds take the oldest entries first, orphans
   * included), and at most once every SWEEP_EVERY_MS per process. Returns how many entries it
   * sequenced.
   */
  async sweepPending(): Promise<number> {
    // This process's own waiting appends are running rounds already, oldest entries first; and
    // orphans are rare, so an idle integrator need not look for them every round.
    if (this.waiting > 0 || Date.now() - this.lastSweep < SWEEP_EVERY_MS) return 0;
    this.lastSweep = Date.now();
    if (!(await this.holdLease())) return 0;
    try {
      return (await this.sequenceShared()).receipts.size;
    } finally {
      if (this.waiting === 0) await this.handOverLease();
    }
  }

  /** Entries by index, in order; missing indices are simply absent from the result. */
  async entries(indices: number[]): Promise<StoredEntry[]> {
    // Keyed by the item's own `index` attribute: an item moved to another key is not the entry.
    const items = await batchGetAll(this.client, this.table, indices.map(entryKey));
    const found = new Map<number, StoredEntry>();
    for (const item of items.values()) {
      const index = Number(item.index);
      found.set(index, {
        index,
        key: String(item.key),
        entry: String(item.entry),
        leafHash: String(item.leafHash),
      });
    }
    return indices.flatMap((index) => {
      const entry = found.get(index);
      return entry ? [entry] : [];
    });
  }

  /**
   * The oldest pending entries of each partition, up to MANIFEST_MAX in all, oldest first.
   * Entries pending together were appended concurrently, so their order among themselves is
   * free; each partition's oldest go first, so none waits behind newer ones for long.
   */
  private async oldestPending(): Promise<PendingEntry[]> {
    const oldest = await this.pendingPartitions({
      limit: Math.ceil(MANIFEST_MAX / this.pendingShards),
      consistent: true,
    });
    return oldest
      .map((item) => ({
        pk: String(item.pk),
        sk: String(item.sk),
        key: String(item.key),
        entry: String(item.entry),
        leafHash: String(item.leafHash),
      }))
      .sort((a, b) => (a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0));
  }
  /** The first `limit` items of every pending partition, oldest first unless `newestFirst`. */
  private async pendingPartitions(options: {
    limit: number;
    newestFirst?: boolean;
    consistent?: boolean;
  }): Promise<Record<string, unknown>[]> {
    const partitions = await Promise.all(
      Array.from({ length: this.pendingShards }, (_, shard) =>
        this.client.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `PENDING#${shard}` },
            Limit: options.limit,
            ...(options.newestFirst ? { ScanIndexForward: false } : {}),
            ...(options.consistent ? { ConsistentRead: true } : {}),
          }),
        ),
      ),
    );
    return partitions.flatMap((out) => out.Items ?? []);
  }
}

/** An append waiting for (or in) a direct transaction, and how to answer its caller. */
interface DirectAppend {
  key: string;
  prepared: Prepared;
  alongside: DocTransactItem[];
  footprint: Footprint;
  resolve: (receipt: JournalReceipt | null) => void;
  reject: (error: unknown) => void;
}

// DynamoDB's limit on a transaction's items; the counter update takes one.
const TRANSACTION_ITEMS = 100;

/**
 * Removes from `queue` and returns the oldest appends that fit in one transaction: within its
 * item and size limits, and touching no item twice (DynamoDB refuses a transaction that does,
 * e.g. two claims of one member, which both bump the member's version). The first always goes;
 * the rest keep their order for the next transaction.
 */
function takeBatch(queue: DirectAppend[]): DirectAppend[] {
  const batch: DirectAppend[] = [];
  const touched = new Set<string>();
  let items = 1;
  let bytes = 0;
  for (let i = 0; i < queue.length; ) {
    const { footprint } = queue[i]!;
    const fits =
      items + footprint.items <= TRANSACTION_ITEMS &&
      bytes + footprint.bytes <= TRANSACTION_ENTRY_BYTES &&
      footprint.touches.every((id) => !touched.has(id));
    if (batch.length > 0 && !fits) {
      i++;
      continue;
    }
    batch.push(...queue.splice(i, 1));
    items += footprint.items;
    bytes += footprint.bytes;
    for (const id of footprint.touches) touched.add(id);
  }
  return batch;
}

/** What an append takes of a direct transaction: items, bytes, and the items it touches. */
interface Footprint {
  items: number;
  bytes: number;
  touches: string[];
}

function footprint(key: string, prepared: Prepared, alongside: DocTransactItem[]): Footprint {
  return {
    // The caller's items, then the entry, key and document items.
    items: alongside.length + 3,
    bytes: Buffer.byteLength(prepared.text) + Buffer.byteLength(JSON.stringify(alongside)),
    // The entry item's index is its own; its key item is the key's.
    touches: [`key:${key}`, ...[...alongside, prepared.documentItem].map(itemIdentity)],
  };
}

/** Which item a transaction item writes or checks: every table is keyed by pk and sk. */
function itemIdentity(item: DocTransactItem): string {
  const key = item.Put?.Item ?? item.Update?.Key ?? item.Delete?.Key ?? item.ConditionCheck?.Key ?? {};
  const table =
    item.Put?.TableName ?? item.Update?.TableName ?? item.Delete?.TableName ?? item.ConditionCheck?.TableName;
  return JSON.stringify([table, key.pk, key.sk]);
}

/** A staged entry, as its pending item holds it. */
interface PendingEntry {
  pk: string;
  sk: string;
  key: string;
  entry: string;
  leafHash: string;
}

/** One entry of a manifest: its key and leaf hash, and where its pending item is. */
type ManifestEntry = Omit<PendingEntry, 'entry'>;

/** The sequencer lease as read: who holds it, and until when (epoch ms, by the holder's clock). */
interface Lease {
  owner: string;
  until: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The size counter moving from `size` to `next`, conditional on it still being `size` and on
 * no manifest being written (its entries' items are not all there yet). `how`:
 * - `direct`: also conditional on no round having lost the counter since the last one that
 *   committed (`starved`), so that one process appending directly, one fast transaction after
 *   another, cannot keep the sequencer's slower rounds from ever committing;
 * - `round`: a group commit, which clears that mark;
 * - `manifest`: a group commit that also marks the entries from `size` on as being written
 *   from the manifest at `size`.
 */
function sizeUpdate(
  table: string,
  size: number,
  next: number,
  how: 'direct' | 'round' | 'manifest',
): DocTransactItem {
  const set = how === 'manifest' ? 'SET #size = :next, #writing = :first' : 'SET #size = :next';
  return {
    Update: {
      TableName: table,
      Key: SEQUENCE_KEY,
      UpdateExpression: how === 'direct' ? set : `${set} REMOVE #starved`,
      ConditionExpression: [
        size === 0 ? 'attribute_not_exists(#size)' : '#size = :size',
        'attribute_not_exists(#writing)',
        ...(how === 'direct' ? ['attribute_not_exists(#starved)'] : []),
      ].join(' AND '),
      ExpressionAttributeNames: { '#size': 'size', '#writing': 'writing', '#starved': 'starved' },
      ExpressionAttributeValues: {
        ':next': next,
        ...(size === 0 ? {} : { ':size': size }),
        ...(how === 'manifest' ? { ':first': size } : {}),
      },
    },
  };
}

/** A key item's receipt; `index` is absent while its entry is pending. */
function receiptOf(item: Record<string, unknown>): { index?: number; leafHash: string } {
  return item.index === undefined
    ? { leafHash: String(item.leafHash) }
    : { index: Number(item.index), leafHash: String(item.leafHash) };
}

/** A Put that only creates: the entry and key items are written once, never replaced. */
function newItem(table: string, item: Record<string, unknown>): DocTransactItem {
  return { Put: { TableName: table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** An entry's canonical text and leaf hash, and its document-history item, however it is appended. */
interface Prepared {
  leafHash: string;
  text: string;
  documentItem: DocTransactItem;
}

function prepare(table: string, key: string, entry: JournalEntry): Prepared {
  const bytes = encodeEntry(entry);
  if (bytes.length > MAX_ENTRY_BYTES) {
    throw new TooLargeError(
      `The record is too large to journal as one revision (${Math.ceil(bytes.length / 1024)} KB of at most ${MAX_ENTRY_BYTES / 1024} KB).`,
    );
  }
  return {
    leafHash: Buffer.from(leafHash(bytes)).toString('hex'),
    text: Buffer.from(bytes).toString('utf8'),
    // The document's history index (QLDB's history()): its entries' keys by revision.
    // Unconditional: the key item already makes the append unique.
    documentItem: {
      Put: {
        TableName: table,
        Item: {
          pk: `DOC#${entry.docId}`,
          sk: `${entry.docRevision.toString().padStart(10, '0')}#${key}`,
          key,
          type: entry.type,
          at: entry.at,
        },
      },
    },
  };
}
