// The retry and error behaviour of the AWS client under the stores, against a local stand-in
// that speaks DynamoDB's JSON protocol: DynamoDB Local never throttles, drops a connection or
// fails with a 5xx, so those answers are staged here.

import { afterEach, describe, expect, it } from 'vitest';
import { type AwsCall, AwsServiceError, observeAwsCalls } from '../../../functions/store/aws-http.ts';
import { DynamoDocumentClient, GetCommand } from '../../../functions/store/dynamo.ts';
import {
  STAND_IN_REGION,
  type StandInAnswer,
  standInOptions,
  startStandIn,
} from '../../support/aws-stand-in.ts';

const jsonError = (status: number, type: string, message: string): StandInAnswer => ({
  status,
  headers: { 'content-type': 'application/x-amz-json-1.0' },
  body: JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message }),
});
const found: StandInAnswer = {
  status: 200,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'REQ-1' },
  body: JSON.stringify({ Item: { pk: { S: 'a' }, n: { N: '42' }, b: { B: 'AQID' } } }),
};

/** A client on a stand-in that gives `answers` in turn (the last one from then on). */
async function clientAnswering(...answers: StandInAnswer[]) {
  let next = 0;
  const server = await startStandIn('dynamodb', () => answers[Math.min(next++, answers.length - 1)]!);
  const client = new DynamoDocumentClient(standInOptions(server.endpoint));
  return { client, requests: server.requests };
}

const get = new GetCommand({ TableName: 't', Key: { pk: 'a' } });

describe('the AWS client under the stores', () => {
  it('sends one signed JSON POST named by X-Amz-Target, and unmarshalls the answer', async () => {
    const { client, requests } = await clientAnswering(found);
    const out = await client.send(get);
    expect(out.Item).toEqual({ pk: 'a', n: 42, b: new Uint8Array([1, 2, 3]) });
    expect(out.$metadata).toEqual({ httpStatusCode: 200, requestId: 'REQ-1', attempts: 1 });
    expect(requests).toHaveLength(1);
    expect(requests[0]?.headers['x-amz-target']).toBe('DynamoDB_20120810.GetItem');
    expect(requests[0]?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(JSON.parse(requests[0]!.body.toString())).toEqual({ TableName: 't', Key: { pk: { S: 'a' } } });
  });

  it('retries throttling, server errors and dropped connections, up to 3 attempts', async () => {
    const retried = await clientAnswering(
      jsonError(400, 'ProvisionedThroughputExceededException', 'slow down'),
      { status: 0, drop: true },
      found,
    );
    expect((await retried.client.send(get)).$metadata.attempts).toBe(3);

    const failing = await clientAnswering(jsonError(500, 'InternalServerError', 'try again'));
    const error = await failing.client.send(get).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({ name: 'InternalServerError', message: 'try again' });
    expect((error as AwsServiceError).$metadata).toMatchObject({ httpStatusCode: 500, attempts: 3 });
    expect(failing.requests).toHaveLength(3);
  });

  it('does not retry a client error, and keeps its fields', async () => {
    const { client, requests } = await clientAnswering(
      jsonError(400, 'ValidationException', 'One or more parameter values were invalid'),
    );
    const error = await client.send(get).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'ValidationException',
      message: 'One or more parameter values were invalid',
      $metadata: { httpStatusCode: 400, attempts: 1 },
    });
    expect(requests).toHaveLength(1);
  });

  it('fails with the connection error itself (ECONNREFUSED) once the attempts are spent', async () => {
    const client = new DynamoDocumentClient(standInOptions('http://127.0.0.1:1'));
    await expect(client.send(get)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  describe('with an observer (the Lambda functions trace every call through one)', () => {
    afterEach(() => observeAwsCalls(undefined));

    it('is told of each call once, all its attempts, and how it ended; its trace header is sent', async () => {
      const seen: { call: AwsCall; outcome?: { metadata?: unknown; error?: unknown } }[] = [];
      observeAwsCalls((call) => {
        const record: (typeof seen)[number] = { call };
        seen.push(record);
        return {
          traceHeader: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
          end: (outcome) => {
            record.outcome = outcome;
          },
        };
      });
      const retried = await clientAnswering(jsonError(500, 'InternalServerError', 'once'), found);
      await retried.client.send(get);
      expect(seen).toEqual([
        {
          call: { service: 'dynamodb', operation: 'GetItem', region: STAND_IN_REGION },
          outcome: { metadata: { httpStatusCode: 200, requestId: 'REQ-1', attempts: 2 } },
        },
      ]);
      // Sent on every attempt, and left out of the signature (the stand-in checks it), as the SDK does.
      expect(retried.requests.map((r) => r.headers['x-amzn-trace-id'])).toEqual([
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      ]);

      const failing = await clientAnswering(jsonError(400, 'ValidationException', 'bad key'));
      const error = await failing.client.send(get).catch((e: unknown) => e);
      expect(seen[1]?.outcome).toEqual({ metadata: { httpStatusCode: 400, attempts: 1 }, error });
    });
  });
});
