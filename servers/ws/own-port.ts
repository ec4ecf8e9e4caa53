/**
 * `--ports per-worker`: a cluster worker accepts on a port of its own besides
 * the shared one, so no single accepting process (the cluster primary) stands
 * between the clients and the workers. Its sockets are served by the worker's
 * reference server exactly like those of the shared port.
 */
import { createServer, type AddressInfo } from 'node:net';
import type { ReferenceServer } from './server.ts';
import { LISTEN_BACKLOG } from '../core/http.ts';

/** A worker's own listener. */
export interface OwnPort {
  /** `ws://HOST:PORT/ws` (or wss://): the worker's own URL. */
  url: string;
  port: number;
  /** Stop accepting on the own port (open connections stay with the server). */
  close(): void;
}

/**
 * Listen on `port` (0 = ephemeral) of `host` in this process alone (`exclusive`,
 * bypassing the cluster primary) and hand every accepted socket to `server`.
 * Rejects when the port cannot be bound (in use, not permitted).
 */
export async function listenOwnPort(server: Pick<ReferenceServer, 'url' | 'acceptFrom'>, port: number, host: string, log: (line: string) => void): Promise<OwnPort> {
  // The same socket options as an http.Server's own sockets.
  const listener = createServer({ allowHalfOpen: true, noDelay: true }, (socket) => server.acceptFrom(socket));
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ port, host, exclusive: true, backlog: LISTEN_BACKLOG }, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  listener.on('error', (err) => log(`wsbench worker ${process.pid}: own port: ${err.message}`));
  const bound = (listener.address() as AddressInfo).port;
  const url = new URL(server.url);
  url.port = String(bound);
  return { url: url.toString(), port: bound, close: () => listener.close() };
}
