import { defineConfig } from 'vitest/config';

/**
 * Pure unit test files: no child process, no server or socket, no clock or CPU
 * measurement (checked by reading them). They run two at a time, before everything
 * else. Any file not named here runs alone, so a new load test is safe by default;
 * add a file here only when it starts nothing and times nothing.
 */
const UNIT = [
  'test/capacity/plan.test.ts',
  'test/checks/variants-verdict.test.ts',
  'test/cli/readme-coverage.test.ts',
  'test/engine/ledger-tag.test.ts',
  'test/engine/ledger.test.ts',
  'test/engine/sleep-wheel.test.ts',
  'test/errors.test.ts',
  'test/gates/evaluate.test.ts',
  'test/gates/noise.test.ts',
  'test/gates/parse.test.ts',
  'test/metrics/aggregator.test.ts',
  'test/metrics/histogram.test.ts',
  'test/metrics/names.test.ts',
  'test/metrics/recorder.test.ts',
  'test/output/compare.test.ts',
  'test/output/format.test.ts',
  'test/output/html.test.ts',
  'test/output/json-report.test.ts',
  'test/output/junit.test.ts',
  'test/output/markdown.test.ts',
  'test/output/progress.test.ts',
  'test/output/table.test.ts',
  'test/output/unverified.test.ts',
  'test/protocol/raw-frame.test.ts',
  'test/protocol/raw-reply-scan.test.ts',
  'test/protocol/raw-scan.test.ts',
  'test/security/fuzz.test.ts',
  'test/security/memory-guard.test.ts',
  'test/server-ws/dispatch.test.ts',
  'test/server-ws/fuzz.test.ts',
  'test/slow-consumer/conditions.test.ts',
  'test/socketio-lean/scan.test.ts',
  'test/truth/doc-comments.test.ts',
  'test/truth/module-boundaries.test.ts',
  'test/units/units.test.ts',
];

export default defineConfig({
  test: {
    // Tests that spawn `wsbench` run the compiled dist/: build it first (fast, only changed files).
    globalSetup: ['test/support/build-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      // First, alone on the machine: the pure unit files, two at a time (a file's start-up
      // is most of its cost, and they share nothing).
      { extends: true, test: { name: 'unit', include: UNIT, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      // Then everything else one file at a time: load tests share two cores with the servers
      // they start, and running them alone keeps latency-sensitive assertions honest.
      { extends: true, test: { name: 'load', include: ['test/**/*.test.ts'], exclude: UNIT, fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
  },
});
