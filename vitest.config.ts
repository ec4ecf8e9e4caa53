import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that spawn `wsbench` run the compiled dist/: build it first (fast, only changed files).
    globalSetup: ['test/support/build-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Load tests share two cores with the servers they start; running test files
    // one at a time keeps latency-sensitive assertions honest.
    fileParallelism: false,
    pool: 'forks',
  },
});
