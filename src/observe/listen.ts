/** Listening for the live endpoints (`--prometheus`, `--live`): flag parsing and a clear error when the port is taken. */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { usageError } from '../errors.ts';

/** Parse a listen flag (`--prometheus`, `--live`): `PORT` (loopback) or `HOST:PORT`; 0 picks a free port. */
export function parseListen(spec: string, flag: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(spec.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw usageError('WSB_ERR_FLAG', `${flag} "${spec}" is not a port or HOST:PORT`, `e.g. ${flag} 9464, or ${flag} 0.0.0.0:9464 to be reached from another machine`);
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** Listen on the flag's `[HOST:]PORT`; resolves with the base URL (`http://host:port/`). */
export async function listenHttp(server: Server, spec: string, flag: string): Promise<string> {
  const { host, port } = parseListen(spec, flag);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(usageError('WSB_ERR_FLAG', `${flag} cannot listen on ${host}:${port}: ${e.code ?? e.message}`, e.code === 'EADDRINUSE' ? 'pick another port, or 0 for a free one' : undefined)),
    );
    server.listen(port, host, () => resolve());
  });
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return `http://${shownHost}:${(server.address() as AddressInfo).port}/`;
}
