/**
 * Gallery: a Socket.IO chat server as many are written: `join-room`, `leave-room`,
 * `message` -> `new-message` to the room, acks as `{ success: true }` or
 * `{ error: 'Rate limit exceeded' }`, no seq, and a `connected` event that lists no
 * `features` (so no `join-since`). Its limiter is a fixed window per socket
 * (N messages per window, counted from the socket's first message); the first
 * refusal disconnects the socket unless `disconnectOnRefusal` is false.
 * `leak` breaks it on purpose (that many more messages accepted per window).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

export interface SocketIoChatOptions {
  /** Messages a socket may send per window (default 100). */
  count?: number;
  /** Window length in milliseconds (default 60000). */
  windowMs?: number;
  disconnectOnRefusal?: boolean;
  leak?: number;
}

export async function startSocketIoChatServer(opts: SocketIoChatOptions = {}): Promise<{ url: string; counts: { refused: number; disconnected: number }; close(): Promise<void> }> {
  const count = opts.count ?? 100;
  const windowMs = opts.windowMs ?? 60_000;
  const counts = { refused: 0, disconnected: 0 };
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  let sessions = 0;
  io.on('connection', (socket) => {
    const user = `u${++sessions}`;
    let windowStart = 0;
    let used = 0;
    socket.emit('connected', { sessionId: socket.id, userId: user });
    socket.on('join-room', (roomId: unknown, ack?: (r: unknown) => void) => {
      void socket.join(String(roomId));
      ack?.({ success: true, members: io.sockets.adapter.rooms.get(String(roomId))?.size ?? 0 });
    });
    socket.on('leave-room', (roomId: unknown, ack?: (r: unknown) => void) => {
      void socket.leave(String(roomId));
      ack?.({ success: true });
    });
    socket.on('message', (m: { roomId?: unknown; content?: unknown }, ack?: (r: unknown) => void) => {
      const now = Date.now();
      if (windowStart === 0 || now - windowStart >= windowMs) {
        windowStart = now;
        used = 0;
      }
      if (++used > count + (opts.leak ?? 0)) {
        counts.refused++;
        ack?.({ error: 'Rate limit exceeded' });
        if (opts.disconnectOnRefusal !== false && socket.connected) {
          counts.disconnected++;
          socket.disconnect(true);
        }
        return;
      }
      io.to(String(m?.roomId)).emit('new-message', { roomId: m?.roomId, userId: user, content: m?.content });
      ack?.({ success: true });
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    counts,
    close: () => new Promise<void>((resolve) => void io.close(() => resolve())),
  };
}
