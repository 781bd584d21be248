import { format } from 'node:util';
import { setLogSink } from '../../functions/http/logger.ts';

export interface CapturedOutput {
  /** Lines the service's logger wrote (functions/http/logger.ts), one JSON object each. */
  logLines: string[];
  /** Everything else written to stdout, stderr or the console meanwhile. */
  otherOutput: string[];
  /** All of it, as one text. */
  text(): string;
  /** Puts the logger's sink, stdout, stderr and console back as they were. */
  restore(): void;
}

const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

/**
 * Captures everything the process writes while it is active: the logger's sink (where every
 * access and error log goes, in the cloud as locally), and process stdout/stderr and console
 * writes, so output that bypasses the logger is caught too. Nothing is passed through.
 */
export function captureOutput(): CapturedOutput {
  const logLines: string[] = [];
  const otherOutput: string[] = [];
  const previousSink = setLogSink((line) => logLines.push(line));

  const capture = (chunk: unknown, ...rest: unknown[]) => {
    otherOutput.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    // Honour the write callback, wherever it was passed (encoding first or not).
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;

  const originals = consoleMethods.map((name) => [name, console[name]] as const);
  for (const name of consoleMethods) {
    console[name] = (...args: unknown[]) => {
      otherOutput.push(format(...args));
    };
  }

  return {
    logLines,
    otherOutput,
    text: () => [...logLines, ...otherOutput].join('\n'),
    restore: () => {
      setLogSink(previousSink);
      process.stdout.write = stdoutWrite;
      process.stderr.write = stderrWrite;
      for (const [name, original] of originals) console[name] = original;
    },
  };
}
