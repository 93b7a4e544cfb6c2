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
    // 2-core machines: keep heavy integration files from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
    // Pool options are global in vitest 3: only `unit` runs on threads, and there a worker keeps its
    // modules from one file to the next instead of loading them again (about half the CPU time). So a
    // unit test must leave no global state behind (no vi.mock, process.env restored); one that
    // cannot belongs in integration.
    poolOptions: { threads: { isolate: false } },
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/contract/**/*.test.ts', 'test/golden/**/*.test.ts'],
          pool: 'threads',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // Subprocesses, signals and environment variables of their own: each file in its own process.
          pool: 'forks',
          globalSetup: ['test/support/global-setup.ts'],
        },
      },
    ],
  },
});
