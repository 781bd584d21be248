import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { loadConfig, NODE_REGION_CONFIG_FILE_OPTIONS, NODE_REGION_CONFIG_OPTIONS } from '@smithy/core/config';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider, SourceData } from '@smithy/types';

/**
 * The HTTP under our AWS clients: endpoint resolution, Signature Version 4 (the SDK's own
 * signer), retries and error decoding — the part of an SDK client that a few fixed operations
 * need. The full SDK clients cost ~200 KB of every Lambda bundle (their protocol, schema and
 * endpoint-rule machinery), two thirds of the budget, for the dozen operations we call; see
 * README "Bundles, cold starts, logs and metrics". Credentials still come from the SDK's
 * provider chain (in a Lambda bundle, its environment provider: infra aliases it).
 */

export interface AwsServiceOptions {
  /** The endpoint ID (`dynamodb`, `kms`, `s3`): the host prefix and the AWS_ENDPOINT_URL_<ID> suffix. */
  service: string;
  /**
   * An explicit endpoint (DynamoDB Local), or one made from the region; otherwise
   * AWS_ENDPOINT_URL_<ID>, AWS_ENDPOINT_URL, then the service's regional endpoint.
   */
  endpoint?: string | ((region: string) => string);
  region?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Attempts per request, retries of throttling, 5xx and network errors included (SDK default 3). */
  maxAttempts?: number;
  /** S3 signs the payload hash into `x-amz-content-sha256` and does not escape the path twice. */
  s3?: boolean;
}

export interface AwsRequest {
  /** The API's name for it (`PutItem`, `Sign`, `GetObject`), for traces. */
  operation: string;
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface AwsResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Uint8Array;
}

export interface ResponseMetadata {
  httpStatusCode: number;
  requestId?: string;
  attempts: number;
}

/**
 * An error answered by an AWS service: `name` is the service's error code
 * (`ConditionalCheckFailedException`, `NotFoundException`…), `$metadata` as in the SDK's
 * errors, and any other fields of the error body (`CancellationReasons`) copied onto it.
 */
export class AwsServiceError extends Error {
  readonly $metadata: ResponseMetadata;
  readonly [field: string]: unknown;

  constructor(
    name: string,
    message: string,
    metadata: ResponseMetadata,
    fields: Record<string, unknown> = {},
  ) {
    super(message);
    Object.assign(this, fields);
    this.name = name;
    this.$metadata = metadata;
  }
}

export const isAwsError = (error: unknown, name?: string): error is AwsServiceError =>
  error instanceof AwsServiceError && (name === undefined || error.name === name);

// What the SDK's standard retry strategy treats as transient: throttling, then server errors.
const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'BandwidthLimitExceeded',
  'LimitExceededException',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const TRANSIENT = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'InternalError']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504]);

const BASE_DELAY_MS = 100;
const MAX_DELAY_MS = 20_000;

/** Full jitter: a random pause up to 100 ms, 200 ms, 400 ms… after attempt 1, 2, 3… */
const backoff = (attempt: number) =>
  new Promise((resolve) =>
    setTimeout(resolve, Math.random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 1))),
  );

/** One call to an AWS service, all its attempts. */
export interface AwsCall {
  service: string;
  operation: string;
  region: string;
}

/** What an observer keeps of a call while it runs: a trace subsegment, in Lambda. */
export interface AwsCallSpan {
  /** Sent as X-Amzn-Trace-Id, so the service's own trace joins the caller's. */
  traceHeader?: string;
  end(outcome: { metadata?: ResponseMetadata; error?: unknown }): void;
}

export type AwsCallObserver = (call: AwsCall) => AwsCallSpan | undefined;

let observer: AwsCallObserver | undefined;

/** Every call of every client is shown to `next` (the Lambda functions' X-Ray tracing). */
export function observeAwsCalls(next: AwsCallObserver | undefined): void {
  observer = next;
}

export class AwsHttpClient {
  readonly endpoint: URL;
  private readonly service: string;
  private readonly region: string;
  private readonly signer: SignatureV4;
  private readonly maxAttempts: number;

  private constructor(
    options: { endpoint: URL; service: string; region: string; maxAttempts: number },
    signer: SignatureV4,
  ) {
    this.endpoint = options.endpoint;
    this.service = options.service;
    this.region = options.region;
    this.signer = signer;
    this.maxAttempts = options.maxAttempts;
  }

  /** A client for `options.service`, its region and endpoint resolved as the SDK resolves them. */
  static async create(options: AwsServiceOptions): Promise<AwsHttpClient> {
    const region = options.region ?? (await resolveRegion());
    const explicit = typeof options.endpoint === 'function' ? options.endpoint(region) : options.endpoint;
    const endpoint = new URL(
      explicit ?? configuredEndpoint(options.service) ?? awsEndpoint(options.service, region),
    );
    const signer = new SignatureV4({
      service: options.service,
      region,
      credentials: options.credentials ?? defaultProvider(),
      sha256: NodeHash,
      uriEscapePath: !options.s3,
      applyChecksum: options.s3 === true,
    });
    return new AwsHttpClient(
      { endpoint, service: options.service, region, maxAttempts: options.maxAttempts ?? 3 },
      signer,
    );
  }

  /**
   * Sends `request`, signed, retrying throttling, 5xx and network errors with jittered
   * exponential backoff. Resolves to any answer below 300; throws {@link AwsServiceError}
   * (decoded by `decodeError`) for the others.
   */
  async send(
    request: AwsRequest,
    decodeError: (response: AwsResponse) => DecodedError,
  ): Promise<AwsResponse & { $metadata: ResponseMetadata }> {
    const span = observer?.({ service: this.service, operation: request.operation, region: this.region });
    if (!span) return this.sendWithRetries(request, decodeError);
    const traced = span.traceHeader
      ? { ...request, headers: { ...request.headers, 'x-amzn-trace-id': span.traceHeader } }
      : request;
    try {
      const response = await this.sendWithRetries(traced, decodeError);
      span.end({ metadata: response.$metadata });
      return response;
    } catch (error: unknown) {
      span.end({ ...(error instanceof AwsServiceError ? { metadata: error.$metadata } : {}), error });
      throw error;
    }
  }

  private async sendWithRetries(
    request: AwsRequest,
    decodeError: (response: AwsResponse) => DecodedError,
  ): Promise<AwsResponse & { $metadata: ResponseMetadata }> {
    for (let attempt = 1; ; attempt++) {
      let response: AwsResponse;
      try {
        response = await this.attempt(request);
      } catch (error: unknown) {
        if (!isNetworkError(error) || attempt >= this.maxAttempts) throw error;
        await backoff(attempt);
        continue;
      }
      const requestId = response.headers['x-amzn-requestid'] ?? response.headers['x-amz-request-id'];
      const metadata: ResponseMetadata = {
        httpStatusCode: response.status,
        ...(typeof requestId === 'string' ? { requestId } : {}),
        attempts: attempt,
      };
      if (response.status < 300) return { ...response, $metadata: metadata };
      const { name, message, fields } = decodeError(response);
      const retryable = THROTTLING.has(name) || TRANSIENT.has(name) || TRANSIENT_STATUS.has(response.status);
      if (!retryable || attempt >= this.maxAttempts) {
        throw new AwsServiceError(name, message, metadata, fields);
      }
      await backoff(attempt);
    }
  }

  private async attempt(request: AwsRequest): Promise<AwsResponse> {
    const { endpoint } = this;
    const path = `${endpoint.pathname.replace(/\/$/, '')}${request.path}`;
    const signed = await this.signer.sign({
      method: request.method,
      protocol: endpoint.protocol,
      hostname: endpoint.hostname,
      ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
      path,
      query: {},
      headers: { ...request.headers, host: endpoint.host },
      body: request.body,
    });
    return transmit(endpoint, { ...request, path, headers: signed.headers });
  }
}

// Kept-alive connections, as the SDK's node handler keeps them: a TLS handshake per request
// would cost more than most DynamoDB operations.
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: 50 }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
};

function transmit(endpoint: URL, request: AwsRequest): Promise<AwsResponse> {
  const https = endpoint.protocol === 'https:';
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      {
        protocol: endpoint.protocol,
        hostname: endpoint.hostname,
        port: endpoint.port || undefined,
        path: request.path,
        method: request.method,
        headers: request.headers,
        agent: https ? agents['https:'] : agents['http:'],
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: new Uint8Array(Buffer.concat(chunks)),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(request.body);
  });
}

/** The error code of a JSON-protocol answer (DynamoDB, KMS): `__type` after its namespace. */
export interface DecodedError {
  name: string;
  message: string;
  fields?: Record<string, unknown>;
}

export function decodeJsonError(response: AwsResponse): DecodedError & { fields: Record<string, unknown> } {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(new TextDecoder().decode(response.body)) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  const { __type, message, Message, ...fields } = body;
  const type = String(__type ?? response.headers['x-amzn-errortype'] ?? `Http${response.status}`);
  const name = type.split('#').pop()!.split(':')[0]!;
  return { name, message: String(message ?? Message ?? name), fields };
}

/** Connection failures: refused, reset (a kept-alive socket the server closed), timed out. */
const NETWORK_ERRORS = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);
const isNetworkError = (error: unknown): boolean =>
  error instanceof Error && NETWORK_ERRORS.has(String((error as NodeJS.ErrnoException).code));

/** A lazily created client, made again after a failed creation (no region, no credentials). */
export function lazyAwsHttpClient(options: AwsServiceOptions): () => Promise<AwsHttpClient> {
  let client: Promise<AwsHttpClient> | undefined;
  return () => {
    client ??= AwsHttpClient.create(options).catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    return client;
  };
}

/** POSTs `body` to a JSON-protocol service (DynamoDB: 1.0, KMS: 1.1) and parses the answer. */
export async function sendJson(
  http: AwsHttpClient,
  request: { target: string; version: '1.0' | '1.1'; body: string },
  decodeError: (response: AwsResponse) => DecodedError = decodeJsonError,
): Promise<{ output: Record<string, unknown>; $metadata: ResponseMetadata }> {
  const response = await http.send(
    {
      operation: request.target.slice(request.target.indexOf('.') + 1),
      method: 'POST',
      path: '/',
      headers: {
        'content-type': `application/x-amz-json-${request.version}`,
        'x-amz-target': request.target,
      },
      body: request.body,
    },
    decodeError,
  );
  const output = JSON.parse(new TextDecoder().decode(response.body)) as Record<string, unknown>;
  return { output, $metadata: response.$metadata };
}

export function configuredEndpoint(service: string): string | undefined {
  return (
    process.env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || process.env.AWS_ENDPOINT_URL || undefined
  );
}

/** The service's regional endpoint (its FIPS one when AWS_USE_FIPS_ENDPOINT is set). */
export function awsEndpoint(service: string, region: string): string {
  const fips = process.env.AWS_USE_FIPS_ENDPOINT === 'true' ? '-fips' : '';
  const suffix = region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${service}${fips}.${region}.${suffix}`;
}

/** AWS_REGION in Lambda; elsewhere the SDK's resolution (AWS_REGION, then the profile's region). */
async function resolveRegion(): Promise<string> {
  const fromEnv = process.env.AWS_REGION;
  if (fromEnv) return fromEnv;
  return loadConfig(NODE_REGION_CONFIG_OPTIONS, NODE_REGION_CONFIG_FILE_OPTIONS)();
}

/** SHA-256 and HMAC-SHA-256 from node:crypto, in the shape SignatureV4 takes. */
class NodeHash {
  private readonly hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBytes(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(this.hash.digest());
  }
}

const toBytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string'
    ? data
    : data instanceof ArrayBuffer
      ? new Uint8Array(data)
      : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
