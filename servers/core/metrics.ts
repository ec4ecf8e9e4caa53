/**
 * Server statistics: plain counters the hot path increments (no library call
 * per frame), a process snapshot, and a prom-client registry per server that
 * reads them at scrape time (so several servers in one process never share
 * metric state).
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Registry, Gauge, Counter, collectDefaultMetrics } from 'prom-client';

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
}

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
  };
}

export interface StatsSource {
  node: string;
  bus: string;
  counters: ServerCounters;
  connections(): number;
  rooms(): number;
}

export interface ServerMetrics {
  stats(): ServerStats;
  /** Prometheus text exposition. */
  render(): Promise<string>;
  contentType: string;
  close(): void;
}

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
  gauge('wsbench_server_event_loop_delay_p99_seconds', 'Event-loop delay p99 since start', () => eld.percentile(99) / 1e9);
  gauge('wsbench_server_event_loop_delay_max_seconds', 'Event-loop delay max since start', () => eld.max / 1e9);
  gauge('wsbench_server_process_resident_memory_bytes', 'Resident set size of the process', () => process.memoryUsage().rss);
  gauge('wsbench_server_process_heap_used_bytes', 'V8 heap in use', () => process.memoryUsage().heapUsed);

  return {
    stats,
    render: () => registry.metrics(),
    contentType: registry.contentType,
    close() {
      eld.disable();
      registry.clear();
    },
  };
}
