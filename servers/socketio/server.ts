/**
 * The reference realtime server, Socket.IO flavour (PROTOCOL.md section 2,
 * docs/SERVER.md "Socket.IO flavour"): the chat vocabulary on Socket.IO v4,
 * path /socket.io, default namespace. Room seqs come from the same Bus as the
 * native flavour; fan-out is Socket.IO's own (`io.to(room).emit`, encoded once
 * by the adapter, relayed to the other nodes by the Redis adapters).
 * This file wires the parts: admission.ts (handshake, packet gate), room-events.ts,
 * message-events.ts, resume.ts, order.ts, recovery-cap.ts, offline-queue.ts, slow-consumer.ts,
 * and the shared servers/core (HTTP, limits, stats, shutdown).
 */
import { createHttpHandler, createNodeHttpServer, listenNode } from '../core/http.ts';
import { serverTls } from '../core/tls.ts';
import { Server, type Socket } from 'socket.io';
import { resolveServerOptions, type ServerOptions } from '../core/options.ts';
import { createAuthenticator } from '../core/auth.ts';
import { createLocalBus, type Bus } from '../core/bus.ts';
import { createCounters, createServerMetrics, statsLimits, type ServerStats } from '../core/metrics.ts';
import { createMemoryQueue, type OfflineQueue } from './offline-queue.ts';
import { createResumer, type ResumeCounters } from './resume.ts';
import { orderRoomDeliveries, type OrderCounters } from './order.ts';
import { throttledLog } from '../core/errors.ts';
import { createIdentityRegistry } from '../core/identities.ts';
import { RESERVED_ROOM_PREFIX } from '../core/room-name.ts';
import { retentionLimitsOf } from '../core/room-log.ts';
import { startExpirySweep } from '../core/expiry-sweep.ts';
import { createConnectionDrain, onceClose, statsWith, stderrLog } from '../core/lifecycle.ts';
import { capRecoveryBuffer } from './recovery-cap.ts';
import { guarded, kick, MESSAGE_EVENT, USER_ROOM, type ConnData, type EventContext } from './context.ts';
import { createAdmission } from './admission.ts';
import { createRoomEvents } from './room-events.ts';
import { createRotation, startMemoryGuard } from '../core/memory-guard.ts';
import { createMessageEvents } from './message-events.ts';
import { limitSlowConsumer, packetBytes, queuedBytes } from './slow-consumer.ts';
import { messageOfRetained } from './binary.ts';
import { createRelayGate } from './relay-gate.ts';

export type { ServerStats } from '../core/metrics.ts';

/** A running Socket.IO flavour server. */
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
  /**
   * Pub/sub adapter: the confirmation of the PUBLISH the last broadcast issued (once), so
   * a room message is acked only once relayed (relay-gate.ts); absent: acked before the emit.
   */
  takePublish?: () => Promise<unknown> | undefined;
  /** Extra dependency health (the adapter's Redis connections). */
  health(): { ok: true } | { ok: false; reason: string };
  close(): Promise<void>;
}

/** What a Socket.IO server may be given instead of its defaults (bus, cluster, transports, stats). */
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

/**
 * Engine.IO cannot switch pings off; `heartbeat-ms 0` becomes an interval of
 * 11.5 days (pingInterval + pingTimeout must stay below 2^31 ms, the largest
 * timer the client can set, or its timer fires at once).
 */
const NO_HEARTBEAT_INTERVAL_MS = 1_000_000_000;

/** Start a Socket.IO reference server; resolves once it is listening. */
export async function createSocketIoServer(options: Partial<ServerOptions> = {}, deps: SocketIoServerDeps = {}): Promise<SocketIoServer> {
  const opts = resolveServerOptions(options);
  const log = deps.log ?? stderrLog;
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
  const admission = createAdmission({ opts, authenticator, identities, counters, closing: () => closing });
  const drain = createConnectionDrain();

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
  // Installed under the room order (order.ts wraps `apply` after it): acks wait for the PUBLISH.
  const relay = cluster?.takePublish ? createRelayGate(nsp.adapter, cluster.takePublish) : undefined;
  const orderCounters: OrderCounters = { held: 0, filled: 0, gapped: 0, late: 0 };
  const order = distributed
    ? orderRoomDeliveries({
        adapter: nsp.adapter,
        event: MESSAGE_EVENT,
        history: (room, after) => bus.history(room, after),
        deliverLocal: (room, text) => io.local.to(room).emit(MESSAGE_EVENT, messageOfRetained(text)),
        gap: (room, from, to) => io.local.to(room).emit('gap', { roomId: room, from, to }),
        counters: orderCounters,
        log,
      })
    : undefined;

  const ctx: EventContext = {
    opts,
    io,
    nsp,
    bus,
    queue,
    resumer,
    order,
    relay,
    distributed,
    counters,
    log,
    /** Refused publishes (Redis away) repeat for every event: logged once a second. */
    logPublishFailure: throttledLog(log),
    /** A handler that failed on bad input could fail for every event: one line a second at most, no stack. */
    logEventFailure: throttledLog(log),
    nextMessageId: () => msgPrefix + (++msgCounter).toString(36),
  };

  /** Chat rooms with a member in this process (not the per-socket and per-user rooms). */
  const chatRoomCount = () => {
    let n = 0;
    for (const name of nsp.adapter.rooms.keys()) if (!name.startsWith(RESERVED_ROOM_PREFIX) && !nsp.adapter.sids.has(name)) n++;
    return n;
  };

  /** The RSS one connection adds to the memory guard's ceiling, bytes (servers/core/memory-guard.ts). */
  const SOCKETIO_CONNECTION_RSS_BYTES = 32 * 1024;
  /** Memory per byte queued for a client, as the memory guard counts it (see `queued` below). */
  const SOCKETIO_QUEUED_MEMORY_FACTOR = 2;
  /** The ws socket under a connection on the websocket transport (polling requests cannot be paused). */
  const wsOf = (s: Socket) => {
    const t = s.conn.transport as unknown as { name: string; socket?: { pause?(): void; resume?(): void } };
    return t.name === 'websocket' ? t.socket : undefined;
  };
  // Traffic in flight past `inflight-bytes`: stop reading from every websocket until it comes down.
  const resumeInTurn = createRotation();
  const guard = startMemoryGuard({
    inflightBytes: opts.inflightBytes,
    trafficBytes: opts.trafficBytes,
    // The retention ring, the memory offline queue's entries and the recovery buffer's packets are all bytes (ArrayBuffers).
    held: () => (bus.retentionStats?.()?.ringBytes ?? 0) + queue.stats().bytes + recoveryBuffer.bytes,
    // The caps of what this process holds (Redis keeps the retention and the queue with --redis).
    budgetBytes: (bus.retentionStats && opts.retention > 0 ? opts.retentionBytes : 0) + (queue.kind === 'memory' && opts.offlineMaxPerUser > 0 ? opts.offlineBytes : 0) + (recoveryCapped ? opts.recoveryBytes : 0),
    connections: () => nsp.sockets.size,
    // A Socket.IO connection takes about 20 KiB of RSS (Engine.IO and Socket.IO sockets, ws, the maps): measured at 5,000.
    perConnectionRssBytes: SOCKETIO_CONNECTION_RSS_BYTES,
    // A queued Engine.IO packet takes about twice its length in memory (the string, the packet object, the copy
    // handed to ws): RSS grew some 2x what the slow clients' queues counted in the slow-consumer scenario.
    queued: () => {
      let n = 0;
      for (const s of nsp.sockets.values()) n += queuedBytes(s);
      return SOCKETIO_QUEUED_MEMORY_FACTOR * n;
    },
    pause: () => {
      for (const s of nsp.sockets.values()) wsOf(s)?.pause?.();
    },
    resume: () => resumeInTurn(nsp.sockets.values(), (s) => wsOf(s)?.resume?.()),
  });

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
    memoryGuard: () => (opts.inflightBytes > 0 ? guard.stats() : undefined),
  });
  bus.setActiveRooms?.((room) => (nsp.adapter.rooms.get(room)?.size ?? 0) > 0);

  /** This process's /stats: the common counters plus the resume counters (joins with `since`) and, with several nodes, the order counters. */
  const stats = statsWith(metrics, () => ({ resume: { ...resumeCounters }, order: order ? { ...orderCounters } : undefined }));

  // ---- connections --------------------------------------------------------

  io.use(admission.handshake);
  const rooms = createRoomEvents(ctx);
  const messages = createMessageEvents(ctx);

  function onDisconnect(this: Socket, reason: string) {
    if (reason === 'ping timeout') counters.heartbeatTerminations++;
    admission.release(this.data as ConnData);
    drain.left(nsp.sockets.size);
  }

  io.on('connection', (socket: Socket) => {
    const d = socket.data as ConnData;
    counters.connectionsOpened++;
    admission.watch(socket, d);
    limitSlowConsumer(socket, opts.slowConsumerBytes, () => counters.slowConsumerTerminations++);
    if (guard.paused) wsOf(socket)?.pause?.();
    // Each packet read counts toward the guard's next check, which one busy turn of the event loop would otherwise delay.
    socket.conn.on('packet', (p: { data?: unknown }) => guard.received(packetBytes(p.data)));
    socket.on('join-room', guarded(ctx, 'join-room', rooms.onJoin));
    socket.on('leave-room', guarded(ctx, 'leave-room', rooms.onLeave));
    socket.on('message', guarded(ctx, 'message', messages.onMessage));
    socket.on('typing', guarded(ctx, 'typing', rooms.onTyping));
    socket.on('private-message', guarded(ctx, 'private-message', messages.onPrivate));
    socket.on('disconnecting', rooms.onDisconnecting);
    socket.on('disconnect', onDisconnect);
    socket.on('error', () => {});
    // A recovered socket got its rooms back (the user room among them) and its missed packets.
    if (!socket.recovered) socket.join(USER_ROOM + d.user);
    // `features`: join-since = `join-room` takes (roomId, {since}, ack) and replays (servers/socketio/resume.ts).
    socket.emit('connected', { sessionId: socket.id, userId: d.user, node: opts.nodeId, serverTime: Date.now(), recovered: socket.recovered, features: ['join-since'] });
    counters.framesOut++;
    messages.deliverQueued(socket, d.user);
  });

  // ---- timers -------------------------------------------------------------

  const stopExpiry = startExpirySweep(
    () => nsp.sockets.values(),
    (s) => (s.data as ConnData).expMs,
    (s) => kick(counters, s, 'token expired'),
  );

  const { port, hostInUrl } = await listenNode(http, opts.port, opts.host, log);

  const closeTransports = () => {
    for (const s of nsp.sockets.values()) s.conn.close();
  };

  const close = onceClose((drainTimeoutMs) => {
    let stopped: Promise<void>;
    return {
      stopAccepting() {
        closing = true;
        stopExpiry();
        guard.stop();
        order?.close();
        stopped = new Promise<void>((r) => http.close(() => r()));
      },
      // Transport close rather than a Socket.IO disconnect: clients reconnect by themselves (elsewhere, behind a balancer).
      closeConnections: closeTransports,
      open: () => nsp.sockets.size,
      drain,
      drainTimeoutMs: drainTimeoutMs ?? opts.drainTimeoutMs,
      async release() {
        await io.close();
        http.closeAllConnections();
        await stopped;
        identities.stop();
        metrics.close();
        await queue.close();
        await cluster?.close();
        if (ownBus) await bus.close();
      },
    };
  });

  return {
    url: `${opts.tls ? 'https' : 'http'}://${hostInUrl}:${port}/socket.io`,
    port,
    host: opts.host,
    nodeId: opts.nodeId,
    stats,
    dropAll: closeTransports,
    close,
  };
}
