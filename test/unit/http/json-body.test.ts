import type { APIGatewayProxyEvent } from 'aws-lambda';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { claimSubmissionSchema } from '../../../functions/claims/claim.schema.ts';
import { identityFrom } from '../../../functions/http/identity.ts';
import { MAX_BODY_BYTES, parseJsonBody } from '../../../functions/http/json-body.ts';
import { HttpProblem } from '../../../functions/http/problem.ts';

const event = (
  body: string | null,
  headers: Record<string, string> = { 'Content-Type': 'application/json' },
  isBase64Encoded = false,
) => ({ body, headers, isBase64Encoded }) as unknown as APIGatewayProxyEvent;

const kindOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (error: unknown) {
    if (error instanceof HttpProblem) return error.kind;
    throw error;
  }
};

describe('parseJsonBody', () => {
  it('maps each kind of bad body to its problem', () => {
    expect(
      kindOf(() => parseJsonBody(event('{}', { 'content-type': 'text/plain' }), claimSubmissionSchema)),
    ).toBe('unsupported-media-type');
    expect(kindOf(() => parseJsonBody(event('{}', {}), claimSubmissionSchema))).toBe(
      'unsupported-media-type',
    );
    expect(kindOf(() => parseJsonBody(event('{"a":'), claimSubmissionSchema))).toBe('malformed-json');
    expect(
      kindOf(() =>
        parseJsonBody(
          event(Buffer.from([0xff, 0xfe]).toString('base64'), undefined, true),
          claimSubmissionSchema,
        ),
      ),
    ).toBe('malformed-json');
    expect(kindOf(() => parseJsonBody(event(`"${'x'.repeat(MAX_BODY_BYTES)}"`), claimSubmissionSchema))).toBe(
      'payload-too-large',
    );
    expect(kindOf(() => parseJsonBody(event('{}'), claimSubmissionSchema))).toBe('validation-failed');
  });

  it('accepts application/json with a charset and application/fhir+json', () => {
    for (const type of ['application/json; charset=utf-8', 'Application/FHIR+JSON']) {
      expect(kindOf(() => parseJsonBody(event('{}', { 'content-type': type }), claimSubmissionSchema))).toBe(
        'validation-failed',
      );
    }
  });

  it('names offending fields as JSON Pointers', () => {
    try {
      parseJsonBody(event(JSON.stringify({ claimId: '', 'a/b': 1 })), claimSubmissionSchema);
      expect.unreachable();
    } catch (error: unknown) {
      const paths = (error as HttpProblem).extensions.errors?.map((e) => e.path) ?? [];
      expect(paths).toContain('/claimId');
      expect(paths).toContain('/lines');
    }
  });

  it('throws nothing but an HttpProblem for any string body', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (body) => {
        expect(['ok', 'malformed-json', 'validation-failed']).toContain(
          kindOf(() => parseJsonBody(event(body), claimSubmissionSchema)),
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe('identityFrom', () => {
  const withClaims = (claims: Record<string, string> | undefined) =>
    ({ requestContext: { authorizer: claims ? { claims } : null } }) as unknown as APIGatewayProxyEvent;

  it('reads groups and NPIs in each form API Gateway passes them', () => {
    expect(
      identityFrom(
        withClaims({ sub: 'a', 'cognito:groups': 'provider,analyst', 'custom:npi': '1234567893' }),
      ),
    ).toEqual({
      sub: 'a',
      roles: ['provider', 'analyst'],
      npis: ['1234567893'],
    });
    expect(identityFrom(withClaims({ sub: 'a', 'cognito:groups': '[analyst rules-admin]' }))?.roles).toEqual([
      'analyst',
      'rules-admin',
    ]);
  });

  it('ignores unknown groups and malformed NPIs, and has no identity without claims', () => {
    expect(
      identityFrom(withClaims({ sub: 'a', 'cognito:groups': 'admin,root', 'custom:npi': '12,abc' })),
    ).toEqual({ sub: 'a', roles: [], npis: [] });
    expect(identityFrom(withClaims(undefined))).toBeNull();
    expect(identityFrom(withClaims({ 'cognito:groups': 'analyst' }))).toBeNull();
  });
});
