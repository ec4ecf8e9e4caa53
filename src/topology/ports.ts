import net from 'node:net';

/**
 * A TCP port that was free on `host` a moment ago: listen on port 0, read the
 * port, close. Another process may take it before the caller binds it, so
 * callers retry on EADDRINUSE.
 *
 * @param host address to probe, default `127.0.0.1`
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ port: 0, host, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => (port > 0 ? resolve(port) : reject(new Error('could not read the port of a listening socket'))));
    });
  });
}
