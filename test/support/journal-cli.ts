import { Writable } from 'node:stream';
import { journalCommand } from '../../functions/cli/journal.command.ts';

/** A writable that keeps what it is given, as a CLI's stdout or stderr; `isTTY` as a terminal's. */
export class TextCollector extends Writable {
  text = '';
  isTTY?: boolean;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/**
 * `claimledger journal <args>` in this process, with an empty environment (every setting comes
 * from the arguments); its exit code and what it wrote. `stderr` may be a collector set up by
 * the caller, e.g. one that says it is a terminal.
 */
export async function runJournal(
  args: string[],
  stderr = new TextCollector(),
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new TextCollector();
  const code = await journalCommand(args, { stdout, stderr, env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
