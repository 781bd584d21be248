import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { rulesTest } from '../functions/cli/rules.command.ts';
import { addNagChecks } from './nag.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

const defaultRulesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'rules');

/** The rule set the bundles ship: `-c rulesDir=DIR`, or the repository's rules/. */
export function rulesDirOf(app: App): string {
  const dir = app.node.tryGetContext('rulesDir');
  return typeof dir === 'string' && dir !== '' ? resolve(dir) : defaultRulesDir;
}

/**
 * Stages come from context (`-c stage=prod`); each is its own pair of stacks. The cdk-nag
 * packs (AWS Solutions, HIPAA Security) are registered here, so every synth of the app, the
 * CLI's and the infra tests', is checked.
 */
export function buildApp(app = new App()): { app: App; stateful: StatefulStack; stateless: StatelessStack } {
  addNagChecks(app);
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stateful = new StatefulStack(app, `claimledger-${stage}-stateful`, { stage });
  const stateless = new StatelessStack(app, `claimledger-${stage}-stateless`, {
    stateful,
    rulesDir: rulesDirOf(app),
  });
  return { app, stateful, stateless };
}

/**
 * `cdk synth` (and so every deploy) first runs `rules test`, which loads and type-checks the
 * rule set and runs its tests: a rule set that fails either never reaches a bundle.
 */
export async function synthesize(app = new App(), out: { write(text: string): unknown } = process.stderr) {
  const dir = rulesDirOf(app);
  if ((await rulesTest(dir, { write: () => true })) !== 0) {
    // Run again for the report: the first pass stays quiet when all is well.
    await rulesTest(dir, out);
    out.write(`\ncdk synth refused: the rule set in ${dir} fails rules check or rules test.\n`);
    return 1;
  }
  buildApp(app).app.synth();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = await synthesize();
