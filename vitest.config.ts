import { defineConfig } from 'vitest/config';

/**
 * Two projects. `unit` (test/unit, test/contract, test/golden) runs in-process only: no build of
 * dist/, no subprocess of the built CLI, so it stays fast (`npm run test:unit`). `integration`
 * (test/integration) runs the built CLI as users do, so its global setup builds dist/ first.
 * `vitest run` runs both.
 */
export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Subprocesses, signals and environment variables of their own: each test file in its own process.
    pool: 'forks',
    // 2-core machines: keep heavy integration files from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/golden/**/*.test.ts'],
          // In-process only, so threads: a third less CPU than forks for the same files.
          pool: 'threads',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
