// Where the functions' AWS client sends requests when no endpoint is given: the precedence the
// SDK documents (AWS_ENDPOINT_URL_<SERVICE>, then AWS_ENDPOINT_URL, then the regional endpoint),
// FIPS endpoints on request, the China partition's domain, and S3's virtual-hosted buckets.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { AwsHttpClient, awsEndpoint, configuredEndpoint } from '../../../functions/store/aws-http.ts';
import { virtualHostedEndpoint } from '../../../functions/store/s3-bucket.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('AWS endpoints', () => {
  it('prefers the service’s own variable, then the general one, then none', () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    expect(configuredEndpoint('dynamodb')).toBeUndefined();
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://localstack:4566');
    expect(configuredEndpoint('dynamodb')).toBe('http://localstack:4566');
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', 'http://ddb-local:8000');
    expect(configuredEndpoint('dynamodb')).toBe('http://ddb-local:8000');
    expect(configuredEndpoint('kms')).toBe('http://localstack:4566');
  });

  it('builds regional, FIPS and China endpoints', () => {
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', '');
    expect(awsEndpoint('dynamodb', 'eu-west-1')).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(awsEndpoint('kms', 'cn-north-1')).toBe('https://kms.cn-north-1.amazonaws.com.cn');
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', 'true');
    expect(awsEndpoint('dynamodb', 'us-gov-west-1')).toBe(
      'https://dynamodb-fips.us-gov-west-1.amazonaws.com',
    );
  });

  it('addresses an S3 bucket by virtual host', () => {
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', '');
    expect(virtualHostedEndpoint('claimledger-prod-checkpoints', 'us-east-2')).toBe(
      'https://claimledger-prod-checkpoints.s3.us-east-2.amazonaws.com/',
    );
  });

  it('resolves a client’s endpoint from the environment when given none', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', '');
    vi.stubEnv('AWS_ENDPOINT_URL', 'http://localstack:4566');
    const client = await AwsHttpClient.create({
      service: 'dynamodb',
      region: 'eu-west-1',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(client.endpoint.href).toBe('http://localstack:4566/');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_REGION', 'ap-southeast-2');
    const regional = await AwsHttpClient.create({
      service: 'kms',
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(regional.endpoint.href).toBe('https://kms.ap-southeast-2.amazonaws.com/');
  });

  it('makes an endpoint given as a function (S3’s virtual host) from the resolved region', async () => {
    vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    vi.stubEnv('AWS_USE_FIPS_ENDPOINT', '');
    vi.stubEnv('AWS_REGION', 'eu-central-1');
    const client = await AwsHttpClient.create({
      service: 's3',
      s3: true,
      endpoint: (region) => virtualHostedEndpoint('claimledger-dev-checkpoints', region),
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    expect(client.endpoint.href).toBe('https://claimledger-dev-checkpoints.s3.eu-central-1.amazonaws.com/');
  });
});
