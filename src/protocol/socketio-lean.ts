/**
 * The lean Socket.IO client (default of `--protocol socketio`): Engine.IO v4 and
 * Socket.IO v5 spoken over the raw WebSocket client (raw-transport.ts), one object
 * per connection, no Manager, emitter, parser or timer per client:
 *
 * - Engine.IO: the open packet (sid, pingInterval, pingTimeout), the server's pings
 *   answered with pongs, close and noop packets; a client that hears no ping for
 *   pingInterval + pingTimeout closes with `ping timeout` (one sweep for all);
 * - Socket.IO: CONNECT with the `auth` payload (token, and the `pid`/`offset` of
 *   connection state recovery on a reconnect), CONNECT_ERROR, events, acks (the
 *   harness's request id and kind in the ack id: no map per request), DISCONNECT;
 *   binary packets are recognised, their attachments awaited and the packet counted;
 * - room messages take the fast path (socketio-scan.ts): no string, no JSON.parse.
 *
 * Same events, frames, close codes and error codes as the socket.io-client transport
 * (socketio-transport.ts), which stays available with `--set client=socket.io-client`
 * and serves long-polling and `https:` targets.
 */
import { armDeadline, disarmDeadline, openRaw, RawConnection, roomOf, State, type RawSocket, type WireOptions } from './raw-transport.ts';
import { OP_BINARY } from './raw-frame.ts';
import { Sweep } from './sweep.ts';
import type { ClientConnection, ConnectionEvents, ConnectOptions, Transport } from './types.ts';
import type { SocketIoNames } from './socketio-names.ts';
import { connectFailure, engineIoV3, type ConnectFailureKind } from './socketio-errors.ts';
import { eventFrame, offersJoinSince, replyFrame, type ReplyKind } from './socketio-events.ts';
import { scanSioDelivery, sioScanKeys, type SioScanKeys, type SioScanned } from './socketio-scan.ts';
import { binaryDeliveryOf, binaryPublishPacket, readTaggedBytes, taggedBytes } from './socketio-binary.ts';
import {
  connectPacket,
  DISCONNECT_PACKET,
  EIO_CLOSE,
  EIO_MESSAGE,
  EIO_OPEN,
  EIO_PING,
  eventPacket,
  parseSioHeader,
  PONG_PACKET,
  SIO_ACK,
  SIO_BINARY_ACK,
  SIO_BINARY_EVENT,
  SIO_CONNECT,
  SIO_CONNECT_ERROR,
  SIO_DISCONNECT,
  SIO_EVENT,
  type SioHeader,
} from './socketio-packet.ts';

const enum Phase {
  /** WebSocket handshake in progress. */
  Upgrading = 0,
  /** WebSocket open, waiting for Engine.IO's open packet. */
  AwaitOpen = 1,
  /** CONNECT sent, waiting for the server's CONNECT (or CONNECT_ERROR). */
  AwaitConnect = 2,
  Connected = 3,
  /** Closed and reported: nothing more reaches the engine. */
  Done = 4,
}

/** Ack ids carry the request kind in their two low bits (the request id above them). */
const KINDS: ReplyKind[] = ['joined', 'left', 'ack'];
const K_JOIN = 0;
const K_LEAVE = 1;
const K_PUBLISH = 2;
/** A scenario's own event (`emit`): its ack goes to the callback kept by id. */
const K_EMIT = 3;

/** What a client presents to recover its session when it reconnects (connection state recovery). */
interface Session {
  pid: string;
  offset: string | null;
  url: string;
}

/** What every connection of one transport shares. */
interface Shared {
  names: SocketIoNames;
  keys: SioScanKeys;
  /** JSON texts of the event names and payload keys, built once. */
  json: { join: string; leave: string; publish: string; room: string; content: string };
  /** Whether the server said (its `connected` event's `features`) that `join` takes {since}. */
  joinSince: boolean;
  /** Sessions of clients whose connection closed, by client key, until they reconnect. */
  sessions: Map<number, Session>;
  /** `--set binary=on`: publishes carry the payload as a binary attachment (socketio-binary.ts). */
  binary: boolean;
}

// Ping timeouts: one sweep over the connected clients instead of a timer each.
const pingWatch = new Sweep<SioConnection>(250, (c, now) => {
  if (c.pingDeadlineMs <= now) c.pingTimedOut();
});

const scanned: SioScanned = { roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false, offsetStart: -1, offsetEnd: -1 };

class SioConnection extends RawConnection implements ClientConnection {
  phase = Phase.Upgrading;
  /** Until CONNECT is sent: its text (auth, and the session to recover). */
  private hello: string | null;
  /** The pid the server gave (recovery on), and the offset of the last packet received. */
  private pid: string | null = null;
  private offset: string | null = null;
  /** Whether the server restored this client's session (rooms and missed packets). */
  private recovered = false;
  private readonly previousPid: string | null;
  /** Rooms of joins awaiting their ack, by request id (null when none). */
  private joinRooms: Map<number, string> | null = null;
  /** Packets that came before the server's CONNECT (a recovered session's missed packets; a binary one with copies of its attachments), or null. */
  private early: Array<string | [string, Buffer[]]> | null = null;
  /** A binary packet waiting for `attachments` more binary frames. */
  private binary: {
    header: SioHeader;
    text: string;
    attachments: number;
    delivery?: { room: string; seq: number; replay: boolean; offset: string | null };
    /** Before the CONNECT: copies of the attachments, handled with the packet once connected. */
    early?: Buffer[];
  } | null = null;
  pingDeadlineMs = 0;
  private pingWindowMs = 0;
  /** Ack callbacks of `emit` calls by id, or null when none is pending. */
  private emitAcks: Map<number, (res: unknown) => void> | null = null;
  private emitIds = 0;

  constructor(
    sock: RawSocket,
    ev: ConnectionEvents,
    accept: string,
    private readonly sh: Shared,
    private readonly clientKey: number | undefined,
    private readonly url: string,
    token: string | undefined,
    session: Session | undefined,
  ) {
    super(sock, ev, accept);
    this.previousPid = session?.pid ?? null;
    const auth: Record<string, unknown> = {};
    if (token) auth.token = token;
    if (session) {
      auth.pid = session.pid;
      if (session.offset !== null) auth.offset = session.offset;
    }
    this.hello = connectPacket(token || session ? auth : null);
  }

  override get isOpen(): boolean {
    return this.phase === Phase.Connected && this.state === State.Open;
  }

  private sendIfConnected(text: string): void {
    if (this.phase === Phase.Connected) this.send(text);
  }

  private ackId(id: number, kind: number): number {
    return id * 4 + kind;
  }

  join(room: string, id: number, since?: number, epoch?: string): void {
    if (this.phase !== Phase.Connected) return;
    (this.joinRooms ??= new Map()).set(id, room);
    const j = this.sh.json;
    // A recovered session has its rooms and missed messages back already; elsewhere a resume asks for the replay.
    const resume = epoch === undefined ? `{"since":${since}}` : `{"since":${since},"epoch":${JSON.stringify(epoch)}}`;
    const args = since !== undefined && this.sh.joinSince && !this.recovered ? `${JSON.stringify(room)},${resume}` : JSON.stringify(room);
    this.send(eventPacket(this.ackId(id, K_JOIN), j.join, args));
  }

  leave(room: string, id: number): void {
    this.sendIfConnected(eventPacket(this.ackId(id, K_LEAVE), this.sh.json.leave, JSON.stringify(room)));
  }

  publish(room: string, id: number, tag: string, pad: string): void {
    const j = this.sh.json;
    if (this.sh.binary) {
      if (this.phase !== Phase.Connected) return;
      this.send(binaryPublishPacket(this.ackId(id, K_PUBLISH), j.publish, j.room, room, j.content));
      return this.sendBinary(taggedBytes(tag, pad));
    }
    this.sendIfConnected(eventPacket(this.ackId(id, K_PUBLISH), j.publish, `{${j.room}:${JSON.stringify(room)},${j.content}:{"wsb":${JSON.stringify(tag)},"pad":${JSON.stringify(pad)}}}`));
  }

  ping(): boolean {
    return false;
  }

  emit(event: string, data: unknown, onAck?: (res: unknown) => void): void {
    if (this.phase !== Phase.Connected) return;
    const args = [JSON.stringify(event), JSON.stringify(data ?? null)];
    if (!onAck) return this.send(`42[${args.join(',')}]`);
    const id = ++this.emitIds;
    (this.emitAcks ??= new Map()).set(id, onAck);
    this.send(eventPacket(this.ackId(id, K_EMIT), args[0]!, args[1]!));
  }

  override close(code = 1000): void {
    if (this.phase === Phase.Done) return;
    if (this.phase === Phase.Connected) this.send(DISCONNECT_PACKET);
    this.finish();
    if (this.state === State.Open) this.sendClose(code);
    else this.sock.destroy();
    this.ev.onClose(1000, 'client close');
  }

  override terminate(): void {
    if (this.phase === Phase.Done) return;
    this.finish();
    this.sock.destroy();
    this.ev.onClose(1006, 'terminated');
  }

  /** Nothing more is reported; the session is kept for the client's next connection. */
  private finish(): void {
    this.phase = Phase.Done;
    this.hello = null;
    this.joinRooms = null;
    this.binary = null;
    this.early = null;
    pingWatch.delete(this);
    disarmDeadline(this);
    if (this.pid !== null && this.clientKey !== undefined) this.sh.sessions.set(this.clientKey, { pid: this.pid, offset: this.offset, url: this.url });
  }

  /** The connection did not come up: report it as socket.io-client's `connect_error` would be. */
  private connectFailed(kind: ConnectFailureKind | 'engine_io_v3', msg: string, cause: string | undefined): void {
    if (this.phase === Phase.Done) return;
    this.finish();
    const f = kind === 'engine_io_v3' ? { code: kind, detail: engineIoV3(msg) } : connectFailure(kind, msg, cause, cause ?? '', enginePath(this.url));
    this.ev.onError(f.code, f.detail);
    this.sock.destroy();
    this.ev.onClose('connect_error', msg);
  }

  /** A disconnect after the connection was up: `reason` as socket.io-client words it. */
  private disconnected(reason: string): void {
    if (this.phase === Phase.Done) return;
    this.finish();
    if (this.state === State.Open) this.sendClose(1000);
    else this.sock.destroy();
    this.ev.onClose(reason.replace(/ /g, '_'), reason);
  }

  /** No ping for pingInterval + pingTimeout: the server is gone (socket.io-client's `ping timeout`). */
  pingTimedOut(): void {
    this.disconnected('ping timeout');
    this.sock.destroy();
  }

  // ---------------------------------------------------------------- RawConnection hooks

  override error(code: string, message: string): void {
    if (code === 'handshake_timeout') this.connectFailed('handshake_timeout', 'timeout', undefined);
    else this.connectFailed('connect_failed', 'websocket error', message);
  }

  protected override upgraded(): void {
    this.phase = Phase.AwaitOpen;
    // The handshake deadline runs on until the Socket.IO CONNECT is answered.
    armDeadline(this, Math.max(0, this.deadlineMs - performance.now()));
  }

  override deadlinePassed(): void {
    if (this.phase < Phase.Connected) this.connectFailed('handshake_timeout', 'timeout', undefined);
    else super.deadlinePassed();
  }

  override closed(): void {
    if (this.phase === Phase.Connected) this.disconnected('transport close');
    else this.connectFailed('connect_failed', 'websocket error', 'the server closed the connection before the Socket.IO handshake ended');
  }

  protected onMessage(opcode: number, buf: Buffer, start: number, end: number): void {
    if (this.phase === Phase.Done) return;
    if (opcode === OP_BINARY) return this.onAttachment(buf, start, end);
    const eio = buf[start];
    if (eio === EIO_MESSAGE) {
      if (this.phase === Phase.Connected && this.binary === null && scanSioDelivery(buf, start + 1, end, this.sh.keys, scanned)) {
        if (this.pid !== null && scanned.offsetStart >= 0) this.offset = buf.toString('latin1', scanned.offsetStart, scanned.offsetEnd);
        this.ev.onDelivery(roomOf(buf, scanned.roomStart, scanned.roomEnd), scanned.seq, scanned.node, scanned.pub, scanned.counter, scanned.sendUs, scanned.replay);
        return;
      }
      return this.onPacket(buf.toString('utf8', start + 1, end));
    }
    if (eio === EIO_PING) {
      const answer = this.answerPings;
      if (answer) this.send(PONG_PACKET);
      this.pingDeadlineMs = performance.now() + this.pingWindowMs;
      this.ev.onHeartbeat(answer);
      return;
    }
    if (eio === EIO_OPEN) return this.onOpenPacket(buf.toString('utf8', start + 1, end));
    if (eio === EIO_CLOSE) return this.disconnected('transport close');
    // pong, upgrade, noop: nothing to do.
  }

  private onOpenPacket(text: string): void {
    if (this.phase !== Phase.AwaitOpen) return;
    let open: { sid?: unknown; pingInterval?: unknown; pingTimeout?: unknown };
    try {
      open = JSON.parse(text);
    } catch {
      return this.badPacket(`0${text}`);
    }
    const interval = Number(open.pingInterval);
    const timeout = Number(open.pingTimeout);
    if (typeof open.sid !== 'string' || !(interval > 0) || !(timeout > 0)) return this.badPacket(`0${text}`);
    this.pingWindowMs = interval + timeout;
    this.phase = Phase.AwaitConnect;
    this.send(this.hello!);
    this.hello = null;
  }

  private onPacket(text: string): void {
    const h = parseSioHeader(text);
    if (h === null) return this.badPacket(`4${text}`);
    if (h.nsp !== '/') return; // only the default namespace is connected
    if (h.type === SIO_CONNECT) return this.onConnect(text, h);
    if (h.type === SIO_CONNECT_ERROR) {
      const data = this.json(text, h);
      const message = (data as { message?: unknown } | undefined)?.message;
      return this.connectFailed('handshake_refused', typeof message === 'string' ? message : 'connect_error', undefined);
    }
    if (this.phase === Phase.AwaitConnect) {
      // A recovering server sends the missed packets before its CONNECT; socket.io-client
      // holds them and emits them once connected, before `connect`: so does this client.
      if ((h.type === SIO_BINARY_EVENT || h.type === SIO_BINARY_ACK) && h.attachments > 0) this.binary = { header: h, text, attachments: h.attachments, early: [] };
      else (this.early ??= []).push(text);
      return;
    }
    if (this.phase !== Phase.Connected) return;
    if (h.type === SIO_DISCONNECT) return this.disconnected('io server disconnect');
    if (h.type === SIO_BINARY_EVENT || h.type === SIO_BINARY_ACK) {
      if (h.attachments === 0) return this.dispatch(text, h);
      this.binary = { header: h, text, attachments: h.attachments, delivery: h.type === SIO_BINARY_EVENT && h.attachments === 1 ? this.binaryDelivery(text, h) : undefined };
      return;
    }
    this.dispatch(text, h);
  }

  private onConnect(text: string, h: SioHeader): void {
    if (this.phase !== Phase.AwaitConnect) return;
    const data = this.json(text, h) as { sid?: unknown; pid?: unknown } | undefined;
    // A Socket.IO 2.x server (Engine.IO v3) connects the default namespace by itself, with no sid.
    if (typeof data?.sid !== 'string') return this.connectFailed('engine_io_v3', `the server connected without a Socket.IO v5 CONNECT (${JSON.stringify(`4${text}`.slice(0, 40))})`, undefined);
    this.pid = typeof data.pid === 'string' ? data.pid : null;
    this.recovered = this.pid !== null && this.pid === this.previousPid;
    this.phase = Phase.Connected;
    disarmDeadline(this);
    this.pingDeadlineMs = performance.now() + this.pingWindowMs;
    pingWatch.add(this);
    const early = this.early;
    this.early = null;
    if (early !== null) for (const p of early) if (this.phase === Phase.Connected) this.onEarly(p);
    if (this.phase === Phase.Connected) this.ev.onOpen();
  }

  /** A packet held until the CONNECT, handled now (a binary one with its attachments). */
  private onEarly(p: string | [string, Buffer[]]): void {
    if (typeof p === 'string') return this.onPacket(p);
    this.onPacket(p[0]);
    for (const a of p[1]) this.onAttachment(a, 0, a.length);
  }

  private onAttachment(buf: Buffer, start: number, end: number): void {
    const b = this.binary;
    if (b === null) return this.badPacket('a binary frame without a binary packet announcing it');
    if (b.early) {
      b.early.push(Buffer.from(buf.subarray(start, end)));
      if (--b.attachments > 0) return;
      this.binary = null;
      (this.early ??= []).push([b.text, b.early]);
      return;
    }
    if (--b.attachments > 0) return;
    this.binary = null;
    const d = b.delivery;
    if (d && readTaggedBytes(buf, start, end, scanned)) {
      if (d.offset !== null) this.offset = d.offset;
      return this.ev.onDelivery(d.room, d.seq, scanned.node, scanned.pub, scanned.counter, scanned.sendUs, d.replay);
    }
    this.dispatch(b.text, b.header);
  }

  /** A room message whose content is the binary attachment to come (binary=on), or undefined. */
  private binaryDelivery(text: string, h: SioHeader): { room: string; seq: number; replay: boolean; offset: string | null } | undefined {
    if (!this.sh.binary) return undefined;
    let data: unknown;
    try {
      data = JSON.parse(text.slice(h.dataStart));
    } catch {
      return undefined; // dispatch reports it
    }
    const d = binaryDeliveryOf(data, this.sh.names);
    if (!d) return undefined;
    const last = (data as unknown[])[(data as unknown[]).length - 1];
    return { ...d, offset: this.pid !== null && (data as unknown[]).length > 2 && typeof last === 'string' ? last : null };
  }

  /** An event or an ack, fully parsed (binary placeholders stay as they are: counted, not rebuilt). */
  private dispatch(text: string, h: SioHeader): void {
    const data = this.json(text, h);
    if (this.phase !== Phase.Connected) return; // the JSON was bad
    if (!Array.isArray(data)) return this.badPacket(`4${text}`);
    if (h.type === SIO_ACK || h.type === SIO_BINARY_ACK) return this.onAck(h.id, data[0]);
    const event = data[0];
    if (typeof event !== 'string') return this.badPacket(`4${text}`);
    if (this.pid !== null && data.length > 1 && typeof data[data.length - 1] === 'string') this.offset = data[data.length - 1] as string;
    if (offersJoinSince(this.sh.names, event, data[1])) this.sh.joinSince = true;
    const frame = eventFrame(this.sh.names, event, data[1]);
    if (frame) this.ev.onFrame(frame);
  }

  private onAck(ackId: number, res: unknown): void {
    if (ackId < 0) return;
    const kind = ackId % 4;
    const id = (ackId - kind) / 4;
    if (kind === K_EMIT) {
      const cb = this.emitAcks?.get(id);
      this.emitAcks?.delete(id);
      return cb?.(res);
    }
    let room = '';
    if (kind === K_JOIN && this.joinRooms !== null) {
      room = this.joinRooms.get(id) ?? '';
      this.joinRooms.delete(id);
      if (this.joinRooms.size === 0) this.joinRooms = null;
    }
    this.ev.onFrame(replyFrame(KINDS[kind]!, id, room, res));
  }

  /** The packet's JSON data (undefined when it has none); a malformed one ends the connection. */
  private json(text: string, h: SioHeader): unknown {
    if (h.dataStart >= text.length) return undefined;
    try {
      return JSON.parse(text.slice(h.dataStart));
    } catch {
      this.badPacket(`4${text}`);
      return undefined;
    }
  }

  /** socket.io-client closes with `parse error` on a packet it cannot decode; the run also counts it. */
  private badPacket(text: string): void {
    this.ev.onError('bad_frame', `could not decode a Socket.IO packet from the server: ${text.slice(0, 80)}`);
    if (this.phase === Phase.Connected) this.disconnected('parse error');
    else this.connectFailed('connect_failed', 'parse error', text.slice(0, 80));
  }
}

/** Options of the lean Socket.IO transport. */
export interface LeanSocketIoOptions {
  names: SocketIoNames;
  /** The transport for `https:` targets when `wire` is not given, built on first use. */
  tls: () => Promise<Transport>;
  /** TLS checks and session cache, compression offer: with it, `https:` targets are spoken to over the raw client's TLS. */
  wire?: WireOptions;
}

/**
 * The lean Socket.IO transport. `https:` targets go over the raw client's TLS when `o.wire` is given, else to `o.tls()` (socket.io-client),
 * which is loaded on the first such connection: connect() must return at once, so those
 * connections wait for it behind a small forwarding object.
 */
export function createLeanSocketIoTransport(o: LeanSocketIoOptions): Transport {
  const n = o.names;
  const sh: Shared = {
    names: n,
    keys: sioScanKeys(n),
    json: { join: JSON.stringify(n.join), leave: JSON.stringify(n.leave), publish: JSON.stringify(n.publish), room: JSON.stringify(n.room), content: JSON.stringify(n.content) },
    joinSince: false,
    sessions: new Map(),
    binary: o.wire?.binary === true,
  };
  let tls: Promise<Transport> | undefined;
  return {
    name: 'socket.io',
    awaitsWelcome: false,
    connect(opts: ConnectOptions, ev: ConnectionEvents): ClientConnection {
      const u = new URL(opts.url.replace(/^ws/, 'http'));
      if (u.protocol === 'https:' && !o.wire) return deferred((tls ??= o.tls()), opts, ev);
      const path = enginePath(opts.url);
      const query = u.search ? `${u.search}&` : '?';
      const wsUrl = `${u.protocol === 'https:' ? 'wss' : 'ws'}://${u.host}${path.replace(/\/$/, '')}/${query}EIO=4&transport=websocket`;
      let session: Session | undefined;
      if (opts.clientKey !== undefined) {
        session = sh.sessions.get(opts.clientKey);
        sh.sessions.delete(opts.clientKey);
        // A client failing over to another node starts a new session there.
        if (session && session.url !== opts.url) session = undefined;
      }
      return openRaw(wsUrl, undefined, opts, (sock, accept) => new SioConnection(sock, ev, accept, sh, opts.clientKey, opts.url, opts.token, session), o.wire);
    },
  };
}

/** The Engine.IO path of a target URL: its path, `/socket.io` when it has none. */
function enginePath(url: string): string {
  const p = new URL(url.replace(/^ws/, 'http')).pathname;
  return p && p !== '/' ? p : '/socket.io';
}

/** A connection made by a transport that is still loading: calls made before it exists are replayed. */
function deferred(transport: Promise<Transport>, opts: ConnectOptions, ev: ConnectionEvents): ClientConnection {
  let conn: ClientConnection | undefined;
  const queued: Array<(c: ClientConnection) => void> = [];
  const call = (f: (c: ClientConnection) => void) => (conn ? f(conn) : queued.push(f));
  transport.then(
    (t) => {
      conn = t.connect(opts, ev);
      for (const f of queued.splice(0)) f(conn);
    },
    (err: Error) => {
      ev.onError('connect_failed', err.message);
      ev.onClose('connect_error', err.message);
    },
  );
  return {
    join: (room, id, since, epoch) => call((c) => c.join(room, id, since, epoch)),
    leave: (room, id) => call((c) => c.leave(room, id)),
    publish: (room, id, tag, pad) => call((c) => c.publish(room, id, tag, pad)),
    emit: (event, data, onAck) => call((c) => c.emit?.(event, data, onAck)),
    ping: () => false,
    close: (code) => call((c) => c.close(code)),
    terminate: () => call((c) => c.terminate()),
    stopHeartbeat: () => call((c) => c.stopHeartbeat()),
    get isOpen() {
      return conn?.isOpen ?? false;
    },
  };
}
