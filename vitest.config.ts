import { defineConfig } from 'vitest/config';

/**
 * Pure unit test files: no child process, no server or socket, no clock or CPU
 * measurement (checked by reading them). They run two at a time, before everything
 * else. Any file not named here or in LIGHT runs alone, so a new load test is safe by
 * default; add a file here only when it starts nothing and times nothing.
 */
const UNIT = [
  'test/engine/arrival-block.test.ts',
  'test/output/server-side.test.ts',
  'test/server-ws/room-hub.test.ts',
  'test/capacity/plan.test.ts',
  'test/checks/epoch-ledger.test.ts',
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
  'test/output/server-side.test.ts',
  'test/output/table.test.ts',
  'test/output/unverified.test.ts',
  'test/protocol/jwt.test.ts',
  'test/protocol/raw-frame.test.ts',
  'test/protocol/raw-reply-scan.test.ts',
  'test/protocol/raw-scan.test.ts',
  'test/security/fuzz.test.ts',
  'test/security/memory-guard.test.ts',
  'test/server-ws/dispatch.test.ts',
  'test/server-ws/fuzz.test.ts',
  'test/server-ws/options-jwt.test.ts',
  'test/server-ws/seq-order.test.ts',
  'test/slow-consumer/conditions.test.ts',
  'test/socketio-lean/scan.test.ts',
  'test/storm/backoff.test.ts',
  'test/storm/not-back.test.ts',
  'test/storm/snapshot-encoding.test.ts',
  'test/topology/parse.test.ts',
  'test/truth/doc-comments.test.ts',
  'test/truth/module-boundaries.test.ts',
  'test/units/units.test.ts',
  'test/workers/runtime.test.ts',
];

/**
 * Light load files: they start servers and clients, but judge only counts, exact ledgers,
 * exit codes and wire content, never a latency, a timing window, memory or CPU (checked by
 * reading them; their waits are generous timeouts). They run two at a time, after the unit
 * files and before the load files. A file that asserts a time, memory or CPU figure, or a
 * fail-over that must fit in its run, stays out of this list.
 */
const LIGHT = [
  'test/observe/scrape-tls.test.ts',
  'test/server-socketio/offline-binary.test.ts',
  'test/server-ws/upgrade.test.ts',
  'test/checks/ledger-rejoin.test.ts',
  'test/checks/restart-epoch.test.ts',
  'test/checks/socketio-refusals.test.ts',
  'test/cli/compiled.test.ts',
  'test/conformance/node-identity.test.ts',
  'test/engine/ledger-gallery.test.ts',
  'test/engine/server-said.test.ts',
  'test/external/deployment.test.ts',
  'test/protocol/mapped-adapter.test.ts',
  'test/scenarios-chat/chat.test.ts',
  'test/security/auth-retention.test.ts',
  'test/server-redis/bus.test.ts',
  'test/server-redis/nodes.test.ts',
  'test/server-redis/outage.test.ts',
  'test/server-socketio/binary.test.ts',
  'test/server-socketio/main.test.ts',
  'test/server-socketio/offline-binary.test.ts',
  'test/server-socketio/order.test.ts',
  'test/server-socketio/redis.test.ts',
  'test/server-socketio/relay-ack.test.ts',
  'test/server-socketio/resume.test.ts',
  'test/server-socketio/slow-consumer.test.ts',
  'test/server-ws/main.test.ts',
  'test/socketio-lean/selection.test.ts',
  'test/socketio/adapter.e2e.test.ts',
  'test/topology/per-worker-ports.test.ts',
  'test/topology/sizing.test.ts',
  'test/wire/payloads.test.ts',
  'test/wire/tls.test.ts',
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
      // is most of its cost, and they share nothing). One process per worker for all its
      // files (isolate: false): a fresh one per file cost 0.3 s of start-up each.
      { extends: true, test: { name: 'unit', include: UNIT, maxWorkers: 2, isolate: false, sequence: { groupOrder: 0 } } },
      // Then the light load files, two at a time: what they judge does not depend on having
      // the machine to themselves.
      { extends: true, test: { name: 'light', include: LIGHT, maxWorkers: 3, isolate: false, sequence: { groupOrder: 1 } } },
      // Then everything else one file at a time: load tests share two cores with the servers
      // they start, and running them alone keeps latency-sensitive assertions honest. Each in
      // a fresh process, as before: with one process for all of them (isolate: false, 0.3 s
      // less per file) four timing-judged tests failed in a suite run at load 11, and whether
      // load alone did it was not settled.
      { extends: true, test: { name: 'load', include: ['test/**/*.test.ts'], exclude: [...UNIT, ...LIGHT], fileParallelism: false, sequence: { groupOrder: 2 } } },
    ],
  },
});
