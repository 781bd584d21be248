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
