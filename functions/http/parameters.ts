import type { APIGatewayProxyEvent } from 'aws-lambda';
import { HttpProblem } from './problem.ts';

/** A path parameter that must match `shape`; anything else cannot name a resource: 404. */
export function pathParameter(event: APIGatewayProxyEvent, name: string, shape: RegExp): string {
  const value = event.pathParameters?.[name];
  if (value === undefined || !shape.test(value)) {
    throw new HttpProblem('not-found', `No resource has ${name} "${String(value).slice(0, 80)}".`);
  }
  return value;
}

/**
 * A non-negative integer from the path or query string (journal indices and tree sizes).
 * Absent: undefined when optional. Anything but plain decimal digits within 2^53 is a 400
 * that names the parameter, so `1e3`, `-1`, `0x10` or ` 7` never reach the journal.
 */
export function integerParameter(
  event: APIGatewayProxyEvent,
  name: string,
  where: 'path' | 'query',
  required: boolean,
): number | undefined {
  const value = (where === 'path' ? event.pathParameters : event.queryStringParameters)?.[name];
  if (value === undefined || value === null) {
    if (!required) return undefined;
    throw new HttpProblem('bad-request', `The ${where} parameter "${name}" is required.`, {
      errors: [{ path: name, message: 'required' }],
    });
  }
  const number = Number(value);
  if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(number)) {
    throw new HttpProblem(
      'bad-request',
      `The ${where} parameter "${name}" must be a non-negative integer, got "${value.slice(0, 40)}".`,
      { errors: [{ path: name, message: 'must be a non-negative integer' }] },
    );
  }
  return number;
}
