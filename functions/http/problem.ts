import type { APIGatewayProxyResult } from 'aws-lambda';
import type { FieldIssue } from '#claims/errors.ts';

/** Stable problem `type` URIs (RFC 9457): clients branch on these, never on messages. */
export const PROBLEM_BASE = 'https://claimledger.dev/problems/';

export const problemKinds = {
  'malformed-json': { status: 400, title: 'Malformed JSON' },
  'bad-request': { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  conflict: { status: 409, title: 'Conflict' },
  'precondition-failed': { status: 412, title: 'Precondition failed' },
  'payload-too-large': { status: 413, title: 'Payload too large' },
  'unsupported-media-type': { status: 415, title: 'Unsupported media type' },
  'validation-failed': { status: 422, title: 'Validation failed' },
  'precondition-required': { status: 428, title: 'Precondition required' },
  throttled: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal error' },
} as const;

export type ProblemKind = keyof typeof problemKinds;

/** An error that already knows its problem kind; handlers and middlewares throw it. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  constructor(
    readonly kind: ProblemKind,
    readonly detail: string,
    readonly extensions: { errors?: FieldIssue[] } = {},
  ) {
    super(detail);
  }
}

export function problemResponse(problem: HttpProblem, instance?: string): APIGatewayProxyResult {
  const { status, title } = problemKinds[problem.kind];
  return {
    statusCode: status,
    headers: {
      'content-type': 'application/problem+json',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
    body: JSON.stringify({
      type: `${PROBLEM_BASE}${problem.kind}`,
      title,
      status,
      detail: problem.detail,
      ...(instance ? { instance } : {}),
      ...problem.extensions,
    }),
  };
}
