/**
 * A truth server for test/truth: speaks the native `wsbench/1` subset the harness
 * needs (welcome, join, publish + ack + delivery, ping), and holds every delivery
 * back by a known amount: in each room, publish i (from 0) is delivered after
 * `slowMs` when i % `slowEvery` === `slowEvery` - 1, else after `fastMs`. Once,
 * `stallAfterMs` after the first publish of a room whose name starts with
 * `stallRoomPrefix`, it blocks its own event loop for `stallMs` (a server stall).
 *
 * Run as a child process: `node --import tsx delay-server.ts '<json options>'`;
 * prints `{"port":N}` on stdout once listening.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

export interface DelayServerOptions {
  fastMs: number;
  slowMs: number;
  slowEvery: number;
  stallMs: number;
  stallAfterMs: number;
  stallRoomPrefix: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as DelayServerOptions;
const rooms = new Map<string, { seq: number; members: Set<WebSocket> }>();
const roomOf = (name: string) => rooms.get(name) ?? rooms.set(name, { seq: 0, members: new Set() }).get(name)!;
let stallArmed = false;

/** Block this process's event loop for `ms`: what a GC pause or a synchronous bug does to a server. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Busy on purpose.
  }
}

function armStall(room: string): void {
  if (stallArmed || o.stallMs <= 0 || !room.startsWith(o.stallRoomPrefix)) return;
  stallArmed = true;
  setTimeout(() => stall(o.stallMs), o.stallAfterMs);
}

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
wss.on('connection', (ws) => {
  ws.send(JSON.stringify({ type: 'welcome', sid: 's', user: 'u', node: 'truth', heartbeatMs: 0, limits: { rate: 1e6, burst: 1e6, maxPayload: 1 << 20 } }));
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as { type: string; id: unknown; room: string; payload?: unknown };
    if (f.type === 'join') {
      const r = roomOf(f.room);
      r.members.add(ws);
      ws.send(JSON.stringify({ type: 'joined', id: f.id, room: f.room, members: r.members.size, seq: r.seq }));
    } else if (f.type === 'publish') {
      const r = roomOf(f.room);
      const seq = ++r.seq;
      armStall(f.room);
      ws.send(JSON.stringify({ type: 'ack', id: f.id, room: f.room, seq }));
      const frame = JSON.stringify({ type: 'message', room: f.room, seq, from: 'u', payload: f.payload });
      const delayMs = (seq - 1) % o.slowEvery === o.slowEvery - 1 ? o.slowMs : o.fastMs;
      setTimeout(() => {
        for (const m of r.members) if (m.readyState === WebSocket.OPEN) m.send(frame);
      }, delayMs);
    } else if (f.type === 'ping') {
      ws.send(JSON.stringify({ type: 'pong', id: f.id, payload: f.payload }));
    } else if (f.type === 'leave') {
      roomOf(f.room).members.delete(ws);
      ws.send(JSON.stringify({ type: 'left', id: f.id, room: f.room }));
    }
  });
  ws.on('close', () => {
    for (const r of rooms.values()) r.members.delete(ws);
  });
});
wss.on('listening', () => process.stdout.write(`${JSON.stringify({ port: (wss.address() as AddressInfo).port })}\n`));
process.on('SIGTERM', () => process.exit(0));
