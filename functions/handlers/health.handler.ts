import type { APIGatewayProxyResult } from 'aws-lambda';

/** GET /health: liveness only; touches no data and needs no token. */
export const handler = async (): Promise<APIGatewayProxyResult> => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ status: 'ok' }),
});
