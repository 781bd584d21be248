import { App } from 'aws-cdk-lib';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

/** Stages come from context (`-c stage=prod`); each is its own pair of stacks. */
export function buildApp(app = new App()): { app: App; stateful: StatefulStack; stateless: StatelessStack } {
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const stateful = new StatefulStack(app, `claimledger-${stage}-stateful`, { stage });
  const stateless = new StatelessStack(app, `claimledger-${stage}-stateless`, { stage, stateful });
  return { app, stateful, stateless };
}

if (import.meta.url === `file://${process.argv[1]}`) buildApp().app.synth();
