import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSet } from '../../functions/engine/loader.ts';
import { demoClaim, demoProviders } from '../../functions/local/demo-seed.ts';
import { ScanCommand } from '../../functions/store/dynamo.ts';
import { buildApp, rulesDirOf } from '../../infra/app.ts';
import { BUNDLE_BUDGET_BYTES } from '../../infra/bundle-budget.ts';
import { emulateLayer, POWERTOOLS_MODULE, powertoolsVersion } from '../../infra/powertools-layer.ts';
import { ppoCoverage } from '../support/coverage.ts';
import { freshTables } from '../support/tables.ts';

/**
 * The bundles `cdk deploy` would upload, built exactly as `cdk synth` builds them, then run the
 * way Lambda runs them: a bare `node` importing index.mjs from a directory whose only
 * node_modules are the Powertools layer's, credentials only in the environment, the endpoint
 * only in AWS_ENDPOINT_URL, the runtime's trace header and X-Ray daemon address set. This is
 * what proves the bundling choices (ES module SDK, credential chain alias, rule files shipped
 * beside the handler, Powertools left to its layer) produce functions that work, log, meter and
 * trace, not only small files.
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
/** The Powertools layer's content, as synthesized. */
let layerDir: string;
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
    if (typeof assetPath !== 'string') continue;
    if (resource.Type === 'AWS::Lambda::LayerVersion') layerDir = join(assembly.directory, assetPath);
    if (resource.Type !== 'AWS::Lambda::Function') continue;
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

  it('leaves Powertools to its layer: one bundled module of the installed version', () => {
    const layerModule = join(layerDir, 'nodejs', 'node_modules', POWERTOOLS_MODULE);
    const manifest = JSON.parse(readFileSync(join(layerModule, 'package.json'), 'utf8')) as {
      version: string;
      exports: string;
    };
    expect(manifest).toMatchObject({ version: powertoolsVersion(), exports: './index.mjs' });
    expect(statSync(join(layerModule, 'index.mjs')).size).toBeGreaterThan(50_000);
    for (const bundle of bundles.values()) {
      expect(
        sourcesOf(bundle).filter((s) => /@aws-lambda-powertools|aws-xray-sdk/.test(s)),
        bundle.name,
      ).toEqual([]);
    }
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
    const { results, logs, traceDocuments } = await runLikeLambda(calls, {
      ...tableEnvironment(endpoint, names),
      ...submitEnvironment(),
    });
    const [coverage, submitted] = results;
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
    expectPowertoolsOutput(logs, traceDocuments, claim.id);

    const {
      results: [read],
    } = await runLikeLambda(
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
    const logs = await submitRefused({ RULE_SET_HASH: wrongPin });
    expect(logs).toContain(`the deployment pinned ${wrongPin}: refusing to decide`);
  }, 60_000);

  it('refuses to decide with a rule file edited after synth, under the right pin, and writes nothing', async () => {
    const rules = join(outdir, 'edited-rules');
    cpSync(join(bundleDir('submit-claim'), 'rules'), rules, { recursive: true });
    appendFileSync(join(rules, 'fraud.yaml'), '\n# edited in the bundle\n');
    const logs = await submitRefused({ RULES_DIR: rules });
    expect(logs).toContain('fraud.yaml differs from the file recorded at synth');
  }, 60_000);
});

/**
 * What Powertools made of the two calls: Logger lines with the invocation's context, the
 * request metrics and the cold start in embedded metric format, and X-Ray subsegments for the
 * handler and each DynamoDB call, joined to the invocation's trace. None of it carries the
 * claim's data: not its member, its diagnoses, nor its id.
 */
function expectPowertoolsOutput(
  logs: string,
  traceDocuments: Record<string, unknown>[],
  claimId: string,
): void {
  const lines = jsonLines(logs);
  expect(lines).toContainEqual(
    expect.objectContaining({
      level: 'INFO',
      service: 'claimledger',
      route: '/claims',
      method: 'POST',
      status: 201,
      function_name: 'bundle-test',
      function_request_id: 'bundle-test-POST',
      xray_trace_id: TRACE_ROOT,
    }),
  );
  const metricNames = lines.flatMap((line) =>
    (
      (line._aws as { CloudWatchMetrics?: { Namespace: string; Metrics: { Name: string }[] }[] } | undefined)
        ?.CloudWatchMetrics ?? []
    ).flatMap((directive) => directive.Metrics.map((metric) => `${directive.Namespace}/${metric.Name}`)),
  );
  expect(metricNames).toEqual(
    expect.arrayContaining([
      'claimledger/ColdStart',
      'claimledger/Requests',
      'claimledger/Latency',
      'claimledger/ClaimsDecided',
    ]),
  );
  expect(lines).toContainEqual(
    expect.objectContaining({ endpoint: 'POST /claims', Requests: 1, ServerErrors: 0 }),
  );

  const subsegments = traceDocuments.flatMap(function flatten(document): Record<string, unknown>[] {
    return [
      document,
      ...((document.subsegments as Record<string, unknown>[] | undefined) ?? []).flatMap(flatten),
    ];
  });
  expect(subsegments.every((s) => s.trace_id === undefined || s.trace_id === TRACE_ROOT)).toBe(true);
  expect(subsegments).toContainEqual(
    expect.objectContaining({
      name: '## index.handler',
      annotations: expect.objectContaining({ ColdStart: true, Service: 'claimledger' }),
    }),
  );
  const operations = subsegments
    .filter((s) => s.name === 'DynamoDB' && s.namespace === 'aws')
    .map((s) => (s.aws as { operation: string; region: string }).operation);
  expect(operations).toEqual(expect.arrayContaining(['GetItem', 'Query', 'TransactWriteItems']));

  const logged = `${logs}\n${JSON.stringify(traceDocuments)}`;
  for (const phi of [demoClaim.memberId, ...demoClaim.diagnosisCodes, claimId]) {
    expect(logged).not.toContain(phi);
  }
}

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
  const { results, logs } = await runLikeLambda(
    [{ module: join(dir, 'index.mjs'), event: apiEvent('POST', '/claims', provider, { body: demoClaim }) }],
    { ...tableEnvironment(endpoint, names), ...submitEnvironment(), ...overrides },
  );
  expect(results[0]?.statusCode).toBe(500);
  for (const table of [names.claims, names.journal]) {
    const { Count } = await doc.send(new ScanCommand({ TableName: table, Select: 'COUNT' }));
    expect(Count, table).toBe(0);
  }
  return logs;
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

// Runs in the child: imports each bundle and calls its handler once, in order, with the
// context fields Lambda passes.
const CHILD = `
const calls = JSON.parse(process.env.CALLS);
const results = [];
for (const call of calls) {
  const { handler } = await import(call.module);
  const requestId = call.event.requestContext.requestId;
  results.push(await handler(call.event, {
    awsRequestId: requestId,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: '512',
  }));
}
process.stdout.write('\\n' + JSON.stringify(results));
`;

interface LambdaRun {
  results: { statusCode: number; body: string }[];
  /** What the functions wrote to stdout and stderr (both go to CloudWatch Logs in Lambda). */
  logs: string;
  /** The X-Ray segment documents the process sent to its daemon address. */
  traceDocuments: Record<string, unknown>[];
}

const TRACE_ROOT = '1-67a0b1c2-0123456789abcdef01234567';

/**
 * One fresh `node` with only what Lambda gives a function: no node_modules but the Powertools
 * layer's, no AWS profile, the runtime's variables (an execution environment, a trace header and
 * an X-Ray daemon address, here a UDP socket of this test that collects what is sent to it).
 */
async function runLikeLambda(
  calls: { module: string; event: unknown }[],
  environment: Record<string, string>,
): Promise<LambdaRun> {
  for (const call of calls) emulateLayer(dirname(call.module), layerDir);
  const daemon = createSocket('udp4');
  const traceDocuments: Record<string, unknown>[] = [];
  daemon.on('message', (message) => {
    // Each datagram is a header line ({"format":"json","version":1}) and one document.
    const document = message.toString('utf8').split('\n')[1];
    if (document) traceDocuments.push(JSON.parse(document) as Record<string, unknown>);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    cwd: outdir,
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: '--enable-source-maps',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST',
      AWS_SECRET_ACCESS_KEY: 'bundle-test-secret',
      AWS_SESSION_TOKEN: 'bundle-test-session',
      AWS_LAMBDA_FUNCTION_NAME: 'bundle-test',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
      LAMBDA_TASK_ROOT: dirname(calls[0]?.module ?? outdir),
      _HANDLER: 'index.handler',
      _X_AMZN_TRACE_ID: `Root=${TRACE_ROOT};Parent=53995c3f42cd8ad8;Sampled=1`,
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      CALLS: JSON.stringify(calls.map((c) => ({ ...c, module: pathToFileURL(c.module).href }))),
      ...environment,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const [status] = (await once(child, 'close')) as [number | null];
  // Datagrams sent just before exit may still be queued on this side.
  await new Promise((resolve) => setTimeout(resolve, 100));
  daemon.close();
  if (status !== 0) throw new Error(`bundle run failed:\n${stderr}`);
  // Handlers log to stdout too; the results are its last line.
  const lines = stdout.trim().split('\n');
  return {
    results: JSON.parse(lines.at(-1) ?? '[]'),
    logs: [...lines.slice(0, -1), stderr].join('\n'),
    traceDocuments,
  };
}

/** The JSON lines a run logged (Powertools Logger's and Metrics' output). */
function jsonLines(logs: string): Record<string, unknown>[] {
  return logs
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
