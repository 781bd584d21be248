/**
 * The Powertools layer's one module (`@claimledger/powertools`): what the Lambda functions use of
 * Powertools for AWS Lambda, bundled and minified at synth by infra/powertools-layer.ts. Nothing
 * imports this file directly; functions/http/lambda-observability.ts imports the layer's build
 * of it in Lambda.
 */
export { Logger } from '@aws-lambda-powertools/logger';
export { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
export { Metrics } from '@aws-lambda-powertools/metrics';
export { Tracer } from '@aws-lambda-powertools/tracer';
export { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
