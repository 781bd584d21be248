import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { Identity, Role } from '#claims/identity.ts';
import { toProblem } from './error-mapper.ts';
import { identityFrom } from './identity.ts';
import { lambdaMiddlewares } from './lambda-observability.ts';
import { type LogFields, log } from './logger.ts';
import { HttpProblem, problemResponse } from './problem.ts';

export interface RouteRequest {
  event: APIGatewayProxyEvent;
  identity: Identity;
}

export type RouteHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

/**
 * Wraps a route's logic in the shared stack: identity and role check first, then the logic,
 * every error mapped to problem+json, one access-log line per request. `roles` lists who
 * may call the route at all; object-level checks belong to the use case.
 */
export function httpHandler(
  roles: readonly Role[],
  run: (request: RouteRequest) => Promise<APIGatewayProxyResult>,
): RouteHandler {
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult>().handler(async (event) => {
    const identity = identityFrom(event);
    if (identity === null) throw new HttpProblem('unauthorized', 'A valid bearer token is required.');
    if (!identity.roles.some((role) => roles.includes(role))) {
      throw new HttpProblem('forbidden', `This route needs one of the roles: ${roles.join(', ')}.`);
    }
    return run({ event, identity });
  });
  // Powertools first, so its trace and log context cover the access log and error mapping below.
  handler.use(lambdaMiddlewares);
  handler.use({
    before: (request) => {
      Object.assign(request.internal as Record<string, unknown>, {
        startedAt: Date.now(),
        lambda: lambdaContext(request.context),
      });
    },
    after: (request) => {
      accessLog(request.event, request.response?.statusCode ?? 200, request.internal);
    },
    onError: (request) => {
      const problem = toProblem(request.error);
      if (problem.kind === 'internal') {
        const error = request.error as Error | undefined;
        // Name and stack only: messages of SDK or driver errors can quote request data.
        log('error', {
          ...lambdaOf(request.internal),
          error: error?.name ?? 'unknown',
          ...(error?.stack ? { stack: stripMessage(error) } : {}),
        });
      }
      request.response = problemResponse(problem, request.event.requestContext?.requestId);
      accessLog(request.event, request.response.statusCode, request.internal, problem.kind);
    },
  });
  return (event, context) => handler(event, context);
}

let coldStart = true;

/** The invocation's ids, as Powertools Logger would add them; `cold_start` is true once per process. */
function lambdaContext(context: Context | undefined): LogFields {
  const fields: LogFields = { cold_start: coldStart };
  coldStart = false;
  if (context?.awsRequestId) fields.function_request_id = context.awsRequestId;
  const trace = process.env._X_AMZN_TRACE_ID?.match(/Root=([^;]+)/)?.[1];
  if (trace) fields.xray_trace_id = trace;
  return fields;
}

function lambdaOf(internal: object): LogFields {
  return (internal as { lambda?: LogFields }).lambda ?? {};
}

/**
 * One line per request: the access log, which is also the request's metrics (count, latency,
 * 4xx and 5xx per route) in embedded metric format.
 */
function accessLog(event: APIGatewayProxyEvent, status: number, internal: object, problem?: string): void {
  const startedAt = (internal as { startedAt?: number }).startedAt ?? Date.now();
  const durationMs = Date.now() - startedAt;
  log(
    status >= 500 ? 'error' : 'info',
    {
      ...lambdaOf(internal),
      route: event.resource,
      method: event.httpMethod,
      status,
      durationMs,
      requestId: event.requestContext?.requestId,
      ...(problem ? { problem } : {}),
    },
    {
      dimensions: { endpoint: `${event.httpMethod} ${event.resource}` },
      values: {
        Requests: { value: 1, unit: 'Count' },
        ClientErrors: { value: status >= 400 && status < 500 ? 1 : 0, unit: 'Count' },
        ServerErrors: { value: status >= 500 ? 1 : 0, unit: 'Count' },
        Latency: { value: durationMs, unit: 'Milliseconds' },
      },
    },
  );
}

/** The stack frames without the first line, which repeats the (possibly data-bearing) message. */
function stripMessage(error: Error): string {
  return (error.stack ?? '').split('\n').slice(1).join('\n');
}

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: {
      'content-type': 'application/json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}
