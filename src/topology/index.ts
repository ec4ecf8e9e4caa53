/**
 * src/topology: start and stop what a run targets and inject faults into it.
 *
 * - Bundled: `nodes` reference-server processes on ephemeral loopback ports
 *   (ids n0..n{N-1}); with more than one node they share a Redis, a private
 *   redis-server unless `redisUrl` is given. A node with several cluster
 *   workers runs them with `ports=per-worker` (unless told otherwise) and each
 *   worker's own URL becomes a target URL of that node (`urlNodes`).
 * - External: the given URLs, probed with a TCP connect; nothing is started and
 *   faults are refused, except pause-node when the user gave a way to freeze the
 *   target (freeze-pid, or pause-command and resume-command: src/topology/freezer.ts).
 */
import { existsSync } from 'node:fs';
import { EXIT, harnessError, isWsbenchError, usageError } from '../errors.ts';
import type { NodeReport, TargetInfo } from '../report/schema.ts';
import { BUNDLED_WORKER_PORTS, RESTART_ATTEMPTS, STATS_TIMEOUT_MS, STOP_GRACE_MS } from './defaults.ts';
import { formatFault } from './faults.ts';
import { httpGet } from './http.ts';
import { BundledNode, SERVER_MAIN } from './node.ts';
import { probeTargets } from './probe.ts';
import { planServerWorkers } from './sizing.ts';
import { freezerFrom, withoutFreezeKeys } from './freezer.ts';
import { readFdLimit } from '../workers/limits.ts';
import { startRedisServer, type RedisServerHandle } from './redis.ts';
import type { FaultAction, NodeHandle, Topology, TopologySpec } from './types.ts';
import { DEV_SECRET } from '../protocol/jwt.ts';

export type { FaultAction, NodeHandle, Protocol, Topology, TopologySpec } from './types.ts';
export { parseDuration, durationProblem, DURATION_FORMS } from './duration.ts';
export { parseFault, formatFault, FAULT_FORMS, FAULT_KINDS, type ScheduledFault } from './faults.ts';
export { startRedisServer, findRedisServer, type RedisServerHandle, type RedisServerOptions } from './redis.ts';
export { freePort } from './ports.ts';
export { killAllChildrenSync } from './children.ts';
export { probeTargets } from './probe.ts';
export { SERVER_MAIN } from './node.ts';
export { planServerWorkers, type ServerSizing, type ServerSizingInput } from './sizing.ts';
export { FREEZE_KEYS, canFreeze, freezerFrom, type Freezer } from './freezer.ts';

type ExitCallback = (what: string, code: number | null, signal: string | null, stderr?: string) => void;

/**
 * Bring up what `spec` describes and resolve once every node answers `/healthz`
 * with 200 (bundled) or accepts TCP connections (external).
 *
 * @throws usage error (exit 2) for a bad spec or options the server refuses;
 *   harness error (exit 3) when a node, the redis-server or a target cannot be started or reached.
 *   Whatever was started before the failure is stopped first.
 */
export async function startTopology(spec: TopologySpec): Promise<Topology> {
  if (spec.targets && spec.targets.length > 0) return startExternal(spec, spec.targets);
  return startBundled(spec);
}

async function startExternal(spec: TopologySpec, targets: string[]): Promise<Topology> {
  if (spec.nodes !== undefined && spec.nodes !== targets.length && spec.nodes !== 1) {
    throw usageError('WSB_ERR_TOPOLOGY', `nodes=${spec.nodes} does not apply to external targets (${targets.length} URL(s) given)`, 'drop the nodes option: every target URL is one node');
  }
  const freezer = freezerFrom(spec.server ?? {});
  await probeTargets(targets);
  const nodes: NodeHandle[] = targets.map((url, index) => ({ id: `t${index}`, index, url, alive: true }));
  const target: TargetInfo = { kind: 'external', protocol: spec.protocol, nodes: nodes.length, urls: [...targets] };
  // Ends a pause early when the run stops; the target is always resumed.
  const stopSignal = new AbortController();
  return {
    target,
    nodes,
    urlNodes: nodes.map((n) => n.index),
    secret: spec.server?.secret,
    notes: freezer ? [`the target is frozen through ${freezer.what} (the frozen-server phase)`] : [],
    async fault(action) {
      if (action.kind === 'pause-node' && freezer) {
        await freezer.pause();
        try {
          await sleep(action.durationMs, stopSignal.signal);
        } finally {
          await freezer.resume();
        }
        return;
      }
      throw usageError(
        'WSB_ERR_FAULT',
        `cannot inject ${formatFault(action)} into an external target`,
        action.kind === 'pause-node' ? 'give a way to freeze it: --set freeze-pid=PID, or --set pause-command=... with --set resume-command=...' : 'faults need the bundled server: drop the target URLs',
      );
    },
    async scrapeStats() {
      return nodes.map((n) => ({ id: n.id, url: n.url }));
    },
    onUnexpectedExit() {
      // Nothing of ours runs.
    },
    async stop() {
      stopSignal.abort();
    },
  };
}

async function startBundled(spec: TopologySpec): Promise<Topology> {
  const count = spec.nodes ?? 1;
  if (!Number.isInteger(count) || count < 1) {
    throw usageError('WSB_ERR_TOPOLOGY', `nodes must be a whole number >= 1, got ${count}`);
  }
  // The bundled node is frozen by wsbench itself (pause-node), never through the user's freezer.
  const server = withoutFreezeKeys(spec.server ?? {});
  if (server.port !== undefined && !(/^\d+$/.test(server.port) && Number(server.port) <= 65535)) {
    throw usageError('WSB_ERR_TOPOLOGY', `server port must be an integer from 0 to 65535, got "${server.port}"`);
  }
  if (server.port !== undefined && server.port !== '0' && count > 1) {
    throw usageError('WSB_ERR_TOPOLOGY', `server port ${server.port} cannot be shared by ${count} nodes`, 'drop the port option: bundled nodes use ephemeral ports');
  }
  const notes: string[] = [];
  if (spec.clients !== undefined) {
    const sizing = planServerWorkers({ clients: spec.clients, nodes: count, fdLimit: spec.fdLimit ?? readFdLimit(), protocol: spec.protocol, workers: server.workers });
    if (sizing.workers !== undefined) server.workers = String(sizing.workers);
    if (sizing.note) notes.push(sizing.note);
  }
  if (spec.protocol === 'ws' && Number(server.workers) > 1 && server.ports === undefined) server.ports = BUNDLED_WORKER_PORTS;
  const entry = spec.serverEntry ?? SERVER_MAIN;
  if (!existsSync(entry)) {
    throw harnessError('WSB_ERR_SERVER_MISSING', `the bundled server is missing: ${entry} does not exist`, 'reinstall wsbench, or pass target URLs to test a server of your own');
  }
  const log = spec.log ?? (() => {});
  const callbacks: ExitCallback[] = [];
  const unexpected: ExitCallback = (what, code, sig, stderr) => {
    for (const cb of callbacks) {
      try {
        cb(what, code, sig, stderr);
      } catch {
        // a listener's bug must not take the topology down
      }
    }
  };

  let redis: RedisServerHandle | undefined;
  let redisUrl = spec.redisUrl;
  const nodes: BundledNode[] = [];
  let stopping: Promise<void> | undefined;
  // Ends fault waits (pause, downtime) early when the topology stops.
  const stopSignal = new AbortController();
  const wait = (ms: number) => sleep(ms, stopSignal.signal);

  const stop = () => {
    stopping ??= (async () => {
      stopSignal.abort();
      await Promise.allSettled(nodes.map((n) => n.stop()));
      if (redis) await redis.stop();
    })();
    return stopping;
  };

  try {
    if (count > 1 && redisUrl === undefined) {
      redis = await startRedisServer({ log: (line) => log(`[redis] ${line}`) });
      redisUrl = redis.url;
      redis.onUnexpectedExit((code, sig) => unexpected('redis-server', code, sig));
    }
    for (let i = 0; i < count; i++) {
      const node: BundledNode = new BundledNode({
        index: i,
        protocol: spec.protocol,
        server,
        redisUrl: count > 1 ? redisUrl : undefined,
        entry: spec.serverEntry,
        startTimeoutMs: spec.startTimeoutMs,
        log,
        onUnexpectedExit: (code, sig, stderr) => unexpected(`node ${node.id}`, code, sig, stderr),
      });
      nodes.push(node);
    }
    const firstPort = count === 1 && server.port !== undefined ? Number(server.port) : 0;
    const results = await Promise.allSettled(nodes.map((n) => n.start(firstPort)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    if (failed.length > 0) throw failed[0];
  } catch (e) {
    await stop();
    throw e;
  }

  const secret = server.secret ?? DEV_SECRET;
  // Per-worker ports: every worker is a URL of its own (of its node), so the harness spreads clients over them.
  const nodeUrls = nodes.map((n) => (n.workerUrls.length > 0 ? n.workerUrls : [n.url]));
  const target: TargetInfo = { kind: 'bundled', protocol: spec.protocol, nodes: count, urls: nodeUrls.flat() };
  const urlNodes = nodeUrls.flatMap((urls, i) => urls.map(() => i));

  const nodeAt = (index: number, action: FaultAction): BundledNode => {
    const node = nodes[index];
    if (!node) {
      throw usageError('WSB_ERR_FAULT', `${formatFault(action)}: there is no node ${index} (this topology has nodes 0..${count - 1})`);
    }
    return node;
  };
  const running = (node: BundledNode, action: FaultAction): BundledNode => {
    if (!node.alive) throw harnessError('WSB_ERR_FAULT', `${formatFault(action)}: node ${node.id} is not running`);
    return node;
  };

  const fault = async (action: FaultAction): Promise<void> => {
    if (stopping) throw harnessError('WSB_ERR_FAULT', `${formatFault(action)}: the topology is stopping`);
    switch (action.kind) {
      case 'kill-node': {
        await running(nodeAt(action.node, action), action).kill();
        return;
      }
      case 'restart-node': {
        const node = nodeAt(action.node, action);
        // A node that is already down (killed earlier) is simply started again. The grace
        // outlasts the server's own drain timeout, so a restart stays graceful.
        await node.stop(drainTimeoutMs(server) + STOP_GRACE_MS);
        if (action.durationMs) await wait(action.durationMs);
        if (stopping) return;
        await restartOnSamePort(node);
        return;
      }
      case 'pause-node': {
        const node = running(nodeAt(action.node, action), action);
        node.signal('SIGSTOP');
        try {
          await wait(action.durationMs);
        } finally {
          node.signal('SIGCONT');
        }
        return;
      }
      case 'restart-redis': {
        if (!redis) {
          throw usageError(
            'WSB_ERR_FAULT',
            spec.redisUrl !== undefined
              ? `${formatFault(action)}: the Redis at ${spec.redisUrl} was not started by wsbench, so it cannot restart it`
              : `${formatFault(action)}: this topology has no Redis (a single node runs without one)`,
            'restart-redis needs several bundled nodes and no --redis URL',
          );
        }
        await redis.restart(action.durationMs ?? 0);
        return;
      }
      case 'drop-all': {
        const targets = action.node === undefined ? nodes.filter((n) => n.alive) : [running(nodeAt(action.node, action), action)];
        for (const n of targets) n.signal('SIGUSR2');
        return;
      }
    }
  };

  const scrapeStats = async (): Promise<NodeReport[]> =>
    Promise.all(
      nodes.map(async (n): Promise<NodeReport> => {
        const report: NodeReport = { id: n.id, url: n.url };
        if (!n.alive || n.paused) return report;
        try {
          const res = await httpGet(`${n.httpUrl}/stats`, STATS_TIMEOUT_MS);
          if (res.status === 200) {
            const stats: unknown = JSON.parse(res.body);
            if (stats !== null && typeof stats === 'object' && !Array.isArray(stats)) report.stats = stats as Record<string, unknown>;
          }
        } catch {
          // unreachable or not JSON: reported without stats
        }
        return report;
      }),
    );

  return {
    target,
    nodes,
    urlNodes,
    get redis() {
      return redis ? { url: redis.url, pid: redis.pid } : redisUrl !== undefined && count > 1 ? { url: redisUrl } : undefined;
    },
    secret,
    notes,
    fault,
    scrapeStats,
    onUnexpectedExit(cb) {
      callbacks.push(cb);
    },
    stop,
  };
}

/** The server's drain timeout in milliseconds (its `drain-timeout-ms` option, default 5000). */
function drainTimeoutMs(server: Record<string, string>): number {
  const v = Number(server['drain-timeout-ms']);
  return Number.isFinite(v) && v >= 0 ? v : 5_000;
}

/** Start `node` again on the port it had, retrying briefly while the port is still held. */
async function restartOnSamePort(node: BundledNode): Promise<void> {
  const port = node.port;
  let lastError: unknown;
  for (let attempt = 0; attempt < RESTART_ATTEMPTS; attempt++) {
    try {
      await node.start(port);
      return;
    } catch (e) {
      lastError = e;
      // Refused options will be refused again.
      if (isWsbenchError(e) && e.exitCode === EXIT.usage) break;
      await sleep(250);
    }
  }
  throw lastError;
}

/** Resolves after `ms` milliseconds, or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
