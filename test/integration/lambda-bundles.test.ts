import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { demoClaim, demoProviders } from '../../functions/local/demo-seed.ts';
import { ScanCommand } from '../../functions/store/dynamo.ts';
import { buildApp, rulesDirOf } from '../../infra/app.ts';
import { BUNDLE_BUDGET_BYTES } from '../../infra/bundle-budget.ts';
import { ppoCoverage } from '../support/coverage.ts';
import { freshTables } from '../support/tables.ts';

/**
 * The bundles `cdk deploy` would upload, built exactly as `cdk synth` builds them, then run the
 * way Lambda runs them: a bare `node` importing index.mjs from a directory with no
 * node_modules, credentials only in the environment, the endpoint only in AWS_ENDPOINT_URL.
 * This is what proves the bundling choices (ES module SDK, credential chain alias, rule files
 * shipped beside the handler) produce functions that work, not only small files.
 */
interface Bundle {
  name: string;
  dir: string;
  bytes: number;
  /** The function's environment in the template (values that are CloudFormation references left out). */
  environment: Record<string, string>;
}

const provider = {
  sub: 'clinic-1',
  'cognito:groups': 'provider',
  'custom:npi': demoProviders.familyClinic.npi,
};

let outdir: string;
let bundles: Map<string, Bundle>;
let rulesDir: string;

beforeAll(() => {
  outdir = mkdtempSync(join(tmpdir(), 'claimledger-bundles-'));
  // Asset and path metadata (which bundle is which function's), as the CDK CLI asks for them.
  const app = new App({
    outdir,
    context: { stage: 'test', 'aws:cdk:enable-asset-metadata': true, 'aws:cdk:enable-path-metadata': true },
  });
  const { stateless } = buildApp(app);
  rulesDir = rulesDirOf(app);
  const assembly = app.synth();
  const template = assembly.getStackByName(stateless.stackName).template as {
    Resources: Record<
      string,
      {
        Type: string;
        Metadata?: Record<string, unknown>;
        Properties?: { Environment?: { Variables?: Record<string, unknown> } };
      }
    >;
  };
  bundles = new Map();
  for (const resource of Object.values(template.Resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (resource.Type !== 'AWS::Lambda::Function' || typeof assetPath !== 'string') continue;
    const name = String(resource.Metadata?.['aws:cdk:path']).split('/').at(-2)?.replace(/^fn-/, '') ?? '';
    const dir = join(assembly.directory, assetPath);
    const variables = Object.entries(resource.Properties?.Environment?.Variables ?? {});
    const environment = Object.fromEntries(variables.filter(([, v]) => typeof v === 'string')) as Record<
      string,
      string
    >;
    bundles.set(name, { name, dir, bytes: statSync(join(dir, 'index.mjs')).size, environment });
  }
}, 180_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('Lambda bundles', () => {
  it('every function is bundled, each within its size budget', () => {
    expect(bundles.size).toBeGreaterThanOrEqual(20);
    const over = [...bundles.values()]
      .filter((b) => b.bytes > BUNDLE_BUDGET_BYTES)
      .map((b) => `${b.name}: ${(b.bytes / 1024).toFixed(1)} KB > ${BUNDLE_BUDGET_BYTES / 1024} KB`);
    expect(over).toEqual([]);
  });

  it('ships no YAML parser: deciding functions read the rule files through their synth-time record', () => {
    const deciding = [...bundles.values()].filter((b) => b.environment.RULE_SET_HASH !== undefined);
    expect(deciding.map((b) => b.name).sort()).toEqual([
      'review-decision',
      'rules-active',
      'rules-simulate',
      'submit-claim',
    ]);
    for (const bundle of bundles.values()) {
      expect(
        sourcesOf(bundle).filter((s) => /node_modules\/yaml\//.test(s)),
        bundle.name,
      ).toEqual([]);
    }
    for (const bundle of deciding) {
      const recorded = JSON.parse(readFileSync(join(bundle.dir, 'rule-sources.json'), 'utf8')) as {
        files: Record<string, unknown>;
      };
      expect(Object.keys(recorded.files), bundle.name).toContain('ruleset.yaml');
      expect(bundle.environment.RULE_SOURCES).toBe('/var/task/rule-sources.json');
    }
  });

  it('bundles no source of the SDK credential chain other than the environment provider', () => {
    // The alias in infra/stateless-stack.ts replaces the default chain; if it silently stopped
    // applying, the STS/SSO clients would be back in every bundle.
    expect(bundles.size).toBeGreaterThanOrEqual(20);
    for (const bundle of bundles.values()) {
      const chain = sourcesOf(bundle).filter((s) =>
        /credential-provider-(node|ini|sso|process|web-identity)\//.test(s),
      );
      expect(chain, bundle.name).toEqual([]);
    }
  });

  it('decide and read a claim when run like Lambda runs them, against DynamoDB Local', async () => {
    const { endpoint, names } = await freshTables();
    const analyst = { sub: 'analyst-1', 'cognito:groups': 'analyst' };
    const calls = [
      {
        module: join(bundleDir('put-coverage'), 'index.mjs'),
        event: apiEvent('PUT', '/members/{memberId}/coverage', analyst, {
          pathParameters: { memberId: demoClaim.memberId },
          body: ppoCoverage('COV-BUNDLE'),
        }),
      },
      {
        module: join(bundleDir('submit-claim'), 'index.mjs'),
        event: apiEvent('POST', '/claims', provider, { body: demoClaim }),
      },
    ];
    const [coverage, submitted] = runInLambdaLikeProcess(calls, {
      ...tableEnvironment(endpoint, names),
      ...submitEnvironment(),
    });
    expect(coverage?.statusCode).toBe(201);
    expect(submitted?.statusCode).toBe(201);
    // Decided by the rule set shipped beside the bundle, which is the repository's, and journaled.
    const claim = JSON.parse(submitted?.body ?? '{}') as {
      id: string;
      decision: { outcome: string; ruleSetHash: string; lines: unknown[] };
      journal: { index: number };
    };
    expect(claim.decision.ruleSetHash).toBe((await loadRuleSet(rulesDir)).hash);
    expect(['approved', 'partially_approved', 'denied', 'pended']).toContain(claim.decision.outcome);
    expect(claim.decision.lines).toHaveLength(demoClaim.lines.length);
    expect(claim.journal.index).toEqual(expect.any(Number));

    const [read] = runInLambdaLikeProcess(
      [
        {
          module: join(bundleDir('get-claim'), 'index.mjs'),
          event: apiEvent('GET', '/claims/{id}', provider, { pathParameters: { id: claim.id } }),
        },
      ],
      tableEnvironment(endpoint, names),
    );
    expect(read?.statusCode).toBe(200);
    expect(JSON.parse(read?.body ?? '{}')).toMatchObject({ id: claim.id, decision: claim.decision });
  }, 60_000);

  it('refuses to decide with rule files that are not the ones the stack pinned, and writes nothing', async () => {
    const wrongPin = 'f'.repeat(64);
    const stdout = await submitRefused({ RULE_SET_HASH: wrongPin });
    expect(stdout).toContain(`the deployment pinned ${wrongPin}: refusing to decide`);
  }, 60_000);

  it('refuses to decide with a rule file edited after synth, under the right pin, and writes nothing', async () => {
    const rules = join(outdir, 'edited-rules');
    cpSync(join(bundleDir('submit-claim'), 'rules'), rules, { recursive: true });
    appendFileSync(join(rules, 'fraud.yaml'), '\n# edited in the bundle\n');
    const stdout = await submitRefused({ RULES_DIR: rules });
    expect(stdout).toContain('fraud.yaml differs from the file recorded at synth');
  }, 60_000);
});

/** The tables of a test, as the stack gives them to every function (endpoint aside). */
function tableEnvironment(
  endpoint: string,
  names: { claims: string; records: string; journal: string },
): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    CLAIMS_TABLE: names.claims,
    RECORDS_TABLE: names.records,
    JOURNAL_TABLE: names.journal,
  };
}

/** What the stack sets on submit-claim for its rules: beside the bundle, pinned at synth. */
function submitEnvironment(): Record<string, string> {
  const dir = bundleDir('submit-claim');
  return {
    RULES_DIR: join(dir, 'rules'),
    RULE_SOURCES: join(dir, 'rule-sources.json'),
    RULE_SET_HASH: pinnedHash(),
  };
}

/** The source files a bundle was built from, per its source map. */
function sourcesOf(bundle: { dir: string }): string[] {
  return (JSON.parse(readFileSync(join(bundle.dir, 'index.mjs.map'), 'utf8')) as { sources: string[] })
    .sources;
}

function bundleDir(name: string): string {
  const bundle = bundles.get(name);
  if (!bundle) throw new Error(`no bundle for ${name}`);
  return bundle.dir;
}

/**
 * Runs the real submit-claim bundle on the demo claim, with its deployed environment changed by
 * `overrides`; expects a 500 and nothing written. Returns what the function logged.
 */
async function submitRefused(overrides: Record<string, string>): Promise<string> {
  const { endpoint, names, doc } = await freshTables();
  const dir = bundleDir('submit-claim');
  const { results, stdout } = runInLambdaLikeProcessWithOutput(
    [{ module: join(dir, 'index.mjs'), event: apiEvent('POST', '/claims', provider, { body: demoClaim }) }],
    { ...tableEnvironment(endpoint, names), ...submitEnvironment(), ...overrides },
  );
  expect(results[0]?.statusCode).toBe(500);
  for (const table of [names.claims, names.journal]) {
    const { Count } = await doc.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
    expect(Count, table).toBe(0);
  }
  return stdout;
}

function pinnedHash(): string {
  const hash = bundles.get('submit-claim')?.environment.RULE_SET_HASH;
  if (!hash) throw new Error('submit-claim has no RULE_SET_HASH in the template');
  return hash;
}

function apiEvent(
  httpMethod: string,
  resource: string,
  claims: Record<string, string>,
  options: { pathParameters?: Record<string, string>; body?: unknown } = {},
) {
  return {
    resource,
    path: resource,
    httpMethod,
    headers: { 'content-type': 'application/json' },
    pathParameters: options.pathParameters ?? null,
    queryStringParameters: null,
    body: options.body === undefined ? null : JSON.stringify(options.body),
    isBase64Encoded: false,
    requestContext: { requestId: `bundle-test-${httpMethod}`, authorizer: { claims } },
  };
}

// Runs in the child: imports each bundle and calls its handler once, in order.
const CHILD = `
const calls = JSON.parse(process.env.CALLS);
const results = [];
for (const call of calls) {
  const { handler } = await import(call.module);
  results.push(await handler(call.event, { awsRequestId: call.event.requestContext.requestId }));
}
process.stdout.write('\\n' + JSON.stringify(results));
`;

/** One fresh `node` with only what Lambda gives a function: no node_modules, no AWS profile. */
function runInLambdaLikeProcess(
  calls: { module: string; event: unknown }[],
  environment: Record<string, string>,
): { statusCode: number; body: string }[] {
  return runInLambdaLikeProcessWithOutput(calls, environment).results;
}

function runInLambdaLikeProcessWithOutput(
  calls: { module: string; event: unknown }[],
  environment: Record<string, string>,
): { results: { statusCode: number; body: string }[]; stdout: string } {
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: outdir,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: '--enable-source-maps',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
      AWS_SESSION_TOKEN: 'bundle-test-session',
      AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
      CALLS: JSON.stringify(calls.map((c) => ({ ...c, module: pathToFileURL(c.module).href }))),
      ...environment,
    },
  });
  if (result.status !== 0) throw new Error(`bundle run failed:\n${result.stderr}`);
  // Handlers log to stdout too; the results are the last line.
  return { results: JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '[]'), stdout: result.stdout };
}
