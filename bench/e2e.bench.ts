/**
 * End-to-end: claims/s and latency through the local HTTP API at 1 and 16 concurrent clients,
 * side by side with a baseline route behind the same gateway, token check and handler stack
 * that does a single DynamoDB PutItem of the same body. The ratio is what deciding and
 * journaling a claim costs over the cheapest possible durable write.
 *
 *   npm run bench:e2e          (env BENCH_REQUESTS scales the request count; default 400)
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpHandler, json } from '../functions/http/http-handler.ts';
import { setLogSink } from '../functions/http/logger.ts';
import { demoClaim } from '../functions/local/demo-seed.ts';
import { startDynamoDbLocal } from '../functions/local/dynamodb-local.ts';
import { startLocalStack } from '../functions/local/local-stack.ts';
import { PutCommand } from '../functions/store/dynamo.ts';
import { createDocumentClient, tableNamesFor } from '../functions/store/dynamo-client.ts';
import { percentile, printTable, runConcurrent, writeResult } from './stats.ts';

const requests = Number(process.env.BENCH_REQUESTS ?? 400);
setLogSink(() => undefined); // access logs would dominate the output
// Claims go round-robin to 32 members: one member's accumulators serialize its claims by design.
const MEMBERS = 32;
const dynamo = await startDynamoDbLocal();
const doc = createDocumentClient({ endpoint: dynamo.endpoint });
const prefix = 'bench-';
const baseline = httpHandler(['provider'], async ({ event }) => {
  await doc.send(
    new PutCommand({
      TableName: tableNamesFor(prefix).claims,
      Item: { pk: `BASE#${event.requestContext.requestId}`, sk: 'X', body: event.body },
    }),
  );
  return json(201, { ok: true });
});
const stack = await startLocalStack({
  port: 0,
  dynamoEndpoint: dynamo.endpoint,
  tablePrefix: prefix,
  stateDir: mkdtempSync(join(tmpdir(), 'claimledger-bench-')),
  seed: true,
  extraRoutes: [
    {
      route: { method: 'POST', path: '/bench/baseline', module: 'baseline', authenticated: true, access: {} },
      handler: baseline,
    },
  ],
});
const token = await stack.issuer.mint({
  sub: 'bench',
  roles: ['provider'],
  npis: [demoClaim.billingProviderNpi],
});
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };

let run = 0;
/** Journal index and response time of each decided claim, for the integration delay. */
const answered: { index: number; at: number }[] = [];
async function post(path: string, i: number): Promise<void> {
  const body = JSON.stringify({ ...demoClaim, claimId: `B${run}-${i}`, memberId: `BENCH-${i % MEMBERS}` });
  const res = await fetch(`${stack.url}${path}`, { method: 'POST', headers, body });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${path} answered ${res.status}`);
  const index = (JSON.parse(text) as { journal?: { index: number } }).journal?.index;
  if (index !== undefined) answered.push({ index, at: performance.now() });
}

/**
 * Integration delay: from a claim's answer (its entry is sequenced by then) until a signed
 * checkpoint covers it, watched by polling the newest checkpoint every 25 ms while claims run (more often would load DynamoDB Local itself).
 */
async function integrationDelays(work: () => Promise<unknown>): Promise<number[]> {
  const { appContext } = await import('../functions/handlers/app-context.ts');
  const { checkpoints } = await appContext();
  answered.length = 0;
  const delays: number[] = [];
  let done = false;
  const watcher = (async () => {
    while (!done || answered.length > 0) {
      const size = (await checkpoints.latest())?.size ?? 0;
      const now = performance.now();
      for (let i = answered.length - 1; i >= 0; i--) {
        const a = answered[i] as { index: number; at: number };
        if (a.index < size) {
          delays.push(now - a.at);
          answered.splice(i, 1);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  await work();
  done = true;
  await watcher;
  return delays.sort((a, b) => a - b);
}

// Warm up both paths (module loading, rule compilation, JIT) before measuring.
run++;
await runConcurrent(30, 4, (i) => post('/claims', i));
await runConcurrent(30, 4, (i) => post('/bench/baseline', i));

const rows = [];
for (const concurrency of [1, 16]) {
  run++;
  const claims = await runConcurrent(requests, concurrency, (i) => post('/claims', i));
  const base = await runConcurrent(requests, concurrency, (i) => post('/bench/baseline', i));
  rows.push({
    clients: concurrency,
    'claims/s': claims.perSecond,
    'claim p50 ms': claims.p50,
    'claim p99 ms': claims.p99,
    'baseline/s': base.perSecond,
    'base p50 ms': base.p50,
    'base p99 ms': base.p99,
    'throughput ratio': base.perSecond / claims.perSecond,
  });
}
console.log(
  `\nPOST /claims vs single PutItem baseline, ${requests} requests per cell, DynamoDB Local, ${demoClaim.lines.length} lines/claim`,
);
printTable(rows);
run++;
const delays = await integrationDelays(() => runConcurrent(requests, 16, (i) => post('/claims', i)));
const delay = {
  claims: delays.length,
  p50: percentile(delays, 50),
  p99: percentile(delays, 99),
  max: delays.at(-1),
};
console.log(
  `\nintegration delay (answer → covered by a signed checkpoint), ${delay.claims} claims at 16 clients: p50 ${delay.p50.toFixed(0)} ms, p99 ${delay.p99.toFixed(0)} ms, max ${delay.max?.toFixed(0)} ms (target p99 < 1000 ms)`,
);
console.log(`\nwritten to ${writeResult('e2e', { requests, rows, integrationDelayMs: delay })}`);
await stack.stop();
await dynamo.stop();
