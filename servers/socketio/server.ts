/**
 * The reference realtime server, Socket.IO flavour (PROTOCOL.md section 2,
 * docs/SERVER.md "Socket.IO flavour"): the chat vocabulary on Socket.IO v4,
 * path /socket.io, default namespace. Room seqs come from the same Bus as the
 * native flavour; fan-out is Socket.IO's own (`io.to(room).emit`, encoded once
 * by the adapter, relayed to the other nodes by the Redis adapters).
 */
import { createHttpHandler, createNodeHttpServer, listenNode, waitForDrain } from '../core/http.ts';
import { serverTls } from '../core/tls.ts';
import { takeToken } from '../core/rate-limit.ts';
import { Server, type Socket } from 'socket.io';
import { resolveServerOptions, type ServerOptions } from '../core/options.ts';
import { roomAllowed } from '../core/jwt.ts';
import { createAuthenticator } from '../core/auth.ts';
import { allocateAndRetain, createLocalBus, type Bus } from '../core/bus.ts';
import { createCounters, createServerMetrics, statsLimits, type ServerStats } from '../core/metrics.ts';
import { createMemoryQueue, type OfflineQueue } from './offline-queue.ts';
import { createResumer, type ResumeCounters } from './resume.ts';
import { orderRoomDeliveries, type OrderCounters } from './order.ts';
import { failureCode, throttledLog } from '../core/errors.ts';
import { admitFrame, createIdentityRegistry, type Identity } from '../core/identities.ts';
import { deeperThan, depthMessage } from '../core/json-depth.ts';
import { RESERVED_ROOM_PREFIX, roomNameProblem } from '../core/room-name.ts';
import { retentionLimitsOf } from '../core/room-log.ts';
import { startExpirySweep } from '../core/expiry-sweep.ts';
import { capRecoveryBuffer } from './recovery-cap.ts';

export type { ServerStats } from '../core/metrics.ts';

export interface SocketIoServer {
  /** `http://HOST:PORT/socket.io`. */
  url: string;
  port: number;
  host: string;
  nodeId: string;
  /** This process's statistics. */
  stats(): ServerStats;
  /** Close every connection's transport (clients see `transport close` and may reconnect and recover); keeps listening. */
  dropAll(): void;
  /** Stop accepting, close every connection, wait for them (drainTimeoutMs), release everything. Idempotent. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
}

/** What a multi-node deployment plugs in (servers/socketio/redis.ts builds it). */
export interface SocketIoCluster {
  /** The `adapter` option of the Socket.IO server. */
  adapter: NonNullable<ConstructorParameters<typeof Server>[1]>['adapter'];
  /** Whether connection state recovery can work with this adapter. */
  recovery: boolean;
  queue: OfflineQueue;
  /** Extra dependency health (the adapter's Redis connections). */
  health(): { ok: true } | { ok: false; reason: string };
  close(): Promise<void>;
}

export interface SocketIoServerDeps {
  /** Room seqs; default a local bus owned (and closed) by the server. */
  bus?: Bus;
  /** Adapter and offline queue for several nodes; default in-memory (single node). */
  cluster?: SocketIoCluster;
  /** Engine.IO transports accepted; default polling and websocket. */
  transports?: Array<'polling' | 'websocket'>;
  /** Answers GET /stats instead of this process's stats. */
  statsProvider?: () => Promise<unknown>;
  /** Where diagnostics go (default stderr). */
  log?: (line: string) => void;
}

/** The server's own rooms (`@user:<id>`) live under the reserved prefix (servers/core/room-name.ts). */
const USER_ROOM = `${RESERVED_ROOM_PREFIX}user:`;
/**
 * The shape of a Socket.IO socket id (base64id: 20 characters of base64url). Reserved as a
 * shape, not only the ids connected here, so a socket on another node cannot be targeted either.
 */
const SOCKET_ID_RE = /^[A-Za-z0-9_-]{20}$/;
/** The event carrying room messages (PROTOCOL.md section 2). */
const MESSAGE_EVENT = 'new-message';
/**
 * Engine.IO cannot switch pings off; `heartbeat-ms 0` becomes an interval of
 * 11.5 days (pingInterval + pingTimeout must stay below 2^31 ms, the largest
 * timer the client can set, or its timer fires at once).
 */
const NO_HEARTBEAT_INTERVAL_MS = 1_000_000_000;

/** Per-socket state, kept in `socket.data` (small and serialisable: recovery persists it). */
interface ConnData {
  user: string;
  allowed?: string[];
  /** Token expiry in ms since the epoch; 0 = never (auth off). */
  expMs: number;
  tokens: number;
  refillAt: number;
  abuseStart: number;
  abuseCount: number;
}

type Ack = (res: Record<string, unknown>) => void;
const noAck: Ack = () => {};

function errorReply(code: string, message: string): Record<string, unknown> {
  return { success: false, error: code, message };
}

/** Start a Socket.IO reference server; resolves once it is listening. */
export async function createSocketIoServer(options: Partial<ServerOptions> = {}, deps: SocketIoServerDeps = {}): Promise<SocketIoServer> {
  const opts = resolveServerOptions(options);
  const log = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ownBus = !deps.bus;
  const bus = deps.bus ?? createLocalBus(retentionLimitsOf(opts));
  const cluster = deps.cluster;
  const queue = cluster?.queue ?? createMemoryQueue({ maxPerUser: opts.offlineMaxPerUser, maxBytes: opts.offlineBytes, ttlMs: opts.offlineTtlMs });
  const counters = createCounters();
  const resumeCounters: ResumeCounters = { resumes: 0, replayed: 0, held: 0, gapped: 0, duplicatesDropped: 0 };
  const resumer = createResumer({ bus, retention: opts.retention, event: MESSAGE_EVENT, counters: resumeCounters, log });
  const msgPrefix = `${opts.nodeId}-${process.pid.toString(36)}-`;
  let msgCounter = 0;
  let closing = false;
  const identities = createIdentityRegistry(opts);
  const authenticator = createAuthenticator(opts, identities, () => counters.userConnsRefused++);
  /** Each connection's identity (kept off socket.data, which recovery serialises). */
  const identityOf = new WeakMap<ConnData, Identity>();
  const drainWaiters: Array<() => void> = [];

  // ---- HTTP (registered before Socket.IO, which forwards every other path to it) ----

  const onRequest = createHttpHandler({
    nodeId: opts.nodeId,
    health: () => [bus.health(), cluster?.health() ?? { ok: true as const }],
    stats: () => (deps.statsProvider ? deps.statsProvider() : stats()),
    // `metrics` is created below; read it only when a request comes.
    metrics: { render: () => metrics.render(), get contentType() { return metrics.contentType; } },
    paths: ['/socket.io'],
  });
  const http = createNodeHttpServer(opts.headersTimeoutMs, onRequest, serverTls(opts));

  const recovery = opts.recoveryMs > 0 && (cluster?.recovery ?? true);
  const io = new Server(http, {
    path: '/socket.io',
    serveClient: false,
    transports: deps.transports ?? ['polling', 'websocket'],
    pingInterval: opts.heartbeatMs > 0 ? opts.heartbeatMs : NO_HEARTBEAT_INTERVAL_MS,
    pingTimeout: opts.pingTimeoutMs,
    maxHttpBufferSize: opts.maxPayload,
    perMessageDeflate: opts.compression,
    ...(cluster ? { adapter: cluster.adapter } : {}),
    // Middlewares (auth) run again on recovery, so an expired token is not let back in.
    ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: opts.recoveryMs, skipMiddlewares: false } } : {}),
  });
  const nsp = io.of('/');
  // Single node: Socket.IO keeps every broadcast for recovery in memory, uncapped in bytes; cap it.
  const recoveryBuffer = { evicted: 0, bytes: 0 };
  const recoveryCapped = recovery && !cluster;
  if (recoveryCapped) capRecoveryBuffer(nsp.adapter, opts.recoveryBytes, recoveryBuffer);
  const distributed = cluster !== undefined;
  // Several nodes: the adapter may relay another node's earlier seq after a later one; re-order per room.
  const orderCounters: OrderCounters = { held: 0, filled: 0, gapped: 0, late: 0 };
  const order = distributed
    ? orderRoomDeliveries({
        adapter: nsp.adapter,
        event: MESSAGE_EVENT,
        history: (room, after) => bus.history(room, after),
        deliverLocal: (room, text) => io.local.to(room).emit(MESSAGE_EVENT, JSON.parse(text)),
        gap: (room, from, to) => io.local.to(room).emit('gap', { roomId: room, from, to }),
        counters: orderCounters,
        log,
      })
    : undefined;

  const localSize = (room: string) => nsp.adapter.rooms.get(room)?.size ?? 0;
  /** Chat rooms with a member in this process (not the per-socket and per-user rooms). */
  const chatRoomCount = () => {
    let n = 0;
    for (const name of nsp.adapter.rooms.keys()) if (!name.startsWith(RESERVED_ROOM_PREFIX) && !nsp.adapter.sids.has(name)) n++;
    return n;
  };

  const metrics = createServerMetrics({
    node: opts.nodeId,
    bus: bus.kind,
    counters,
    connections: () => nsp.sockets.size,
    rooms: chatRoomCount,
    limits: statsLimits(opts),
    retention: () => bus.retentionStats?.(),
    offline: () => queue.stats(),
    identities: () => identities.size(),
    recoveryBuffer: () => (recoveryCapped ? { ...recoveryBuffer } : undefined),
  });
  bus.setActiveRooms?.((room) => localSize(room) > 0);

  /** This process's /stats: the common counters plus the resume counters (joins with `since`). */
  const stats = (): ServerStats => ({ ...metrics.stats(), resume: { ...resumeCounters }, ...(order ? { order: { ...orderCounters } } : {}) }) as ServerStats;

  // ---- per-event helpers --------------------------------------------------

  const ackOf = (a: unknown): Ack => {
    if (typeof a !== 'function') return noAck;
    return (res) => {
      counters.framesOut++;
      (a as Ack)(res);
    };
  };
  const bad = (reply: Ack, message: string) => {
    counters.badRequests++;
    reply(errorReply('bad_request', message));
  };
  /** A usable chat room name, or the reason it is not. */
  const roomProblem = (room: unknown): string | undefined => {
    const problem = roomNameProblem(room, opts.maxRoomName);
    if (problem) return problem;
    // Every socket is in a room named by its id: joining it would let a client push events to that socket alone.
    if (SOCKET_ID_RE.test(room as string) || nsp.adapter.sids.has(room as string)) return 'room names shaped like a Socket.IO socket id (20 characters A-Z a-z 0-9 _ -) are reserved';
    return undefined;
  };
  const kick = (socket: Socket, reason: string) => {
    if (!socket.connected) return;
    socket.emit('kicked', { reason });
    counters.framesOut++;
    socket.disconnect(true);
  };
  const nextMessageId = () => msgPrefix + (++msgCounter).toString(36);
  /** Refused publishes (Redis away) repeat for every event: logged once a second. */
  const logPublishFailure = throttledLog(log);
  /** A handler that failed on bad input could fail for every event: one line a second at most, no stack. */
  const logEventFailure = throttledLog(log);
  /**
   * Every event handler runs through this: a throw or a rejection is logged (throttled) and
   * answered `internal` when the event has an ack, never left to end the process.
   */
  const guarded = (name: string, handler: (this: Socket, ...args: unknown[]) => unknown) =>
    function (this: Socket, ...args: unknown[]) {
      const fail = (err: unknown) => {
        logEventFailure(`wsbench server: ${name} handler failed: ${(err as Error)?.message ?? String(err)}`);
        const last = args[args.length - 1];
        if (typeof last === 'function') {
          try {
            counters.framesOut++;
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

  /** Token bucket (the native flavour's): true when the event may proceed. */
  const admit = (d: ConnData, now: number): boolean | 'abuse' => {
    const identity = identityOf.get(d);
    const verdict = identity ? admitFrame(d, identity, identities, now, opts) : takeToken(d, now, opts);
    if (verdict === 'ok') return true;
    counters.rateLimited++;
    return verdict === 'abuse' ? 'abuse' : false;
  };

  /**
   * Control frames cost a token like events: Engine.IO ping/pong packets and, on the
   * websocket transport, WebSocket pings (which ws answers by itself). A flood ends in a kick.
   */
  const countControlFrames = (socket: Socket, d: ConnData) => {
    const onControl = () => {
      counters.framesIn++;
      if (admit(d, Date.now()) === 'abuse') kick(socket, 'rate limit exceeded');
    };
    const watchTransport = () => {
      const t = socket.conn.transport as unknown as { name: string; socket?: { on?: (ev: string, fn: () => void) => void } };
      if (t.name === 'websocket') t.socket?.on?.('ping', onControl);
    };
    watchTransport();
    socket.conn.once('upgrade', watchTransport);
    socket.conn.on('packet', (p: { type: string }) => {
      if (p.type === 'ping' || p.type === 'pong') onControl();
    });
  };

  // ---- handshake ----------------------------------------------------------

  io.use((socket, next) => {
    const refuse = (message: string, code: string) => {
      counters.upgradesRejected++;
      const err = new Error(message) as Error & { data?: unknown };
      err.data = { code };
      next(err);
    };
    if (closing) return refuse('server shutting down', 'shutting_down');
    const raw = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    const adm = authenticator.admit(typeof raw === 'string' ? raw : undefined, raw === undefined ? undefined : 'token must be a string');
    if (!adm.ok) {
      return refuse(adm.code === 'unauthorized' ? `unauthorized: ${adm.reason} (send auth: { token: JWT } in the handshake)` : adm.reason, adm.code);
    }
    const { user, rooms: allowed, identity } = adm;
    const now = Date.now();
    // 0 = never in socket.data (recovery serialises it, and JSON has no Infinity).
    const expMs = Number.isFinite(adm.expMs) ? adm.expMs : 0;
    const data: ConnData = { user, allowed, expMs, tokens: opts.burst, refillAt: now, abuseStart: 0, abuseCount: 0 };
    identityOf.set(data, identity);
    socket.data = data;
    // Released when the socket disconnects; a handshake that never becomes a connection releases here.
    socket.conn.once('close', () => {
      if (identityOf.delete(data)) identities.release(identity);
    });
    next();
  });

  // ---- events (shared functions; `this` is the socket) ----------------------

  /** `join-room` (roomId, ack) or, resuming, (roomId, {since}, ack): see servers/socketio/resume.ts. */
  async function onJoin(this: Socket, roomId: unknown, ...rest: unknown[]) {
    const reply = ackOf(typeof roomId === 'function' ? roomId : rest[rest.length - 1]);
    const d = this.data as ConnData;
    const problem = roomProblem(roomId);
    if (problem) return bad(reply, problem);
    const room = roomId as string;
    const options = rest.length > 1 ? rest[0] : undefined;
    const since = (options as { since?: unknown } | undefined)?.since;
    if (options !== undefined && (typeof options !== 'object' || options === null)) return bad(reply, 'join-room options must be an object {since}');
    if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0)) return bad(reply, 'since must be a non-negative integer (the last seq received)');
    if (!roomAllowed({ rooms: d.allowed }, room)) return reply(errorReply('forbidden', `room ${JSON.stringify(room)} is not allowed by the token`));
    const already = this.rooms.has(room);
    // Every socket is in its own room and its user's room; the rest are chat rooms.
    if (!already && this.rooms.size - 2 >= opts.maxRoomsPerConn) return bad(reply, `too many rooms: at most ${opts.maxRoomsPerConn} per connection`);
    // A member already (a recovered session, a repeated join) has had every message since it joined.
    if (since !== undefined && !already) {
      resumer.hold(this, room);
      await this.join(room);
      try {
        await resumer.replay(this, room, since as number, (seq) => {
          order?.noteJoin(room, seq);
          reply({ success: true, room: { id: room }, members: localSize(room), seq });
        });
      } catch (err) {
        resumer.cancel(this, room);
        this.leave(room);
        return reply(errorReply(failureCode(err), `join failed: ${(err as Error).message}`));
      }
      announceJoin(this, room, d);
      return;
    }
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
    reply({ success: true, room: { id: room }, members: localSize(room), seq });
    if (!already) announceJoin(this, room, d);
  }

  function announceJoin(socket: Socket, room: string, d: ConnData) {
    if (opts.presence && socket.rooms.has(room)) {
      socket.to(room).emit('user-joined', { userId: d.user, roomId: room });
      counters.framesOut += localSize(room) - 1;
    }
  }

  function onLeave(this: Socket, roomId: unknown, ackArg?: unknown) {
    const reply = ackOf(typeof roomId === 'function' ? roomId : ackArg);
    const problem = roomProblem(roomId);
    if (problem) return bad(reply, problem);
    const room = roomId as string;
    if (this.rooms.has(room)) {
      resumer.cancel(this, room);
      this.leave(room);
      if (opts.presence) {
        this.to(room).emit('user-left', { userId: (this.data as ConnData).user, roomId: room });
        counters.framesOut += localSize(room);
      }
    }
    reply({ success: true });
  }

  async function onMessage(this: Socket, msg: unknown, ackArg?: unknown) {
    const reply = ackOf(ackArg);
    if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return bad(reply, 'message must be an object {roomId, content, type?}');
    const m = msg as Record<string, unknown>;
    const problem = roomProblem(m.roomId);
    if (problem) return bad(reply, problem);
    const room = m.roomId as string;
    if (m.content === undefined) return bad(reply, 'missing field "content"');
    if (m.type !== undefined && typeof m.type !== 'string') return bad(reply, 'field "type" must be a string');
    if (!this.rooms.has(room)) return reply(errorReply('not_joined', `not a member of room ${JSON.stringify(room)}`));
    // Delay before the seq is allocated, so seqs still reach every member in order.
    if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
    const timestamp = Date.now();
    const id = nextMessageId();
    const userId = (this.data as ConnData).user;
    const type = m.type ?? 'text';
    // The retained text is the new-message payload; the bus puts the seq between prefix and suffix.
    const head = JSON.stringify({ id, roomId: room, userId, content: m.content, type });
    let seq: number;
    try {
      // Seq and retention in one step: a seq never exists without its message, so a member
      // resuming with `since` can always replay it, also across a Redis outage.
      seq = await allocateAndRetain(bus, room, `${head.slice(0, -1)},"seq":`, `,"timestamp":${timestamp}}`, opts.retention > 0);
    } catch (err) {
      logPublishFailure(`wsbench server: publish to room ${room} refused: ${(err as Error).message}`);
      return reply(errorReply(failureCode(err), `publish failed: ${(err as Error).message}`));
    }
    const out = { id, roomId: room, userId, content: m.content, type, seq, timestamp };
    reply({ success: true, messageId: id, seq, timestamp });
    // Once for the whole room: the adapter encodes the packet once and writes it to every member.
    io.to(room).emit(MESSAGE_EVENT, out);
    const n = localSize(room);
    counters.deliveries += n;
    counters.framesOut += n;
  }

  function onTyping(this: Socket, msg: unknown) {
    const room = (msg as { roomId?: unknown } | null)?.roomId;
    if (typeof room !== 'string' || roomProblem(room) || !this.rooms.has(room)) return;
    this.to(room).emit('user-typing', { userId: (this.data as ConnData).user, roomId: room });
    counters.framesOut += localSize(room) - 1;
  }

  async function onPrivate(this: Socket, msg: unknown, ackArg?: unknown) {
    const reply = ackOf(ackArg);
    const m = msg as Record<string, unknown> | null;
    if (typeof m !== 'object' || m === null) return bad(reply, 'private-message must be an object {targetUserId, content}');
    if (typeof m.targetUserId !== 'string' || m.targetUserId === '') return bad(reply, 'targetUserId must be a non-empty string');
    if (m.content === undefined) return bad(reply, 'missing field "content"');
    const target = m.targetUserId;
    const out = { id: nextMessageId(), fromUserId: (this.data as ConnData).user, targetUserId: target, content: m.content, timestamp: Date.now() };
    const userRoom = USER_ROOM + target;
    try {
      let online = localSize(userRoom) > 0;
      // fetchSockets asks every node (bounded by the adapter's requestsTimeout).
      if (!online && distributed) online = (await io.in(userRoom).fetchSockets()).length > 0;
      if (online) {
        io.to(userRoom).emit('private-message', out);
        counters.framesOut += localSize(userRoom);
        reply({ success: true, messageId: out.id, delivered: true });
      } else {
        if ((await queue.push(target, JSON.stringify(out))) === 'full') {
          return reply(errorReply('queue_full', `${target} is offline and their queue is full (offline-max-per-user ${opts.offlineMaxPerUser}, offline-bytes ${opts.offlineBytes}); retry later`));
        }
        reply({ success: true, messageId: out.id, delivered: false, queued: true });
      }
    } catch (err) {
      logEventFailure(`wsbench server: private message failed: ${(err as Error).message}`);
      reply(errorReply('internal', 'private message failed'));
    }
  }

  function onDisconnecting(this: Socket) {
    if (!opts.presence) return;
    const user = (this.data as ConnData).user;
    for (const room of this.rooms) {
      if (room === this.id || room.startsWith(RESERVED_ROOM_PREFIX)) continue;
      this.to(room).emit('user-left', { userId: user, roomId: room });
      counters.framesOut += localSize(room) - 1;
    }
  }

  function onDisconnect(this: Socket, reason: string) {
    if (reason === 'ping timeout') counters.heartbeatTerminations++;
    const d = this.data as ConnData;
    const identity = identityOf.get(d);
    if (identity && identityOf.delete(d)) identities.release(identity);
    if (nsp.sockets.size === 0) for (const w of drainWaiters.splice(0)) w();
  }

  io.on('connection', (socket: Socket) => {
    const d = socket.data as ConnData;
    counters.connectionsOpened++;
    socket.use((packet, next) => {
      counters.framesIn++;
      const now = Date.now();
      if (d.expMs !== 0 && now >= d.expMs) return kick(socket, 'token expired');
      const verdict = admit(d, now);
      const last = packet[packet.length - 1];
      if (verdict === true) {
        // Before any handler walks the arguments: a deep one overflows JSON.stringify and the encoder.
        for (let i = 1; i < packet.length; i++) {
          if (deeperThan(packet[i], opts.maxDepth + 1)) {
            counters.badRequests++;
            if (typeof last === 'function') {
              counters.framesOut++;
              last(errorReply('bad_request', depthMessage(opts.maxDepth)));
            }
            return;
          }
        }
        return next();
      }
      if (typeof last === 'function') {
        counters.framesOut++;
        last(errorReply('rate_limited', `event dropped: over ${opts.rate} events/s per connection (burst ${opts.burst}) or ${opts.userRate} events/s per identity (burst ${opts.userBurst})`));
      }
      if (verdict === 'abuse') kick(socket, 'rate limit exceeded');
    });
    countControlFrames(socket, d);
    socket.on('join-room', guarded('join-room', onJoin));
    socket.on('leave-room', guarded('leave-room', onLeave));
    socket.on('message', guarded('message', onMessage));
    socket.on('typing', guarded('typing', onTyping));
    socket.on('private-message', guarded('private-message', onPrivate));
    socket.on('disconnecting', onDisconnecting);
    socket.on('disconnect', onDisconnect);
    socket.on('error', () => {});
    // A recovered socket got its rooms back (the user room among them) and its missed packets.
    if (!socket.recovered) socket.join(USER_ROOM + d.user);
    // `features`: join-since = `join-room` takes (roomId, {since}, ack) and replays (servers/socketio/resume.ts).
    socket.emit('connected', { sessionId: socket.id, userId: d.user, node: opts.nodeId, serverTime: Date.now(), recovered: socket.recovered, features: ['join-since'] });
    counters.framesOut++;
    queue.take(d.user).then(
      (texts) => {
        for (const t of texts) {
          socket.emit('private-message', { ...JSON.parse(t), offline: true });
          counters.framesOut++;
        }
      },
      (err) => log(`wsbench server: offline queue of ${d.user} failed: ${(err as Error).message}`),
    );
  });

  // ---- timers -------------------------------------------------------------

  const stopExpiry = startExpirySweep(
    () => nsp.sockets.values(),
    (s) => (s.data as ConnData).expMs,
    (s) => kick(s, 'token expired'),
  );

  const { port, hostInUrl } = await listenNode(http, opts.port, opts.host, log);

  let closed: Promise<void> | null = null;
  const closeTransports = () => {
    for (const s of nsp.sockets.values()) s.conn.close();
  };

  return {
    url: `${opts.tls ? 'https' : 'http'}://${hostInUrl}:${port}/socket.io`,
    port,
    host: opts.host,
    nodeId: opts.nodeId,
    stats,
    dropAll: closeTransports,
    close(closeOpts = {}) {
      closed ??= (async () => {
        closing = true;
        stopExpiry();
        order?.close();
        const stopped = new Promise<void>((r) => http.close(() => r()));
        // Transport close rather than a Socket.IO disconnect: clients reconnect by themselves (elsewhere, behind a balancer).
        closeTransports();
        if (nsp.sockets.size > 0) {
          await waitForDrain(drainWaiters, closeOpts.drainTimeoutMs ?? opts.drainTimeoutMs);
        }
        await io.close();
        http.closeAllConnections();
        await stopped;
        identities.stop();
        metrics.close();
        await queue.close();
        await cluster?.close();
        if (ownBus) await bus.close();
      })();
      return closed;
    },
  };
}
