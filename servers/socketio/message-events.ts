/**
 * The Socket.IO flavour's message events: `message` to a room (seq from the bus,
 * fan-out by the adapter) and `private-message` to a user (delivered when online
 * anywhere, else queued), and the hand-over of queued ones on connect.
 */
import type { Socket } from 'socket.io';
import { allocateAndRetain } from '../core/bus.ts';
import { failureCode } from '../core/errors.ts';
import { retainedHead } from './binary.ts';
import { messageOfQueued, queuedText } from './offline-queue.ts';
import { ackOf, bad, errorReply, localSize, MESSAGE_EVENT, roomProblem, USER_ROOM, type ConnData, type EventContext } from './context.ts';

/** The checked fields of a `message`, or the bad_request message. */
export function messageArgs(msg: unknown, roomRule: (room: unknown) => string | undefined): { room: string; content: unknown; type: string } | { problem: string } {
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { problem: 'message must be an object {roomId, content, type?}' };
  const m = msg as Record<string, unknown>;
  const problem = roomRule(m.roomId);
  if (problem) return { problem };
  if (m.content === undefined) return { problem: 'missing field "content"' };
  if (m.type !== undefined && typeof m.type !== 'string') return { problem: 'field "type" must be a string' };
  return { room: m.roomId as string, content: m.content, type: (m.type as string | undefined) ?? 'text' };
}

/** The checked fields of a `private-message`, or the bad_request message. */
export function privateArgs(msg: unknown): { target: string; content: unknown } | { problem: string } {
  const m = msg as Record<string, unknown> | null;
  if (typeof m !== 'object' || m === null) return { problem: 'private-message must be an object {targetUserId, content}' };
  if (typeof m.targetUserId !== 'string' || m.targetUserId === '') return { problem: 'targetUserId must be a non-empty string' };
  if (m.content === undefined) return { problem: 'missing field "content"' };
  return { target: m.targetUserId, content: m.content };
}

/** The message event handlers of one server. */
export function createMessageEvents(ctx: EventContext) {
  const { opts, io, bus, queue, counters } = ctx;

  async function onMessage(this: Socket, msg: unknown, ackArg?: unknown) {
    const reply = ackOf(ctx, ackArg);
    const args = messageArgs(msg, (room) => roomProblem(ctx, room));
    if ('problem' in args) return bad(ctx, reply, args.problem);
    const { room, content, type } = args;
    if (!this.rooms.has(room)) return reply(errorReply('not_joined', `not a member of room ${JSON.stringify(room)}`));
    // Delay before the seq is allocated, so seqs still reach every member in order.
    if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
    const timestamp = Date.now();
    const id = ctx.nextMessageId();
    const userId = (this.data as ConnData).user;
    // The retained text is the new-message payload (binary content in base64, binary.ts); the bus puts the seq between prefix and suffix.
    const head = retainedHead(id, room, userId, content, type);
    let seq: number;
    try {
      // Seq and retention in one step: a seq never exists without its message, so a member
      // resuming with `since` can always replay it, also across a Redis outage.
      seq = await allocateAndRetain(bus, room, `${head.slice(0, -1)},"seq":`, `,"timestamp":${timestamp}}`, opts.retention > 0);
    } catch (err) {
      ctx.logPublishFailure(`wsbench server: publish to room ${room} refused: ${(err as Error).message}`);
      return reply(errorReply(failureCode(err), `publish failed: ${(err as Error).message}`));
    }
    // Once for the whole room: the adapter encodes the packet once and writes it to every member.
    const emit = () => io.to(room).emit(MESSAGE_EVENT, { id, roomId: room, userId, content, type, seq, timestamp });
    const ok = { success: true, messageId: id, seq, timestamp };
    if (ctx.relay) {
      // Pub/sub adapter: the ack waits for Redis to confirm the PUBLISH (it still comes before the sender's own new-message).
      await ctx.relay.relay(emit, (relayed) => reply(relayed ? ok : errorReply('unavailable', `seq ${seq} is retained but its relay to the other nodes failed; members elsewhere get it from the retention or as a gap`)));
    } else {
      reply(ok);
      emit();
    }
    const n = localSize(ctx, room);
    counters.deliveries += n;
    counters.framesOut += n;
  }

  /** Whether `userRoom` has a member on this node or, with several nodes, on any (bounded by the adapter's requestsTimeout). */
  const online = async (userRoom: string) => localSize(ctx, userRoom) > 0 || (ctx.distributed && (await io.in(userRoom).fetchSockets()).length > 0);

  async function onPrivate(this: Socket, msg: unknown, ackArg?: unknown) {
    const reply = ackOf(ctx, ackArg);
    const args = privateArgs(msg);
    if ('problem' in args) return bad(ctx, reply, args.problem);
    const { target, content } = args;
    const out = { id: ctx.nextMessageId(), fromUserId: (this.data as ConnData).user, targetUserId: target, content, timestamp: Date.now() };
    const userRoom = USER_ROOM + target;
    try {
      if (await online(userRoom)) {
        io.to(userRoom).emit('private-message', out);
        counters.framesOut += localSize(ctx, userRoom);
        reply({ success: true, messageId: out.id, delivered: true });
      } else if ((await queue.push(target, queuedText(out))) === 'full') {
        reply(errorReply('queue_full', `${target} is offline and their queue is full (offline-max-per-user ${opts.offlineMaxPerUser}, offline-bytes ${opts.offlineBytes}); retry later`));
      } else {
        reply({ success: true, messageId: out.id, delivered: false, queued: true });
      }
    } catch (err) {
      ctx.logEventFailure(`wsbench server: private message failed: ${(err as Error).message}`);
      reply(errorReply('internal', 'private message failed'));
    }
  }

  /** Hand `socket` the private messages queued for its user while it was away (`offline: true`). */
  const deliverQueued = (socket: Socket, user: string) => {
    queue.take(user).then(
      (texts) => {
        for (const t of texts) {
          socket.emit('private-message', { ...messageOfQueued(t), offline: true });
          counters.framesOut++;
        }
      },
      (err) => ctx.log(`wsbench server: offline queue of ${user} failed: ${(err as Error).message}`),
    );
  };

  return { onMessage, onPrivate, deliverQueued };
}
