import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type AwsCallObserver, observeAwsCalls } from '#store/aws-http.ts';
import { type LogBackend, METRIC_NAMESPACE, SERVICE_NAME, setLogBackend } from './logger.ts';

/**
 * Powertools for AWS Lambda in the deployed functions: Logger for the log lines (with the
 * invocation's context), Metrics for the embedded-metric documents, Tracer for the X-Ray
 * subsegments of the handler and of every DynamoDB, KMS and S3 call.
 *
 * Powertools comes from the layer the stack attaches (infra/powertools-layer.ts), not from the
 * bundle, and is imported only when running in Lambda: the local server and the tests keep the
 * JSON-lines backend, and never load the X-Ray SDK, whose context tracking hooks every promise
 * of the process.
 *
 * What reaches them is what reached the JSON lines: the allow-listed fields of logger.ts. Neither
 * the event (Logger's logEvent) nor the response or error messages (Tracer's capture options,
 * also turned off by the stack's environment) are recorded: they carry PHI.
 */

/** The Powertools layer's module (infra/powertools-layer.ts), outside the function bundles. */
export const POWERTOOLS_MODULE = '@claimledger/powertools';

/** The middlewares every Lambda entry point runs first; none outside Lambda. */
export const lambdaMiddlewares: middy.MiddlewareObj[] =
  process.env.AWS_LAMBDA_FUNCTION_NAME === undefined ? [] : await loadPowertools();

/** A Lambda entry point that is not an HTTP route (stream, schedule), with the same middlewares. */
export function backgroundHandler(
  run: () => Promise<void>,
): (event: unknown, context: unknown) => Promise<void> {
  const handler = middy<unknown, void>().use(lambdaMiddlewares).handler(run);
  return (event, context) => handler(event, context as Context);
}

async function loadPowertools(): Promise<middy.MiddlewareObj[]> {
  const powertools = (await import(POWERTOOLS_MODULE)) as typeof import('./powertools.ts');
  const logger = new powertools.Logger({ serviceName: SERVICE_NAME });
  const metrics = new powertools.Metrics({ namespace: METRIC_NAMESPACE, serviceName: SERVICE_NAME });
  const tracer = new powertools.Tracer({ serviceName: SERVICE_NAME });
  setLogBackend(powertoolsBackend(logger, metrics));
  observeAwsCalls(awsSubsegments(tracer));
  return [
    powertools.captureLambdaHandler(tracer, { captureResponse: false }),
    powertools.injectLambdaContext(logger, { logEvent: false }),
    { before: () => metrics.captureColdStartMetric() },
  ];
}

/**
 * Log calls as Powertools Logger lines; their metrics published at once, each line's with its
 * own dimensions (an endpoint's, a decision outcome's). Logger adds the Lambda context itself.
 */
export function powertoolsBackend(logger: Logger, metrics: Metrics): LogBackend {
  return {
    write(level, fields, metricLine) {
      const { message, cold_start, function_request_id, xray_trace_id, ...attributes } = fields;
      logger[level](message ?? (attributes.route ? 'request' : (attributes.component ?? 'log')), attributes);
      if (!metricLine) return;
      metrics.addDimensions(metricLine.dimensions);
      for (const [name, metric] of Object.entries(metricLine.values)) {
        metrics.addMetric(name, metric.unit, metric.value);
      }
      metrics.publishStoredMetrics();
    },
  };
}

/** X-Ray's names for the services, as the SDK's own instrumentation names them. */
const SERVICE_NAMES: Record<string, string> = { dynamodb: 'DynamoDB', kms: 'KMS', s3: 'S3' };

/**
 * A subsegment per AWS call, shaped as the X-Ray SDK shapes an SDK client's (namespace `aws`,
 * operation, region, request id, retries, status), so the service map and the per-operation
 * latencies read as they would with the SDK. Only the error's name is recorded, not its message.
 */
export function awsSubsegments(tracer: Tracer): AwsCallObserver {
  return (call) => {
    const parent = tracer.getSegment();
    if (!parent) return undefined;
    const subsegment = parent.addNewSubsegment(SERVICE_NAMES[call.service] ?? call.service);
    subsegment.addAttribute('namespace', 'aws');
    const root = 'trace_id' in parent ? parent : parent.segment;
    return {
      ...(root
        ? {
            traceHeader: `Root=${root.trace_id};Parent=${subsegment.id};Sampled=${subsegment.notTraced ? 0 : 1}`,
          }
        : {}),
      end({ metadata, error }) {
        subsegment.addAttribute('aws', {
          operation: call.operation,
          region: call.region,
          ...(metadata?.requestId ? { request_id: metadata.requestId } : {}),
          retries: (metadata?.attempts ?? 1) - 1,
        });
        const status = metadata?.httpStatusCode;
        if (status !== undefined) {
          subsegment.addAttribute('http', { response: { status } });
          if (status === 429) subsegment.addThrottleFlag();
          if (status >= 400 && status < 500) subsegment.addErrorFlag();
        }
        if (error === undefined) subsegment.close();
        else subsegment.close(error instanceof Error ? error.name : 'Error', true);
      },
    };
  };
}
