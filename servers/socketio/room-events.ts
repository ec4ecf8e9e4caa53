/**
 * The Socket.IO flavour's room events: `join-room` (with or without `since`),
 * `leave-room`, `typing`, and the presence a disconnect sends. `this` is the socket.
 */
import type { Socket } from 'socket.io';
import { roomAllowed } from '../core/jwt.ts';
import { failureCode } from '../core/errors.ts';
import { RESERVED_ROOM_PREFIX } from '../core/room-name.ts';
import { epochField, resumeFrom } from '../core/bus.ts';
import { ackOf, bad, errorReply, localSize, roomProblem, type ConnData, type EventContext } from './context.ts';

/** The checked arguments of a join, or the bad_request message. */
export function joinArgs(roomId: unknown, rest: unknown[]): { room: string; since: number | undefined; epoch?: string } | { problem: string } {
  const options = rest.length > 1 ? rest[0] : undefined;
  if (options !== undefined && (typeof options !== 'object' || options === null)) return { problem: 'join-room options must be an object {since}' };
  const since = (options as { since?: unknown } | undefined)?.since;
  if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) return { problem: 'since must be a non-negative integer (the last seq received)' };
  const epoch = (options as { epoch?: unknown } | undefined)?.epoch;
  return { room: roomId as string, since: since as number | undefined, ...(typeof epoch === 'string' ? { epoch } : {}) };
}

/** The room event handlers of one server. */
export function createRoomEvents(ctx: EventContext) {
  const { opts, bus, resumer, order, counters } = ctx;

  const announceJoin = (socket: Socket, room: string, d: ConnData) => {
    if (opts.presence && socket.rooms.has(room)) {
      socket.to(room).emit('user-joined', { userId: d.user, roomId: room });
      counters.framesOut += localSize(ctx, room) - 1;
    }
  };

  /** A join with `since` of a room the socket is not in: replayed in seq order before live messages (servers/socketio/resume.ts). */
  const resumeJoin = async (socket: Socket, room: string, since: number, reply: (res: Record<string, unknown>) => void, d: ConnData) => {
    resumer.hold(socket, room);
    await socket.join(room);
    try {
      await resumer.replay(socket, room, since, (seq) => {
        order?.noteJoin(room, seq);
        reply({ success: true, room: { id: room }, members: localSize(ctx, room), seq, ...epochField(bus) });
      });
    } catch (err) {
      resumer.cancel(socket, room);
      socket.leave(room);
      return reply(errorReply(failureCode(err), `join failed: ${(err as Error).message}`));
    }
    announceJoin(socket, room, d);
  };

  /** `join-room` (roomId, ack) or, resuming, (roomId, {since}, ack). */
  async function onJoin(this: Socket, roomId: unknown, ...rest: unknown[]) {
    const reply = ackOf(ctx, typeof roomId === 'function' ? roomId : rest[rest.length - 1]);
    const d = this.data as ConnData;
    const problem = roomProblem(ctx, roomId);
    if (problem) return bad(ctx, reply, problem);
    const args = joinArgs(roomId, rest);
    if ('problem' in args) return bad(ctx, reply, args.problem);
    const { room } = args;
    const since = resumeFrom(bus, args.since, args.epoch);
    if (!roomAllowed({ rooms: d.allowed }, room)) return reply(errorReply('forbidden', `room ${JSON.stringify(room)} is not allowed by the token`));
    const already = this.rooms.has(room);
    // Every socket is in its own room and its user's room; the rest are chat rooms.
    if (!already && this.rooms.size - 2 >= opts.maxRoomsPerConn) return bad(ctx, reply, `too many rooms: at most ${opts.maxRoomsPerConn} per connection`);
    // A member already (a recovered session, a repeated join) has had every message since it joined.
    if (since !== undefined && !already) return resumeJoin(this, room, since, reply, d);
    // Join first, then read the seq: every message emitted after the join reaches the
    // socket, and its seq was allocated before the read, so nothing after `seq` is missed.
    await this.join(room);
    let seq: number;
    try {
      seq = await bus.lastSeq(room);
    } catch (err) {
      this.leave(room);
      return reply(errorReply(failureCode(err), `join failed: ${(err as Error).message}`));
    }
    if (!this.connected) return;
    order?.noteJoin(room, seq);
    reply({ success: true, room: { id: room }, members: localSize(ctx, room), seq, ...epochField(bus) });
    if (!already) announceJoin(this, room, d);
  }

  function onLeave(this: Socket, roomId: unknown, ackArg?: unknown) {
    const reply = ackOf(ctx, typeof roomId === 'function' ? roomId : ackArg);
    const problem = roomProblem(ctx, roomId);
    if (problem) return bad(ctx, reply, problem);
    const room = roomId as string;
    if (this.rooms.has(room)) {
      resumer.cancel(this, room);
      this.leave(room);
      if (opts.presence) {
        this.to(room).emit('user-left', { userId: (this.data as ConnData).user, roomId: room });
        counters.framesOut += localSize(ctx, room);
      }
    }
    reply({ success: true });
  }

  function onTyping(this: Socket, msg: unknown) {
    const room = (msg as { roomId?: unknown } | null)?.roomId;
    if (typeof room !== 'string' || roomProblem(ctx, room) || !this.rooms.has(room)) return;
    this.to(room).emit('user-typing', { userId: (this.data as ConnData).user, roomId: room });
    counters.framesOut += localSize(ctx, room) - 1;
  }

  /** Presence `user-left` to every chat room the socket was in. */
  function onDisconnecting(this: Socket) {
    if (!opts.presence) return;
    const user = (this.data as ConnData).user;
    for (const room of this.rooms) {
      if (room === this.id || room.startsWith(RESERVED_ROOM_PREFIX)) continue;
      this.to(room).emit('user-left', { userId: user, roomId: room });
      counters.framesOut += localSize(ctx, room) - 1;
    }
  }

  return { onJoin, onLeave, onTyping, onDisconnecting };
}
