/**
 * Server statistics: plain counters the hot path increments (no library call
 * per frame), a process snapshot, and a prom-client registry per server that
 * reads them at scrape time (so several servers in one process never share
 * metric state).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';
import type { ServerOptions } from './options.ts';
import type { RetentionStats } from './room-log.ts';
import type { MemoryGuardStats } from './memory-guard.ts';

/**
 * CPU and memory of one process of a node. A node is one process, or a cluster primary and its
 * workers (`--workers N`); `/metrics` reports the whole node as the `wsbench_node_*` series.
 */
export interface ProcessUsage {
  /** `single`: the node is this one process; `primary`/`worker`: a process of a cluster. */
  role: 'single' | 'primary' | 'worker';
  pid: number;
  /** User + system CPU time since the process started, seconds. */
  cpuSeconds: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory outside the V8 heap held by JavaScript objects (Buffers). */
  externalBytes: number;
}

/** Every process of a node, and the CPU of its cluster workers that exited (so the node's CPU counter never goes down). */
export interface NodeUsage {
  processes: ProcessUsage[];
  /** CPU seconds of workers that are gone, at their last reading. */
  exitedCpuSeconds: number;
}

/** This process's usage. */
export function ownUsage(role: ProcessUsage['role']): ProcessUsage {
  const cpu = process.cpuUsage();
  const mem = process.memoryUsage();
  return { role, pid: process.pid, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssBytes: mem.rss, heapUsedBytes: mem.heapUsed, externalBytes: mem.external };
}

/**
 * Where a process reads its node's usage from: itself alone, unless it is a cluster worker,
 * whose IPC bus (servers/core/cluster.ts) asks the primary for every process's.
 */
let nodeUsageSource: (() => Promise<NodeUsage>) | undefined;

/** Make `/metrics` of this process report the node `source` describes (undefined: this process alone). */
export function setNodeUsageSource(source: (() => Promise<NodeUsage>) | undefined): void {
  nodeUsageSource = source;
}

/** The node's usage: from the source set, or this process alone when there is none or it fails (the primary is gone). */
async function readNodeUsage(): Promise<NodeUsage | undefined> {
  if (!nodeUsageSource) return { processes: [ownUsage('single')], exitedCpuSeconds: 0 };
  try {
    return await nodeUsageSource();
  } catch {
    // No figure rather than this worker's alone: a sum over fewer processes would read as a drop.
    return undefined;
  }
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/**
 * The `wsbench_node_*` families in Prometheus text: totals over every process of the node
 * (what `wsbench run`'s scraper reports) and the same per process (labels `role`, `pid`).
 * `process_cpu_seconds_total` and the other default metrics stay per process, by
 * Prometheus convention: they describe the process that answered the scrape.
 */
export function nodeUsageText(node: string, u: NodeUsage): string {
  const n = `node="${escapeLabel(node)}"`;
  const total = (k: keyof Pick<ProcessUsage, 'cpuSeconds' | 'rssBytes' | 'heapUsedBytes' | 'externalBytes'>) => u.processes.reduce((a, p) => a + p[k], 0);
  const per = (k: keyof Pick<ProcessUsage, 'cpuSeconds' | 'rssBytes'>) => u.processes.map((p) => `{${n},role="${p.role}",pid="${p.pid}"} ${p[k]}`);
  const family = (name: string, type: string, help: string, lines: string[]) => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines.map((l) => name + (l.startsWith('{') ? l : ` ${l}`))];
  return [
    ...family('wsbench_node_cpu_seconds_total', 'counter', 'User and system CPU time of every process of the node (cluster primary and workers, exited workers at their last reading), seconds', [`{${n}} ${total('cpuSeconds') + u.exitedCpuSeconds}`]),
    ...family('wsbench_node_resident_memory_bytes', 'gauge', 'Resident memory of every process of the node together', [`{${n}} ${total('rssBytes')}`]),
    ...family('wsbench_node_heap_used_bytes', 'gauge', 'V8 heap in use of every process of the node together', [`{${n}} ${total('heapUsedBytes')}`]),
    ...family('wsbench_node_external_memory_bytes', 'gauge', 'Memory of Buffers and other external objects of every process of the node together', [`{${n}} ${total('externalBytes')}`]),
    ...family('wsbench_node_processes', 'gauge', 'Processes of the node counted in the wsbench_node_* totals', [`{${n}} ${u.processes.length}`]),
    ...family('wsbench_node_process_cpu_seconds_total', 'counter', 'User and system CPU time of each process of the node, seconds', per('cpuSeconds')),
    ...family('wsbench_node_process_resident_memory_bytes', 'gauge', 'Resident memory of each process of the node', per('rssBytes')),
  ].join('\n') + '\n';
}

/** Counters incremented by the server. */
export interface ServerCounters {
  framesIn: number;
  framesOut: number;
  deliveries: number;
  rateLimited: number;
  heartbeatTerminations: number;
  connectionsOpened: number;
  upgradesRejected: number;
  badRequests: number;
  slowConsumerTerminations: number;
  /** Connections refused because their identity had `max-conns-per-user` open already. */
  userConnsRefused: number;
}

/** The /stats document of one process. */
export interface ServerStats extends ServerCounters {
  node: string;
  pid: number;
  /** Bus backend: local, ipc, redis. */
  bus: string;
  /** Open WebSocket connections. */
  connections: number;
  /** Rooms with at least one member in this process. */
  rooms: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Event-loop delay p99 since start, in milliseconds. */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  uptimeMs: number;
  /** Every memory and abuse cap in force (docs/SECURITY.md "Limits"). */
  limits?: StatsLimits;
  /** The in-process retention's size and evictions (absent when it lives in Redis). */
  retention?: RetentionStats;
  /** The Socket.IO flavour's offline queue. */
  offline?: OfflineStats;
  /** Identities remembered for the per-identity limits. */
  identities?: number;
  /** The Socket.IO flavour's recovery buffer (single node): packets evicted by `recovery-bytes`, bytes held. */
  recoveryBuffer?: { evicted: number; bytes: number };
  /** Reading paused for memory (`inflight-bytes`, servers/core/memory-guard.ts). */
  memoryGuard?: MemoryGuardStats;
}

/** Counters and sizes of the Socket.IO flavour's offline queue, for /stats and /metrics. */
export interface OfflineStats {
  users: number;
  messages: number;
  bytes: number;
  /** Entries dropped because they expired before their user came back. */
  expired: number;
  /** Pushes refused because a cap was reached. */
  refused: number;
}

/** The caps shown in /stats: the option values, by their ServerOptions names. */
export type StatsLimits = Pick<
  ServerOptions,
  | 'maxPayload' | 'maxDepth' | 'rate' | 'burst' | 'abuse' | 'userRate' | 'userBurst' | 'maxConnsPerUser' | 'maxRoomsPerConn' | 'maxRoomName'
  | 'retention' | 'retentionBytes' | 'roomRetentionBytes' | 'retentionAgeMs' | 'offlineMaxPerUser' | 'offlineBytes' | 'offlineTtlMs' | 'redisTtlS' | 'recoveryBytes' | 'inflightBytes'
>;

/** The caps of `o` as /stats shows them. */
export function statsLimits(o: ServerOptions): StatsLimits {
  const { maxPayload, maxDepth, rate, burst, abuse, userRate, userBurst, maxConnsPerUser, maxRoomsPerConn, maxRoomName } = o;
  const { retention, retentionBytes, roomRetentionBytes, retentionAgeMs, offlineMaxPerUser, offlineBytes, offlineTtlMs, redisTtlS, recoveryBytes, inflightBytes } = o;
  return { maxPayload, maxDepth, rate, burst, abuse, userRate, userBurst, maxConnsPerUser, maxRoomsPerConn, maxRoomName, retention, retentionBytes, roomRetentionBytes, retentionAgeMs, offlineMaxPerUser, offlineBytes, offlineTtlMs, redisTtlS, recoveryBytes, inflightBytes };
}

/** A fresh set of server counters, all zero. */
export function createCounters(): ServerCounters {
  return {
    framesIn: 0,
    framesOut: 0,
    deliveries: 0,
    rateLimited: 0,
    heartbeatTerminations: 0,
    connectionsOpened: 0,
    upgradesRejected: 0,
    badRequests: 0,
    slowConsumerTerminations: 0,
    userConnsRefused: 0,
  };
}

/** What the server's /stats and /metrics are read from. */
export interface StatsSource {
  node: string;
  bus: string;
  counters: ServerCounters;
  connections(): number;
  rooms(): number;
  limits?: StatsLimits;
  retention?: () => RetentionStats | undefined;
  offline?: () => OfflineStats | undefined;
  identities?: () => number;
  recoveryBuffer?: () => { evicted: number; bytes: number } | undefined;
  memoryGuard?: () => MemoryGuardStats | undefined;
}

/** A server's /stats document and its prom-client registry for /metrics. */
export interface ServerMetrics {
  stats(): ServerStats;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  contentType: string;
  close(): void;
}

/** `{ [key]: value }` when value is defined, else nothing (so /stats has no undefined fields). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Statistics of one server over `src`: its own prom-client registry (default Node metrics included, labelled with the node id) and an event-loop delay monitor.
 */
export function createServerMetrics(src: StatsSource): ServerMetrics {
  const started = Date.now();
  const eld: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  eld.enable();
  const registry = new Registry();
  // process_cpu_seconds_total, process_resident_memory_bytes, nodejs_eventloop_lag_seconds...: what `wsbench run --scrape` reads of any Node server.
  collectDefaultMetrics({ register: registry });
  registry.setDefaultLabels({ node: src.node });

  const stats = (): ServerStats => {
    const mem = process.memoryUsage();
    return {
      node: src.node,
      pid: process.pid,
      bus: src.bus,
      connections: src.connections(),
      rooms: src.rooms(),
      ...src.counters,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      eventLoopDelayP99Ms: eld.percentile(99) / 1e6,
      eventLoopDelayMaxMs: eld.max / 1e6,
      uptimeMs: Date.now() - started,
      ...(src.limits ? { limits: src.limits } : {}),
      ...optional('retention', src.retention?.()),
      ...optional('offline', src.offline?.()),
      ...(src.identities ? { identities: src.identities() } : {}),
      ...optional('recoveryBuffer', src.recoveryBuffer?.()),
      ...optional('memoryGuard', src.memoryGuard?.()),
    };
  };

  const gauge = (name: string, help: string, read: () => number) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(read()); } });
  const counter = (name: string, help: string, key: keyof ServerCounters) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(src.counters[key]); } });

  gauge('wsbench_server_connections', 'Open WebSocket connections', src.connections);
  gauge('wsbench_server_rooms', 'Rooms with at least one member in this process', src.rooms);
  counter('wsbench_server_connections_opened_total', 'WebSocket connections accepted', 'connectionsOpened');
  counter('wsbench_server_upgrades_rejected_total', 'Upgrade requests refused (401, 404, 503)', 'upgradesRejected');
  counter('wsbench_server_frames_in_total', 'Data frames received', 'framesIn');
  counter('wsbench_server_frames_out_total', 'Data frames sent (replies and deliveries)', 'framesOut');
  counter('wsbench_server_deliveries_total', 'Room messages delivered to members', 'deliveries');
  counter('wsbench_server_rate_limited_total', 'Inbound frames dropped by the rate limiter', 'rateLimited');
  counter('wsbench_server_heartbeat_terminations_total', 'Connections terminated for not answering pings', 'heartbeatTerminations');
  counter('wsbench_server_bad_requests_total', 'Frames answered with bad_request', 'badRequests');
  counter('wsbench_server_slow_consumer_terminations_total', 'Connections cut because their send buffer grew too large', 'slowConsumerTerminations');
  counter('wsbench_server_user_connections_refused_total', 'Connections refused because their identity had max-conns-per-user open', 'userConnsRefused');
  const derived = (name: string, help: string, read: () => number) =>
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
  const retention = () => src.retention?.();
  const offline = () => src.offline?.();
  derived('wsbench_server_retention_evicted_messages_total', 'Retained messages evicted by a byte budget or the age limit', () => retention()?.evictedMessages ?? 0);
  derived('wsbench_server_retention_evicted_bytes_total', 'Bytes of retained messages evicted by a byte budget or the age limit', () => retention()?.evictedBytes ?? 0);
  derived('wsbench_server_rooms_forgotten_total', 'Idle rooms with no member forgotten', () => retention()?.forgottenRooms ?? 0);
  gauge('wsbench_server_retained_bytes', 'Bytes of retained messages in this process', () => retention()?.bytes ?? 0);
  derived('wsbench_server_offline_expired_total', 'Queued private messages dropped because they expired', () => offline()?.expired ?? 0);
  derived('wsbench_server_offline_refused_total', 'Private messages refused because the offline queue was full', () => offline()?.refused ?? 0);
  derived('wsbench_server_recovery_evicted_total', 'Packets dropped from the Socket.IO recovery buffer by recovery-bytes', () => src.recoveryBuffer?.()?.evicted ?? 0);
  derived('wsbench_server_read_pauses_total', 'Times the node stopped reading from its sockets because traffic in flight passed inflight-bytes', () => src.memoryGuard?.()?.pauses ?? 0);
  derived('wsbench_server_read_paused_seconds_total', 'Time the node spent not reading from its sockets for memory', () => (src.memoryGuard?.()?.pausedMs ?? 0) / 1000);
  gauge('wsbench_server_inflight_bytes', 'Bytes of traffic in flight at the memory guard\'s last sample', () => src.memoryGuard?.()?.inflightNow ?? 0);
  gauge('wsbench_server_offline_bytes', 'Bytes of queued private messages in this process', () => offline()?.bytes ?? 0);
  gauge('wsbench_server_event_loop_delay_p99_seconds', 'Event-loop delay p99 since start', () => eld.percentile(99) / 1e9);
  gauge('wsbench_server_event_loop_delay_max_seconds', 'Event-loop delay max since start', () => eld.max / 1e9);
  gauge('wsbench_server_process_resident_memory_bytes', 'Resident set size of the process', () => process.memoryUsage().rss);
  gauge('wsbench_server_process_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);

  return {
    stats,
    async render() {
      const [text, usage] = await Promise.all([registry.metrics(), readNodeUsage()]);
      return usage ? text + nodeUsageText(src.node, usage) : text;
    },
    contentType: registry.contentType,
    close() {
      eld.disable();
      registry.clear();
    },
  };
}
