/**
 * The plain wsbench/1 chat part the gallery's native servers share (join, leave,
 * publish with ack and fan-out, app-level ping), so each server file holds only
 * what makes it different, and the listen/close plumbing.
 */
import { WebSocketServer, WebSocket } from 'ws';
import type { AddressInfo } from 'node:net';

/** A decoded client frame, as loosely as a third-party server reads it. */
export type ClientFrame = { type?: string; id?: unknown; room?: string; payload?: unknown };

export type Rooms = Map<string, { seq: number; members: Set<WebSocket> }>;

/** Answer one chat frame of connection `ws` (session `sid`); unknown types are ignored. */
export function handleChatFrame(rooms: Rooms, ws: WebSocket, sid: string, f: ClientFrame): void {
  const room = (name: string) => rooms.get(name) ?? rooms.set(name, { seq: 0, members: new Set() }).get(name)!;
  switch (f.type) {
    case 'join': {
      const r = room(String(f.room));
      r.members.add(ws);
      ws.send(JSON.stringify({ type: 'joined', id: f.id, room: f.room, members: r.members.size, seq: r.seq }));
      return;
    }
    case 'leave':
      room(String(f.room)).members.delete(ws);
      ws.send(JSON.stringify({ type: 'left', id: f.id, room: f.room }));
      return;
    case 'publish': {
      const r = room(String(f.room));
      const seq = ++r.seq;
      ws.send(JSON.stringify({ type: 'ack', id: f.id, room: f.room, seq }));
      const msg = JSON.stringify({ type: 'message', room: f.room, seq, from: sid, payload: f.payload });
      for (const m of r.members) if (m.readyState === WebSocket.OPEN) m.send(msg);
      return;
    }
    case 'ping':
      ws.send(JSON.stringify({ type: 'pong', id: f.id }));
      return;
  }
}

/** Forget a closed connection in every room. */
export function leaveAll(rooms: Rooms, ws: WebSocket): void {
  for (const r of rooms.values()) r.members.delete(ws);
}

/** A WebSocket server on an ephemeral loopback port at /ws, listening. */
export async function listenWs(): Promise<{ wss: WebSocketServer; url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const { port } = wss.address() as AddressInfo;
  return {
    wss,
    url: `ws://127.0.0.1:${port}/ws`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}
