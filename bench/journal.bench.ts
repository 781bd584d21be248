/**
 * Journal benchmark, on a DynamoDB Local this script starts itself:
 *
 * (a) appends/s and p50/p99 latency of JournalRepository.append (directly in the caller's
 *     transaction while the process knows the size, batched with the process's concurrent
 *     appends; else staged, then group-committed) at 1 and 16 concurrent writers, next to a
 *     baseline of one plain, unconditioned PutItem of the same entry item (same canonical
 *     bytes, same leaf hash) at the same concurrency, and the ratio; and a second baseline that
 *     writes every item an append writes, each as a plain unconditioned PutItem, one after
 *     another (the "plain unconditioned PutItem of the same items"). At 16 writers it runs twice:
 *     all writers sharing one repository (one process: concurrent appends go in one direct
 *     transaction) and one repository per writer (like 16 Lambda instances; the one holding the
 *     sequencer lease runs the rounds), then per writer with every round committed by manifest.
 * (b) inclusion and consistency proof time and storage reads (requests and keys, counted on
 *     the document client) at tree sizes 10^4, 10^5 and 10^6, through
 *     JournalTreeRepository.inclusionProof / consistencyProof. How each tree is built is printed
 *     with the results: the smallest through the real integrator; larger ones bulk-written
 *     (BatchWrite) as the items the integrator would have written, computed in-process with
 *     merkle.ts hashing; the largest only as the items the sampled proofs read (see below).
 *
 *   npx tsx bench/journal.bench.ts
 *   env: BENCH_APPENDS (per cell, default 400), BENCH_PROOFS (per kind and size, default 200),
 *        BENCH_TREE_SIZES (default 10000,100000,1000000), BENCH_INTEGRATE_MAX (trees up to this
 *        size are built by the real integrator, default 10000), BENCH_FULL_TREE_MAX (trees up
 *        to this size get every node item, larger ones only the items proofs read; default 100000)
 */
import { CreateTableCommand, DeleteTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { toHex } from '../functions/journal/bytes.ts';
import { encodeEntry, leafHash } from '../functions/journal/entry.ts';
import { consistencyProofNodes, inclusionProofNodes, type NodeId } from '../functions/journal/merkle.ts';
import { verifyConsistency, verifyInclusion } from '../functions/journal/verify.ts';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import { PutCommand } from '../functions/store/dynamo.ts';
import { createDocumentClient, createLocalClient } from '../functions/store/dynamo-client.ts';
import { JournalRepository } from '../functions/store/journal.repository.ts';
import { JournalTreeRepository } from '../functions/store/journal-tree.repository.ts';
import {
  bulkWrite,
  CompleteTree,
  checkLeafTemplate,
  countRequests,
  decidedEntries,
  entryItem,
  leafHashes,
  leafTemplate,
  nodeItem,
} from './journal-fixtures.ts';
import { rng } from './rules-corpus.ts';
import { percentile, printTable, runConcurrent, writeResult } from './stats.ts';

const env = (name: string, fallback: string) => process.env[name] ?? fallback;
const APPENDS = Number(env('BENCH_APPENDS', '400'));
const PROOFS = Number(env('BENCH_PROOFS', '200'));
const TREE_SIZES = env('BENCH_TREE_SIZES', '10000,100000,1000000').split(',').map(Number);
const INTEGRATE_MAX = Number(env('BENCH_INTEGRATE_MAX', '10000'));
const FULL_TREE_MAX = Number(env('BENCH_FULL_TREE_MAX', '100000'));

const started = performance.now();
const progress = (message: string) =>
  console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(6)} s] ${message}`);

const dynamo = await startDynamoDbLocal();
const raw = createLocalClient(dynamo.endpoint);
const doc = createDocumentClient({ endpoint: dynamo.endpoint });
const counter = countRequests(doc);
progress(`DynamoDB Local at ${dynamo.endpoint}`);

/** A journal-shaped table (pk, sk strings) of its own for each part, so sizes do not mix. */
async function journalTable(name: string): Promise<string> {
  await raw.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
    }),
  );
  await waitUntilTableExists({ client: raw, maxWaitTime: 30 }, { TableName: name });
  return name;
}

/** Like stats.ts runConcurrent, but tells each task which worker runs it. */
// ---------------------------------------------------------------------------------------------
// (a) Appends vs plain PutItem
// ---------------------------------------------------------------------------------------------

const makeEntry = await decidedEntries();
const sampleBytes = encodeEntry(makeEntry(0));
const appendTable = await journalTable('bench-journal-appends');
const sharedJournal = new JournalRepository(doc, appendTable);
let run = 0;

let acknowledged = 0;
const append = (journal: JournalRepository) => async (i: number) => {
  await journal.append(`claim.decided/bench-${run}-${i}/1`, makeEntry(i));
  acknowledged++;
};

const put = async (i: number) => {
  // The same item the sequencer writes for an entry: canonical bytes and leaf hash, computed here too.
  const entry = makeEntry(i);
  const bytes = encodeEntry(entry);
  const key = `claim.decided/base-${run}-${i}/1`;
  await doc.send(
    new PutCommand({
      TableName: appendTable,
      Item: {
        pk: `BASE#${run}#${i}`,
        sk: 'E',
        index: i,
        key,
        entry: Buffer.from(bytes).toString('utf8'),
        leafHash: toHex(leafHash(bytes)),
      },
    }),
  );
};

/**
 * The second baseline: every item one append writes, each as a plain unconditioned PutItem, one
 * after another (pending item, key item, document-history item, then the sequenced entry and
 * the key item with its index). What remains between this and an append is the protocol:
 * conditions, transactions, the sequencing reads and the pending item's delete.
 */
const putSameItems = async (i: number) => {
  const entry = makeEntry(i);
  const bytes = encodeEntry(entry);
  const text = Buffer.from(bytes).toString('utf8');
  const hash = toHex(leafHash(bytes));
  const key = `claim.decided/items-${run}-${i}/1`;
  const items = [
    { pk: `BASE2#PENDING#${i % 4}`, sk: `${entry.at}#${key}`, key, entry: text, leafHash: hash },
    { pk: `BASE2#KEY#${key}`, sk: 'KEY', key, leafHash: hash },
    { pk: `BASE2#DOC#${entry.docId}`, sk: `0000000001#${key}`, key, type: entry.type, at: entry.at },
    { pk: `BASE2#E#${run}#${i}`, sk: 'E', index: i, key, entry: text, leafHash: hash },
    { pk: `BASE2#KEY#${key}`, sk: 'KEY', key, leafHash: hash, index: i },
  ];
  for (const Item of items) await doc.send(new PutCommand({ TableName: appendTable, Item }));
};

// Warm-up (JIT, connections, DynamoDB Local's own warm-up), not measured. DynamoDB Local's
// JVM keeps speeding up for a few thousand requests: with a short warm-up, each cell's baseline
// (run after its appends) ran faster than the appends before it, and later cells more so.
run++;
await runConcurrent(400, 16, (i) => append(sharedJournal)(i));
await runConcurrent(400, 16, (i) => putSameItems(i));
await runConcurrent(400, 16, (i) => put(i));
progress(`warmed up; entry is ${sampleBytes.length} bytes of canonical JSON (claim.decided, 3 lines)`);

const appendRows: Record<string, string | number>[] = [];
for (const [writers, repositories] of [
  [1, 'one'],
  [16, 'shared'],
  [16, 'per writer'],
  [16, 'per writer, manifests'],
] as const) {
  run++;
  // The last cell commits every round by manifest, which only rounds of over 33 entries do
  // otherwise: its cost at a load this machine can give.
  const options = repositories === 'per writer, manifests' ? { transactionBatch: 0 } : {};
  const journals =
    repositories === 'shared' || repositories === 'one'
      ? [sharedJournal]
      : Array.from({ length: writers }, () => new JournalRepository(doc, appendTable, options));
  counter.reset();
  const journal = await runConcurrent(APPENDS, writers, (i, w) => append(journals[w % journals.length]!)(i));
  const counts = counter.snapshot();
  const requestsPerAppend = counter.total() / APPENDS;
  progress(
    `${APPENDS} appends, ${writers} writer(s), ${repositories} repository: ${journal.perSecond.toFixed(0)}/s`,
  );
  const base = await runConcurrent(APPENDS, writers, (i) => put(i));
  progress(`${APPENDS} PutItems, ${writers} writer(s): ${base.perSecond.toFixed(0)}/s`);
  const items = await runConcurrent(APPENDS, writers, (i) => putSameItems(i));
  progress(
    `${APPENDS} × 5 PutItems of the same items, ${writers} writer(s): ${items.perSecond.toFixed(0)}/s`,
  );
  const { sequencing } = counts;
  appendRows.push({
    writers,
    repository: repositories,
    'appends/s': journal.perSecond,
    'append p50 ms': journal.p50,
    'append p99 ms': journal.p99,
    'put/s': base.perSecond,
    'put p50 ms': base.p50,
    'put p99 ms': base.p99,
    'put/s ÷ appends/s': base.perSecond / journal.perSecond,
    'same items/s': items.perSecond,
    'same items p50 ms': items.p50,
    'same items/s ÷ appends/s': items.perSecond / journal.perSecond,
    'requests/append': requestsPerAppend,
    'seq tx/append': sequencing.length / APPENDS,
    'entries/seq tx': sequencing.reduce((s, t) => s + t.entries, 0) / Math.max(1, sequencing.length),
  });
}
const sequenced = await sharedJournal.size();
await raw.send(new DeleteTableCommand({ TableName: appendTable }));

// ---------------------------------------------------------------------------------------------
// (b) Proofs at 10^4, 10^5, 10^6
// ---------------------------------------------------------------------------------------------

const template = leafTemplate(makeEntry(0));
checkLeafTemplate(template, [0, 1, 42, 99_999, 999_999]);
const proofRows: Record<string, string | number>[] = [];
const builds: Record<string, unknown>[] = [];

for (const size of TREE_SIZES) {
  const table = await journalTable(`bench-journal-tree-${size}`);
  progress(`tree of ${size.toLocaleString('en-US')}: hashing leaves in-process`);
  const leaves = leafHashes(size, template.text, (done) =>
    progress(`  ${done.toLocaleString('en-US')} leaf hashes`),
  );
  const tree = new CompleteTree(leaves);
  const root = tree.root(size);
  const rnd = rng(size); // the same proof samples on every run
  const inclusions = Array.from({ length: PROOFS }, () => Math.floor(rnd() * size));
  const consistencies = Array.from({ length: PROOFS }, () => 1 + Math.floor(rnd() * (size - 1)));
  const journal = new JournalRepository(doc, table);
  const trees = new JournalTreeRepository(doc, table, journal);
  const entry = (n: number) => entryItem(n, template.text(n), tree.node(0, n));
  const writeProgress = (done: number) => progress(`  ${done.toLocaleString('en-US')} items written`);
  const buildStart = performance.now();
  let how: string;
  let items: number;

  if (size <= INTEGRATE_MAX) {
    // The entries as the sequencer leaves them, then the real integrator builds the tree.
    items = await bulkWrite(
      doc,
      table,
      (function* () {
        for (let n = 0; n < size; n++) yield entry(n);
        yield { pk: 'STATE', sk: 'SEQUENCE', size };
      })(),
      { progress: writeProgress },
    );
    progress(`  ${size} entries written; integrating with JournalTreeRepository.integrateAll`);
    const t0 = performance.now();
    const state = await trees.integrateAll();
    const rate = size / ((performance.now() - t0) / 1000);
    if (toHex(state.root) !== toHex(root))
      throw new Error('integrator root differs from the in-process root');
    how = `entries bulk-written, tree built by the real integrator (${rate.toFixed(0)} entries/s); its root matches the in-process root`;
  } else {
    const state = { pk: 'STATE', sk: 'TREE', size, root: toHex(root), edge: tree.edge(size).map(toHex) };
    if (size <= FULL_TREE_MAX) {
      items = await bulkWrite(
        doc,
        table,
        (function* () {
          for (let n = 0; n < size; n++) yield entry(n);
          for (const node of tree.interiorNodes())
            yield nodeItem(node.level, node.index, tree.node(node.level, node.index));
          yield state;
        })(),
        { progress: writeProgress },
      );
      how = `every entry item and all ${(items - size - 1).toLocaleString('en-US')} interior node items bulk-written (BatchWrite), computed in-process with merkle.ts hashing`;
    } else {
      // Writing 2·10^6 items to DynamoDB Local would take most of the time budget; the proofs
      // read only the nodes their plans name (by key, one BatchGet), so the items written are
      // those nodes for the sampled proofs: the reads and keys per proof are the same as in a
      // full tree, only the table holds fewer other items.
      const needed = new Map<string, NodeId>();
      const plans = [
        ...inclusions.map((index) => inclusionProofNodes(index, size)),
        ...consistencies.map((old) => consistencyProofNodes(old, size)),
      ];
      for (const plan of plans)
        for (const node of plan.reads) needed.set(`${node.level}/${node.index}`, node);
      items = await bulkWrite(
        doc,
        table,
        (function* () {
          for (const node of needed.values()) {
            yield node.level === 0
              ? entry(node.index)
              : nodeItem(node.level, node.index, tree.node(node.level, node.index));
          }
          yield state;
        })(),
        { progress: writeProgress },
      );
      how = `only the ${(items - 1).toLocaleString('en-US')} entry/node items the sampled proofs read (of ~${(2 * size).toLocaleString('en-US')}), computed in-process with merkle.ts hashing and bulk-written (BatchWrite)`;
    }
  }
  const buildSeconds = (performance.now() - buildStart) / 1000;
  progress(`  built in ${buildSeconds.toFixed(1)} s: ${how}`);
  builds.push({ size, items, seconds: buildSeconds, how });

  for (const kind of ['inclusion', 'consistency'] as const) {
    const times: number[] = [];
    const requests: number[] = [];
    const keys: number[] = [];
    const samples = kind === 'inclusion' ? inclusions : consistencies;
    for (const sample of samples.slice(0, 10)) {
      // warm-up
      if (kind === 'inclusion') await trees.inclusionProof(sample, size);
      else await trees.consistencyProof(sample, size);
    }
    for (const sample of samples) {
      counter.reset();
      const t0 = performance.now();
      const proof =
        kind === 'inclusion'
          ? await trees.inclusionProof(sample, size)
          : await trees.consistencyProof(sample, size);
      times.push(performance.now() - t0);
      requests.push(counter.total());
      keys.push(counter.snapshot().batchGetKeys);
      // Outside the timing: the proof must verify against the in-process root.
      if (kind === 'inclusion') verifyInclusion(tree.node(0, sample), sample, size, proof, root);
      else verifyConsistency(sample, size, proof, tree.root(sample), root);
    }
    times.sort((a, b) => a - b);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    proofRows.push({
      'tree size': size,
      proof: kind,
      proofs: samples.length,
      'p50 ms': percentile(times, 50),
      'p99 ms': percentile(times, 99),
      'requests/proof': mean(requests),
      'max requests': Math.max(...requests),
      'items read/proof': mean(keys) + 1,
      'max items read': Math.max(...keys) + 1,
    });
  }
  progress(`  ${PROOFS} inclusion and ${PROOFS} consistency proofs generated and verified`);
  await raw.send(new DeleteTableCommand({ TableName: table }));
}

// ---------------------------------------------------------------------------------------------

console.log(
  `\n(a) JournalRepository.append vs one plain PutItem of the same entry item, ${APPENDS} per cell, DynamoDB Local`,
);
console.log(
  `    entry: claim.decided, ${sampleBytes.length} bytes canonical JSON; while its process knows the size, an append takes the next index`,
);
console.log(
  "    in one TransactWriteItems (with its process's concurrent appends); against other processes, it stages the entry and\n" +
    '    sequences by group commit (≤ 33 entries per TransactWriteItems)',
);
printTable(appendRows);
const ratios = (column: string) =>
  appendRows
    .map((r) => `${r.writers} writer(s)/${r.repository}: ${Number(r[column]).toFixed(2)}x`)
    .join(', ');
console.log(
  `    journal overhead vs one PutItem of the entry item (baseline throughput ÷ journal throughput): ${ratios('put/s ÷ appends/s')}; target ≤ 1.5x`,
);
console.log(
  `    journal overhead vs plain PutItems of the same 5 items an append writes: ${ratios('same items/s ÷ appends/s')}; target ≤ 1.5x`,
);
console.log(
  `    after the runs: ${acknowledged} appends acknowledged (with warm-up), the journal's size is ${sequenced}`,
);

console.log(`\n(b) proofs through JournalTreeRepository at each tree size (${PROOFS} of each kind, random`);
console.log('    leaf / old size, one at a time); "requests" are DynamoDB calls (GetItem of the tree state');
console.log('    + BatchGetItem of the nodes), "items read" the tree state plus the node keys requested');
printTable(proofRows);
console.log('\n    how each tree was built:');
for (const b of builds)
  console.log(`    ${String(b.size).padStart(8)}: ${b.how}, ${Number(b.seconds).toFixed(1)} s`);
const file = writeResult('journal', {
  appends: APPENDS,
  entryBytes: sampleBytes.length,
  appendRows,
  sequenced,
  acknowledged,
  proofs: PROOFS,
  proofRows,
  builds,
  seconds: (performance.now() - started) / 1000,
});
console.log(`\nwritten to ${file}; total ${((performance.now() - started) / 1000).toFixed(0)} s`);
raw.destroy();
await dynamo.stop();
