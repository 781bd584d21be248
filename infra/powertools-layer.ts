import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, LayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { buildSync } from 'esbuild';
import { POWERTOOLS_MODULE } from '../functions/http/lambda-observability.ts';
import { lambdaEsbuildOptions } from './lambda-build.ts';

/**
 * Powertools for AWS Lambda (Logger, Metrics, Tracer) reaches the functions as a layer, not
 * inside their bundles: Tracer carries the X-Ray SDK (124 KB minified), which would take the
 * deciding functions over the 300 KB bundle budget.
 *
 * The layer is built here, at synth, from the exact packages `npm ci` installed: one minified
 * ES module (functions/http/powertools.ts bundled), so what the tests run is what Lambda loads,
 * and a cold start reads one file instead of the hundred-odd of the packages and the X-Ray SDK
 * (imported unbundled, as AWS's published Powertools layer ships them, they took ~30 ms more per
 * function in `npm run bench:cold`). The functions mark the module external and import it only
 * in Lambda (functions/http/lambda-observability.ts, which names it).
 */
export { POWERTOOLS_MODULE };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['logger', 'metrics', 'tracer'] as const;

/** The installed version, the same for the three packages (package.json pins them exactly). */
export function powertoolsVersion(): string {
  const versions = new Set(
    PACKAGES.map(
      (name) =>
        (
          JSON.parse(
            readFileSync(join(root, 'node_modules', '@aws-lambda-powertools', name, 'package.json'), 'utf8'),
          ) as { version: string }
        ).version,
    ),
  );
  if (versions.size !== 1) {
    throw new Error(`Powertools packages differ in version (${[...versions].join(', ')}): pin them alike`);
  }
  return [...versions][0] as string;
}

/** Writes the layer's content (nodejs/node_modules/@claimledger/powertools) under `outputDir`. */
export function buildPowertoolsLayer(outputDir: string): void {
  const dir = join(outputDir, 'nodejs', 'node_modules', POWERTOOLS_MODULE);
  mkdirSync(dir, { recursive: true });
  buildSync({
    ...lambdaEsbuildOptions,
    entryPoints: [join(root, 'functions', 'http', 'powertools.ts')],
    outfile: join(dir, 'index.mjs'),
  });
  const packageJson = {
    name: POWERTOOLS_MODULE,
    version: powertoolsVersion(),
    description:
      'Powertools for AWS Lambda (TypeScript): Logger, Metrics and Tracer, bundled for claimledger',
    type: 'module',
    exports: './index.mjs',
  };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(packageJson, null, 2)}\n`);
}

export function powertoolsLayer(scope: Construct): LayerVersion {
  return new LayerVersion(scope, 'powertools-layer', {
    description: `Powertools for AWS Lambda (TypeScript) ${powertoolsVersion()}: Logger, Metrics, Tracer`,
    compatibleRuntimes: [Runtime.NODEJS_22_X],
    compatibleArchitectures: [Architecture.ARM_64],
    code: Code.fromAsset(join(root, 'functions', 'http'), {
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Built on this machine with the local esbuild, as the functions are; never in Docker.
        image: DockerImage.fromRegistry('unused'),
        local: {
          tryBundle(outputDir) {
            buildPowertoolsLayer(outputDir);
            return true;
          },
        },
      },
    }),
  });
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

/**
 * For tests and benches that run a bundle as Lambda would: makes the layer built at `layerDir`
 * resolvable from `dir`, as the runtime makes /opt/nodejs/node_modules resolvable. Nothing else
 * is: anything a bundle imported from outside itself would fail to resolve, as in Lambda.
 */
export function emulateLayer(dir: string, layerDir: string): void {
  const target = join(dir, 'node_modules');
  if (existsSync(target)) return;
  symlinkSync(join(layerDir, 'nodejs', 'node_modules'), target, 'dir');
}
