/**
 * Structured JSON logs with an allow-list of fields. Nothing from a request body, path or
 * token is logged except the route template and the caller's opaque `sub`, so no PHI (member
 * ids, names, birth dates, diagnoses) can reach the logs by accident.
 */
export interface LogFields {
  route?: string;
  method?: string;
  status?: number;
  problem?: string;
  durationMs?: number;
  requestId?: string;
  sub?: string;
  error?: string;
  stack?: string;
  message?: string;
  /** Background work that is not a request, e.g. the journal integrator. */
  component?: string;
}

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** Tests capture log output through this. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

export function log(level: 'info' | 'warn' | 'error', fields: LogFields): void {
  sink(JSON.stringify({ level, time: new Date().toISOString(), service: 'claimledger', ...fields }));
}
