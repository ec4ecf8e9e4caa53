/**
 * Timeouts and limits of the topology module, in one place.
 */

/** How long a bundled node may take to print its URL (stdout line 1), in milliseconds. */
export const NODE_START_TIMEOUT_MS = 15_000;

/** How long a bundled node may take, after printing its URL, to answer `/healthz` with 200, in milliseconds. */
export const NODE_HEALTHY_TIMEOUT_MS = 15_000;

/** Interval between two `/healthz` polls while a node starts, in milliseconds. */
export const HEALTH_POLL_INTERVAL_MS = 100;

/** Timeout of one `/healthz` request while a node starts, in milliseconds. */
export const HEALTH_REQUEST_TIMEOUT_MS = 1_000;

/** Grace period between SIGTERM and SIGKILL when stopping a node or redis-server, in milliseconds. */
export const STOP_GRACE_MS = 5_000;

/** Timeout of one `/stats` request in `scrapeStats()`, in milliseconds. */
export const STATS_TIMEOUT_MS = 2_000;

/** Timeout of the TCP connect that probes an external target, in milliseconds. */
export const PROBE_TIMEOUT_MS = 3_000;

/** How long a redis-server may take to answer PING after it was spawned, in milliseconds. */
export const REDIS_START_TIMEOUT_MS = 10_000;

/** Attempts at starting a redis-server on a freshly picked port before giving up (port races). */
export const REDIS_PORT_ATTEMPTS = 5;

/** Attempts at starting a node again on its previous port during `restart-node` (port still held). */
export const RESTART_ATTEMPTS = 3;

/** Lines of a child's stderr kept for error messages. */
export const STDERR_TAIL_LINES = 30;

/**
 * The `ports` server option a bundled node with several cluster workers gets when
 * the user did not choose one: `per-worker`, each worker accepts on a port of its
 * own and the harness spreads clients over them (no single accepting process;
 * docs/BENCHMARKS.md, "Accept path").
 */
export const BUNDLED_WORKER_PORTS = 'per-worker';
