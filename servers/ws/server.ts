/**
 * The reference realtime server, native flavour: wsbench/1 over `ws`
 * (docs/SERVER.md, PROTOCOL.md section 1). This file wires the parts:
 * servers/ws/upgrade.ts (admission), dispatch.ts (frames), room-hub.ts (rooms,
 * ordered delivery, join replay), publish.ts, broadcast.ts (fan-out),
 * heartbeat.ts, and the shared servers/core (HTTP, limits, stats, shutdown).
 */
import { createHttpHandler, createNodeHttpServer, listenNode } from '../core/http.ts';
import { admitFrame, createIdentityRegistry } from '../core/identities.ts';
import { retentionLimitsOf } from '../core/room-log.ts';
import type { Id } from './client-frame.ts';
import { startExpirySweep } from '../core/expiry-sweep.ts';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { resolveServerOptions, type ServerOptions } from '../core/options.ts';
import { createAuthenticator } from '../core/auth.ts';
import { createLocalBus, type Bus } from '../core/bus.ts';
import { createCounters, createServerMetrics, statsLimits, type ServerStats } from '../core/metrics.ts';
import { busStats } from '../core/bus-factory.ts';
import { failureCode, throttledLog } from '../core/errors.ts';
import { createConnectionDrain, onceClose, statsWith, stderrLog } from '../core/lifecycle.ts';
import { canWriteDirect, createFanout } from './broadcast.ts';
import { Conn, ConnSocket, serially, type SocketEvents } from './conn.ts';
import { createFrameHandler } from './dispatch.ts';
import { createRoomHub } from './room-hub.ts';
import { createPublisher } from './publish.ts';
import { createUpgradeHandler, WS_PATH } from './upgrade.ts';
import { startHeartbeat } from './heartbeat.ts';
import { startMemoryGuard } from '../core/memory-guard.ts';
import { serverTls } from '../core/tls.ts';
import { wireOf } from './binary.ts';

export type { ServerStats } from '../core/metrics.ts';

/** A running native flavour server. */
export interface ReferenceServer {
  /** `ws://HOST:PORT/ws`. */
  url: string;
  port: number;
  host: string;
  nodeId: string;
  /** This process's statistics (in cluster mode, /stats aggregates all workers; this does not). */
  stats(): ServerStats;
  /** Serve a socket another listener accepted (a cluster worker's own port, servers/ws/worker.ts) as if it came in on this server's port. */
  acceptFrom(socket: Socket): void;
  /** Close every connection with `code` (default 1012, "server restarting"); keeps listening. */
  dropAll(code?: number): void;
  /** Stop listening, close every connection with 1001, wait for them (drainTimeoutMs, default the option), release everything. Idempotent. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
}

/**
 * What a native server may be given instead of its defaults (bus, stats, broadcast strategy, diagnostics).
 */
export interface ServerDeps {
  /** Cross-process bus; default a local bus owned (and closed) by the server. */
  bus?: Bus;
  /** Answers GET /stats instead of this process's stats (cluster mode aggregates workers). */
  statsProvider?: () => Promise<unknown>;
  /** Broadcast strategy: `preframed` (default) or `send` (ws.send per member; for the benchmark's comparison). */
  broadcast?: 'preframed' | 'send';
  /** Where diagnostics go (default stderr). */
  log?: (line: string) => void;
}

/** At most one `rate_limited` error per connection per this many ms. */
const RATE_ERROR_INTERVAL_MS = 1000;

/** Start a reference server; resolves once it is listening. */
export async function createReferenceServer(options: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ReferenceServer> {
  const opts = resolveServerOptions(options);
  /** Bytes queued on one socket after which a member that does not read is cut (slow consumer); 0 = never. */
  const maxSocketBuffer = opts.slowConsumerBytes > 0 ? opts.slowConsumerBytes : Infinity;
  const log = deps.log ?? stderrLog;
  const ownBus = !deps.bus;
  const bus = deps.bus ?? createLocalBus(retentionLimitsOf(opts));
  const counters = createCounters();
  const conns = new Set<Conn>();
  const drain = createConnectionDrain();
  let sidCounter = 0;
  const identities = createIdentityRegistry(opts);
  const authenticator = createAuthenticator(opts, identities, () => counters.userConnsRefused++);
  let closing = false;
  /** Refused publishes (Redis away) repeat for every frame: logged once a second. */
  const logPublishFailure = throttledLog(log);
  /** Bad input can repeat for every frame: one line a second at most. */
  const logFrameFailure = throttledLog(log);
  const sidPrefix = `${opts.nodeId}-${process.pid.toString(36)}-`;
  // The welcome frame after its user: the same for every connection of this process, built once.
  // The rooms' sequence epoch (PROTOCOL.md) is in it when the bus has one.
  const welcomeTail =
    `,"node":${JSON.stringify(opts.nodeId)},"pid":${process.pid},"heartbeatMs":${opts.heartbeatMs},` +
    `"limits":${JSON.stringify({ rate: opts.rate, burst: opts.burst, maxPayload: opts.maxPayload })}` +
    `${bus.epoch === undefined ? '' : `,"epoch":${JSON.stringify(bus.epoch)}`}}`;

  // ---- sending ----------------------------------------------------------------

  const sendText = (c: Conn, text: string) => {
    if (c.ws.readyState !== 1) return;
    c.ws.send(wireOf(text));
    counters.framesOut++;
  };
  const send = (c: Conn, obj: object) => sendText(c, JSON.stringify(obj));
  const sendError = (c: Conn, id: Id | undefined, code: string, message: string) => {
    if (code === 'bad_request') counters.badRequests++;
    send(c, id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });
  };

  // ---- rooms and publishing ---------------------------------------------------

  const fanout = createFanout<Conn>({ mode: deps.broadcast ?? 'preframed', maxSocketBuffer, onSlowConsumer: () => counters.slowConsumerTerminations++ });
  const hub = createRoomHub({ bus, presence: opts.presence, counters, out: { sendText, send, sendError }, fanout, log });
  bus.setActiveRooms?.((room) => hub.has(room));
  const publish = createPublisher<Conn>({ bus, delayMs: opts.delayMs, send, deliver: hub.deliver });

  // Traffic in flight past `inflight-bytes`: stop reading from every socket until it comes down.
  const guard = startMemoryGuard({
    inflightBytes: opts.inflightBytes,
    held: () => bus.retentionStats?.()?.ringBytes ?? 0,
    connections: () => conns.size,
    pause: () => {
      for (const c of conns) c.ws.pause();
    },
    resume: () => {
      for (const c of conns) c.ws.resume();
    },
  });

  const metrics = createServerMetrics({
    node: opts.nodeId,
    bus: bus.kind,
    counters,
    connections: () => conns.size,
    rooms: () => hub.size,
    limits: statsLimits(opts),
    retention: () => bus.retentionStats?.(),
    identities: () => identities.size(),
    memoryGuard: () => (opts.inflightBytes > 0 ? guard.stats() : undefined),
  });
  /** This process's stats, with the bus's counters when it has some (Redis). */
  const stats = statsWith(metrics, () => ({ busStats: busStats(bus) }));

  // ---- frames -----------------------------------------------------------------

  /** Both token buckets (connection, identity); a dropped frame is answered at most once a second, abuse closes. */
  const admit = (c: Conn, now: number): boolean => {
    const verdict = admitFrame(c, c.identity, identities, now, opts);
    if (verdict === 'ok') return true;
    counters.rateLimited++;
    if (verdict === 'abuse') {
      c.ws.close(1008, 'rate limit exceeded');
      return false;
    }
    if (now - c.rateErrorAt >= RATE_ERROR_INTERVAL_MS) {
      c.rateErrorAt = now;
      sendError(c, undefined, 'rate_limited', `frame dropped: over ${opts.rate} frames/s per connection (burst ${opts.burst}) or ${opts.userRate} frames/s per identity (burst ${opts.userBurst})`);
    }
    return false;
  };

  const handleFrame = createFrameHandler<Conn>(
    { maxRoomName: opts.maxRoomName, maxDepth: opts.maxDepth, maxRoomsPerConn: opts.maxRoomsPerConn },
    {
      now: Date.now,
      admit,
      close: (c, code, reason) => c.ws.close(code, reason),
      send,
      sendError,
      serially: (c, op) => serially(c, op, log),
      join: hub.join,
      leave: hub.leave,
      publish: (c, id, room, payload, echo) =>
        void publish(c, id, room, payload, echo).catch((err) => {
          logPublishFailure(`wsbench server: publish to room ${room} failed: ${(err as Error).message}`);
          sendError(c, id, failureCode(err), `publish failed: ${(err as Error).message}`);
        }),
    },
  );

  // ---- connections ------------------------------------------------------------

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
    const c = (this as ConnSocket).wsbConn;
    if (!c) return;
    counters.framesIn++;
    try {
      handleFrame(c, data as Buffer, isBinary);
    } catch (err) {
      // Never crash on client input: report (one line a second at most, no stack) and carry on.
      logFrameFailure(`wsbench server: frame handling failed: ${(err as Error).message ?? err}`);
      sendError(c, undefined, 'internal', 'internal error');
    }
  }
  /**
   * Pings cost a token like data frames: a ping flood ends in 1008 like a frame flood. Every ping
   * still gets its pong (as ws's autoPong did), sent here, not by ws's autoPong (which keeps a
   * closure per connection); a peer that pings without reading our pongs is cut like a slow consumer.
   */
  function onPing(this: WebSocket, data: Buffer) {
    const c = (this as ConnSocket).wsbConn;
    if (!c) return;
    counters.framesIn++;
    admit(c, Date.now());
    if (this.readyState !== 1) return; // closed for abuse
    if (this.bufferedAmount > maxSocketBuffer) {
      counters.slowConsumerTerminations++;
      this.terminate();
      return;
    }
    this.pong(data);
  }
  function onPong(this: WebSocket) {
    const c = (this as ConnSocket).wsbConn;
    if (c) c.alive = true;
  }
  function onClose(this: WebSocket) {
    const c = (this as ConnSocket).wsbConn;
    if (!c || !conns.delete(c)) return;
    identities.release(c.identity);
    if (c.rooms) for (const r of [...c.rooms]) hub.leave(c, r);
    c.rooms = null;
    drain.left(conns.size);
  }
  function onError() {
    // ws closes the connection itself (1007 invalid UTF-8, 1009 too big, 1002 protocol error).
  }

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    WebSocket: ConnSocket,
    perMessageDeflate: opts.compression,
    maxPayload: opts.maxPayload,
    // Pongs are sent by onPing (memory per idle connection: no per-socket callback).
    autoPong: false,
  });
  const socketEvents: SocketEvents = { message: onMessage, ping: onPing, pong: onPong, close: onClose, error: onError };

  const onUpgrade = createUpgradeHandler({
    wss,
    authenticator,
    identities,
    closing: () => closing,
    onReject: () => counters.upgradesRejected++,
    onSocketError: onError,
    accept(ws, adm) {
      const c = new Conn(ws, sidPrefix + (++sidCounter).toString(36), adm.user, adm.rooms, adm.expMs, canWriteDirect(ws), adm.identity, opts.burst, Date.now());
      (ws as ConnSocket).wsbConn = c;
      (ws as ConnSocket).useEvents(socketEvents);
      conns.add(c);
      if (guard.paused) ws.pause();
      counters.connectionsOpened++;
      sendText(c, `{"type":"welcome","sid":${JSON.stringify(c.sid)},"user":${JSON.stringify(c.user)}${welcomeTail}`);
    },
  });

  // ---- HTTP and timers --------------------------------------------------------

  const onRequest = createHttpHandler({
    nodeId: opts.nodeId,
    health: () => [bus.health()],
    stats: () => (deps.statsProvider ? deps.statsProvider() : stats()),
    metrics,
    paths: [WS_PATH],
  });
  const http = createNodeHttpServer(opts.headersTimeoutMs, onRequest, serverTls(opts));
  http.on('upgrade', onUpgrade);

  const stopHeartbeat = startHeartbeat(() => conns, opts.heartbeatMs, (n) => (counters.heartbeatTerminations += n));
  const stopExpiry = startExpirySweep(
    () => conns,
    (c) => c.expMs,
    (c) => {
      if (c.ws.readyState === 1) c.ws.close(1008, 'token expired');
    },
  );

  const { port, hostInUrl } = await listenNode(http, opts.port, opts.host, log);

  const close = onceClose((drainTimeoutMs) => {
    let stopped: Promise<void>;
    return {
      stopAccepting() {
        closing = true;
        stopHeartbeat();
        stopExpiry();
        guard.stop();
        stopped = new Promise<void>((r) => http.close(() => r()));
      },
      closeConnections: () => {
        for (const c of conns) c.ws.close(1001, 'server shutting down');
      },
      open: () => conns.size,
      drain,
      drainTimeoutMs: drainTimeoutMs ?? opts.drainTimeoutMs,
      async release() {
        for (const c of conns) c.ws.terminate();
        http.closeAllConnections();
        await stopped;
        hub.close();
        wss.close();
        identities.stop();
        metrics.close();
        if (ownBus) await bus.close();
      },
    };
  });

  return {
    url: `${opts.tls ? 'wss' : 'ws'}://${hostInUrl}:${port}${WS_PATH}`,
    port,
    host: opts.host,
    nodeId: opts.nodeId,
    stats,
    acceptFrom: (socket) => http.emit('connection', socket),
    dropAll(code = 1012) {
      const reason = code === 1012 ? 'server restarting' : code === 1001 ? 'server shutting down' : '';
      for (const c of conns) c.ws.close(code, reason);
    },
    close,
  };
}
