/**
 * Gallery: a wsbench/1-speaking chat server with a fixed-window limiter of its own
 * making, as third-party servers often have one: N messages per window per
 * connection (counted from its first message), its own error code and text for the
 * first refused frame, then close 1008. Switches break it on purpose.
 */
import { WebSocket } from 'ws';
import { handleChatFrame, leaveAll, listenWs, type ClientFrame, type Rooms } from './wsbench1-rooms.ts';

export interface WindowLimiterOptions {
  /** Messages (publishes) a connection may send per window (default 100). */
  count?: number;
  /** Window length in milliseconds (default 60000). */
  windowMs?: number;
  /** Close with 1008 at the first refusal (default true); false = keep refusing (one error frame per second) on an open connection. */
  closeOnRefusal?: boolean;
  /** The error frame's code (default rate_limit_exceeded) and message. */
  errorCode?: string;
  errorMessage?: string;
  /** Broken on purpose: messages accepted beyond the count before the limiter starts refusing (default 0). */
  leak?: number;
}

export interface GalleryServer {
  url: string;
  /** What the server did: frames refused, connections closed for abuse. */
  counts: { refused: number; closedForAbuse: number };
  close(): Promise<void>;
}

export async function startWindowLimiterServer(opts: WindowLimiterOptions = {}): Promise<GalleryServer> {
  const count = opts.count ?? 100;
  const windowMs = opts.windowMs ?? 60_000;
  const closeOnRefusal = opts.closeOnRefusal ?? true;
  const counts = { refused: 0, closedForAbuse: 0 };
  const { wss, url, close } = await listenWs();
  const rooms: Rooms = new Map();
  let sessions = 0;
  wss.on('connection', (ws) => {
    const sid = `s${++sessions}`;
    let windowStart = 0;
    let used = 0;
    let lastErrorAt = 0;
    ws.send(JSON.stringify({ type: 'welcome', sid, user: sid, node: 'window-limiter' }));
    ws.on('message', (data) => {
      let f: ClientFrame;
      try {
        f = JSON.parse(String(data));
      } catch {
        return;
      }
      // Messages are limited, as chat servers usually do; joins and pings are free.
      const now = Date.now();
      if (f.type === 'publish' && (windowStart === 0 || now - windowStart >= windowMs)) {
        windowStart = now;
        used = 0;
      }
      if (f.type === 'publish' && ++used > count + (opts.leak ?? 0)) {
        counts.refused++;
        if (now - lastErrorAt >= 1000) {
          lastErrorAt = now;
          ws.send(JSON.stringify({ type: 'error', id: f.id, code: opts.errorCode ?? 'rate_limit_exceeded', message: opts.errorMessage ?? 'Slow down: too many messages this minute' }));
        }
        if (closeOnRefusal && ws.readyState === WebSocket.OPEN) {
          counts.closedForAbuse++;
          ws.close(1008, 'message limit');
        }
        return;
      }
      handleChatFrame(rooms, ws, sid, f);
    });
    ws.on('close', () => leaveAll(rooms, ws));
  });
  return { url, counts, close };
}
