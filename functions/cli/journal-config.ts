// Where the journal CLI connects and which key it trusts: command-line options first, then
// the environment, then what `npm start` left in `<state dir>/local.json`.

import { readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as z from '#functions/zod.ts';
import { type NoteVerifierKey, parseVerifierKey } from '#journal/note.ts';
import { tableNamesFor } from '#store/dynamo-client.ts';

/** Bad arguments or unusable local configuration: one line on stderr, exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The file `npm start` writes into the state directory (LOCAL_STATE_FILE in local-stack.ts). */
export const LOCAL_STATE_FILE = 'local.json';
export const DEFAULT_STATE_DIR = '.claimledger';
export const DEFAULT_TABLE_PREFIX = 'claimledger-local-';

const localStateSchema = z.object({
  dynamoEndpoint: z.optional(z.string().check(z.minLength(1))),
  tablePrefix: z.optional(z.string()),
  apiUrl: z.optional(z.string()),
  origin: z.optional(z.string().check(z.minLength(1))),
  verifierKey: z.optional(z.string().check(z.minLength(1))),
});

/** What a running local stack says about itself. */
export type LocalState = z.infer<typeof localStateSchema>;

/**
 * `<stateDir>/local.json`, or an empty state when there is none.
 *
 * @throws UsageError when the file exists but is not what `npm start` writes.
 */
export function readLocalState(stateDir: string): LocalState {
  const file = join(resolve(stateDir), LOCAL_STATE_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`cannot read ${file}: ${messageOf(error)}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${file} is not JSON; delete it or restart npm start`);
  }
  const parsed = localStateSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}`.trim());
  }
  return parsed.data;
}

/** The DynamoDB endpoint and journal table to read. */
export interface Connection {
  /** Undefined: the AWS client resolves it (AWS_ENDPOINT_URL…, else the region's) and the credentials itself. */
  endpoint: string | undefined;
  /** Where `endpoint` came from, for messages. */
  endpointFrom: 'option' | 'environment' | 'local.json' | 'sdk';
  table: string;
}

export interface ConnectionOptions {
  endpoint?: string | undefined;
  tablePrefix?: string | undefined;
  journalTable?: string | undefined;
}

/**
 * Endpoint: `--endpoint`, else AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL (left to the SDK,
 * which reads them along with the credentials), else local.json's, else the SDK default.
 * Table: `--journal-table`, else the journal table of `--table-prefix`, of local.json's
 * prefix, or of `claimledger-local-`.
 */
export function resolveConnection(
  options: ConnectionOptions,
  local: LocalState,
  env: NodeJS.ProcessEnv,
): Connection {
  const table =
    options.journalTable ??
    tableNamesFor(options.tablePrefix ?? local.tablePrefix ?? DEFAULT_TABLE_PREFIX).journal;
  if (options.endpoint !== undefined) {
    if (!/^https?:\/\/\S+$/.test(options.endpoint)) {
      throw new UsageError(`--endpoint must be an http(s) URL, got ${JSON.stringify(options.endpoint)}`);
    }
    return { endpoint: options.endpoint, endpointFrom: 'option', table };
  }
  const fromEnv = env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL;
  if (fromEnv) return { endpoint: undefined, endpointFrom: 'environment', table };
  if (local.dynamoEndpoint !== undefined) {
    return { endpoint: local.dynamoEndpoint, endpointFrom: 'local.json', table };
  }
  return { endpoint: undefined, endpointFrom: 'sdk', table };
}

/** `http://127.0.0.1:8000`, `$AWS_ENDPOINT_URL`… for messages. */
export function describeEndpoint(connection: Connection, env: NodeJS.ProcessEnv): string {
  switch (connection.endpointFrom) {
    case 'environment':
      return env.AWS_ENDPOINT_URL_DYNAMODB || env.AWS_ENDPOINT_URL || 'the environment endpoint';
    case 'sdk':
      return 'the AWS SDK default endpoint';
    default:
      return connection.endpoint ?? '';
  }
}

/**
 * The one key the CLI trusts: `--key` (a verifier key string, or a file holding one), else
 * local.json's `verifierKey`.
 *
 * @throws UsageError when there is none or it is not an Ed25519 verifier key.
 */
export function resolveKey(option: string | undefined, local: LocalState, stateDir: string): NoteVerifierKey {
  if (option === undefined) {
    if (local.verifierKey === undefined) {
      throw new UsageError(
        `no verifier key: pass --key <name>+<id>+<key> (or a file holding it); npm start writes it to ${join(stateDir, LOCAL_STATE_FILE)}`,
      );
    }
    try {
      return parseVerifierKey(local.verifierKey);
    } catch (error: unknown) {
      throw new UsageError(`verifierKey in ${join(stateDir, LOCAL_STATE_FILE)}: ${messageOf(error)}`);
    }
  }
  let text = option;
  let from = '--key';
  if (isFile(option)) {
    try {
      text = readFileSync(option, 'utf8').trim();
    } catch (error: unknown) {
      throw new UsageError(`--key: cannot read ${option}: ${messageOf(error)}`);
    }
    from = `--key file ${option}`;
  } else if (!option.includes('+')) {
    throw new UsageError(`--key: ${option} is neither a readable file nor a verifier key <name>+<id>+<key>`);
  }
  if (text.startsWith('PRIVATE+KEY+')) {
    throw new UsageError(`${from} is a signing key; pass the verifier key (<name>+<id>+<key>) instead`);
  }
  try {
    return parseVerifierKey(text);
  } catch (error: unknown) {
    throw new UsageError(`${from}: ${messageOf(error)}`);
  }
}

/** The checkpoint origin to expect: `--origin`, else local.json's, else the key's name. */
export function resolveOrigin(option: string | undefined, local: LocalState, key: NoteVerifierKey): string {
  return option ?? local.origin ?? key.name;
}

/**
 * A non-negative integer argument.
 *
 * @throws UsageError naming the argument otherwise.
 */
export function parseCount(text: string | undefined, what: string): number {
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${what} must be a non-negative integer, got ${JSON.stringify(text ?? '')}`);
  }
  return Number(text);
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
