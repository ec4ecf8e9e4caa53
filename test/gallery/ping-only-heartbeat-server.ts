/**
 * Gallery: a wsbench/1-speaking chat server whose only heartbeat is WebSocket ping
 * frames, the usual `ws` recipe: every interval it terminates the connections that
 * did not pong since the previous ping, then pings the rest. Its welcome states no
 * heartbeat. `evict: false` breaks it on purpose (it pings but never drops anyone).
 *
 * Runs as its own process (so a test can freeze it by pid):
 *   node --import tsx test/gallery/ping-only-heartbeat-server.ts --heartbeat-ms 500 [--no-evict]
 * prints its URL on stdout line 1.
 */
import type { WebSocket } from 'ws';
import { handleChatFrame, leaveAll, listenWs, type ClientFrame, type Rooms } from './wsbench1-rooms.ts';

export interface PingOnlyOptions {
  /** Ping interval in milliseconds (default 1000). */
  heartbeatMs?: number;
  /** Terminate connections that missed a pong (default true). */
  evict?: boolean;
}

export async function startPingOnlyServer(opts: PingOnlyOptions = {}): Promise<{ url: string; counts: { evicted: number }; close(): Promise<void> }> {
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const counts = { evicted: 0 };
  const { wss, url, close } = await listenWs();
  const rooms: Rooms = new Map();
  const alive = new WeakMap<WebSocket, boolean>();
  let sessions = 0;
  wss.on('connection', (ws) => {
    const sid = `s${++sessions}`;
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.send(JSON.stringify({ type: 'welcome', sid, user: sid, node: 'ping-only' }));
    ws.on('message', (data) => {
      try {
        handleChatFrame(rooms, ws, sid, JSON.parse(String(data)) as ClientFrame);
      } catch {
        // not JSON: ignored, as many servers do
      }
    });
    ws.on('close', () => leaveAll(rooms, ws));
  });
  const timer = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false && opts.evict !== false) {
        counts.evicted++;
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, heartbeatMs);
  return {
    url,
    counts,
    close: async () => {
      clearInterval(timer);
      await close();
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.indexOf(name);
  const hb = arg('--heartbeat-ms');
  const server = await startPingOnlyServer({ heartbeatMs: hb > 0 ? Number(process.argv[hb + 1]) : undefined, evict: arg('--no-evict') < 0 });
  process.stdout.write(`${server.url}\n`);
  process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
}
