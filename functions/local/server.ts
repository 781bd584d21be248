import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { JWTPayload } from 'jose';
import type { RouteDefinition } from '#handlers/routes.ts';
import { HttpProblem, type ProblemKind, problemResponse } from '#http/problem.ts';

export type LambdaHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export interface LocalServerOptions {
  routes: readonly RouteDefinition[];
  /** Resolves a route to the same handler module a Lambda would run. */
  handlerFor(route: RouteDefinition): Promise<LambdaHandler>;
  /** The authorizer: verifies a bearer token and returns its claims, or throws. */
  verifyToken(token: string): Promise<JWTPayload>;
  /**
   * API keys by value → key id, as API Gateway resolves an `x-api-key` header for a usage plan.
   * A known key's id reaches the function in `requestContext.identity.apiKeyId`; an unknown or
   * missing key leaves it null, and identity.ts gives a provider system's token no role then.
   */
  apiKeys?: ReadonlyMap<string, string>;
}

// API Gateway refuses request bodies over 10 MB before any function runs.
const GATEWAY_MAX_BODY = 10 * 1024 * 1024;

/**
 * The local API Gateway: turns each HTTP request into the REST (v1) proxy event the cloud
 * would send, with the verified token's claims in `requestContext.authorizer.claims`, and
 * calls the route's handler module. It holds no route logic of its own.
 */
export function createLocalServer(options: LocalServerOptions): Server {
  const compiled = options.routes.map((route) => ({ route, ...compile(route.path) }));
  return createServer((req, res) => {
    handle(req, res, compiled, options).catch(() => {
      send(res, problemResponse(new HttpProblem('internal', 'The local gateway failed.')));
    });
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  compiled: { route: RouteDefinition; pattern: RegExp; names: string[] }[],
  options: LocalServerOptions,
): Promise<void> {
  // Prefixing the origin keeps a path like `//host/x` a path (as a second argument's base it
  // would be read as a host name), and a malformed one still parses.
  const url = new URL(`http://localhost${(req.url ?? '/').startsWith('/') ? '' : '/'}${req.url ?? ''}`);
  const requestId = randomUUID();
  const fail = (kind: ProblemKind, detail: string) =>
    send(res, problemResponse(new HttpProblem(kind, detail), requestId));

  const match = compiled
    .map((c) => ({ ...c, found: c.pattern.exec(url.pathname) }))
    .find((c) => c.found !== null && c.route.method === req.method);
  if (!match?.found) return fail('not-found', `No route ${req.method} ${url.pathname}.`);

  const body = await readBody(req);
  if (body === null) return fail('payload-too-large', 'The gateway accepts bodies up to 10 MB.');

  let claims: Record<string, string> | undefined;
  if (match.route.authenticated) {
    const token = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return fail('unauthorized', 'A valid bearer token is required.');
    try {
      claims = stringClaims(await options.verifyToken(token));
    } catch {
      return fail('unauthorized', 'The bearer token is invalid or expired.');
    }
  }

  const pathParameters: Record<string, string> = {};
  try {
    match.names.forEach((name, i) => {
      pathParameters[name] = decodeURIComponent(match.found?.[i + 1] ?? '');
    });
  } catch {
    return fail('not-found', `No route ${req.method} ${url.pathname}.`);
  }
  const event = toEvent(req, url, match.route, pathParameters, body, requestId, claims);
  const apiKey = req.headers['x-api-key'];
  const apiKeyId = typeof apiKey === 'string' ? options.apiKeys?.get(apiKey) : undefined;
  if (apiKeyId !== undefined) event.requestContext.identity = { ...event.requestContext.identity, apiKeyId };
  const handler = await options.handlerFor(match.route);
  send(res, await handler(event, lambdaContext(requestId)));
}

function compile(path: string): { pattern: RegExp; names: string[] } {
  const names: string[] = [];
  const source = path.replace(/\{(\w+)\}/g, (_, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { pattern: new RegExp(`^${source}$`), names };
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > GATEWAY_MAX_BODY) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Cognito's REST authorizer hands claims to the function as strings; so do we. */
function stringClaims(payload: JWTPayload): Record<string, string> {
  return Object.fromEntries(
    Object.entries(payload).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.join(',') : typeof v === 'string' ? v : JSON.stringify(v),
    ]),
  );
}

function toEvent(
  req: IncomingMessage,
  url: URL,
  route: RouteDefinition,
  pathParameters: Record<string, string>,
  body: Buffer,
  requestId: string,
  claims: Record<string, string> | undefined,
): APIGatewayProxyEvent {
  const headers: Record<string, string> = Object.create(null);
  const multiValueHeaders: Record<string, string[]> = Object.create(null);
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    headers[name] = values.join(',');
    multiValueHeaders[name] = values;
  }
  // Prototype-less: a parameter named `toString` or `__proto__` is just a name.
  const query: Record<string, string> = Object.create(null);
  const multiQuery: Record<string, string[]> = Object.create(null);
  for (const [name, value] of url.searchParams) {
    query[name] = value;
    multiQuery[name] = [...(multiQuery[name] ?? []), value];
  }
  const text = body.length === 0 ? null : decodeUtf8(body);
  const now = new Date();
  return {
    resource: route.path,
    path: url.pathname,
    httpMethod: route.method,
    headers,
    multiValueHeaders,
    queryStringParameters: Object.keys(query).length > 0 ? query : null,
    multiValueQueryStringParameters: Object.keys(multiQuery).length > 0 ? multiQuery : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    // Bytes that are not UTF-8 travel base64-encoded, as API Gateway does for binary bodies.
    body: body.length === 0 ? null : (text ?? body.toString('base64')),
    isBase64Encoded: body.length > 0 && text === null,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: claims ? { claims } : null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: route.method,
      identity: localIdentity(req.socket.remoteAddress ?? '127.0.0.1', req.headers['user-agent'] ?? null),
      path: `/local${url.pathname}`,
      stage: 'local',
      requestId,
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: route.path,
    },
  };
}

function decodeUtf8(bytes: Buffer): string | null {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

function localIdentity(
  sourceIp: string,
  userAgent: string | null,
): APIGatewayProxyEvent['requestContext']['identity'] {
  return {
    sourceIp,
    userAgent,
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    user: null,
    userArn: null,
  };
}

function lambdaContext(requestId: string): Context {
  return {
    awsRequestId: requestId,
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'claimledger-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:claimledger-local',
    logGroupName: 'local',
    logStreamName: 'local',
    memoryLimitInMB: '512',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResult): void {
  res.writeHead(result.statusCode, { ...(result.headers as Record<string, string> | undefined) });
  res.end(result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body);
}

export function listeningPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
