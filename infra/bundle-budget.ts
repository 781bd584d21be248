/**
 * Size budget of every Lambda bundle (index.mjs, minified), asserted by
 * test/integration/lambda-bundles.test.ts over the synthesized assets and printed by
 * `npm run bench:cold`. Smaller bundles start faster: the import is most of a cold start
 * that the code controls. README "Bundle budget" has the measured composition.
 */
export const BUNDLE_BUDGET_BYTES = 300 * 1024;
