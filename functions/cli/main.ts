import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Role } from '#claims/identity.ts';
import { devIssuer } from '#local/dev-issuer.ts';
import { journalCommand } from './journal.command.ts';
import { rulesCheck, rulesExplain, rulesTest } from './rules.command.ts';

const usage = `Usage: claimledger <command>

  journal verify|export|prove|consistency …
                       Check the decision journal against its signed checkpoints
                       (claimledger journal --help for the details).

  rules check [DIR]    Load and type-check a rule set (default ./rules); exit 1 on any problem.
  rules test [DIR]     Run the rule tests stored beside the rules; a failure prints a diff.
  rules explain CLAIM.json [--records FILE] [--rules DIR] [--json]
                       Decide a claim offline and show why, rule by rule.

  token --role provider|analyst|rules-admin [--npi NPI[,NPI]] [--sub NAME] [--ttl SECONDS] [--state-dir DIR]
        Mint a dev token for the local server (state dir: where npm start keeps its keys,
        ./.claimledger by default, or the --data-dir you started it with).
`;

/** Entry point of the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    return await run(command, rest);
  } catch (error: unknown) {
    // parseArgs reports unknown or malformed options by throwing; that is a usage error.
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`claimledger: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
}

async function run(command: string | undefined, rest: string[]): Promise<number> {
  switch (command) {
    case 'token':
      return token(rest);
    case 'rules':
      return rules(rest);
    case 'journal':
      return journalCommand(rest);
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(usage);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`claimledger: unknown command "${command}"\n\n${usage}`);
      return 2;
  }
}

async function rules(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      records: { type: 'string' },
      rules: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  switch (sub) {
    case 'check':
      return rulesCheck(positionals[0] ?? 'rules');
    case 'test':
      return rulesTest(positionals[0] ?? 'rules');
    case 'explain': {
      const [claimFile] = positionals;
      if (claimFile === undefined) {
        process.stderr.write(
          'claimledger rules explain: give the claim file, e.g. rules explain claim.json\n',
        );
        return 2;
      }
      return rulesExplain(claimFile, values.records, {
        json: values.json,
        ...(values.rules ? { rulesDir: values.rules } : {}),
      });
    }
    default:
      process.stderr.write(`claimledger rules: expected check, test or explain\n\n${usage}`);
      return 2;
  }
}

async function token(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      role: { type: 'string' },
      npi: { type: 'string' },
      sub: { type: 'string' },
      ttl: { type: 'string', default: '43200' },
      'state-dir': { type: 'string', default: '.claimledger' },
    },
  });
  const roles: Role[] = ['provider', 'analyst', 'rules-admin'];
  const role = values.role as Role | undefined;
  if (role === undefined || !roles.includes(role)) {
    process.stderr.write(`claimledger token: --role must be one of ${roles.join(', ')}\n`);
    return 2;
  }
  const npis = values.npi?.split(',').filter(Boolean) ?? [];
  if (role === 'provider' && (npis.length === 0 || !npis.every((n) => /^\d{10}$/.test(n)))) {
    process.stderr.write('claimledger token: a provider token needs --npi with one or more 10-digit NPIs\n');
    return 2;
  }
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl <= 0) {
    process.stderr.write('claimledger token: --ttl must be a positive number of seconds\n');
    return 2;
  }
  const issuer = await devIssuer(resolve(values['state-dir']));
  process.stdout.write(
    `${await issuer.mint({ sub: values.sub ?? `${role}-cli`, roles: [role], npis, ttlSeconds: ttl })}\n`,
  );
  return 0;
}
