/** Nodes sharing a real redis-server: in-process servers with the Redis bus, everything closed in afterEach. */
import { Redis } from 'ioredis';
import { createReferenceServer, type ReferenceServer } from '../../servers/ws/server.ts';
import { createBus } from '../../servers/core/bus-factory.ts';
import { resolveServerOptions, type ServerOptions } from '../../servers/core/options.ts';
import type { RedisBus } from '../../servers/core/redis-bus.ts';
import { cleanup as cleanupWs, type Client, type Frame } from '../server-ws/helpers.ts';

export interface Node {
  server: ReferenceServer;
  bus: RedisBus;
}

const nodes: Node[] = [];
const conns: Redis[] = [];

/** Close every node, bus, Redis connection, client and child the test started. */
export async function cleanup(): Promise<void> {
  await cleanupWs();
  await Promise.all(nodes.splice(0).map(async (n) => {
    await n.server.close({ drainTimeoutMs: 200 });
    await n.bus.close();
  }));
  for (const c of conns.splice(0)) c.disconnect();
}

/** Start one node (an in-process reference server with a Redis bus) on `url`. */
export async function startNode(url: string, opts: Partial<ServerOptions> = {}): Promise<Node> {
  const options = resolveServerOptions({ heartbeatMs: 0, rate: 0, redis: url, nodeId: `n${nodes.length}`, ...opts });
  const bus = (await createBus(options, 'single', { log: () => {} })) as RedisBus;
  const server = await createReferenceServer(options, { bus, log: () => {} });
  const node = { server, bus };
  nodes.push(node);
  return node;
}

/** A plain Redis connection for the test itself (closed in cleanup). */
export function redisClient(url: string): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  r.on('error', () => {});
  conns.push(r);
  return r;
}

/** The `message` frames of a client (live and replays), in arrival order. */
export const messages = (c: Client): Frame[] => c.frames.filter((f) => f.type === 'message');
export const seqsOf = (c: Client): number[] => messages(c).map((f) => f.seq as number);
export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** `calls` of a command in `INFO commandstats` (0 when never called). */
export async function commandCalls(r: Redis, cmd: string): Promise<number> {
  const info = await r.info('commandstats');
  const m = new RegExp(`^cmdstat_${cmd}:calls=(\\d+)`, 'm').exec(info);
  return m ? Number(m[1]) : 0;
}
