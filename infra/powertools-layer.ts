import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ILayerVersion, LayerVersion } from 'aws-cdk-lib/aws-lambda';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';

/**
 * Powertools for AWS Lambda (Logger, Metrics, Tracer) reaches the functions as AWS's published
 * layer, not inside their bundles: Tracer carries the X-Ray SDK (124 KB minified), which would
 * take the deciding functions over the 300 KB bundle budget. The bundles mark the packages
 * external and import them only in Lambda (functions/http/lambda-observability.ts).
 *
 * The layer is the one AWS publishes for exactly the version `npm ci` installed, looked up at
 * deploy time through AWS's public SSM parameter for that version, so what the tests ran
 * against is what Lambda loads.
 */
export const POWERTOOLS_PACKAGES = ['logger', 'metrics', 'tracer'] as const;

export const POWERTOOLS_EXTERNAL = '@aws-lambda-powertools/*';

const modules = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules');

/** The installed version, the same for the three packages (package.json pins them exactly). */
export function powertoolsVersion(): string {
  const versions = new Set(
    POWERTOOLS_PACKAGES.map(
      (name) =>
        (
          JSON.parse(readFileSync(join(modules, '@aws-lambda-powertools', name, 'package.json'), 'utf8')) as {
            version: string;
          }
        ).version,
    ),
  );
  if (versions.size !== 1) {
    throw new Error(`Powertools packages differ in version (${[...versions].join(', ')}): pin them alike`);
  }
  return [...versions][0] as string;
}

export const powertoolsLayerParameter = (version: string) =>
  `/aws/service/powertools/typescript/generic/all/${version}`;

export function powertoolsLayer(scope: Construct): ILayerVersion {
  const arn = StringParameter.valueForStringParameter(scope, powertoolsLayerParameter(powertoolsVersion()));
  return LayerVersion.fromLayerVersionArn(scope, 'powertools-layer', arn);
}

/**
 * Powertools settings every function gets. Its capture of handler responses and error messages
 * into traces is turned off (they carry PHI), as is logging the incoming event.
 */
export const POWERTOOLS_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: 'claimledger',
  POWERTOOLS_METRICS_NAMESPACE: 'claimledger',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_LOGGER_LOG_EVENT: 'false',
  POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
  POWERTOOLS_TRACER_CAPTURE_ERROR: 'false',
} as const;
