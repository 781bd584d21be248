import type { BuildOptions } from 'esbuild';

/**
 * How code that runs in Lambda is built, in one place: the functions (NodejsFunction's bundling
 * in stateless-stack.ts), the Powertools layer (powertools-layer.ts) and what bench:cold loads
 * beside them.
 */
export const LAMBDA_TARGET = 'node22';

/** The SDK's ES modules tree-shake; its CommonJS builds (esbuild's default for Node) do not. */
export const LAMBDA_MAIN_FIELDS = ['module', 'main'];

/** Some bundled CommonJS dependencies (the X-Ray SDK among them) call require(); give ESM output one. */
export const REQUIRE_BANNER =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

/** The same settings as esbuild build options: one minified ES module. */
export const lambdaEsbuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: LAMBDA_TARGET,
  minify: true,
  mainFields: LAMBDA_MAIN_FIELDS,
  banner: { js: REQUIRE_BANNER },
  logLevel: 'error',
} satisfies BuildOptions;
