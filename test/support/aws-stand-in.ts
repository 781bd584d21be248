import { createHash, createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { onTestFinished } from 'vitest';

/**
 * A local HTTP server standing in for an AWS service that cannot run here (S3, KMS). It answers
 * through `answer`, records every request as it arrived on the wire, and checks its Signature
 * Version 4 signature from scratch (RFC-style, independently of the signer the client uses):
 * a header or path changed after signing, or a wrong scope, fails the request with 403 as AWS
 * would. Call it inside a test: the server closes when the test finishes.
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface StandInAnswer {
  status: number;
  /** Close the connection without answering (a reset, as a dying load balancer would). */
  drop?: boolean;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

// With a session token, as Lambda's role credentials always have one.
export const STAND_IN_CREDENTIALS = {
  accessKeyId: 'ASIASTANDIN',
  secretAccessKey: 'stand-in-secret',
  sessionToken: 'stand-in-session-token',
};
export const STAND_IN_REGION = 'eu-west-1';

/** Client options that reach a stand-in at `endpoint` as the stand-in expects to be signed for. */
export const standInOptions = (endpoint: string) => ({
  endpoint,
  region: STAND_IN_REGION,
  credentials: STAND_IN_CREDENTIALS,
});

export async function startStandIn(
  service: string,
  answer: (request: ReceivedRequest) => StandInAnswer | Promise<StandInAnswer>,
): Promise<{ endpoint: string; requests: ReceivedRequest[] }> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const request = {
        method: req.method!,
        path: req.url!,
        headers: req.headers,
        body: Buffer.concat(chunks),
      };
      requests.push(request);
      const problem = signatureProblem(request, {
        service,
        region: STAND_IN_REGION,
        credentials: STAND_IN_CREDENTIALS,
      });
      const reply: StandInAnswer = problem ? { status: 403, body: problem } : await answer(request);
      if (reply.drop) {
        req.socket.destroy();
        return;
      }
      res.writeHead(reply.status, reply.headers ?? {});
      res.end(reply.body === undefined ? undefined : Buffer.from(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, requests };
}

const sha256Hex = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

export interface SigningScope {
  service: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * Why the request's SigV4 signature does not hold for `scope`, or null when it does. Checked
 * against AWS's published Signature Version 4 test suite in test/unit/store/aws-stand-in.test.ts.
 */
export function signatureProblem(request: ReceivedRequest, scope: SigningScope): string | null {
  const { service, credentials } = scope;
  const authorization = String(request.headers.authorization ?? '');
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return `malformed Authorization: ${authorization}`;
  const [, keyId, day, region, signedService, signedHeaderList, signature] = match as unknown as string[];
  if (keyId !== credentials.accessKeyId || region !== scope.region || signedService !== service) {
    return `wrong credential scope ${keyId}/${region}/${signedService}`;
  }
  const amzDate = String(request.headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day!)) return 'x-amz-date is not the signed day';
  const signed = signedHeaderList!.split(';');
  const required = ['host', 'x-amz-date', ...(credentials.sessionToken ? ['x-amz-security-token'] : [])];
  for (const name of required) {
    if (!signed.includes(name)) return `${name} is not signed`;
  }
  if (credentials.sessionToken && request.headers['x-amz-security-token'] !== credentials.sessionToken) {
    return 'InvalidToken';
  }
  const [rawPath = '/', rawQuery = ''] = request.path.split('?');
  // S3 signs the path as sent; other services sign it escaped once more.
  const canonicalPath =
    service === 's3'
      ? rawPath
      : rawPath
          .split('/')
          .map((s) => encodeURIComponent(s))
          .join('/');
  const canonicalQuery = rawQuery.split('&').filter(Boolean).sort().join('&');
  const payloadHash = String(request.headers['x-amz-content-sha256'] ?? sha256Hex(request.body));
  if (payloadHash !== sha256Hex(request.body)) return 'x-amz-content-sha256 is not the body hash';
  const canonicalRequest = [
    request.method,
    canonicalPath,
    canonicalQuery,
    ...signed.map(
      (name) =>
        `${name}:${String(request.headers[name] ?? '')
          .trim()
          .replace(/\s+/g, ' ')}`,
    ),
    '',
    signedHeaderList,
    payloadHash,
  ].join('\n');
  const credentialScope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, credentialScope, sha256Hex(canonicalRequest)].join('\n');
  let key = hmac(`AWS4${credentials.secretAccessKey}`, day!);
  for (const part of [region!, service, 'aws4_request']) key = hmac(key, part);
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? null : 'SignatureDoesNotMatch';
}
