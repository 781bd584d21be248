import { beforeAll, describe, expect, it } from 'vitest';
import { TooLargeError } from '../../functions/claims/errors.ts';
import { toHex, utf8Encode } from '../../functions/journal/bytes.ts';
import type { JournalEntry } from '../../functions/journal/entry.ts';
import { hashLeaf, rootFromLeafHashes } from '../../functions/journal/merkle.ts';
import { type DocumentClient, GetCommand, PutCommand } from '../../functions/store/dynamo.ts';
import { JournalKeyConflictError, JournalRepository } from '../../functions/store/journal.repository.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';
import { failedConditions } from '../../functions/store/transactions.ts';
import { stageOrphan, testEntry } from '../support/journal-entries.ts';
import { freshTables } from '../support/tables.ts';

const entry = testEntry;

/**
 * The same client, recording the name of every command it sends, and in `cancelled` every
 * transaction DynamoDB cancelled.
 */
function countingClient(doc: DocumentClient, sent: string[], cancelled: string[] = []): DocumentClient {
  return {
    async send(command) {
      sent.push(command.constructor.name);
      try {
        return await doc.send(command);
      } catch (error: unknown) {
        if (error instanceof Error && error.name === 'TransactionCanceledException')
          cancelled.push(error.message);
        throw error;
      }
    },
  };
}

describe('journal sequencing against DynamoDB Local', () => {
  let journal: JournalRepository;
  let doc: Awaited<ReturnType<typeof freshTables>>['doc'];
  let table: string;

  beforeAll(async () => {
    const tables = await freshTables();
    doc = tables.doc;
    table = tables.names.journal;
    journal = new JournalRepository(doc, table);
  });

  it('gives 16 concurrent writers (separate processes) 2,000 dense, unique indices, loses none, and the tree verifies', async () => {
    const start = await journal.size();
    // One repository per writer: no in-process sharing, so only DynamoDB's conditions arbitrate.
    const writers = Array.from({ length: 16 }, (_, w) =>
      (async () => {
        const own = new JournalRepository(doc, table);
        const receipts = [];
        for (let i = 0; i < 125; i++) receipts.push(await own.append(`w${w}-${i}`, entry(w * 1000 + i)));
        return receipts;
      })(),
    );
    const receipts = (await Promise.all(writers)).flat();
    const indices = receipts.map((r) => r.index).sort((a, b) => a - b);

    expect(new Set(indices).size).toBe(2000);
    expect(indices[0]).toBe(start);
    expect(indices.at(-1)).toBe(start + 1999);
    expect(await journal.size()).toBe(start + 2000);
    const stored = await journal.entries(indices);
    expect(stored.map((e) => e.key).sort()).toEqual(receipts.map((r) => r.key).sort());
    for (const r of receipts) expect(stored.find((e) => e.index === r.index)?.leafHash).toBe(r.leafHash);

    // The integrated tree's root is the RFC 9162 root of every entry's bytes, recomputed here.
    const tree = new JournalTreeRepository(doc, table, journal);
    const state = await tree.integrateAll();
    const all = await journal.entries(Array.from({ length: state.size }, (_, i) => i));
    expect(all).toHaveLength(state.size);
    expect(toHex(state.root)).toBe(toHex(rootFromLeafHashes(all.map((e) => hashLeaf(utf8Encode(e.entry))))));
  }, 120_000);

  it('leaves group commits to the process holding the sequencer lease, so separate writers rarely race for the counter', async () => {
    const start = await journal.size();
    const requests: string[] = [];
    const cancelled: string[] = [];
    const writers = Array.from({ length: 8 }, (_, w) =>
      (async () => {
        const own = new JournalRepository(countingClient(doc, requests, cancelled), table);
        for (let i = 0; i < 20; i++) await own.append(`lease-${w}-${i}`, entry(50_000 + w * 100 + i));
      })(),
    );
    await Promise.all(writers);
    expect(await journal.size()).toBe(start + 160);
    const transactions = requests.filter((name) => name === 'TransactWriteCommand').length;
    // Without the lease every waiting process tries each round and all but one lose
    // (measured: ~45% of transactions cancelled); with it, losses are the odd direct attempt
    // or a round racing one.
    expect(cancelled.length / transactions).toBeLessThan(0.1);
  }, 60_000);

  it('keeps waiting writers off the lease item: they poll their own key item, and read the lease only now and then', async () => {
    // A holder that sequences nothing for a second: its waiting writers poll ~60 times each.
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { pk: 'STATE', sk: 'SEQUENCER', owner: 'a-slow-process', until: Date.now() + 1_000 },
      }),
    );
    const reads: string[] = [];
    const leaseReads = (): DocumentClient => ({
      async send(command) {
        const input = JSON.stringify(command.input);
        if (/Get/.test(command.constructor.name) && input.includes('SEQUENCER')) reads.push(input);
        return doc.send(command);
      },
    });
    const receipts = await Promise.all(
      Array.from({ length: 4 }, (_, w) =>
        new JournalRepository(leaseReads(), table).append(`slow-${w}`, entry(70 + w)),
      ),
    );
    expect(new Set(receipts.map((r) => r.index)).size).toBe(4);
    // One read after staging, then one each LEASE_RECHECK_MS (200 ms): ~6 a writer over the
    // second, not one a poll (DynamoDB serves one item 3,000 reads/s, whatever the table's capacity).
    expect(reads.length).toBeLessThanOrEqual(4 * 8);
  }, 30_000);

  it('hands the lease to a writer still waiting when the holder is done, instead of releasing it', async () => {
    const waiter = new JournalRepository(doc, table);
    let waiting: Promise<unknown> | undefined;
    // The holder's client stages the waiter's entry just after the holder's round committed,
    // so that the round could not take it.
    const holder = new JournalRepository(
      {
        async send(command) {
          const out = await doc.send(command);
          const round =
            command.constructor.name === 'TransactWriteCommand' &&
            JSON.stringify(command.input).includes('"SEQUENCE"');
          if (waiting === undefined && round) {
            waiting = waiter.append('handed-to', entry(75));
            while ((await journal.findByKey('handed-to')) === null)
              await new Promise((r) => setTimeout(r, 5));
          }
          return out;
        },
      },
      table,
    );
    await stageOrphan(doc, holder, 'handed-from', entry(74));
    expect(await holder.sweepPending()).toBe(1);

    const { Item: lease } = await doc.send(
      new GetCommand({ TableName: table, Key: { pk: 'STATE', sk: 'SEQUENCER' }, ConsistentRead: true }),
    );
    const { Item: key } = await doc.send(
      new GetCommand({ TableName: table, Key: { pk: 'KEY#handed-to', sk: 'KEY' }, ConsistentRead: true }),
    );
    // Handed on, not released: the waiter's key item names the lease's new owner (which keeps
    // it, or has released it as its own once done, by now).
    expect(key?.lease).toEqual({ owner: lease?.owner, until: expect.any(Number) });
    expect(await waiting).toMatchObject({ key: 'handed-to', index: expect.any(Number) });
  }, 30_000);

  it('does not let a process appending directly, back to back, starve the rounds of another', async () => {
    const direct = new JournalRepository(doc, table);
    await direct.append('starve-warm', entry(140)); // learns the size: its next appends go direct
    let waited: number | undefined;
    const started = Date.now();
    const staged = new JournalRepository(doc, table).append('starved', entry(141)).then(() => {
      waited = Date.now() - started;
    });
    let directAppends = 0;
    while (waited === undefined && Date.now() - started < 5_000) {
      await direct.append(`starve-${directAppends}`, entry(142 + directAppends));
      directAppends++;
    }
    await staged;
    expect(directAppends).toBeGreaterThan(0);
    // Without the starved mark, every round lost the counter to the next direct append, and
    // the staged entry waited for the direct writer to stop (5 s here).
    expect(waited).toBeLessThan(2_000);
  }, 30_000);

  it('sequences a waiting entry after the lease of a process that died holding it expires', async () => {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: { pk: 'STATE', sk: 'SEQUENCER', owner: 'a-process-that-died', until: Date.now() + 1_000 },
      }),
    );
    const receipt = await new JournalRepository(doc, table).append('after-a-dead-holder', entry(60));
    expect((await journal.findByKey('after-a-dead-holder'))?.index).toBe(receipt.index);
    // Released (expired) once nothing waits, so that the next writer need not wait for it.
    const { Item } = await doc.send(
      new GetCommand({ TableName: table, Key: { pk: 'STATE', sk: 'SEQUENCER' } }),
    );
    expect(Item?.until).toBe(0);
  }, 30_000);

  it('refuses an entry too large for one DynamoDB item before writing anything', async () => {
    const size = await journal.size();
    const huge = entry(99, { blob: 'x'.repeat(360 * 1024) });
    await expect(journal.append('too-large', huge)).rejects.toThrow(TooLargeError);
    expect(await journal.findByKey('too-large')).toBeNull();
    expect(await journal.size()).toBe(size);
  });

  it('appends a once-per-key entry once, however many processes race to', async () => {
    const once = entry(4242);
    const racers = Array.from({ length: 6 }, (_, i) =>
      new JournalRepository(doc, table).appendOnce('ruleset/abc', {
        ...once,
        at: `2026-02-0${i + 1}T00:00:00.000Z`,
      }),
    );
    const receipts = await Promise.all(racers);
    expect(new Set(receipts.map((r) => r.index)).size).toBe(1);
    expect(new Set(receipts.map((r) => r.leafHash)).size).toBe(1);
  });

  it("lists a document's entries by revision for its history", async () => {
    const docEntry = (revision: number): JournalEntry => ({
      ...entry(7000 + revision),
      docId: 'claim/cHISTORY',
      docRevision: revision,
    });
    await journal.append('hist-2', docEntry(2));
    await journal.append('hist-1', docEntry(1));
    const refs = await journal.documentEntries('claim/cHISTORY');
    expect(refs.map((r) => r.key)).toEqual(['hist-1', 'hist-2']);
    for (const ref of refs) expect(Number.isInteger(ref.index)).toBe(true);
    expect(await journal.documentEntries('claim/nothing')).toEqual([]);

    // Entries of one revision (a claim's audited reads) come in journal order, not key order.
    await journal.append('zzz-read-first', docEntry(3));
    await journal.append('aaa-read-second', docEntry(3));
    const third = (await journal.documentEntries('claim/cHISTORY')).slice(2);
    expect(third.map((r) => r.key)).toEqual(['zzz-read-first', 'aaa-read-second']);
  });

  it('is idempotent on its key: a retry gets the first receipt, a different entry is refused', async () => {
    const first = await journal.append('same-key', entry(1));
    expect(await journal.append('same-key', entry(1))).toEqual(first);
    await expect(journal.append('same-key', entry(2))).rejects.toBeInstanceOf(JournalKeyConflictError);
    expect((await journal.entries([first.index]))[0]?.key).toBe('same-key');
  });

  it('sequences an entry whose writer crashed after staging, at the next sweep', async () => {
    const writer = new JournalRepository(doc, table);
    await writer.append('before-the-crash', entry(6)); // its first append learns the size
    const orphan = await stageOrphan(doc, journal, 'crashed-writer', entry(7)); // then the writer "dies"
    expect((await journal.findByKey('crashed-writer'))?.index).toBeUndefined();

    // An uncontended append goes direct and leaves the pending partitions alone...
    const next = await writer.append('next-writer', entry(8));
    expect((await journal.findByKey('crashed-writer'))?.index).toBeUndefined();
    // ...which the integrator sweeps every round (integrateAndPublish).
    expect(await journal.sweepPending()).toBe(1);
    const orphanReceipt = await journal.findByKey('crashed-writer');
    expect(orphanReceipt?.index).toBe(next.index + 1);
    expect(orphanReceipt?.leafHash).toBe(orphan.leafHash);
    expect(await journal.size()).toBe(next.index + 2);
    expect(await journal.sweepPending()).toBe(0);
  });

  it('appends an uncontended entry in one transaction, and batches concurrent ones of a process into a few', async () => {
    const requests: string[] = [];
    const counting = new JournalRepository(countingClient(doc, requests), table);
    await counting.append('direct-warm', entry(20)); // learns the size
    requests.length = 0;
    const receipt = await counting.append('direct-1', entry(21));
    expect(requests).toEqual(['TransactWriteCommand']);
    expect((await journal.findByKey('direct-1'))?.index).toBe(receipt.index);

    // 40 concurrent appends: the first goes alone, the rest wait for it and go together, at
    // most 33 to a transaction (3 items each, and the counter, of DynamoDB's 100). Nothing is
    // staged, so no pending partition is ever read.
    requests.length = 0;
    const before = await journal.size();
    const receipts = await Promise.all(
      Array.from({ length: 40 }, (_, i) => counting.append(`burst-${i}`, entry(30 + i))),
    );
    expect(receipts.map((r) => r.index)).toEqual(Array.from({ length: 40 }, (_, i) => before + i));
    expect(requests).toEqual(Array(3).fill('TransactWriteCommand'));
    expect(await journal.size()).toBe(before + 40);
    for (const r of receipts) expect((await journal.findByKey(r.key))?.index).toBe(r.index);
  });

  it('answers each append of a batch by its own transaction: a failed condition fails only its caller', async () => {
    const batching = new JournalRepository(doc, table);
    await batching.append('batch-warm', entry(80));
    for (const sk of ['present-0', 'present-1', 'present-3'])
      await doc.send(new PutCommand({ TableName: table, Item: { pk: 'TEST', sk } }));
    const before = await journal.size();
    // Each caller checks an item of its own (one item may appear once in a transaction); the
    // third caller's is not there.
    const guard = (sk: string) => ({
      ConditionCheck: {
        TableName: table,
        Key: { pk: 'TEST', sk },
        ConditionExpression: 'attribute_exists(pk)',
      },
    });
    const outcomes = await Promise.allSettled([
      batching.append('batch-0', entry(81), [guard('present-0')]),
      batching.append('batch-1', entry(82), [guard('present-1')]),
      batching.append('batch-2', entry(83), [guard('absent')]),
      batching.append('batch-3', entry(84), [guard('present-3')]),
    ]);
    const failed = outcomes[2]!;
    expect(failed.status).toBe('rejected');
    // The positions the caller reads are those of its own items, as if it had appended alone.
    expect(failedConditions((failed as PromiseRejectedResult).reason)).toEqual([0]);
    expect(await journal.findByKey('batch-2')).toBeNull();
    const indices = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.index] : []));
    expect(indices.sort((a, b) => a - b)).toEqual([before, before + 1, before + 2]);
    expect(await journal.size()).toBe(before + 3);
  });

  it('puts appends that touch the same item, or share a key, in separate transactions', async () => {
    const requests: string[] = [];
    const batching = new JournalRepository(countingClient(doc, requests), table);
    await batching.append('shared-warm', entry(90));
    const bump = {
      Update: {
        TableName: table,
        Key: { pk: 'TEST', sk: 'bumps' },
        UpdateExpression: 'ADD #n :one',
        ExpressionAttributeNames: { '#n': 'n' },
        ExpressionAttributeValues: { ':one': 1 },
      },
    };
    requests.length = 0;
    const [a, b, c, retry] = await Promise.all([
      batching.append('shared-0', entry(91), [bump]),
      batching.append('shared-1', entry(92), [bump]),
      batching.append('shared-2', entry(93), [bump]),
      batching.append('shared-2', entry(93), [bump]),
    ]);
    // One item may appear once in a transaction: the three bumps went in three transactions
    // (and the retry of shared-2 in a fourth, which found its key taken), all direct.
    expect(new Set([a!.index, b!.index, c!.index]).size).toBe(3);
    expect(retry).toEqual(c);
    expect(requests.filter((r) => r === 'QueryCommand')).toEqual([]);
    const { Item } = await doc.send(new GetCommand({ TableName: table, Key: { pk: 'TEST', sk: 'bumps' } }));
    // The retry's transaction was cancelled whole, its bump with it.
    expect(Item?.n).toBe(3);
  });

  it('stages a batch whose size another process moved, and still gives it dense indices', async () => {
    const requests: string[] = [];
    const mine = new JournalRepository(countingClient(doc, requests), table);
    await mine.append('moved-warm', entry(100));
    await new JournalRepository(doc, table).append('moved-other', entry(101));
    const before = await journal.size();
    requests.length = 0;
    const receipts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => mine.append(`moved-${i}`, entry(102 + i))),
    );
    expect(receipts.map((r) => r.index).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 6 }, (_, i) => before + i),
    );
    // The direct attempt lost the counter, so the appends were staged and group-committed.
    expect(requests).toContain('QueryCommand');
    // And the process keeps to group commit for a while rather than racing the other writer.
    requests.length = 0;
    await mine.append('moved-after', entry(110));
    expect(requests).toContain('QueryCommand');
  });

  it('rolls back the caller’s items and stages nothing when the caller’s condition fails', async () => {
    const size = await journal.size();
    const guard = {
      ConditionCheck: {
        TableName: table,
        Key: { pk: 'nothing', sk: 'here' },
        ConditionExpression: 'attribute_exists(pk)',
      },
    };
    await expect(journal.append('guarded', entry(9), [guard])).rejects.toThrow();
    expect(await journal.findByKey('guarded')).toBeNull();
    expect(await journal.size()).toBe(size);
  });
});
