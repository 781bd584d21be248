import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { FieldIssue } from '#claims/errors.ts';
import type * as z from '#functions/zod.ts';
import { HttpProblem } from './problem.ts';

/** Request bodies above 1 MB are refused before parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;

const jsonMediaType = /^application\/(?:fhir\+)?json\s*(?:;|$)/i;

/**
 * The body as a validated value: 415 for a non-JSON content type, 413 above the size limit,
 * 400 for malformed JSON, 422 listing every offending field as a JSON Pointer.
 */
export function parseJsonBody<S extends z.ZodMiniType>(event: APIGatewayProxyEvent, schema: S): z.infer<S> {
  const contentType = header(event, 'content-type');
  if (contentType === undefined || !jsonMediaType.test(contentType)) {
    throw new HttpProblem('unsupported-media-type', 'Send the body as application/json.');
  }
  const raw = event.isBase64Encoded
    ? Buffer.from(event.body ?? '', 'base64')
    : Buffer.from(event.body ?? '', 'utf8');
  if (raw.byteLength > MAX_BODY_BYTES) {
    throw new HttpProblem(
      'payload-too-large',
      `The body is ${raw.byteLength} bytes; the limit is ${MAX_BODY_BYTES}.`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch {
    throw new HttpProblem('malformed-json', 'The body is not valid UTF-8 JSON.');
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const errors: FieldIssue[] = parsed.error.issues.map((issue) => ({
      path: `/${issue.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`,
      message: issue.message,
    }));
    throw new HttpProblem('validation-failed', `${errors.length} field(s) are invalid.`, { errors });
  }
  return parsed.data;
}

export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}
