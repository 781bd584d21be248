import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { httpHandler, json } from '../../../functions/http/http-handler.ts';
import { setLogSink } from '../../../functions/http/logger.ts';

const event = (claims: Record<string, string> | undefined) =>
  ({
    resource: '/claims/{id}',
    path: '/claims/cMEMBER-SECRET',
    httpMethod: 'GET',
    headers: {},
    pathParameters: { id: 'cMEMBER-SECRET' },
    queryStringParameters: null,
    body: null,
    isBase64Encoded: false,
    requestContext: { requestId: 'api-req-1', authorizer: claims ? { claims } : undefined },
  }) as unknown as APIGatewayProxyEvent;

const context = (awsRequestId: string) => ({ awsRequestId }) as Context;
const analyst = { sub: 'a-1', 'cognito:groups': 'analyst' };

interface EmfLine {
  status: number;
  route: string;
  endpoint: string;
  service: string;
  cold_start: boolean;
  function_request_id?: string;
  xray_trace_id?: string;
  Requests: number;
  ClientErrors: number;
  ServerErrors: number;
  Latency: number;
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: {
      Namespace: string;
      Dimensions: string[][];
      Metrics: { Name: string; Unit: string }[];
    }[];
  };
}

describe('access log lines carry the request metrics (CloudWatch embedded metric format)', () => {
  let lines: string[];
  let restore: ReturnType<typeof setLogSink>;
  beforeEach(() => {
    lines = [];
    restore = setLogSink((line) => lines.push(line));
  });
  afterEach(() => {
    setLogSink(restore);
    delete process.env._X_AMZN_TRACE_ID;
  });
  const last = () => JSON.parse(lines.at(-1) ?? '{}') as EmfLine;

  const ok = httpHandler(['analyst'], async () => json(200, { ok: true }));
  const failing = httpHandler(['analyst'], async () => {
    throw new Error('driver said: member M123 not found');
  });

  it('declares the metrics, per route template, and marks only the first invocation cold', async () => {
    process.env._X_AMZN_TRACE_ID =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    await ok(event(analyst), context('lambda-req-1'));
    const first = last();
    expect(first).toMatchObject({
      status: 200,
      service: 'claimledger',
      route: '/claims/{id}',
      endpoint: 'GET /claims/{id}',
      cold_start: true,
      function_request_id: 'lambda-req-1',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      Requests: 1,
      ClientErrors: 0,
      ServerErrors: 0,
    });
    expect(first.Latency).toBeGreaterThanOrEqual(0);
    expect(first._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'claimledger',
        Dimensions: [['service', 'endpoint']],
        Metrics: [
          { Name: 'Requests', Unit: 'Count' },
          { Name: 'ClientErrors', Unit: 'Count' },
          { Name: 'ServerErrors', Unit: 'Count' },
          { Name: 'Latency', Unit: 'Milliseconds' },
        ],
      },
    ]);
    // Every declared dimension and metric is a top-level member, as EMF requires.
    for (const name of ['service', 'endpoint', 'Requests', 'ClientErrors', 'ServerErrors', 'Latency']) {
      expect(first).toHaveProperty(name);
    }

    await ok(event(analyst), context('lambda-req-2'));
    expect(last()).toMatchObject({ cold_start: false, function_request_id: 'lambda-req-2' });
  });

  it('counts a refused request as a client error and a crash as a server error', async () => {
    await ok(event(undefined), context('r-401'));
    expect(last()).toMatchObject({ status: 401, ClientErrors: 1, ServerErrors: 0 });
    await failing(event(analyst), context('r-500'));
    expect(last()).toMatchObject({ status: 500, ClientErrors: 0, ServerErrors: 1, Requests: 1 });
  });

  it('never puts the path, its ids or an error message into a line', async () => {
    await ok(event(analyst), context('r-1'));
    await failing(event(analyst), context('r-2'));
    const text = lines.join('\n');
    expect(text).not.toContain('MEMBER-SECRET');
    expect(text).not.toContain('M123');
  });
});
