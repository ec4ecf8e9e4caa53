/**
 * Gallery: a small `ws` server speaking wsbench/1 (welcome, join, leave, publish, ping)
 * that breaks delivery at known counts and says exactly what it did, so the ledger
 * can be checked against an independent reference (MEASURING.md "Checking ourselves").
 *
 * - `seq: false` (the default) behaves like most third-party servers: no per-room
 *   sequence number on joins, acks or messages.
 * - `dropEvery: N`: one member's delivery of every Nth publish is not sent.
 * - `dupEvery: N`: one member gets every Nth publish twice (back to back).
 * - `reorderEvery: N`: one member's delivery of every Nth publish is held back and sent
 *   right after that room's next message to the same member (a held message the room
 *   does not overtake within 200 ms is sent in order and not counted).
 * - `closePublishersAfter: N`: from the (N+1)th publish on, the server refuses every
 *   publish by closing its connection with 1008 (no ack, no delivery).
 * - `refuseEvery: N`: every Nth WebSocket upgrade is refused with HTTP 429 and the body
 *   `Rate limit exceeded`.
 * - `welcome: false`: the server never greets a connection (a wsbench/1 client waits for it).
 * - `silentAfter: N`: publishes after the Nth are acked but delivered to nobody (counted
 *   in `dropped`, one per member): a loss at the tail that no gap reveals.
 * - `silentJoinEvery: N`: every Nth join gets no reply (the client is added to the room).
 * - `stripPayload: true`: messages carry `{"text":"..."}` instead of the published payload
 *   (the harness tag is gone, so without seq nobody can judge delivery).
 *
 * Counts are global and per room; read them from `counts()` or `GET /counts`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

export interface FaultyBroadcastOptions {
  seq?: boolean;
  dropEvery?: number;
  dupEvery?: number;
  reorderEvery?: number;
  closePublishersAfter?: number;
  refuseEvery?: number;
  welcome?: boolean;
  stripPayload?: boolean;
  silentJoinEvery?: number;
  silentAfter?: number;
}

export interface FaultyCounts {
  /** Publishes accepted (acked and fanned out). */
  published: number;
  /** Deliveries sent (duplicates included once each copy). */
  sent: number;
  dropped: number;
  duplicated: number;
  reordered: number;
  /** Publishes refused by closing the publisher's connection with 1008. */
  refused: number;
  /** Connections closed with 1008 for publishing. */
  closedPublishers: number;
  /** Upgrades refused with HTTP 429. */
  handshakesRefused: number;
  rooms: Record<string, { dropped: number; duplicated: number; reordered: number }>;
}

export interface FaultyBroadcastServer {
  /** ws://127.0.0.1:PORT/ws */
  url: string;
  counts(): FaultyCounts;
  close(): Promise<void>;
}

interface Room {
  seq: number;
  members: Set<WebSocket>;
  /** Held (reordered) messages per member: sent after the member's next message of this room. */
  held: Map<WebSocket, { frame: string; timer: NodeJS.Timeout }>;
}

export async function startFaultyBroadcast(opts: FaultyBroadcastOptions = {}): Promise<FaultyBroadcastServer> {
  const counts: FaultyCounts = { published: 0, sent: 0, dropped: 0, duplicated: 0, reordered: 0, refused: 0, closedPublishers: 0, handshakesRefused: 0, rooms: {} };
  const rooms = new Map<string, Room>();
  const roomOf = (name: string) => rooms.get(name) ?? rooms.set(name, { seq: 0, members: new Set(), held: new Map() }).get(name)!;
  const roomCounts = (name: string) => (counts.rooms[name] ??= { dropped: 0, duplicated: 0, reordered: 0 });
  const httpServer = http.createServer((req, res) => {
    if (req.url === '/counts') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(counts));
      return;
    }
    res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(req.url === '/healthz' ? '{"status":"ok"}' : '{}');
  });
  let upgrades = 0;
  const wss = new WebSocketServer({
    server: httpServer,
    path: '/ws',
    verifyClient: (_info, done) => {
      if (opts.refuseEvery && ++upgrades % opts.refuseEvery === 0) {
        counts.handshakesRefused++;
        return done(false, 429, 'Rate limit exceeded');
      }
      done(true);
    },
  });
  let sid = 0;
  let joins = 0;

  const send = (ws: WebSocket, frame: string) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(frame);
    counts.sent++;
  };

  /** Deliver one message of `room` to `ws`, releasing a held one after it. */
  const deliver = (room: Room, ws: WebSocket, frame: string) => {
    send(ws, frame);
    const held = room.held.get(ws);
    if (held) {
      clearTimeout(held.timer);
      room.held.delete(ws);
      send(ws, held.frame);
      return true;
    }
    return false;
  };

  const fanOut = (name: string, frame: string, n: number) => {
    const room = roomOf(name);
    const members = [...room.members];
    // The member that suffers this publish's fault: a different one each time.
    const victim = members.length ? members[n % members.length] : undefined;
    const drop = opts.dropEvery && n % opts.dropEvery === 0;
    const dup = opts.dupEvery && n % opts.dupEvery === 0;
    const hold = opts.reorderEvery && n % opts.reorderEvery === 0;
    if (opts.silentAfter !== undefined && n > opts.silentAfter) {
      counts.dropped += members.length;
      roomCounts(name).dropped += members.length;
      return;
    }
    for (const ws of members) {
      if (ws === victim && drop) {
        counts.dropped++;
        roomCounts(name).dropped++;
        continue;
      }
      if (ws === victim && hold && !room.held.has(ws)) {
        const timer = setTimeout(() => {
          room.held.delete(ws);
          send(ws, frame);
        }, 200);
        room.held.set(ws, { frame, timer });
        continue;
      }
      if (deliver(room, ws, frame)) {
        counts.reordered++;
        roomCounts(name).reordered++;
      }
      if (ws === victim && dup) {
        send(ws, frame);
        counts.duplicated++;
        roomCounts(name).duplicated++;
      }
    }
  };

  wss.on('connection', (ws) => {
    const me = `s${++sid}`;
    if (opts.welcome !== false) ws.send(JSON.stringify({ type: 'welcome', sid: me, user: me, heartbeatMs: 30000 }));
    ws.on('message', (data) => {
      let f: { type?: string; id?: string | number; room?: string; payload?: unknown };
      try {
        f = JSON.parse(String(data));
      } catch {
        ws.send(JSON.stringify({ type: 'error', code: 'bad_request', message: 'not JSON' }));
        return;
      }
      const name = String(f.room ?? '');
      switch (f.type) {
        case 'join': {
          const room = roomOf(name);
          room.members.add(ws);
          if (opts.silentJoinEvery && ++joins % opts.silentJoinEvery === 0) return;
          ws.send(JSON.stringify({ type: 'joined', id: f.id, room: name, members: room.members.size, ...(opts.seq ? { seq: room.seq } : {}) }));
          return;
        }
        case 'leave':
          roomOf(name).members.delete(ws);
          ws.send(JSON.stringify({ type: 'left', id: f.id, room: name }));
          return;
        case 'publish': {
          if (opts.closePublishersAfter !== undefined && counts.published >= opts.closePublishersAfter) {
            counts.refused++;
            if (ws.readyState === WebSocket.OPEN) counts.closedPublishers++;
            ws.close(1008, 'publishing not allowed');
            return;
          }
          const room = roomOf(name);
          const seq = ++room.seq;
          const n = ++counts.published;
          ws.send(JSON.stringify({ type: 'ack', id: f.id, room: name, ...(opts.seq ? { seq } : {}) }));
          fanOut(name, JSON.stringify({ type: 'message', room: name, ...(opts.seq ? { seq } : {}), from: me, payload: opts.stripPayload ? { text: 'hello' } : f.payload }), n);
          return;
        }
        case 'ping':
          ws.send(JSON.stringify({ type: 'pong', id: f.id }));
          return;
        default:
          ws.send(JSON.stringify({ type: 'error', id: f.id, code: 'bad_request', message: `unknown type ${String(f.type)}` }));
      }
    });
    ws.on('close', () => {
      for (const room of rooms.values()) {
        room.members.delete(ws);
        const held = room.held.get(ws);
        if (held) clearTimeout(held.timer);
        room.held.delete(ws);
      }
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    counts: () => structuredClone(counts),
    close: async () => {
      for (const room of rooms.values()) for (const h of room.held.values()) clearTimeout(h.timer);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

/** Servers for one test file: start any number, close them all after the file (vitest `afterAll`). */
export function faultyBroadcastPool(afterAll: (fn: () => Promise<void>) => void): (opts?: FaultyBroadcastOptions) => Promise<FaultyBroadcastServer> {
  const servers: FaultyBroadcastServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });
  return async (opts) => {
    const s = await startFaultyBroadcast(opts);
    servers.push(s);
    return s;
  };
}
