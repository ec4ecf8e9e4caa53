/**
 * Gallery: a Socket.IO chat server that refuses some handshakes the ways real ones
 * do, at known counts, so the harness's `errors.<code>` can be checked against it:
 *
 * - `httpEvery: N`: every Nth Engine.IO handshake (a WebSocket upgrade, or a polling
 *   request without a sid) is answered `429 Too Many Requests` with the body
 *   `Rate limit exceeded`, before Socket.IO sees it (a proxy or gateway limiter);
 * - `middleware: [[M, text], ...]`: of the handshakes that got through, every Mth gets
 *   a `connect_error` with `text` from the server's middleware (first matching rule);
 * - the rest get a plain chat: `join-room` acked `{ success: true }`, `message` to the
 *   room as `new-message`, acked, no seq.
 *
 * `counts()` says exactly how many of each it refused.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server } from 'socket.io';

export interface RefusingOptions {
  /** Refuse every Nth handshake with HTTP 429 (0 = never). Default 0. */
  httpEvery?: number;
  /** `connect_error` rules: every Mth handshake that got through gets `text`. Default none. */
  middleware?: Array<[number, string]>;
}

export interface RefusingCounts {
  /** Handshakes answered 429. */
  http429: number;
  /** `connect_error`s sent, by text. */
  refused: Record<string, number>;
  /** Sockets connected. */
  connected: number;
}

export interface RefusingServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  counts(): RefusingCounts;
  close(): Promise<void>;
}

const REFUSAL = 'HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 19\r\nConnection: close\r\n\r\nRate limit exceeded';

/** A handshake opens an Engine.IO session: an upgrade, or a polling request that carries no sid yet. */
const isHandshake = (req: IncomingMessage) => req.url?.startsWith('/socket.io/') === true && !/[?&]sid=/.test(req.url);

export async function startRefusingSocketIoServer(opts: RefusingOptions = {}): Promise<RefusingServer> {
  const counts: RefusingCounts = { http429: 0, refused: {}, connected: 0 };
  const http = createServer();
  const io = new Server(http);
  let handshakes = 0;
  const refuseNow = (req: IncomingMessage) => isHandshake(req) && opts.httpEvery !== undefined && opts.httpEvery > 0 && ++handshakes % opts.httpEvery === 0;
  // Socket.IO's own listeners run only for what the limiter lets through.
  const upgrades = http.listeners('upgrade') as Array<(req: IncomingMessage, socket: Duplex, head: Buffer) => void>;
  http.removeAllListeners('upgrade');
  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refuseNow(req)) {
      counts.http429++;
      socket.end(REFUSAL);
      return;
    }
    for (const l of upgrades) l.call(http, req, socket, head);
  });
  const requests = http.listeners('request') as Array<(req: IncomingMessage, res: import('node:http').ServerResponse) => void>;
  http.removeAllListeners('request');
  http.on('request', (req, res) => {
    if (refuseNow(req)) {
      counts.http429++;
      res.writeHead(429, { 'Content-Type': 'text/plain' }).end('Rate limit exceeded');
      return;
    }
    for (const l of requests) l.call(http, req, res);
  });
  let admitted = 0;
  io.use((_socket, next) => {
    admitted++;
    const rule = (opts.middleware ?? []).find(([every]) => admitted % every === 0);
    if (!rule) return next();
    counts.refused[rule[1]] = (counts.refused[rule[1]] ?? 0) + 1;
    next(new Error(rule[1]));
  });
  io.on('connection', (socket) => {
    counts.connected++;
    socket.on('join-room', (room: unknown, ack?: (r: unknown) => void) => {
      void socket.join(String(room));
      ack?.({ success: true });
    });
    socket.on('message', (m: { roomId?: unknown; content?: unknown }, ack?: (r: unknown) => void) => {
      io.to(String(m?.roomId)).emit('new-message', { roomId: m?.roomId, content: m?.content });
      ack?.({ success: true });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => structuredClone(counts),
    close: async () => {
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
    },
  };
}
