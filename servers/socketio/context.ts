/**
 * What every part of the Socket.IO flavour shares: the per-socket data, the
 * reply helpers (acks that count, error replies), the room-name rule, and the
 * context the event handlers run in.
 */
import type { Namespace, Server, Socket } from 'socket.io';
import type { Bus } from '../core/bus.ts';
import type { ServerCounters } from '../core/metrics.ts';
import type { ServerOptions } from '../core/options.ts';
import { RESERVED_ROOM_PREFIX, roomNameProblem } from '../core/room-name.ts';
import type { OfflineQueue } from './offline-queue.ts';
import type { Resumer } from './resume.ts';
import type { orderRoomDeliveries } from './order.ts';
import type { RelayGate } from './relay-gate.ts';

/** The server's own rooms (`@user:<id>`) live under the reserved prefix (servers/core/room-name.ts). */
export const USER_ROOM = `${RESERVED_ROOM_PREFIX}user:`;
/**
 * The shape of a Socket.IO socket id (base64id: 20 characters of base64url). Reserved as a
 * shape, not only the ids connected here, so a socket on another node cannot be targeted either.
 */
export const SOCKET_ID_RE = /^[A-Za-z0-9_-]{20}$/;
/** The event carrying room messages (PROTOCOL.md section 2). */
export const MESSAGE_EVENT = 'new-message';

/** Per-socket state, kept in `socket.data` (small and serialisable: recovery persists it). */
export interface ConnData {
  user: string;
  allowed?: string[];
  /** Token expiry in ms since the epoch; 0 = never (auth off). */
  expMs: number;
  tokens: number;
  refillAt: number;
  abuseStart: number;
  abuseCount: number;
}

/** An event's acknowledgement callback. */
export type Ack = (res: Record<string, unknown>) => void;
const noAck: Ack = () => {};

/** `{success: false, error: code, message}`: the error reply of every event. */
export function errorReply(code: string, message: string): Record<string, unknown> {
  return { success: false, error: code, message };
}

/**
 * A usable chat room name, or the reason it is not: the common rule (servers/core/room-name.ts)
 * and, as every socket is in a room named by its id, no name shaped like a socket id
 * (joining it would let a client push events to that socket alone). `isSocketId` says
 * whether a name is the id of a socket connected here.
 */
export function chatRoomProblem(room: unknown, maxRoomName: number, isSocketId: (name: string) => boolean): string | undefined {
  const problem = roomNameProblem(room, maxRoomName);
  if (problem) return problem;
  if (SOCKET_ID_RE.test(room as string) || isSocketId(room as string)) return 'room names shaped like a Socket.IO socket id (20 characters A-Z a-z 0-9 _ -) are reserved';
  return undefined;
}

/** Room ordering across nodes (servers/socketio/order.ts), when several nodes share an adapter. */
export type RoomOrder = ReturnType<typeof orderRoomDeliveries>;

/** What the event handlers run with (built once per server). */
export interface EventContext {
  opts: ServerOptions;
  io: Server;
  nsp: Namespace;
  bus: Bus;
  queue: OfflineQueue;
  resumer: Resumer;
  order: RoomOrder | undefined;
  /** Pub/sub adapter: room messages are acked once Redis confirmed their PUBLISH (relay-gate.ts). */
  relay: RelayGate | undefined;
  /** Several nodes share the adapter (fetchSockets asks them all). */
  distributed: boolean;
  counters: ServerCounters;
  log(line: string): void;
  /** Publishes refused (Redis away): throttled to one line a second. */
  logPublishFailure(line: string): void;
  /** Handler failures on bad input: throttled to one line a second. */
  logEventFailure(line: string): void;
  /** A new message id (node, pid, counter). */
  nextMessageId(): string;
}

/** Members of `room` on this node. */
export function localSize(ctx: EventContext, room: string): number {
  return ctx.nsp.adapter.rooms.get(room)?.size ?? 0;
}

/** The room-name rule of this server (see chatRoomProblem). */
export function roomProblem(ctx: EventContext, room: unknown): string | undefined {
  return chatRoomProblem(room, ctx.opts.maxRoomName, (name) => ctx.nsp.adapter.sids.has(name));
}

/** The event's ack (counted as a frame out when called), or a no-op when the client sent none. */
export function ackOf(ctx: EventContext, a: unknown): Ack {
  if (typeof a !== 'function') return noAck;
  return (res) => {
    ctx.counters.framesOut++;
    (a as Ack)(res);
  };
}

/** Answer `bad_request` (counted). */
export function bad(ctx: EventContext, reply: Ack, message: string): void {
  ctx.counters.badRequests++;
  reply(errorReply('bad_request', message));
}

/** Tell the socket why (`kicked` {reason}) and disconnect it. */
export function kick(counters: ServerCounters, socket: Socket, reason: string): void {
  if (!socket.connected) return;
  socket.emit('kicked', { reason });
  counters.framesOut++;
  socket.disconnect(true);
}

/**
 * Wrap an event handler so a throw or a rejection is logged (throttled, no stack) and
 * answered `internal` when the event has an ack, never left to end the process.
 */
export function guarded(ctx: EventContext, name: string, handler: (this: Socket, ...args: unknown[]) => unknown) {
  return function (this: Socket, ...args: unknown[]) {
    const fail = (err: unknown) => {
      ctx.logEventFailure(`wsbench server: ${name} handler failed: ${(err as Error)?.message ?? String(err)}`);
      const last = args[args.length - 1];
      if (typeof last === 'function') {
        try {
          ctx.counters.framesOut++;
          (last as Ack)(errorReply('internal', 'internal error'));
        } catch {
          // The ack itself could not be encoded: nothing more to tell the client.
        }
      }
    };
    try {
      const r = handler.apply(this, args);
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
