/**
 * `startServer({protocol: 'socketio'})` lands here (servers/main.ts): one
 * Socket.IO node, alone or sharing a Redis with other nodes.
 */
import type { ServerOptions } from '../core/options.ts';
import { createBus } from '../core/bus-factory.ts';
import { ServerConfigError } from '../core/errors.ts';
import { createSocketIoServer, type SocketIoCluster } from './server.ts';

/** What servers/main.ts needs of a started flavour. */
export interface StartedSocketIo {
  url: string;
  stop(): Promise<void>;
  dropAll(code?: number): void;
}

/** Problems that make the Socket.IO flavour refuse these options (exit 2 in main.ts). */
export function socketIoProblems(options: ServerOptions): string[] {
  const problems: string[] = [];
  if (options.workers > 1) {
    problems.push(
      'workers: --workers is not supported with --protocol socketio (Socket.IO has no cross-process fan-out without an adapter); ' +
        'run several nodes sharing a Redis instead (wsbench run --nodes N, or one servers/main.ts per port with --redis URL)',
    );
  }
  return problems;
}

/**
 * Start one Socket.IO node with `options`: its bus (Redis with `--redis`, else in memory) and, with Redis, the adapter and offline queue; throws ServerConfigError for options it cannot serve.
 */
export async function startSocketIoServer(options: ServerOptions, log: (l: string) => void): Promise<StartedSocketIo> {
  const problems = socketIoProblems(options);
  if (problems.length) throw new ServerConfigError('WSB_ERR_SERVER_UNAVAILABLE', problems);
  // Room seqs and the retention: the same bus as the native flavour (Redis with --redis, else
  // in memory); fan-out is the Socket.IO adapter's, so the bus publishes nothing.
  const bus = await createBus(options, 'single', { log, fanout: false });
  let cluster: SocketIoCluster | undefined;
  let server;
  try {
    if (options.redis !== undefined) {
      const { createRedisCluster } = await import('./redis.ts');
      cluster = await createRedisCluster(options, log);
    }
    server = await createSocketIoServer(options, { bus, cluster, log });
  } catch (err) {
    await cluster?.close();
    await bus.close();
    throw err;
  }
  return {
    url: server.url,
    async stop() {
      await server.close();
      await bus.close();
    },
    dropAll: () => server.dropAll(),
  };
}
