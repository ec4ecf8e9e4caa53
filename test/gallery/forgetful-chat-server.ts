/**
 * Gallery: a Socket.IO chat server with the whole chat vocabulary of docs/PROTOCOL.md
 * section 2 (`join-room`, `leave-room`, `message` -> `new-message`, `typing` ->
 * `user-typing`, `private-message`, presence `user-joined`/`user-left`), broken on
 * purpose in one place: a private message to an offline user is acknowledged as
 * queued (`{success:true, delivered:false, queued:true}`) and then forgotten, so it
 * never reaches its recipient. The user id is the `sub` of the client's token (not
 * verified: a test fixture).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';

/** Start the server on 127.0.0.1 (ephemeral port); `counts.forgotten` counts the private messages it dropped. */
export async function startForgetfulChatServer(): Promise<{ url: string; counts: { forgotten: number }; close(): Promise<void> }> {
  const counts = { forgotten: 0 };
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'] });
  io.on('connection', (socket) => {
    const user = subOf(socket);
    void socket.join(`user:${user}`);
    socket.emit('connected', { sessionId: socket.id, userId: user });
    socket.on('join-room', (roomId: unknown, ack?: (r: unknown) => void) => {
      const room = String(roomId);
      void socket.join(room);
      socket.to(room).emit('user-joined', { userId: user, roomId: room });
      ack?.({ success: true, members: io.sockets.adapter.rooms.get(room)?.size ?? 0 });
    });
    socket.on('leave-room', (roomId: unknown, ack?: (r: unknown) => void) => {
      void socket.leave(String(roomId));
      ack?.({ success: true });
    });
    socket.on('message', (m: { roomId?: unknown; content?: unknown }, ack?: (r: unknown) => void) => {
      io.to(String(m?.roomId)).emit('new-message', { roomId: m?.roomId, userId: user, content: m?.content });
      ack?.({ success: true });
    });
    socket.on('typing', (m: { roomId?: unknown }) => {
      socket.to(String(m?.roomId)).emit('user-typing', { userId: user, roomId: m?.roomId });
    });
    socket.on('private-message', (m: { targetUserId?: unknown; content?: unknown }, ack?: (r: unknown) => void) => {
      const target = `user:${String(m?.targetUserId)}`;
      if ((io.sockets.adapter.rooms.get(target)?.size ?? 0) > 0) {
        io.to(target).emit('private-message', { fromUserId: user, targetUserId: m?.targetUserId, content: m?.content });
        return ack?.({ success: true, delivered: true });
      }
      counts.forgotten++; // the bug: "queued", never delivered
      ack?.({ success: true, delivered: false, queued: true });
    });
    socket.on('disconnecting', () => {
      for (const room of socket.rooms) if (room !== socket.id && !room.startsWith('user:')) socket.to(room).emit('user-left', { userId: user, roomId: room });
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

/** The `sub` claim of the handshake's JWT (decoded, not verified), or the socket id. */
function subOf(socket: Socket): string {
  const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
  try {
    const payload = JSON.parse(Buffer.from(String(token).split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown };
    return typeof payload.sub === 'string' ? payload.sub : socket.id;
  } catch {
    return socket.id;
  }
}
