/**
 * `npm run bench:cold`: how long each Lambda bundle takes to import, the part of a cold start
 * the code controls. For every function in the synthesized stacks, a fresh `node` process
 * imports the bundle's index.mjs (with the function's NODE_OPTIONS) and reports the time from
 * just before `await import()` to its resolution; an empty module, imported the same way in the
 * same rounds, is the baseline. Runs are interleaved round by round so machine noise spreads
 * over all bundles alike. Prints p50 of the runs against the 100 ms target; never fails on it.
 * For the deciding functions it also times, in fresh processes, the rule-set load their first
 * request does (bench/rule-load-probe.ts, bundled the same way). Each process has the variables
 * Lambda sets, so the bundle loads Powertools from its (emulated) layer as it does in Lambda:
 * that import is part of the time.
 *
 * Reuses cdk.out when present (say `--synth` to rebuild it first, which `cdk synth` does with
 * the local esbuild in about half a minute).
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';
import { BUNDLE_BUDGET_BYTES } from '../infra/bundle-budget.ts';
import { lambdaEsbuildOptions } from '../infra/lambda-build.ts';
import { emulateLayer, POWERTOOLS_MODULE } from '../infra/powertools-layer.ts';
import { percentile, printTable, writeResult } from './stats.ts';

const root = join(import.meta.dirname, '..');
const out = join(root, 'cdk.out');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const TARGET_MS = 100;

interface Bundle {
  name: string;
  file: string;
  bytes: number;
  nodeOptions: string;
}

interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Metadata?: Record<string, unknown>;
      Properties: { Environment?: { Variables?: Record<string, unknown> } };
    }
  >;
}

function synthesizeIfNeeded(): void {
  if (!process.argv.includes('--synth') && existsSync(join(out, 'manifest.json'))) {
    const stale = newestSource() > statSync(join(out, 'manifest.json')).mtimeMs;
    console.log(`Reusing ${out}${stale ? ' (older than the sources: run with --synth to rebuild)' : ''}.`);
    return;
  }
  console.log('Synthesizing (npx cdk synth --quiet)...');
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

function newestSource(): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of ['functions', 'infra', 'rules']) walk(join(root, dir));
  return newest;
}

/** Every Lambda function of every stack in the assembly, with its bundle (CLI asset metadata). */
/** The synthesized bundles, and the Powertools layer's content they import in Lambda. */
function bundles(): { found: Bundle[]; layerDir: string } {
  const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const found: Bundle[] = [];
  let layerDir = '';
  for (const artifact of Object.values(manifest.artifacts)) {
    const templateFile = artifact.properties?.templateFile;
    if (artifact.type !== 'aws:cloudformation:stack' || !templateFile) continue;
    const template = JSON.parse(readFileSync(join(out, templateFile), 'utf8')) as Template;
    for (const resource of Object.values(template.Resources)) {
      const assetPath = resource.Metadata?.['aws:asset:path'];
      if (typeof assetPath !== 'string') continue;
      if (resource.Type === 'AWS::Lambda::LayerVersion') layerDir = join(out, assetPath);
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const file = join(out, assetPath, 'index.mjs');
      if (!existsSync(file)) continue;
      const cdkPath = String(resource.Metadata?.['aws:cdk:path'] ?? assetPath);
      const nodeOptions = resource.Properties.Environment?.Variables?.NODE_OPTIONS;
      found.push({
        name: cdkPath.split('/').at(-2)?.replace(/^fn-/, '') ?? cdkPath,
        file,
        bytes: statSync(file).size,
        nodeOptions: typeof nodeOptions === 'string' ? nodeOptions : '',
      });
    }
  }
  return { found: found.sort((a, b) => a.name.localeCompare(b.name)), layerDir };
}

// Runs in the child: the clock starts right before the import, after node itself has booted.
const CHILD = `
const started = performance.now();
await import(process.env.BENCH_MODULE);
process.stdout.write(JSON.stringify({ ms: performance.now() - started }));
`;

/** One fresh process importing `file`; the import's duration in ms. */
function importOnce(file: string, nodeOptions: string): number {
  return runChild(['--input-type=module', '-e', CHILD], file, nodeOptions);
}

/** One fresh process loading the rule set shipped beside `file`, as its first request does. */
function ruleLoadOnce(probe: string, file: string, nodeOptions: string): number {
  return runChild([probe], file, nodeOptions);
}

function runChild(args: string[], file: string, nodeOptions: string): number {
  const result = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: nodeOptions,
      BENCH_MODULE: pathToFileURL(file).href,
      // What Lambda provides, and placeholders for what the stack sets: only names, no data.
      AWS_REGION: 'us-east-1',
      AWS_LAMBDA_FUNCTION_NAME: 'bench',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      CLAIMS_TABLE: 'bench-claims',
      RECORDS_TABLE: 'bench-records',
      JOURNAL_TABLE: 'bench-journal',
      RULES_DIR: join(file, '..', 'rules'),
      RULE_SOURCES: join(file, '..', 'rule-sources.json'),
    },
  });
  if (result.status !== 0) throw new Error(`${args.join(' ')} for ${file} failed:\n${result.stderr}`);
  return (JSON.parse(result.stdout) as { ms: number }).ms;
}

/** bench/rule-load-probe.ts, bundled with the functions' esbuild settings. */
function bundleProbe(dir: string): string {
  const outfile = join(dir, 'rule-load-probe.mjs');
  buildSync({ ...lambdaEsbuildOptions, entryPoints: [join(root, 'bench', 'rule-load-probe.ts')], outfile });
  return outfile;
}

synthesizeIfNeeded();
const { found, layerDir } = bundles();
if (found.length === 0) {
  console.error(`No function bundles in ${out}: run npm run bench:cold -- --synth`);
  process.exit(1);
}
const scratch = mkdtempSync(join(tmpdir(), 'claimledger-cold-'));
// Each bundle runs from a copy beside which the Powertools layer is emulated (its import of the
// layer's module resolves), so cdk.out, which cdk deploy uploads, is left as built.
for (const bundle of found) {
  const dir = join(scratch, bundle.name);
  cpSync(dirname(bundle.file), dir, { recursive: true });
  emulateLayer(dir, layerDir);
  bundle.file = join(dir, 'index.mjs');
}
const empty = join(scratch, 'empty.mjs');
writeFileSync(empty, '');
const baseline: Bundle = {
  name: '(empty module)',
  file: empty,
  bytes: 0,
  nodeOptions: found[0]?.nodeOptions ?? '',
};
const subjects = [baseline, ...found];
const samples = new Map<Bundle, number[]>(subjects.map((b) => [b, []]));
// Deciding functions ship their rule set beside the bundle.
const deciding = found.filter((b) => existsSync(join(b.file, '..', 'rule-sources.json')));
const ruleLoads = new Map<Bundle, number[]>(deciding.map((b) => [b, []]));
try {
  const probe = bundleProbe(scratch);
  for (let run = 0; run < RUNS; run++) {
    for (const bundle of subjects) samples.get(bundle)?.push(importOnce(bundle.file, bundle.nodeOptions));
    for (const bundle of deciding)
      ruleLoads.get(bundle)?.push(ruleLoadOnce(probe, bundle.file, bundle.nodeOptions));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const p50 = (bundle: Bundle, of = samples) =>
  percentile(
    [...(of.get(bundle) ?? [])].sort((a, b) => a - b),
    50,
  );
const baselineMs = p50(baseline);
const rows = subjects.map((bundle) => {
  const ms = p50(bundle);
  return {
    function: bundle.name,
    'bundle KB': Number((bundle.bytes / 1024).toFixed(1)),
    'budget KB': bundle === baseline ? '' : BUNDLE_BUDGET_BYTES / 1024,
    'import p50 ms': Number(ms.toFixed(1)),
    'over empty ms': Number((ms - baselineMs).toFixed(1)),
    'x empty': Number((ms / baselineMs).toFixed(1)),
    target: `${TARGET_MS} ms`,
    within: bundle === baseline ? '' : ms <= TARGET_MS ? 'yes' : 'NO',
    'first rule load p50 ms': ruleLoads.has(bundle) ? Number(p50(bundle, ruleLoads).toFixed(1)) : '',
  };
});
console.log(
  `\nImport-to-ready of each Lambda bundle, p50 of ${RUNS} fresh node ${process.version} processes`,
);
console.log(
  `(NODE_OPTIONS as deployed: ${baseline.nodeOptions || 'none'}); the target is ${TARGET_MS} ms.\n`,
);
printTable(rows);
const over = rows.filter((r) => r.within === 'NO').length;
const heavy = found.filter((b) => b.bytes > BUNDLE_BUDGET_BYTES).length;
console.log(`\n${over} of ${found.length} bundles over the ${TARGET_MS} ms target (reported, not enforced).`);
const layerModule = join(layerDir, 'nodejs', 'node_modules', POWERTOOLS_MODULE, 'index.mjs');
console.log(
  `Every function but health also imports the Powertools layer's module (${(statSync(layerModule).size / 1024).toFixed(1)} KB, ` +
    'infra/powertools-layer.ts) at load, as in Lambda: its time is in the figures above.',
);
console.log(
  `The ${deciding.length} deciding functions also load the rule set shipped beside them on their first request ` +
    '(first rule load: a fresh process, the bundled loader, the same files).',
);
console.log(
  `${heavy} of ${found.length} bundles over the ${BUNDLE_BUDGET_BYTES / 1024} KB budget ` +
    '(enforced by test/integration/lambda-bundles.test.ts).',
);
console.log(`Wrote ${writeResult('cold', { runs: RUNS, targetMs: TARGET_MS, node: process.version, rows })}`);
