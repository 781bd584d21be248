// The stand-ins for S3 and KMS check every request's Signature Version 4 signature with their
// own implementation (test/support/aws-stand-in.ts). Here that implementation is checked
// against two requests of AWS's published Signature Version 4 test suite, so that a request
// the stand-ins accept is one AWS would accept.

import { describe, expect, it } from 'vitest';
import { type ReceivedRequest, type SigningScope, signatureProblem } from '../../support/aws-stand-in.ts';

const suite: SigningScope = {
  service: 'service',
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
};
const SESSION_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

// post-x-www-form-urlencoded: a signed body and content type.
const formPost: ReceivedRequest = {
  method: 'POST',
  path: '/',
  headers: {
    'content-type': 'application/x-www-form-urlencoded',
    host: 'example.amazonaws.com',
    'x-amz-date': '20150830T123600Z',
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a',
  },
  body: Buffer.from('Param1=value1'),
};

// post-sts-header-before: temporary credentials, the token signed.
const stsPost: ReceivedRequest = {
  method: 'POST',
  path: '/',
  headers: {
    host: 'example.amazonaws.com',
    'x-amz-date': '20150830T123600Z',
    'x-amz-security-token': SESSION_TOKEN,
    authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead',
  },
  body: Buffer.alloc(0),
};

describe("the stand-ins' signature check, against AWS's Signature Version 4 test suite", () => {
  it('accepts the suite’s signed requests', () => {
    expect(signatureProblem(formPost, suite)).toBeNull();
    expect(
      signatureProblem(stsPost, {
        ...suite,
        credentials: { ...suite.credentials, sessionToken: SESSION_TOKEN },
      }),
    ).toBeNull();
  });

  it('refuses them once anything signed changes: body, header, secret, token or scope', () => {
    expect(signatureProblem({ ...formPost, body: Buffer.from('Param1=value2') }, suite)).toBe(
      'SignatureDoesNotMatch',
    );
    expect(
      signatureProblem(
        { ...formPost, headers: { ...formPost.headers, 'content-type': 'text/plain' } },
        suite,
      ),
    ).toBe('SignatureDoesNotMatch');
    expect(
      signatureProblem(formPost, {
        ...suite,
        credentials: { ...suite.credentials, secretAccessKey: 'other' },
      }),
    ).toBe('SignatureDoesNotMatch');
    expect(signatureProblem(formPost, { ...suite, region: 'eu-west-1' })).toMatch(/wrong credential scope/);
    expect(
      signatureProblem(stsPost, { ...suite, credentials: { ...suite.credentials, sessionToken: 'another' } }),
    ).toBe('InvalidToken');
    expect(
      signatureProblem(formPost, {
        ...suite,
        credentials: { ...suite.credentials, sessionToken: SESSION_TOKEN },
      }),
    ).toBe('x-amz-security-token is not signed');
  });
});
