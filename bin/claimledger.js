#!/usr/bin/env node
// The `claimledger` command. The CLI is TypeScript run through tsx, as in development.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../functions/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
