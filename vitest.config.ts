import { defineConfig } from 'vitest/config';

// Two cores: at most two workers. Layers are separate projects so each can be run alone
// (npm run test:unit etc.); DynamoDB Local is started once per run by the global setup.
export default defineConfig({
  test: {
    maxWorkers: 2,
    projects: [
      // Property tests run thousands of cases; on a loaded two-core runner 5 s is too tight.
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'infra',
          include: ['test/infra/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/support/dynamodb-global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
