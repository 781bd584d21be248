import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { powertoolsBackend } from '../../../functions/http/lambda-observability.ts';
import { METRIC_NAMESPACE } from '../../../functions/http/logger.ts';
import { type CapturedOutput, captureOutput } from '../../support/security-log-capture.ts';

// What the deployed functions write through Powertools (Logger and Metrics from the same
// packages the layer bundles): the alarms' metric filters and the dashboards read these fields.
describe('the Powertools log backend', () => {
  let output: CapturedOutput;
  beforeEach(() => {
    output = captureOutput();
  });
  afterEach(() => output.restore());
  // Powertools writes through its own console, to stdout and stderr.
  const lines = () =>
    output.otherOutput
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  const backend = () =>
    powertoolsBackend(
      new Logger({ serviceName: 'claimledger' }),
      new Metrics({ namespace: METRIC_NAMESPACE, serviceName: 'claimledger' }),
    );

  it('keeps every allow-listed field at the top level, where the metric filters look', () => {
    backend().write('error', {
      component: 'checkpoint-publisher',
      problem: 'inconsistent-checkpoint',
      error: 'checkpoint 12 is not consistent with 10',
    });
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        service: 'claimledger',
        message: 'checkpoint-publisher',
        component: 'checkpoint-publisher',
        problem: 'inconsistent-checkpoint',
      }),
    ]);
  });

  it('writes an access line and its metrics as an EMF document with the endpoint dimension', () => {
    backend().write(
      'info',
      { route: '/claims/{id}', method: 'GET', status: 200, durationMs: 12, cold_start: true },
      {
        dimensions: { endpoint: 'GET /claims/{id}' },
        values: { Requests: { value: 1, unit: 'Count' }, Latency: { value: 12, unit: 'Milliseconds' } },
      },
    );
    const [access, emf] = lines();
    expect(access).toMatchObject({ level: 'INFO', message: 'request', route: '/claims/{id}', status: 200 });
    // Powertools adds the Lambda context itself (in Lambda); ours is not repeated beside it.
    expect(access).not.toHaveProperty('cold_start');
    expect(emf).toMatchObject({
      service: 'claimledger',
      endpoint: 'GET /claims/{id}',
      Requests: 1,
      Latency: 12,
      _aws: {
        CloudWatchMetrics: [
          {
            Namespace: 'claimledger',
            Dimensions: [expect.arrayContaining(['service', 'endpoint'])],
            Metrics: [
              { Name: 'Requests', Unit: 'Count' },
              { Name: 'Latency', Unit: 'Milliseconds' },
            ],
          },
        ],
      },
    });
  });

  it("gives each metric line its own dimensions, not the previous line's", () => {
    const logs = backend();
    logs.write(
      'info',
      { route: '/claims' },
      {
        dimensions: { endpoint: 'POST /claims' },
        values: { Requests: { value: 1, unit: 'Count' } },
      },
    );
    logs.write(
      'info',
      { message: 'decided' },
      {
        dimensions: { outcome: 'approved' },
        values: { ClaimsDecided: { value: 1, unit: 'Count' } },
      },
    );
    const emf = lines().filter((line) => '_aws' in line);
    expect(emf).toHaveLength(2);
    expect(emf[1]).toMatchObject({ outcome: 'approved', ClaimsDecided: 1 });
    expect(emf[1]).not.toHaveProperty('endpoint');
  });
});
