/**
 * One place that picks the bus from the options, shared by both flavours:
 * `--redis URL` -> the Redis bus (also in every cluster worker: each talks to
 * Redis directly); otherwise a cluster worker's IPC bus or a single process's
 * local bus.
 */
import { createLocalBus, type Bus } from './bus.ts';
import { retentionLimitsOf } from './room-log.ts';
import { createIpcBus, type IpcBus } from './cluster.ts';
import type { ServerOptions } from './options.ts';
import { createRedisBus, type RedisBus, type RedisBusStats } from './redis-bus.ts';

/** Where the bus runs: a process alone (`single`) or a Node cluster worker (`worker`). */
export type BusRole = 'single' | 'worker';

/** What `createBus` may be given besides the options. */
export interface CreateBusDeps {
  /** A worker's existing IPC bus, returned as is when there is no Redis (a process must have only one). */
  ipc?: IpcBus;
  /** Diagnostics (default stderr). */
  log?: (line: string) => void;
  /** How long to wait for Redis at start, in milliseconds (default 10000). */
  connectTimeoutMs?: number;
  /** False: the server has its own fan-out and the Redis bus carries only seqs and the retention. */
  fanout?: boolean;
}

/** Default wait for Redis when a node starts, in milliseconds. */
export const REDIS_CONNECT_TIMEOUT_MS = 10_000;

/**
 * The bus for these options. With Redis, resolves once Redis answered and the
 * bus subscribed; rejects (after closing the bus) when Redis is not reachable
 * within `connectTimeoutMs`. Later outages are survived (the bus reports
 * degraded and reconnects). The caller closes the bus after the server.
 */
export async function createBus(options: ServerOptions, role: BusRole, deps: CreateBusDeps = {}): Promise<Bus> {
  if (options.redis !== undefined) {
    const bus = createRedisBus({
      url: options.redis,
      prefix: options.redisPrefix,
      retention: options.retention,
      retentionAgeMs: options.retentionAgeMs,
      keyTtlS: options.redisTtlS,
      nodeId: options.nodeId,
      log: deps.log,
      fanout: deps.fanout,
    });
    try {
      await bus.ready(deps.connectTimeoutMs ?? REDIS_CONNECT_TIMEOUT_MS);
    } catch (err) {
      await bus.close();
      throw err;
    }
    return bus;
  }
  if (role === 'worker') return deps.ipc ?? createIpcBus();
  return createLocalBus(retentionLimitsOf(options));
}

/** The Redis bus's counters when `bus` is one (for /stats), else undefined. */
export function busStats(bus: Bus): RedisBusStats | undefined {
  return bus.kind === 'redis' && typeof (bus as Partial<RedisBus>).stats === 'function' ? (bus as RedisBus).stats() : undefined;
}
