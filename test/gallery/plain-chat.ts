/**
 * Gallery: "plain-chat", a small `ws` chat server shaped like a typical third-party one,
 * for driving wsbench against a dialect it did not write:
 *
 * - its own JSON vocabulary: `{"action":"subscribe","channel":C}` -> `{"event":"subscribed"}`,
 *   `{"action":"unsubscribe","channel":C}` -> `{"event":"unsubscribed"}`,
 *   `{"action":"say","channel":C,"data":ANY}` -> every subscriber of C (the sender too) gets
 *   `{"event":"chat","data":ANY}`;
 * - replies carry no id and no channel, broadcasts no seq and no channel, publishes get no ack;
 * - a fixed-window limiter per connection (default 100 per 60 s): the first frame over the
 *   limit gets `{"event":"error","message":"Rate limit exceeded"}` and the connection is closed with 1008;
 * - heartbeat by WebSocket ping frames only (default every 5 s): a connection that did not
 *   answer the previous ping is terminated;
 * - fault switches at known counts: `dropEvery: N` skips one subscriber's copy of every Nth
 *   message, `duplicateEvery: M` sends one subscriber's copy of every Mth message twice;
 *   `stats()` reports exactly what it did.
 *
 * Run it by hand: `npx tsx test/gallery/plain-chat.ts --port 8080 [--drop-every 97] [--duplicate-every 211]`.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface PlainChatOptions {
  /** TCP port on 127.0.0.1; 0 = any free one. Default 0. */
  port?: number;
  /** Frames a connection may send per window. Default 100. */
  limit?: number;
  /** The limiter's fixed window, ms. Default 60000. */
  windowMs?: number;
  /** Interval of WebSocket pings, ms; 0 = no heartbeat. Default 5000. */
  heartbeatMs?: number;
  /** Skip one subscriber's copy of every Nth message (0 = never). Default 0. */
  dropEvery?: number;
  /** Send one subscriber's copy of every Mth message twice (0 = never). Default 0. */
  duplicateEvery?: number;
}

/** What the server did, exactly. */
export interface PlainChatStats {
  /** Messages accepted and broadcast. */
  messages: number;
  /** Copies sent (duplicates included, dropped ones not), per channel. */
  sentByChannel: Record<string, number>;
  /** Copies skipped by `dropEvery` and sent twice by `duplicateEvery`. */
  dropped: number;
  duplicated: number;
  /** Frames refused by the limiter (each followed by a 1008 close). */
  rateLimited: number;
  /** Connections terminated for not answering a ping. */
  evicted: number;
}

export interface PlainChat {
  url: string;
  stats(): PlainChatStats;
  close(): Promise<void>;
}

interface Conn {
  ws: WebSocket;
  channels: Set<string>;
  windowStartMs: number;
  framesInWindow: number;
  alive: boolean;
}

/** Start a plain-chat server on 127.0.0.1. */
export async function startPlainChat(o: PlainChatOptions = {}): Promise<PlainChat> {
  const limit = o.limit ?? 100;
  const windowMs = o.windowMs ?? 60_000;
  const channels = new Map<string, Set<Conn>>();
  const stats: PlainChatStats = { messages: 0, sentByChannel: {}, dropped: 0, duplicated: 0, rateLimited: 0, evicted: 0 };
  const wss = new WebSocketServer({ host: '127.0.0.1', port: o.port ?? 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));

  const broadcast = (channel: string, data: unknown) => {
    const n = ++stats.messages;
    const text = JSON.stringify({ event: 'chat', data });
    const members = [...(channels.get(channel) ?? [])];
    // The copy affected by a fault is the last member's: a receiver other than the sender when there are several.
    const victim = members.length - 1;
    members.forEach((m, i) => {
      let copies = 1;
      if (i === victim && o.dropEvery && n % o.dropEvery === 0) copies = 0;
      else if (i === victim && o.duplicateEvery && n % o.duplicateEvery === 0) copies = 2;
      if (copies === 0) stats.dropped++;
      if (copies === 2) stats.duplicated++;
      for (let k = 0; k < copies; k++) m.ws.send(text);
      stats.sentByChannel[channel] = (stats.sentByChannel[channel] ?? 0) + copies;
    });
  };

  const conns = new Set<Conn>();
  wss.on('connection', (ws) => {
    const c: Conn = { ws, channels: new Set(), windowStartMs: Date.now(), framesInWindow: 0, alive: true };
    ws.on('pong', () => (c.alive = true));
    ws.on('message', (raw) => {
      if (ws.readyState !== ws.OPEN) return; // closed by the limiter: later frames go unread
      const now = Date.now();
      if (now - c.windowStartMs >= windowMs) {
        c.windowStartMs = now;
        c.framesInWindow = 0;
      }
      if (++c.framesInWindow > limit) {
        stats.rateLimited++;
        ws.send(JSON.stringify({ event: 'error', message: 'Rate limit exceeded' }));
        ws.close(1008, 'rate limit');
        return;
      }
      let m: { action?: string; channel?: unknown; data?: unknown };
      try {
        m = JSON.parse(String(raw));
      } catch {
        ws.send(JSON.stringify({ event: 'error', message: 'bad json' }));
        return;
      }
      const channel = typeof m.channel === 'string' ? m.channel : '';
      switch (m.action) {
        case 'subscribe':
          c.channels.add(channel);
          (channels.get(channel) ?? channels.set(channel, new Set()).get(channel)!).add(c);
          ws.send(JSON.stringify({ event: 'subscribed' }));
          return;
        case 'unsubscribe':
          c.channels.delete(channel);
          channels.get(channel)?.delete(c);
          ws.send(JSON.stringify({ event: 'unsubscribed' }));
          return;
        case 'say':
          if (c.channels.has(channel)) broadcast(channel, m.data);
          else ws.send(JSON.stringify({ event: 'error', message: 'not subscribed' }));
          return;
        default:
          ws.send(JSON.stringify({ event: 'error', message: 'unknown action' }));
      }
    });
    ws.on('close', () => {
      for (const ch of c.channels) channels.get(ch)?.delete(c);
      conns.delete(c);
    });
    conns.add(c);
  });

  const heartbeat = o.heartbeatMs === 0 ? undefined : setInterval(() => {
    for (const c of conns) {
      if (!c.alive) {
        stats.evicted++;
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, o.heartbeatMs ?? 5000);

  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    stats: () => structuredClone(stats),
    close: () =>
      new Promise<void>((resolve) => {
        if (heartbeat) clearInterval(heartbeat);
        for (const c of conns) c.ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

function flag(name: string): number | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = await startPlainChat({ port: flag('port') ?? 8080, limit: flag('limit'), windowMs: flag('window-ms'), heartbeatMs: flag('heartbeat-ms'), dropEvery: flag('drop-every'), duplicateEvery: flag('duplicate-every') });
  process.stdout.write(`plain-chat listening on ${server.url}\n`);
  const bye = () => {
    process.stdout.write(`${JSON.stringify(server.stats())}\n`);
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', bye);
  process.on('SIGTERM', bye);
}
