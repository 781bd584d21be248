/**
 * Rule engine benchmark (issue 3): the default rule set over a generated corpus of professional
 * claims, then an equivalent rule subset on claimledger, json-rules-engine and GoRules ZEN in
 * the same run, with ratios. Single process, one claim at a time (one core for our engine;
 * CPU time is reported next to wall time because ZEN's native calls may use other threads).
 *
 *   npx tsx bench/rules.bench.ts [claims]      (default 10,000)
 */
import { fileURLToPath } from 'node:url';
import type { ClaimSubmission } from '../functions/claims/claim.schema.ts';
import type { ClaimFacts } from '../functions/claims/decision.ts';
import { loadRuleSet } from '../functions/engine/loader.ts';
import { generateCorpus } from './rules-corpus.ts';
import { jsonRulesEnginePeer, type LineOutcome, outcomesOf, subsetRuleSet, zenPeer } from './rules-peers.ts';
import { percentile, printTable, writeResult } from './stats.ts';

const RULES_DIR = fileURLToPath(new URL('../rules/', import.meta.url));
const claims = Number(process.argv[2] ?? 10_000);

interface Run {
  engine: string;
  rules: string;
  claims: number;
  lines: number;
  linesPerSecond: number;
  linesPerCpuSecond: number;
  p50us: number;
  p99us: number;
}

async function measure(
  engine: string,
  rules: string,
  corpus: { claim: ClaimSubmission; facts: ClaimFacts }[],
  evaluate: (claim: ClaimSubmission, facts: ClaimFacts) => unknown,
): Promise<Run> {
  // Warm-up pass (JIT, caches), not measured.
  for (const item of corpus.slice(0, Math.min(1_000, corpus.length))) await evaluate(item.claim, item.facts);
  const times: number[] = [];
  let lines = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (const { claim, facts } of corpus) {
    const s = performance.now();
    await evaluate(claim, facts);
    times.push((performance.now() - s) * 1000);
    lines += claim.lines.length;
  }
  const wall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return {
    engine,
    rules,
    claims: corpus.length,
    lines,
    linesPerSecond: Math.round(lines / wall),
    linesPerCpuSecond: Math.round(lines / ((cpu.user + cpu.system) / 1e6)),
    p50us: Math.round(percentile(times, 50)),
    p99us: Math.round(percentile(times, 99)),
  };
}

const rssMb = () => Math.round(process.memoryUsage().rss / 1024 / 1024);

const rssBefore = rssMb();
const loadStart = performance.now();
const ruleSet = await loadRuleSet(RULES_DIR);
const loadMs = Math.round(performance.now() - loadStart);
const rssLoaded = rssMb();
const corpus = generateCorpus({ claims });
const outcomes: Record<string, number> = {};
for (const { claim, facts } of corpus.slice(0, 2_000)) {
  const d = ruleSet.evaluate(claim, facts);
  outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
}

const full = await measure('claimledger', 'default (30 rules, full trace)', corpus, (c, f) =>
  ruleSet.evaluate(c, f),
);

const subset = await subsetRuleSet(RULES_DIR);
const jre = await jsonRulesEnginePeer(RULES_DIR);
const zen = await zenPeer(RULES_DIR);

// The three must decide the subset the same way before their speed means anything.
const check = corpus.slice(0, 2_000);
let agreeJre = 0;
let agreeZen = 0;
let compared = 0;
const same = (a: LineOutcome[], b: LineOutcome[]) => JSON.stringify(a) === JSON.stringify(b);
for (const { claim, facts } of check) {
  const ours = outcomesOf(subset.evaluate(claim, facts));
  compared++;
  if (same(ours, await jre(claim, facts))) agreeJre++;
  if (zen && same(ours, await zen(claim, facts))) agreeZen++;
}

const oursSubset = await measure('claimledger', 'subset (9 rules, full trace)', corpus, (c, f) =>
  subset.evaluate(c, f),
);
const jreSubset = await measure('json-rules-engine', 'subset', corpus, jre);
const zenSubset = zen ? await measure('@gorules/zen-engine', 'subset', corpus, zen) : undefined;
if (!zen) console.log('@gorules/zen-engine not installed: skipped (npm i --no-save @gorules/zen-engine)');
const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);

const runs = [full, oursSubset, jreSubset, ...(zenSubset ? [zenSubset] : [])];
printTable(
  runs.map((r) => ({
    engine: r.engine,
    rules: r.rules,
    claims: r.claims,
    'lines/s': r.linesPerSecond,
    'lines/cpu-s': r.linesPerCpuSecond,
    'p50 µs/claim': r.p50us,
    'p99 µs/claim': r.p99us,
  })),
);
const ratio = (a: Run, b: Run) => Math.round((a.linesPerSecond / b.linesPerSecond) * 100) / 100;
const ratios = {
  vsJsonRulesEngine: ratio(oursSubset, jreSubset),
  vsZen: zenSubset ? ratio(oursSubset, zenSubset) : null,
  vsZenCpu: zenSubset
    ? Math.round((oursSubset.linesPerCpuSecond / zenSubset.linesPerCpuSecond) * 100) / 100
    : null,
};
console.log(
  `\nsubset throughput ratio: claimledger / json-rules-engine = ${ratios.vsJsonRulesEngine}x` +
    (zenSubset ? `, claimledger / zen = ${ratios.vsZen}x (per CPU second ${ratios.vsZenCpu}x)` : ''),
);
console.log(
  `agreement on ${compared} claims: json-rules-engine ${agreeJre}/${compared}` +
    (zen ? `, zen ${agreeZen}/${compared}` : '') +
    ' identical line outcomes',
);
console.log(
  `rule set load ${loadMs} ms (MUE ${ruleSet.tables.find((t) => t.kind === 'mue')?.entries} codes, LEIE ${ruleSet.tables.find((t) => t.kind === 'excludedProviders')?.entries} NPIs); RSS ${rssBefore} MB before, ${rssLoaded} MB loaded, peak ${peakRssMb} MB`,
);
console.log(`default rule set outcomes (first 2,000 claims): ${JSON.stringify(outcomes)}`);
const file = writeResult('rules', {
  node: process.version,
  claims,
  corpus: 'bench/rules-corpus.ts seed 2026, 1-10 lines per claim',
  runs,
  ratios,
  agreement: { compared, jsonRulesEngine: agreeJre, zen: zen ? agreeZen : null },
  memory: { rssBeforeMb: rssBefore, rssLoadedMb: rssLoaded, peakRssMb, loadMs },
  outcomes,
  ruleSetHash: ruleSet.hash,
});
console.log(`wrote ${file}`);
