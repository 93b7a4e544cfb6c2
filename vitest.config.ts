import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: keep heavy integration files from starving each other.
    maxWorkers: 2,
    minWorkers: 1,
    reporters: ['default'],
  },
});
