/**
 * The reference realtime server, native flavour: wsbench/1 over `ws`
 * (docs/SERVER.md, PROTOCOL.md section 1).
 */
import { createHttpHandler, createNodeHttpServer, listenNode, waitForDrain } from '../core/http.ts';
import { admitFrame, createIdentityRegistry, type Identity } from '../core/identities.ts';
import { retentionLimitsOf } from '../core/room-log.ts';
import { parseClientFrame, type Id } from './client-frame.ts';
import { startExpirySweep } from '../core/expiry-sweep.ts';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { resolveServerOptions, type ServerOptions } from '../core/options.ts';
import { roomAllowed } from '../core/jwt.ts';
import { createAuthenticator } from '../core/auth.ts';
import { createLocalBus, type Bus, type BusMessage, type RetainedMessage } from '../core/bus.ts';
import { createCounters, createServerMetrics, statsLimits, type ServerStats } from '../core/metrics.ts';
import { busStats } from '../core/bus-factory.ts';
import { failureCode, throttledLog } from '../core/errors.ts';
import { fillHoles, SeqOrder } from '../core/seq-order.ts';
import { preframe, canWriteDirect, createCorkingWriter } from './broadcast.ts';

export type { ServerStats } from '../core/metrics.ts';

export interface ReferenceServer {
  /** `ws://HOST:PORT/ws`. */
  url: string;
  port: number;
  host: string;
  nodeId: string;
  /** This process's statistics (in cluster mode, /stats aggregates all workers; this does not). */
  stats(): ServerStats;
  /** Close every connection with `code` (default 1012, "server restarting"); keeps listening. */
  dropAll(code?: number): void;
  /** Stop listening, close every connection with 1001, wait for them (drainTimeoutMs, default the option), release everything. Idempotent. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
}

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

/** Bytes queued on one socket after which a member that does not read is cut (slow consumer). */
const MAX_SOCKET_BUFFER = 16 * 1024 * 1024;
/** How long a room waits for a missing seq before asking the bus's history and reporting a gap. */
const REORDER_WAIT_MS = 1000;
const RATE_ERROR_INTERVAL_MS = 1000;
/**
 * ws lets the server construct its sockets from a subclass: declaring the back
 * pointer as a class field keeps every socket on one hidden class (adding a
 * property later would push 10,000s of sockets into slower, larger shapes).
 */
class ConnSocket extends WebSocket {
  wsbConn: Conn | null = null;
  /** Its server's handlers, set on accept; until then events go through EventEmitter as usual. */
  wsbEvents: SocketEvents | null = null;

  /**
   * Free the empty listener table EventEmitter gave the socket (a dictionary of about 160 bytes):
   * with events dispatched by {@link emit} it stays empty, and EventEmitter makes a new one if a
   * listener is ever added.
   */
  dropListenerTable(): void {
    if (this.eventNames().length === 0) (this as unknown as { _events: object | undefined })._events = undefined;
  }

  /**
   * Events of an accepted socket go straight to its server's handlers instead of through
   * registered listeners: five listeners turned every socket's `_events` into a dictionary
   * of about 300 bytes (memory per idle connection, docs/BENCHMARKS.md). ws emits at most
   * two arguments.
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const h = this.wsbEvents;
    if (h === null) return super.emit(event, a, b);
    switch (event) {
      case 'message':
        h.message.call(this, a as RawData, b as boolean);
        return true;
      case 'ping':
        h.ping.call(this, a as Buffer);
        return true;
      case 'pong':
        h.pong.call(this);
        return true;
      case 'close':
        h.close.call(this);
        return true;
      case 'error':
        h.error.call(this);
        return true;
      default:
        return super.emit(event, a, b);
    }
  }
}

/** A server's handlers for its sockets' events (`this` is the socket); one object per server. */
interface SocketEvents {
  message(this: WebSocket, data: RawData, isBinary: boolean): void;
  ping(this: WebSocket, data: Buffer): void;
  pong(this: WebSocket): void;
  close(this: WebSocket): void;
  error(this: WebSocket): void;
}


/** Per-connection state: kept small (no request object, lazy room set). */
class Conn {
  rooms: Set<string> | null = null;
  /** The connection's join/leave operations still running (null when none). */
  chain: Promise<void> | null = null;
  tokens: number;
  refillAt: number;
  rateErrorAt = -Infinity;
  abuseStart = 0;
  abuseCount = 0;
  alive = true;
  constructor(
    readonly ws: WebSocket,
    readonly sid: string,
    readonly user: string,
    readonly allowed: string[] | undefined,
    /** Token expiry in ms since the epoch (Infinity with auth off). */
    readonly expMs: number,
    readonly direct: boolean,
    /** The per-identity limits this connection shares (servers/core/identities.ts). */
    readonly identity: Identity,
    burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.refillAt = now;
  }
}

/** A message waiting for its turn (or buffered for a member whose join is in progress). */
interface Held {
  seq: number;
  text: string;
  /** The sender, when it published with echo:false. */
  except: Conn | null;
}

interface PendingJoin {
  buffer: Held[];
}

class Room {
  readonly members = new Set<Conn>();
  readonly pending = new Map<Conn, PendingJoin>();
  /** Messages delivered locally in seq order; starts at 0 (holding) until the first join tells where the room stands. */
  readonly order: SeqOrder<Held>;
  gapTimer: NodeJS.Timeout | null = null;
  constructor(
    readonly name: string,
    readonly nameJson: string,
    fanout: (room: Room, h: Held) => void,
  ) {
    this.order = new SeqOrder<Held>(0, (h) => fanout(this, h));
  }
  size(): number {
    return this.members.size + this.pending.size;
  }
}

/** Start a reference server; resolves once it is listening. */
export async function createReferenceServer(options: Partial<ServerOptions> = {}, deps: ServerDeps = {}): Promise<ReferenceServer> {
  const opts = resolveServerOptions(options);
  const log = deps.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ownBus = !deps.bus;
  const bus = deps.bus ?? createLocalBus(retentionLimitsOf(opts));
  const preframed = (deps.broadcast ?? 'preframed') === 'preframed';
  const writer = createCorkingWriter();
  const counters = createCounters();
  const conns = new Set<Conn>();
  const rooms = new Map<string, Room>();
  let sidCounter = 0;
  const identities = createIdentityRegistry(opts);
  const authenticator = createAuthenticator(opts, identities, () => counters.userConnsRefused++);
  const frameLimits = { maxRoomName: opts.maxRoomName, maxDepth: opts.maxDepth };
  bus.setActiveRooms?.((room) => rooms.has(room));
  let closing = false;
  const drainWaiters: Array<() => void> = [];
  /** Refused publishes (Redis away) repeat for every frame: logged once a second. */
  const logPublishFailure = throttledLog(log);
  /** Bad input can repeat for every frame: one line a second at most. */
  const logFrameFailure = throttledLog(log);
  const sidPrefix = `${opts.nodeId}-${process.pid.toString(36)}-`;
  const welcomeLimits = JSON.stringify({ rate: opts.rate, burst: opts.burst, maxPayload: opts.maxPayload });

  const metrics = createServerMetrics({
    node: opts.nodeId,
    bus: bus.kind,
    counters,
    connections: () => conns.size,
    rooms: () => rooms.size,
    limits: statsLimits(opts),
    retention: () => bus.retentionStats?.(),
    identities: () => identities.size(),
  });

  /** This process's stats, with the bus's counters when it has some (Redis). */
  const stats = (): ServerStats => {
    const b = busStats(bus);
    return b ? { ...metrics.stats(), busStats: b } as ServerStats : metrics.stats();
  };

  // ---- sending --------------------------------------------------------------

  const sendText = (c: Conn, text: string) => {
    if (c.ws.readyState !== 1) return;
    c.ws.send(text);
    counters.framesOut++;
  };
  const send = (c: Conn, obj: object) => sendText(c, JSON.stringify(obj));
  const sendError = (c: Conn, id: Id | undefined, code: string, message: string) => {
    if (code === 'bad_request') counters.badRequests++;
    send(c, id === undefined ? { type: 'error', code, message } : { type: 'error', id, code, message });
  };

  /** Deliver one room message to every live member (pre-framed) and buffer it for joining ones. */
  const fanout = (room: Room, h: Held) => {
    let frame: Buffer | null = null;
    let n = 0;
    for (const m of room.members) {
      if (m === h.except) continue;
      const ws = m.ws;
      if (ws.readyState !== 1) continue;
      if (preframed) {
        frame ??= preframe(h.text);
        if (writer.write(ws, m.direct, frame, h.text) > MAX_SOCKET_BUFFER) {
          counters.slowConsumerTerminations++;
          ws.terminate();
        }
      } else {
        ws.send(h.text);
      }
      n++;
    }
    for (const [m, p] of room.pending) if (m !== h.except) p.buffer.push(h);
    counters.deliveries += n;
    counters.framesOut += n;
  };

  /** Deliver what is due; a room still holding messages waits REORDER_WAIT_MS for the missing ones, then fills or reports them. */
  const drain = (room: Room) => {
    room.order.drain();
    // A room not started yet (no member has joined) only holds.
    if (room.order.held.size === 0 || room.order.next === 0) {
      if (room.gapTimer) clearTimeout(room.gapTimer);
      room.gapTimer = null;
    } else if (!room.gapTimer) {
      room.gapTimer = setTimeout(() => void fillGap(room), REORDER_WAIT_MS);
      room.gapTimer.unref();
    }
  };

  /** Put a room message in its place: delivered now if it is the next seq, else held until the missing ones arrive. */
  const deliver = (roomName: string, seq: number, text: string, except: Conn | null) => {
    const room = rooms.get(roomName);
    if (!room) return;
    room.order.offer(seq, { seq, text, except });
    drain(room);
  };

  /** Seqs have not arrived in time: take them from the retention buffer, or report them as a gap to the members. */
  const fillGap = async (room: Room) => {
    room.gapTimer = null;
    if (rooms.get(room.name) !== room || room.order.held.size === 0) return;
    await fillHoles(room.order, room.order.lowestHeld() - 1, {
      read: async (after) => (await bus.history(room.name, after)).entries,
      item: (e) => ({ seq: e.seq, text: e.text, except: null }),
      gap: (from, to) => {
        const gap = JSON.stringify({ type: 'gap', room: room.name, from, to });
        for (const m of room.members) sendText(m, gap);
      },
      current: () => rooms.get(room.name) === room,
      onReadError: (err) => log(`wsbench server: history of room ${room.name} failed: ${err.message}`),
    });
    if (rooms.get(room.name) === room) drain(room);
  };

  const unsubscribe = bus.subscribe((msg: BusMessage) => {
    if (msg.origin === bus.id) return;
    if (msg.kind === 'message') deliver(msg.room, msg.seq, msg.text, null);
    else {
      const room = rooms.get(msg.room);
      if (room) for (const m of room.members) sendText(m, msg.text);
    }
  });

  const presence = (room: Room, subject: Conn, state: 'join' | 'leave') => {
    if (!opts.presence) return;
    const text = JSON.stringify({ type: 'presence', room: room.name, user: subject.user, state });
    for (const m of room.members) if (m !== subject) sendText(m, text);
    bus.publish({ kind: 'presence', room: room.name, text, origin: bus.id });
  };

  // ---- rooms ----------------------------------------------------------------

  const removeFromRoom = (c: Conn, name: string) => {
    const room = rooms.get(name);
    c.rooms?.delete(name);
    if (!room) return;
    const wasLive = room.members.delete(c);
    room.pending.delete(c);
    if (room.size() === 0) {
      if (room.gapTimer) clearTimeout(room.gapTimer);
      rooms.delete(name);
    } else if (wasLive) presence(room, c, 'leave');
  };

  const handleJoin = async (c: Conn, id: Id, name: string, since: number | undefined) => {
    let room = rooms.get(name);
    if (!room) rooms.set(name, (room = new Room(name, JSON.stringify(name), fanout)));
    const already = c.rooms?.has(name) ?? false;
    if (!already) (c.rooms ??= new Set()).add(name);
    room.members.delete(c);
    const pend: PendingJoin = { buffer: [] };
    room.pending.set(c, pend);

    let latest: number;
    let entries: RetainedMessage[] = [];
    try {
      if (since === undefined) latest = await bus.lastSeq(name);
      else ({ latest, entries } = await bus.history(name, since));
    } catch (err) {
      if (room.pending.get(c) === pend) removeFromRoom(c, name);
      sendError(c, id, failureCode(err), `join failed: ${(err as Error).message}`);
      return;
    }
    // Left, re-joined or disconnected while we waited: that later action wins.
    if (rooms.get(name) !== room || room.pending.get(c) !== pend || c.ws.readyState !== 1) return;

    let seq: number;
    const replay = new Map<number, string>();
    if (since !== undefined) for (const e of entries) replay.set(e.seq, e.text);
    if (room.order.next === 0) {
      // First member of this room in this process: start the local order at the bus's latest seq.
      seq = latest;
      for (const [s, h] of room.order.restart(latest + 1)) if (since !== undefined) replay.set(s, h.text);
    } else {
      // The local delivered point: everything up to it reached this process, either
      // before the join started (so it is in the bus history) or since (so it is in the buffer).
      seq = room.order.next - 1;
      if (since !== undefined) for (const h of pend.buffer) if (h.seq <= seq) replay.set(h.seq, h.text);
    }

    room.pending.delete(c);
    room.members.add(c);
    send(c, { type: 'joined', id, room: name, members: room.size(), seq });
    if (since !== undefined && since < seq) {
      let expect = since + 1;
      const seqs = [...replay.keys()].filter((s) => s > since && s <= seq).sort((a, b) => a - b);
      for (const s of seqs) {
        if (s > expect) sendText(c, JSON.stringify({ type: 'gap', room: name, from: expect, to: s - 1 }));
        const text = replay.get(s)!;
        sendText(c, `${text.slice(0, -1)},"replay":true}`);
        expect = s + 1;
      }
      if (expect <= seq) sendText(c, JSON.stringify({ type: 'gap', room: name, from: expect, to: seq }));
    }
    // Live messages delivered while the join was in progress and newer than its seq.
    for (const h of pend.buffer) if (h.seq > seq) sendText(c, h.text);
    if (!already) presence(room, c, 'join');
    if (room.order.held.size) drain(room);
  };

  const handlePublish = async (c: Conn, id: Id, name: string, payload: unknown, echo: boolean) => {
    const payloadJson = JSON.stringify(payload);
    const prefix = `{"type":"message","room":${JSON.stringify(name)},"seq":`;
    const suffix = `,"from":${JSON.stringify(c.user)},"payload":${payloadJson}}`;
    if (opts.delayMs === 0 && bus.appendNext) {
      // Seq, retention and fan-out in one step (the Redis bus's script): a seq never exists
      // without its message, also when Redis goes away between two commands.
      const seq = await bus.appendNext(name, prefix, suffix);
      send(c, { type: 'ack', id, room: name, seq });
      deliver(name, seq, prefix + seq + suffix, echo ? null : c);
      return;
    }
    const seq = await bus.nextSeq(name);
    const text = prefix + seq + suffix;
    if (opts.delayMs > 0) await new Promise((r) => setTimeout(r, opts.delayMs));
    const appended = bus.append(name, { seq, text });
    bus.publish({ kind: 'message', room: name, seq, text, origin: bus.id });
    // Not retained means not accepted: the publisher gets an error (and the log line),
    // members a gap for this seq when their room gives up waiting for it.
    await appended;
    send(c, { type: 'ack', id, room: name, seq });
    deliver(name, seq, text, echo ? null : c);
  };

  /**
   * Joins and leaves of one connection run one after the other, in the order sent, so a
   * join followed at once by a leave or a second join gets every reply, in order.
   */
  const serially = (c: Conn, op: () => Promise<void> | undefined) => {
    const run = (): Promise<void> | undefined => {
      if (c.ws.readyState !== 1) return undefined;
      return op();
    };
    const p = c.chain ? c.chain.then(run) : run();
    if (!p) return;
    const tracked: Promise<void> = p.catch((err) => log(`wsbench server: join/leave failed: ${(err as Error).message}`)).finally(() => {
      if (c.chain === tracked) c.chain = null;
    });
    c.chain = tracked;
  };

  // ---- frames ---------------------------------------------------------------

  /** Token bucket; true when the frame may proceed. */
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

  const handleFrame = (c: Conn, data: RawData, isBinary: boolean) => {
    counters.framesIn++;
    const now = Date.now();
    if (now >= c.expMs) {
      c.ws.close(1008, 'token expired');
      return;
    }
    if (!admit(c, now)) return;
    const parsed = parseClientFrame(data as Buffer, isBinary, frameLimits);
    if (!parsed.ok) return sendError(c, parsed.problem.id, 'bad_request', parsed.problem.message);
    const cmd = parsed.cmd;
    if (cmd.type === 'ping') {
      send(c, cmd.payload === undefined ? { type: 'pong', id: cmd.id } : { type: 'pong', id: cmd.id, payload: cmd.payload });
      return;
    }
    const { id, room } = cmd;
    if (cmd.type === 'leave') {
      serially(c, () => {
        if (c.rooms?.has(room)) removeFromRoom(c, room);
        send(c, { type: 'left', id, room });
        return undefined;
      });
      return;
    }
    if (cmd.type === 'join') {
      if (!roomAllowed({ rooms: c.allowed }, room)) return sendError(c, id, 'forbidden', `room ${JSON.stringify(room)} is not allowed by the token`);
      serially(c, () => {
        if (!c.rooms?.has(room) && (c.rooms?.size ?? 0) >= opts.maxRoomsPerConn) {
          sendError(c, id, 'bad_request', `too many rooms: at most ${opts.maxRoomsPerConn} per connection`);
          return undefined;
        }
        return handleJoin(c, id, room, cmd.since);
      });
      return;
    }
    if (!c.rooms?.has(room)) return sendError(c, id, 'not_joined', `not a member of room ${JSON.stringify(room)}`);
    handlePublish(c, id, room, cmd.payload, cmd.echo).catch((err) => {
      logPublishFailure(`wsbench server: publish to room ${room} failed: ${(err as Error).message}`);
      sendError(c, id, failureCode(err), `publish failed: ${(err as Error).message}`);
    });
  };

  // ---- connections ----------------------------------------------------------

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean) {
    const c = (this as ConnSocket).wsbConn;
    if (!c) return;
    try {
      handleFrame(c, data, isBinary);
    } catch (err) {
      // Never crash on client input: report (one line a second at most, no stack) and carry on.
      logFrameFailure(`wsbench server: frame handling failed: ${(err as Error).message ?? err}`);
      sendError(c, undefined, 'internal', 'internal error');
    }
  }
  /**
   * Pings cost a token like data frames: a ping flood ends in 1008 like a frame flood. Every ping
   * still gets its pong (as ws's autoPong did), sent here, not by ws's autoPong (which keeps a closure per connection); a peer that pings without
   * reading our pongs is cut like a slow consumer.
   */
  function onPing(this: WebSocket, data: Buffer) {
    const c = (this as ConnSocket).wsbConn;
    if (!c) return;
    counters.framesIn++;
    admit(c, Date.now());
    if (this.readyState !== 1) return; // closed for abuse
    if (this.bufferedAmount > MAX_SOCKET_BUFFER) {
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
    if (c.rooms) for (const r of [...c.rooms]) removeFromRoom(c, r);
    c.rooms = null;
    if (conns.size === 0) for (const w of drainWaiters.splice(0)) w();
  }
  function onError() {
    // ws closes the connection itself (1007 invalid UTF-8, 1009 too big, 1002 protocol error).
  }

  const socketEvents: SocketEvents = { message: onMessage, ping: onPing, pong: onPong, close: onClose, error: onError };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    WebSocket: ConnSocket,
    perMessageDeflate: false,
    maxPayload: opts.maxPayload,
    // Pongs are sent by onPing (memory per idle connection: no per-socket callback).
    autoPong: false,
  });

  const accept = (ws: WebSocket, user: string, allowed: string[] | undefined, expMs: number, identity: Identity) => {
    const now = Date.now();
    const c = new Conn(ws, sidPrefix + (++sidCounter).toString(36), user, allowed, expMs, canWriteDirect(ws), identity, opts.burst, now);
    (ws as ConnSocket).wsbConn = c;
    (ws as ConnSocket).wsbEvents = socketEvents;
    (ws as ConnSocket).dropListenerTable();
    conns.add(c);
    counters.connectionsOpened++;
    sendText(c, `{"type":"welcome","sid":${JSON.stringify(c.sid)},"user":${JSON.stringify(user)},"node":${JSON.stringify(opts.nodeId)},"pid":${process.pid},"heartbeatMs":${opts.heartbeatMs},"limits":${welcomeLimits}}`);
  };

  const reject = (socket: Duplex, status: number, reason: string) => {
    counters.upgradesRejected++;
    const text = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
    const body = `${reason}\n`;
    socket.once('finish', () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    setTimeout(() => socket.destroy(), 1000).unref();
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', onError);
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (closing) return reject(socket, 503, 'server shutting down');
    if (path !== '/ws') return reject(socket, 404, `no WebSocket endpoint at ${path.slice(0, 64)}; use /ws`);
    let token: string | undefined;
    const authz = req.headers.authorization;
    if (authz && /^Bearer\s+/i.test(authz)) token = authz.replace(/^Bearer\s+/i, '').trim();
    else if (q !== -1) token = new URLSearchParams(url.slice(q + 1)).get('token') ?? undefined;
    const adm = authenticator.admit(token);
    if (!adm.ok) return reject(socket, adm.status, adm.reason);
    const identity = adm.identity;
    // ws drops an upgrade whose socket died meanwhile without calling back: give the slot back then.
    const releaseIfDropped = () => identities.release(identity);
    socket.on('close', releaseIfDropped);
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Memory per idle connection: once upgraded, ws has its own handlers; dropping ours frees
      // this closure and its context and keeps one listener per event (no listener arrays).
      socket.removeListener('close', releaseIfDropped);
      socket.removeListener('error', onError);
      accept(ws, adm.user, adm.rooms, adm.expMs, identity);
    });
  };

  // ---- HTTP -----------------------------------------------------------------

  const onRequest = createHttpHandler({
    nodeId: opts.nodeId,
    health: () => [bus.health()],
    stats: () => (deps.statsProvider ? deps.statsProvider() : stats()),
    metrics,
    paths: ['/ws'],
  });
  const http = createNodeHttpServer(opts.headersTimeoutMs, onRequest);
  http.on('upgrade', onUpgrade);

  // ---- timers ---------------------------------------------------------------

  const sweepHeartbeat = () => {
    for (const c of conns) {
      if (c.ws.readyState !== 1) continue;
      if (!c.alive) {
        counters.heartbeatTerminations++;
        c.ws.terminate();
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  };
  // setImmediate: pongs that already reached the socket are read (poll phase) before the sweep, so a
  // late timer after a busy stretch never evicts a healthy peer.
  const heartbeat = opts.heartbeatMs > 0 ? setInterval(() => setImmediate(sweepHeartbeat), opts.heartbeatMs) : null;
  heartbeat?.unref();
  const stopExpiry = startExpirySweep(
    () => conns,
    (c) => c.expMs,
    (c) => {
      if (c.ws.readyState === 1) c.ws.close(1008, 'token expired');
    },
  );

  const { port, hostInUrl } = await listenNode(http, opts.port, opts.host, log);

  let closed: Promise<void> | null = null;

  return {
    url: `ws://${hostInUrl}:${port}/ws`,
    port,
    host: opts.host,
    nodeId: opts.nodeId,
    stats,
    dropAll(code = 1012) {
      const reason = code === 1012 ? 'server restarting' : code === 1001 ? 'server shutting down' : '';
      for (const c of conns) c.ws.close(code, reason);
    },
    close(closeOpts = {}) {
      closed ??= (async () => {
        closing = true;
        if (heartbeat) clearInterval(heartbeat);
        stopExpiry();
        const stopped = new Promise<void>((r) => http.close(() => r()));
        for (const c of conns) c.ws.close(1001, 'server shutting down');
        if (conns.size > 0) {
          await waitForDrain(drainWaiters, closeOpts.drainTimeoutMs ?? opts.drainTimeoutMs);
          for (const c of conns) c.ws.terminate();
        }
        http.closeAllConnections();
        await stopped;
        for (const r of rooms.values()) if (r.gapTimer) clearTimeout(r.gapTimer);
        rooms.clear();
        unsubscribe();
        wss.close();
        identities.stop();
        metrics.close();
        if (ownBus) await bus.close();
      })();
      return closed;
    },
  };
}
