/**
 * Gallery: a plain `ws` chat server that broadcasts with `ws.send` and never looks at a
 * member's `bufferedAmount`, as many hand-written servers do: a member that stops reading
 * makes it hold every later message of its room, for as long as the member stays. With
 * Prometheus default metrics at `/metrics` (prom-client), so `wsbench run slow-consumer`
 * can watch its memory grow.
 *
 * `dropAbove: N` (`--drop-above N`) makes it a dropping server instead: a member with more
 * than N bytes queued does not get the message (counted in /metrics as
 * `gallery_dropped_total`); the room's seq still advances, so the member sees a gap.
 *
 * Run as its own process (its memory is what is measured):
 *   node --import tsx test/gallery/hoarding-broadcast.ts [--drop-above BYTES]
 * prints one JSON line `{"url":"ws://127.0.0.1:PORT/ws","metrics":"http://127.0.0.1:PORT/metrics"}`
 * and exits when stdin closes (so it dies with the test that started it).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocketServer } from 'ws';
import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { WebSocket } from 'ws';
import { handleChatFrame, leaveAll, type ClientFrame, type Rooms } from './wsbench1-rooms.ts';

/** Start the server on an ephemeral loopback port; resolves with its URLs and a close function. */
export async function startHoardingBroadcast(opts: { dropAbove?: number } = {}): Promise<{ url: string; metrics: string; close(): Promise<void> }> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const dropped = new Counter({ name: 'gallery_dropped_total', help: 'deliveries not sent to members with too much queued', registers: [registry] });
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  const rooms: Rooms = new Map();
  let sid = 0;
  wss.on('connection', (ws) => {
    const id = `s${++sid}`;
    ws.send(JSON.stringify({ type: 'welcome' }));
    ws.on('message', (data) => {
      let f: ClientFrame;
      try {
        f = JSON.parse(String(data)) as ClientFrame;
      } catch {
        return;
      }
      if (opts.dropAbove && f.type === 'publish') publishDropping(rooms, ws, id, f, opts.dropAbove, () => dropped.inc());
      else handleChatFrame(rooms, ws, id, f);
    });
    ws.on('close', () => leaveAll(rooms, ws));
    ws.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    metrics: `http://127.0.0.1:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}

/** A publish whose delivery skips every member with more than `limit` bytes queued. */
function publishDropping(rooms: Rooms, ws: WebSocket, sid: string, f: ClientFrame, limit: number, onDrop: () => void): void {
  const name = String(f.room);
  const room = rooms.get(name) ?? rooms.set(name, { seq: 0, members: new Set() }).get(name)!;
  const seq = ++room.seq;
  ws.send(JSON.stringify({ type: 'ack', id: f.id, room: name, seq }));
  const text = JSON.stringify({ type: 'message', room: name, seq, from: sid, payload: f.payload });
  for (const m of room.members) {
    if (m.readyState !== m.OPEN) continue;
    if (m.bufferedAmount > limit) onDrop();
    else m.send(text);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--drop-above');
  const s = await startHoardingBroadcast({ dropAbove: at > 0 ? Number(process.argv[at + 1]) : undefined });
  process.stdout.write(`${JSON.stringify({ url: s.url, metrics: s.metrics })}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
