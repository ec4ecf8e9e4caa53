/**
 * The HTTP side of a reference node, shared by both flavours: `/healthz`,
 * `/stats`, `/metrics`, and the HTTP server with bounded header and request
 * times (a slow or never-finished request cannot hold resources forever).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TlsMaterial } from './tls.ts';

/** What the HTTP side of a node serves: `/healthz`, `/stats`, `/metrics`. */
export interface HttpEndpoints {
  nodeId: string;
  /** Dependencies' health; the first not-ok one makes `/healthz` answer 503 degraded with its reason. */
  health(): Array<{ ok: true } | { ok: false; reason: string }>;
  /** `/stats` as JSON (sync, or async for a cluster primary that asks its workers). */
  stats(): unknown | Promise<unknown>;
  metrics: { render(): Promise<string>; contentType: string };
  /** Paths listed in the 404 answer (the WebSocket path first). */
  paths: string[];
}

/**
 * The request handler of a node's HTTP server: GET/HEAD `/healthz` (200, or 503 degraded), `/stats` (JSON), `/metrics` (Prometheus); 405 for other methods, 404 naming the paths.
 */
export function createHttpHandler(e: HttpEndpoints): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    const json = (status: number, obj: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    const fail = (err: unknown) => json(500, { error: (err as Error).message });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(405, { error: 'method not allowed' });
    if (path === '/healthz') {
      const bad = e.health().find((h): h is { ok: false; reason: string } => !h.ok);
      return bad ? json(503, { status: 'degraded', node: e.nodeId, reason: bad.reason }) : json(200, { status: 'ok', node: e.nodeId });
    }
    if (path === '/stats') {
      Promise.resolve()
        .then(() => e.stats())
        .then((s) => json(200, s), fail);
      return;
    }
    if (path === '/metrics') {
      e.metrics.render().then((text) => {
        res.writeHead(200, { 'content-type': e.metrics.contentType });
        res.end(text);
      }, fail);
      return;
    }
    json(404, { error: `not found: ${path}`, endpoints: [...e.paths, '/healthz', '/stats', '/metrics'] });
  };
}

/** Largest request header block, bytes; larger is answered 431 (RFC 6585). */
export const MAX_HEADER_BYTES = 16 * 1024;

/**
 * An HTTP server whose clients must send complete headers within `headersTimeoutMs`
 * and at most MAX_HEADER_BYTES of them (431 past that; other malformed requests get 400).
 */
export function createNodeHttpServer(headersTimeoutMs: number, onRequest: (req: IncomingMessage, res: ServerResponse) => void, tls?: TlsMaterial): Server {
  const make = tls ? (o: object, h: typeof onRequest) => createHttpsServer({ ...o, cert: tls.cert, key: tls.key }, h) as unknown as Server : createServer;
  const http = make(
    {
      headersTimeout: headersTimeoutMs,
      requestTimeout: headersTimeoutMs + 5000,
      connectionsCheckingInterval: Math.min(1000, headersTimeoutMs),
      keepAliveTimeout: 5000,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    onRequest,
  );
  http.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (socket.writable && err.code !== 'ECONNRESET') {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.once('finish', () => socket.destroy());
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    socket.destroy();
  });
  return http;
}

/**
 * The accept queue asked of the kernel: Node's default is 511, which a reconnection herd of
 * tens of thousands overflows (dropped SYNs, retried by TCP after 1 s, 3 s, 7 s). The kernel
 * caps it at net.core.somaxconn (4096 on most current Linux). Under cluster the primary's
 * listening socket takes the workers' backlog.
 */
export const LISTEN_BACKLOG = 65_535;

/**
 * Listen on `port` (0 = ephemeral) and `host`; resolves with the port in use and the host
 * as it goes into a URL (IPv6 in brackets). Later server errors are logged, not thrown.
 */
export async function listenNode(http: Server, port: number, host: string, log: (line: string) => void): Promise<{ port: number; hostInUrl: string }> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, LISTEN_BACKLOG, () => {
      http.off('error', reject);
      resolve();
    });
  });
  http.on('error', (err) => log(`wsbench server: ${err.message}`));
  const addr = http.address();
  return { port: typeof addr === 'object' && addr ? addr.port : port, hostInUrl: host.includes(':') ? `[${host}]` : host };
}
