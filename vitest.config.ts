import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Load tests share two cores with the servers they start; running test files
    // one at a time keeps latency-sensitive assertions honest.
    fileParallelism: false,
    pool: 'forks',
  },
});
