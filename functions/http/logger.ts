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
  // Lambda context, named as Powertools Logger names them so dashboards and queries carry over.
  cold_start?: boolean;
  function_request_id?: string;
  xray_trace_id?: string;
}

/**
 * Metric values for CloudWatch, in embedded metric format (a log line CloudWatch Logs extracts
 * them from: no PutMetricData call). In Lambda, Powertools Metrics writes them.
 */
export interface MetricLine {
  /**
   * An allow-list too: low-cardinality values that are never PHI. `endpoint` is the method and
   * route template (`GET /claims/{id}`), never a path; `outcome` a decision outcome.
   */
  dimensions: { endpoint: string } | { outcome: string };
  values: Partial<Record<MetricName, { value: number; unit: 'Count' | 'Milliseconds' }>>;
}

type MetricName = 'Requests' | 'ClientErrors' | 'ServerErrors' | 'Latency' | 'ClaimsDecided';

export const METRIC_NAMESPACE = 'claimledger';
/** The `service` of every log line and metric, here and in Powertools. */
export const SERVICE_NAME = 'claimledger';

export type LogLevel = 'info' | 'warn' | 'error';

/** Where log calls go: JSON lines on stdout here, Powertools Logger and Metrics in Lambda. */
export interface LogBackend {
  write(level: LogLevel, fields: LogFields, metrics?: MetricLine): void;
}

export type LogSink = (line: string) => void;

let sink: LogSink = (line) => process.stdout.write(`${line}\n`);

/** Tests capture the JSON-lines backend's output through this. */
export function setLogSink(next: LogSink): LogSink {
  const previous = sink;
  sink = next;
  return previous;
}

/** One JSON object a line; a line with metrics is also a CloudWatch EMF document. */
const jsonLinesBackend: LogBackend = {
  write(level, fields, metrics) {
    const line: Record<string, unknown> = {
      level,
      time: new Date().toISOString(),
      service: SERVICE_NAME,
      ...fields,
    };
    if (metrics) {
      const dimensions = { service: SERVICE_NAME, ...metrics.dimensions };
      Object.assign(line, dimensions);
      for (const [name, { value }] of Object.entries(metrics.values)) line[name] = value;
      line._aws = {
        Timestamp: Date.now(),
        CloudWatchMetrics: [
          {
            Namespace: METRIC_NAMESPACE,
            Dimensions: [Object.keys(dimensions)],
            Metrics: Object.entries(metrics.values).map(([name, { unit }]) => ({ Name: name, Unit: unit })),
          },
        ],
      };
    }
    sink(JSON.stringify(line));
  },
};

let backend: LogBackend = jsonLinesBackend;

/** The Lambda entry points switch to Powertools (functions/http/lambda-observability.ts). */
export function setLogBackend(next: LogBackend): void {
  backend = next;
}

export function log(level: LogLevel, fields: LogFields, metrics?: MetricLine): void {
  backend.write(level, fields, metrics);
}
