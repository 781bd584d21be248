// A journal writer run as its own process by journal-crash.test.ts, to be SIGKILLed at an
// arbitrary point: it appends entries (and, with --integrate, integrates and signs after
// each; by manifest with --transaction-batch 0) and prints "ACK <key> <index>" only once an append has returned, i.e. acknowledged.
import { parseArgs } from 'node:util';
import { localSignerFromKeyString } from '../../functions/journal/local-signer.ts';
import { CheckpointsRepository } from '../../functions/store/checkpoints.repository.ts';
import { createDocumentClient } from '../../functions/store/dynamo-client.ts';
import { JournalRepository } from '../../functions/store/journal.repository.ts';
import { integrateAndPublish } from '../../functions/store/journal-publisher.ts';
import { JournalTreeRepository } from '../../functions/store/journal-tree.repository.ts';

const { values } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    table: { type: 'string' },
    writer: { type: 'string' },
    'signer-key': { type: 'string' },
    origin: { type: 'string' },
    // 0 sequences every round by manifest (entries written after the counter moves).
    'transaction-batch': { type: 'string' },
  },
});
const doc = createDocumentClient({ endpoint: String(values.endpoint) });
const table = String(values.table);
const transactionBatch = values['transaction-batch'];
const journal = new JournalRepository(
  doc,
  table,
  transactionBatch === undefined ? {} : { transactionBatch: Number(transactionBatch) },
);
const tree = new JournalTreeRepository(doc, table, journal);
const checkpoints = new CheckpointsRepository(doc, table, tree);
const signer = localSignerFromKeyString(String(values['signer-key']));

for (let i = 0; ; i++) {
  const key = `${values.writer}-${i}`;
  const receipt = await journal.append(key, {
    type: 'treatment.put',
    docId: `member/M${values.writer}/treatment/T${i}`,
    docRevision: 1,
    actor: { sub: 'crash-writer', role: 'analyst' },
    at: new Date().toISOString(),
    payload: { writer: String(values.writer), i },
  });
  process.stdout.write(`ACK ${key} ${receipt.index}\n`);
  if (i % 3 === 0)
    await integrateAndPublish({ journal, tree, checkpoints, signer, origin: String(values.origin) });
}
