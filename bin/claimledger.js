#!/usr/bin/env node
// The `claimledger` command. The CLI is TypeScript run through tsx, as in development.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its releases after January 2027 need Node 22 (see the
// README); on a command line that is noise in front of the output, so only that one is dropped.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = (warning, ...rest) => {
  if (JSON.stringify([String(warning), ...rest]).includes('NodeVersionSupportWarning')) return;
  emitWarning(warning, ...rest);
};

register();
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
