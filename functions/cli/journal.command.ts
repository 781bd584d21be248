// `claimledger journal verify|export|prove|consistency`: what an auditor runs to check, without
// trusting the operator, that the journal was never rewritten. Only the verifier key is
// trusted; everything read from storage or an export is checked before it is believed.
//
// Exit status: 0 verified, 1 a verification failed, 2 bad arguments or unreachable storage.

import { createWriteStream } from 'node:fs';
import { access, constants, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { bytesEqual, fromHex, toBase64, toHex } from '#journal/bytes.ts';
import { type Checkpoint, openCheckpoint } from '#journal/checkpoint.ts';
import { rootAt } from '#journal/merkle.ts';
import type { NoteVerifierKey } from '#journal/note.ts';
import { verifyConsistency, verifyInclusion } from '#journal/verify.ts';
import { createDocumentClient } from '#store/dynamo-client.ts';
import { JournalStorage, journalPages, PAGE_SIZE } from '#store/journal-audit.reader.ts';
import {
  type Connection,
  DEFAULT_STATE_DIR,
  describeEndpoint,
  type LocalState,
  parseCount,
  readLocalState,
  resolveConnection,
  resolveKey,
  resolveOrigin,
  UsageError,
} from './journal-config.ts';
import { ExportFormatError, readExportEntries, scanExport, writeExport } from './journal-export.ts';
import {
  type ExportTrailer,
  RE_EXPORT_HINT,
  type TrailerScan,
  trailerProblems,
  trailerShapeProblem,
} from './journal-export-trailer.ts';
import { formatCount, ProgressBar, type ProgressStream } from './journal-progress.ts';
import { JournalVerifier, leafHashHex, type StoredTreeState, type VerifyReport } from './journal-verifier.ts';

export const journalUsage = `Usage: claimledger journal <command> [options]

Commands:
  verify [--from-export FILE [--legacy-export]]
      Recompute the Merkle tree from every stored entry (or from an export file) and check
      each entry, the stored tree nodes and every signed checkpoint against it. Reports the
      first bad entry and what is wrong with it. An export must end with its trailer line,
      which must match it; --legacy-export accepts an export made before trailers existed
      (without one), with a warning: truncating such an export cannot be detected.
  export [--out FILE]
      Write the journal as JSON Lines: one {index, key, leafHash, entry} line per entry,
      then one {checkpoint} line per signed checkpoint, then a {trailer} line with the
      counts, the last checkpoint and a SHA-256 of the lines before it. To stdout when FILE
      is - or absent.
  prove <index> [--size N] [--json]
      Inclusion proof of entry <index> in the latest signed checkpoint (or in the tree of
      size N), verified before it is printed.
  consistency <checkpoint-file> [--update] [--json]
      Prove that the latest stored checkpoint extends the one in the file (the last one you
      saw); --update then saves the latest into the file.

Options:
  --key K               the verifier key <name>+<id>+<base64 key>, or a file holding it;
                        the only thing trusted (default: local.json's verifierKey)
  --origin NAME         expected checkpoint origin (default: local.json's, else the key's name)
  --endpoint URL        DynamoDB endpoint (default: $AWS_ENDPOINT_URL_DYNAMODB or
                        $AWS_ENDPOINT_URL, else local.json's, else the AWS SDK's)
  --table-prefix P      table name prefix (default: local.json's, else claimledger-local-)
  --journal-table NAME  journal table name, instead of the prefix
  --state-dir DIR       where npm start writes local.json (default: .claimledger)

Exit status: 0 verified, 1 verification failed, 2 bad arguments or storage not reachable.
`;

/** Where the command writes: the process's streams, or buffers in tests. */
export interface JournalIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: ProgressStream;
  env: NodeJS.ProcessEnv;
}

const OPTIONS = {
  key: { type: 'string' },
  origin: { type: 'string' },
  endpoint: { type: 'string' },
  'table-prefix': { type: 'string' },
  'journal-table': { type: 'string' },
  'state-dir': { type: 'string' },
  'from-export': { type: 'string' },
  'legacy-export': { type: 'boolean' },
  out: { type: 'string' },
  size: { type: 'string' },
  json: { type: 'boolean' },
  update: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

const COMMON = ['key', 'origin', 'endpoint', 'table-prefix', 'journal-table', 'state-dir', 'help'];

interface Command {
  options: string[];
  positionals: string[];
  run(context: Context, positionals: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  verify: { options: [...COMMON, 'from-export', 'legacy-export'], positionals: [], run: verify },
  export: { options: [...COMMON, 'out'], positionals: [], run: exportJournal },
  prove: { options: [...COMMON, 'size', 'json'], positionals: ['index'], run: prove },
  consistency: { options: [...COMMON, 'json', 'update'], positionals: ['checkpoint-file'], run: consistency },
};

/** How many slots past the end `verify` probes for entries that were never sequenced. */
const PROBE_BEYOND = PAGE_SIZE;

interface Context {
  name: string;
  values: Values;
  io: JournalIo;
  local: LocalState;
  stateDir: string;
  connection: Connection;
}

/**
 * Entry point of `claimledger journal`. Writes results to stdout, progress and usage errors to
 * stderr, and returns the exit status.
 */
export async function journalCommand(
  args: string[],
  io: JournalIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? io.stderr : io.stdout).write(journalUsage);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`claimledger journal: unknown command ${JSON.stringify(name)}\n\n${journalUsage}`);
    return 2;
  }
  let connection: Connection | undefined;
  try {
    const { values, positionals } = parseArgs({ args: rest, options: OPTIONS, allowPositionals: true });
    if (values.help) {
      io.stdout.write(journalUsage);
      return 0;
    }
    for (const option of Object.keys(values)) {
      if (!command.options.includes(option)) throw new UsageError(`--${option} is not an option of ${name}`);
    }
    if (positionals.length !== command.positionals.length) {
      throw new UsageError(
        command.positionals.length === 0
          ? `unexpected argument ${JSON.stringify(positionals[0])}`
          : `expected ${command.positionals.map((p) => `<${p}>`).join(' ')}`,
      );
    }
    const stateDir = values['state-dir'] ?? DEFAULT_STATE_DIR;
    const local = readLocalState(stateDir);
    connection = resolveConnection(
      {
        endpoint: values.endpoint,
        tablePrefix: values['table-prefix'],
        journalTable: values['journal-table'],
      },
      local,
      io.env,
    );
    return await command.run({ name, values, io, local, stateDir, connection }, positionals);
  } catch (error: unknown) {
    if (error instanceof UsageError || isParseArgsError(error)) {
      io.stderr.write(`claimledger journal ${name}: ${(error as Error).message}\n`);
      return 2;
    }
    if (connection && isStorageError(error)) {
      io.stderr.write(`claimledger journal ${name}: ${describeStorageError(error, connection, io.env)}\n`);
      return 2;
    }
    io.stderr.write(`claimledger journal ${name}: ${messageOf(error)}\n`);
    return 1;
  }
}

// --- verify --------------------------------------------------------------------------------------

async function verify(context: Context): Promise<number> {
  const { values, io } = context;
  const key = resolveKey(values.key, context.local, context.stateDir);
  const origin = resolveOrigin(values.origin, context.local, key);
  const file = values['from-export'];
  if (file !== undefined) return verifyExport(context, file, key, origin);
  if (values['legacy-export']) throw new UsageError('--legacy-export applies only with --from-export');

  const connection = context.connection;
  const storage = storageFor(connection);
  const started = performance.now();
  // Read in this order, the journal may grow meanwhile without a false alarm: each checkpoint
  // read is covered by the tree state read after it, which is covered by the sequence.
  const checkpoints = await storage.listCheckpoints();
  const tree = await readTreeState(storage);
  // Entries a sequencing round is still writing from its manifest are not expected yet.
  const counter = await storage.journal.sequence();
  const sequenced = counter.writing ?? counter.size;
  const verifier = new JournalVerifier({
    key,
    origin,
    checkpoints,
    ...(Number.isSafeInteger(sequenced) && sequenced >= 0 ? { sequencedSize: sequenced } : {}),
    ...(tree.state ? { tree: tree.state } : {}),
  });
  if (!(Number.isSafeInteger(sequenced) && sequenced >= 0)) {
    verifier.addProblem({
      kind: 'tree',
      message: `the sequence counter item holds no valid size (${sequenced})`,
    });
  }
  if (tree.problem) verifier.addProblem({ kind: 'tree', message: tree.problem });

  const end = verifier.expectedEntries;
  const progress = new ProgressBar(io.stderr, 'verify', end);
  try {
    for await (const page of journalPages(storage, end, { audit: true, treeSize: tree.state?.size ?? 0 })) {
      verifier.addEntries(page.records, page.nodes);
      progress.tick(page.to - page.from);
    }
    const present = await storage.presentEntries(end, end + PROBE_BEYOND);
    if (present.length > 0) {
      // The counter moves before (or with) an entry's item is written: entries appended since
      // the first read are counted now, so only what lies beyond the counter was never sequenced.
      const now = await storage.journal.size();
      verifier.addExtraEntries(
        present.filter((index) => index >= now),
        now,
      );
    }
  } finally {
    progress.finish();
  }
  const report = verifier.finish();
  printVerifyReport(io.stdout, report, {
    source: `journal table ${connection.table} at ${describeEndpoint(connection, io.env)}`,
    key,
    elapsedMs: performance.now() - started,
    detail: `sequenced ${formatCount(Number.isSafeInteger(counter.size) ? counter.size : 0)}${counter.writing === undefined ? '' : `, ${formatCount(counter.size - counter.writing)} of them still being written by a sequencing round (not checked)`}, integrated ${formatCount(tree.state?.size ?? 0)}`,
  });
  return report.ok ? 0 : 1;
}

async function readTreeState(
  storage: JournalStorage,
): Promise<{ state?: StoredTreeState; problem?: string }> {
  try {
    const state = await storage.tree.treeState();
    if (!Number.isSafeInteger(state.size) || state.size < 0) {
      return { problem: `the tree state item holds no valid size (${state.size})` };
    }
    return { state };
  } catch (error: unknown) {
    if (isStorageError(error)) throw error;
    return { problem: `the tree state item is malformed: ${messageOf(error)}` };
  }
}

async function verifyExport(
  context: Context,
  file: string,
  key: NoteVerifierKey,
  origin: string,
): Promise<number> {
  const { io } = context;
  await requireReadableFile(file, '--from-export');
  const started = performance.now();
  const { checkpoints, trailer: scan } = await scanExport(file);
  const legacy = scan.trailer === undefined && context.values['legacy-export'] === true;
  const verifier = new JournalVerifier({ key, origin, checkpoints });
  // Trailer findings first: when the export is cut short, that is the news, and what the
  // entries and checkpoints then say follows from it.
  if (legacy) {
    io.stderr.write(
      `warning: ${file} has no trailer line (an export made before trailers?); verifying it anyway as --legacy-export asks, but truncation cannot be detected: an export cut at a line boundary looks like a shorter, valid journal. ${RE_EXPORT_HINT} to check it is complete\n`,
    );
  }
  const trailerFindings = legacy ? [] : trailerProblems(scan);
  for (const message of trailerFindings) verifier.addProblem({ kind: 'format', message });
  if (checkpoints.length === 0) {
    verifier.addProblem({
      kind: 'format',
      message: 'the export has no checkpoint lines: it is truncated or not a journal export',
    });
  }
  const claimed = trailerEntries(scan);
  const progress = new ProgressBar(io.stderr, 'verify', Math.max(verifier.expectedEntries, claimed ?? 0));
  try {
    for await (const batch of readExportEntries(file)) {
      verifier.addEntries(batch);
      progress.tick(batch.length);
    }
  } catch (error: unknown) {
    if (!(error instanceof ExportFormatError)) throw error;
    io.stdout.write(
      `✗ export ${file}: ${error.message}\n  nothing in it can be trusted; ${RE_EXPORT_HINT}\n`,
    );
    return 1;
  } finally {
    progress.finish();
  }
  const report = verifier.finish();
  printVerifyReport(io.stdout, report, {
    source: `export ${file}`,
    key,
    elapsedMs: performance.now() - started,
    trailer: legacy
      ? 'none (--legacy-export): the export may be truncated, which cannot be detected'
      : trailerFindings.length > 0
        ? undefined
        : `line ${scan.trailer?.line}: ${formatCount(scan.entries)} entries, ${formatCount(scan.checkpoints)} checkpoints and the SHA-256 of the lines before it match`,
  });
  return report.ok ? 0 : 1;
}

/** The entry count a well-formed trailer states, if the scan found one. */
function trailerEntries(scan: TrailerScan): number | undefined {
  const value = scan.trailer?.value;
  return value !== undefined && trailerShapeProblem(value) === null
    ? (value as ExportTrailer).entries
    : undefined;
}

function printVerifyReport(
  out: JournalIo['stdout'],
  report: VerifyReport,
  context: {
    source: string;
    key: NoteVerifierKey;
    elapsedMs: number;
    detail?: string;
    /** An export's trailer: what it confirmed, when it did (or why there is none). */
    trailer?: string | undefined;
  },
): void {
  const lines: string[] = [];
  if (report.ok) {
    lines.push(`✓ verified ${context.source}`);
  } else {
    lines.push(
      `✗ ${context.source}: verification FAILED (${report.problemCount} problem${report.problemCount === 1 ? '' : 's'})`,
    );
    const first = report.problems.find((p) => p.kind === 'entry' && p.index === report.firstBadEntry);
    if (first) lines.push(`  first bad entry: ${first.message}`);
    const rest = report.problems.filter((problem) => problem !== first);
    for (const problem of rest.slice(0, MAX_PRINTED)) lines.push(`  - ${problem.message}`);
    const more = report.problemCount - (first ? 1 : 0) - Math.min(rest.length, MAX_PRINTED);
    if (more > 0) lines.push(`  … and ${formatCount(more)} more`);
  }
  const sizes = report.checkpoints.map((c) => c.size);
  const seconds = context.elapsedMs / 1000;
  lines.push(
    `  entries      ${formatCount(report.entries)} read, ${formatCount(report.goodEntries)} ${report.ok ? 'verified' : 'pass the per-entry checks'}${context.detail ? ` (${context.detail})` : ''}`,
    ...(report.nodesChecked > 0
      ? [`  tree nodes   ${formatCount(report.nodesChecked)} stored nodes compared`]
      : []),
    `  checkpoints  ${formatCount(report.checkpointsVerified)} of ${formatCount(report.checkpointsTotal)} verified with ${context.key.name}+${toHex(context.key.keyId)}${sizes.length > 0 ? ` (sizes ${sizes[0]}${sizes.length > 1 ? ` … ${sizes.at(-1)}` : ''})` : ''}${report.ok && sizes.length > 1 ? ', mutually consistent' : ''}`,
    ...(report.unsigned > 0
      ? [
          `  unsigned     ${formatCount(report.unsigned)} entries after the latest checkpoint (checked, not yet signed)`,
        ]
      : []),
    ...(context.trailer !== undefined ? [`  trailer      ${context.trailer}`] : []),
    `  root         ${toBase64(report.root)} (size ${formatCount(report.size)}${report.size < report.entries ? ', as far as the tree could be recomputed' : ''})`,
    `  throughput   ${formatCount(report.entries / Math.max(seconds, 1e-9))} entries/s, ${(report.bytes / 1e6 / Math.max(seconds, 1e-9)).toFixed(1)} MB/s (${formatBytes(report.bytes)} in ${seconds.toFixed(2)} s)`,
  );
  out.write(`${lines.join('\n')}\n`);
}

const MAX_PRINTED = 20;

// --- export --------------------------------------------------------------------------------------

async function exportJournal(context: Context): Promise<number> {
  const { values, io } = context;
  const connection = context.connection;
  const storage = storageFor(connection);
  const target = values.out;
  const started = performance.now();
  let summary: Awaited<ReturnType<typeof writeExport>>;
  if (target === undefined || target === '-') {
    summary = await writeExport(storage, io.stdout, io.stderr);
  } else {
    // Written beside the target and renamed at the end: a failed export never looks complete.
    const partial = `${target}.partial-${process.pid}`;
    const out = createWriteStream(partial, { flags: 'wx' });
    try {
      await new Promise<void>((resolve, reject) => {
        out.once('open', () => resolve());
        out.once('error', reject);
      });
    } catch (error: unknown) {
      throw new UsageError(`--out: cannot write ${target}: ${messageOf(error)}`);
    }
    try {
      summary = await writeExport(storage, out, io.stderr);
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        out.end(() => resolve());
      });
      await rename(partial, target);
    } catch (error: unknown) {
      out.destroy();
      await rm(partial, { force: true });
      throw error;
    }
  }
  if (summary.missing.length > 0) {
    io.stderr.write(
      `warning: ${summary.missing.length} sequenced entries are missing from storage (first: ${summary.missing[0]}); the export has the same gaps, and journal verify reports them\n`,
    );
  }
  const seconds = (performance.now() - started) / 1000;
  io.stderr.write(
    `exported ${formatCount(summary.entries)} entries and ${formatCount(summary.checkpoints)} checkpoints from ${connection.table}${target && target !== '-' ? ` to ${target}` : ''} in ${seconds.toFixed(2)} s\n`,
  );
  return 0;
}

// --- prove ---------------------------------------------------------------------------------------

async function prove(context: Context, [indexArg]: string[]): Promise<number> {
  const { values, io } = context;
  const index = parseCount(indexArg, 'index');
  const requestedSize = values.size === undefined ? undefined : parseCount(values.size, '--size');
  const key = resolveKey(values.key, context.local, context.stateDir);
  const origin = resolveOrigin(values.origin, context.local, key);
  const storage = storageFor(context.connection);

  const latest = await openLatest(storage, key, origin);
  if ('failure' in latest) return fail(io, values.json, latest.failure);
  const signed = latest.checkpoint;
  const size = requestedSize ?? signed.size;
  if (size > signed.size) {
    const treeSize = (await storage.tree.treeState()).size;
    throw new UsageError(
      size > treeSize
        ? `--size ${size} is beyond the tree (size ${treeSize})`
        : `--size ${size} is beyond the latest signed checkpoint (size ${signed.size})`,
    );
  }
  if (index >= size) throw new UsageError(`entry ${index} is outside the tree of size ${size}`);

  // The root to prove against: a signed checkpoint of that size, or the stored tree's root at
  // that size, itself proven consistent with the latest signed checkpoint.
  let checkpoint = latest;
  let consistency: { size: number; proof: Uint8Array[] } | undefined;
  let root: Uint8Array;
  if (size === signed.size) {
    root = signed.rootHash;
  } else {
    const stored = await storage.checkpoints.bySize(size);
    const opened = stored ? tryOpen(stored.note, key, origin) : undefined;
    if (stored && opened) {
      checkpoint = { checkpoint: opened, note: stored.note };
      root = opened.rootHash;
    } else {
      root = await rootAt(size, storage.tree.nodeReader());
      const proof = await storage.tree.consistencyProof(size, signed.size);
      try {
        verifyConsistency(size, signed.size, proof, root, signed.rootHash);
      } catch (error: unknown) {
        return fail(
          io,
          values.json,
          `the stored tree of size ${size} is not consistent with the signed checkpoint of size ${signed.size}: ${messageOf(error)}`,
        );
      }
      consistency = { size: signed.size, proof };
    }
  }

  const page = await storage.readPage(index, index + 1);
  const record = page.records[0];
  if (!record) return fail(io, values.json, `entry ${index} is missing from storage`);
  const leaf = fromHex(leafHashHex(record.entry));
  if (toHex(leaf) !== record.leafHash) {
    return fail(io, values.json, `entry ${index}: stored leaf hash does not match the entry bytes`);
  }
  const proof = await storage.tree.inclusionProof(index, size);
  try {
    verifyInclusion(leaf, index, size, proof, root);
  } catch (error: unknown) {
    return fail(
      io,
      values.json,
      `the inclusion proof of entry ${index} does not verify: ${messageOf(error)}`,
    );
  }

  if (values.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          index,
          size,
          key: record.key,
          leafHash: toHex(leaf),
          entry: record.entry,
          proof: proof.map(toHex),
          rootHash: toHex(root),
          checkpoint: checkpoint.note,
          ...(consistency
            ? { consistency: { size: consistency.size, proof: consistency.proof.map(toHex) } }
            : {}),
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const lines = [
    `✓ entry ${index} is in the tree of size ${size}, proven against ${
      consistency
        ? `its root, itself proven consistent with the signed checkpoint of size ${consistency.size}`
        : `the signed checkpoint of size ${size}`
    }`,
    `  key        ${record.key}`,
    `  leaf hash  ${toHex(leaf)}`,
    `  root       ${toBase64(root)}`,
    `  proof      ${proof.length} hash${proof.length === 1 ? '' : 'es'}`,
    ...proof.map((hash) => `    ${toHex(hash)}`),
    ...(consistency
      ? [
          `  consistency ${size} → ${consistency.size}: ${consistency.proof.length} hashes`,
          ...consistency.proof.map((hash) => `    ${toHex(hash)}`),
        ]
      : []),
    '  checkpoint',
    ...checkpoint.note
      .trimEnd()
      .split('\n')
      .map((line) => (line === '' ? '' : `    ${line}`)),
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

// --- consistency ---------------------------------------------------------------------------------

async function consistency(context: Context, [file]: string[]): Promise<number> {
  const { values, io } = context;
  const path = file ?? '';
  await requireReadableFile(path, 'checkpoint file');
  const key = resolveKey(values.key, context.local, context.stateDir);
  const origin = resolveOrigin(values.origin, context.local, key);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error: unknown) {
    throw new UsageError(`cannot read ${path}: ${messageOf(error)}`);
  }

  let old: Checkpoint;
  try {
    old = openCheckpoint(checkpointText(text), key, { origin }).checkpoint;
  } catch (error: unknown) {
    return fail(io, values.json, `the checkpoint in ${path} does not verify: ${messageOf(error)}`);
  }
  const storage = storageFor(context.connection);
  const latest = await openLatest(storage, key, origin);
  if ('failure' in latest) return fail(io, values.json, latest.failure);
  const current = latest.checkpoint;

  if (old.size > current.size) {
    return fail(
      io,
      values.json,
      `the checkpoint in ${path} (size ${old.size}) is newer than the latest stored checkpoint (size ${current.size}): storage was rolled back`,
    );
  }
  let proof: Uint8Array[] = [];
  if (old.size === current.size) {
    if (!bytesEqual(old.rootHash, current.rootHash)) {
      return fail(
        io,
        values.json,
        `two signed checkpoints of size ${old.size} with different roots: the log forked (or storage was rewritten)`,
      );
    }
  } else if (old.size > 0) {
    try {
      proof = await storage.tree.consistencyProof(old.size, current.size);
      verifyConsistency(old.size, current.size, proof, old.rootHash, current.rootHash);
    } catch (error: unknown) {
      if (isStorageError(error)) throw error;
      return fail(
        io,
        values.json,
        `the latest checkpoint (size ${current.size}) is not consistent with the one in ${path} (size ${old.size}): ${messageOf(error)}; the log forked or storage was rewritten`,
      );
    }
  }

  if (values.update && old.size < current.size) await writeAtomically(path, latest.note);
  if (values.json) {
    io.stdout.write(
      `${JSON.stringify(
        {
          ok: true,
          oldSize: old.size,
          newSize: current.size,
          oldRoot: toHex(old.rootHash),
          newRoot: toHex(current.rootHash),
          proof: proof.map(toHex),
          checkpoint: latest.note,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  io.stdout.write(
    `${[
      `OK: the latest checkpoint (size ${current.size}) is consistent with the one in ${path} (size ${old.size})`,
      `  old root  ${toBase64(old.rootHash)} (size ${old.size})`,
      `  new root  ${toBase64(current.rootHash)} (size ${current.size})`,
      `  proof     ${proof.length} hash${proof.length === 1 ? '' : 'es'}, checked with ${key.name}+${toHex(key.keyId)}`,
      ...(values.update && old.size < current.size
        ? [`  saved the checkpoint of size ${current.size} to ${path}`]
        : []),
    ].join('\n')}\n`,
  );
  return 0;
}

/** The note in a checkpoint file: the note itself, or JSON with a `checkpoint` field (prove's, an export line). */
function checkpointText(text: string): string {
  if (!text.trimStart().startsWith('{')) return text;
  try {
    const value: unknown = JSON.parse(text);
    if (
      typeof value === 'object' &&
      value !== null &&
      'checkpoint' in value &&
      typeof value.checkpoint === 'string'
    ) {
      return value.checkpoint;
    }
  } catch {
    // Not JSON after all: let the note parser say what is wrong with it.
  }
  return text;
}

// --- shared --------------------------------------------------------------------------------------

function storageFor(connection: Connection): JournalStorage {
  const client = createDocumentClient(
    connection.endpoint === undefined ? {} : { endpoint: connection.endpoint },
  );
  return new JournalStorage(client, connection.table);
}

/** The latest stored checkpoint, opened with the trusted key, or why there is none to trust. */
async function openLatest(
  storage: JournalStorage,
  key: NoteVerifierKey,
  origin: string,
): Promise<{ checkpoint: Checkpoint; note: string } | { failure: string }> {
  const stored = await storage.checkpoints.latest();
  if (!stored) return { failure: `no signed checkpoint is stored in ${storage.table} yet` };
  try {
    return { checkpoint: openCheckpoint(stored.note, key, { origin }).checkpoint, note: stored.note };
  } catch (error: unknown) {
    return {
      failure: `the latest stored checkpoint (size ${stored.size}) does not verify: ${messageOf(error)}`,
    };
  }
}

function tryOpen(note: string, key: NoteVerifierKey, origin: string): Checkpoint | undefined {
  try {
    return openCheckpoint(note, key, { origin }).checkpoint;
  } catch {
    return undefined;
  }
}

/** A verification failure: one line (or JSON) on stdout, exit status 1. */
function fail(io: JournalIo, json: boolean | undefined, message: string): number {
  io.stdout.write(
    json ? `${JSON.stringify({ ok: false, error: message }, null, 2)}\n` : `FAIL: ${message}\n`,
  );
  return 1;
}

async function requireReadableFile(path: string, what: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
    if (!(await stat(path)).isFile()) throw new Error('not a regular file');
  } catch (error: unknown) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : messageOf(error);
    throw new UsageError(`${what}: cannot read ${path}: ${reason}`);
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, text);
  await rename(partial, path);
}

function isParseArgsError(error: unknown): boolean {
  return error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS');
}

/** Errors of the AWS SDK or the network under it (as opposed to bugs or bad data). */
export function isStorageError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if ('$metadata' in error || error.name === 'CredentialsProviderError' || error.name === 'TimeoutError') {
    return true;
  }
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

function describeStorageError(error: Error, connection: Connection, env: NodeJS.ProcessEnv): string {
  const endpoint = describeEndpoint(connection, env);
  if (error.name === 'ResourceNotFoundException') {
    return `table ${connection.table} does not exist at ${endpoint} (see --table-prefix, --journal-table, --endpoint)`;
  }
  return `cannot read ${connection.table} at ${endpoint}: ${error.message || error.name}`;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
