import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { Role } from '#claims/identity.ts';
import { devIssuer } from '#local/dev-issuer.ts';

const usage = `Usage: claimledger <command>

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
