/**
 * Lean WebSocket client transport: a `net.Socket`, the opening handshake written
 * and checked by hand, and the frame reader of raw-frame.ts, driven by any
 * FrameCodec (wsbench/1 by default). Same contract and same event order as the
 * `ws`-based transport (ws-transport.ts), at a fraction of its memory and CPU:
 *
 * - every socket reads into one shared buffer (`onread`), so a delivery is scanned
 *   in place (`scanDelivery` on a view of it) with no per-read allocation;
 * - socket listeners are module functions that find their connection through a
 *   symbol on the socket: no closure per connection;
 * - one object per connection (the connection is its own frame reader).
 *
 * `ws:` over node:net, `wss:` over node:tls (tls-client.ts: session resumption per
 * target), permessage-deflate when offered (deflate.ts).
 */
import net from 'node:net';
import { createHash, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { ScannedDelivery } from './native.ts';
import { scanDeliveryRange, scanReplyRange } from './raw-scan.ts';
import { connectTls, SessionCache, VERIFY_TLS, type TlsClientOptions } from './tls-client.ts';
import { binaryPublish, scanBinaryMessage } from './binary-frame.ts';
import { acceptAnswer, describeAgreement, DeflateSession, offerHeader, type DeflateOffer } from './deflate.ts';
import { Sweep } from './sweep.ts';
import { clientFrame, FrameReader, isValidCloseCode, MAX_MESSAGE_BYTES, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, type ViolationKind } from './raw-frame.ts';
import type { ClientConnection, ConnectionEvents, ConnectOptions, FrameCodec, Transport, WireInfo } from './types.ts';
import { ReadPacer, type ReadPace } from './read-pace.ts';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** How long a close handshake may take before the socket is destroyed, ms. */
const CLOSE_TIMEOUT_MS = 2000;
/** Largest handshake response accepted, bytes. */
const MAX_RESPONSE_BYTES = 16 * 1024;

/** Where a raw connection's WebSocket stands. */
export const enum State {
  Connecting = 0,
  Open = 1,
  /** A close frame was sent or received: no more application frames go out. */
  Closing = 2,
  Closed = 3,
}

// Handshake and close timeouts: one sweep over the connections that have a deadline.
const deadlines = new Sweep<RawConnection>(100, (c, now) => {
  if (c.deadlineMs > now) return;
  disarmDeadline(c);
  c.deadlinePassed();
});

/** Call `c.deadlinePassed()` once `ms` have passed (a later call moves the deadline). */
export function armDeadline(c: RawConnection, ms: number): void {
  c.deadlineMs = performance.now() + ms;
  deadlines.add(c);
}

/** Forget `c`'s deadline (its handshake ended, or it closed). */
export function disarmDeadline(c: RawConnection): void {
  deadlines.delete(c);
}

const kConn = Symbol('wsbench.raw');
/** A socket that knows its connection (listeners are module functions, not closures). */
export type RawSocket = net.Socket & { [kConn]: RawConnection };

/** Every socket of the process reads into this buffer; frames are consumed before the next read. */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const ONREAD = { buffer: READ_BUFFER, callback: onSockRead };

const scanned: ScannedDelivery = { roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false };
// Deliveries of a broadcast name the same room over and over: keep the last name's
// bytes and string so that a delivery allocates no string.
let lastRoomBytes = Buffer.alloc(64);
let lastRoomLen = -1;
let lastRoom = '';

/** `buf[start, end)` as a string, without allocating when it names the same room as last time. */
export function roomOf(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === lastRoomLen) {
    let k = 0;
    while (k < n && buf[start + k] === lastRoomBytes[k]) k++;
    if (k === n) return lastRoom;
  }
  lastRoom = buf.toString('utf8', start, end);
  if (n > lastRoomBytes.length) lastRoomBytes = Buffer.alloc(n);
  buf.copy(lastRoomBytes, 0, start, end);
  lastRoomLen = n;
  return lastRoom;
}

// Sec-WebSocket-Key: 16 random bytes per handshake, drawn from a batch.
const keyPool = Buffer.allocUnsafe(16 * 256);
let keyAt = keyPool.length;
function newKey(): string {
  if (keyAt === keyPool.length) {
    randomFillSync(keyPool);
    keyAt = 0;
  }
  keyAt += 16;
  return keyPool.toString('base64', keyAt - 16, keyAt);
}

/** The end of an HTTP response's header block. */
const CRLF_CRLF = Buffer.from('\r\n\r\n', 'latin1');
/** The status line of an accepted upgrade. */
const STATUS_101 = /^HTTP\/1\.[01] 101/;

/** What an upgrade response's headers say (names case-insensitive, values trimmed; repeated Sec-WebSocket-Extensions joined with ", "). */
export function parseUpgradeHeaders(head: string): { upgrade: boolean; connection: boolean; accept: string; extensions: string | null } {
  let upgrade = false;
  let connection = false;
  let accept = '';
  let extensions: string | null = null;
  // Header lines start after the status line; each is `name: value`.
  let at = head.indexOf('\r\n');
  while (at >= 0) {
    const start = at + 2;
    at = head.indexOf('\r\n', start);
    const line = at < 0 ? head.slice(start) : head.slice(start, at);
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'upgrade') upgrade = line.slice(colon + 1).trim().toLowerCase() === 'websocket';
    else if (name === 'connection') connection = line.slice(colon + 1).toLowerCase().split(',').some((t) => t.trim() === 'upgrade');
    else if (name === 'sec-websocket-accept') accept = line.slice(colon + 1).trim();
    else if (name === 'sec-websocket-extensions') {
      const value = line.slice(colon + 1).trim();
      extensions = extensions === null ? value : `${extensions}, ${value}`;
    }
  }
  return { upgrade, connection, accept, extensions };
}

/** How a transport's connections are opened: TLS checks, the TLS session cache, the compression offer. */
export interface WireOptions {
  tls: TlsClientOptions;
  /** TLS sessions by target, for resumption on reconnect. */
  sessions: SessionCache;
  /** permessage-deflate offer; undefined = no compression offered. */
  deflate?: DeflateOffer;
  /** wsbench/1 only: publish binary frames and read binary deliveries (binary-frame.ts). Default false. */
  binary?: boolean;
}

/** Plain defaults: verified TLS, no compression. */
export function plainWire(): WireOptions {
  return { tls: VERIFY_TLS, sessions: new SessionCache() };
}

/** For callers that pass no WireOptions: verified TLS, one session cache, no compression. */
const DEFAULT_WIRE = plainWire();

/** What every connection of one transport shares. */
interface Shared {
  codec: FrameCodec;
  /** Whether deliveries go through the zero-parse scan (wsbench/1 only). */
  fast: boolean;
  /** Whether publishes go as binary frames (wsbench/1 only). */
  binary: boolean;
}

/**
 * One raw WebSocket connection: handshake, control frames, close handshake. What is
 * spoken over it (a FrameCodec, Engine.IO) is a subclass: the requests, `onMessage`,
 * and where needed `upgraded`, `closed` and `deadlinePassed`.
 */
export abstract class RawConnection extends FrameReader implements ClientConnection {
  state: State = State.Connecting;
  answerPings = true;
  /** Whether onError was reported (once per connection, like the `ws` transport). */
  errored = false;
  closeCode = 1006;
  closeReason = '';
  /** During the handshake: the expected Sec-WebSocket-Accept, and response bytes so far. */
  accept: string | null;
  response: Buffer | null = null;
  /** When the handshake or the close handshake must be over (performance.now() ms). */
  deadlineMs = 0;
  /** performance.now() ms at the start, at TCP connect and at the TLS handshake's end (0 = not yet / no TLS). */
  tStart = 0;
  tTcp = 0;
  tTls = 0;
  /** The compression offered in the handshake, if any. */
  offer: DeflateOffer | undefined = undefined;
  /** permessage-deflate as agreed, or null. */
  deflate: DeflateSession | null = null;
  /** How this client reads (slow consumers, a network profile's bandwidth); undefined = full speed. */
  pacer: ReadPacer | undefined = undefined;

  constructor(
    readonly sock: RawSocket,
    readonly ev: ConnectionEvents,
    accept: string,
  ) {
    super();
    this.accept = accept;
  }

  abstract join(room: string, id: number, since?: number, epoch?: string): void;
  abstract leave(room: string, id: number): void;
  abstract publish(room: string, id: number, tag: string, pad: string): void;
  abstract ping(id: number): boolean;

  get isOpen(): boolean {
    return this.state === State.Open;
  }

  protected send(text: string): void {
    if (this.state !== State.Open) return;
    const d = this.deflate;
    this.write(d === null ? clientFrame(OP_TEXT, text, null) : clientFrame(OP_TEXT, null, d.deflate(Buffer.from(text)), true));
  }

  /** Send one binary message (compressed when permessage-deflate was agreed). */
  protected sendBinary(data: Buffer): void {
    if (this.state !== State.Open) return;
    const d = this.deflate;
    this.write(d === null ? clientFrame(OP_BINARY, null, data) : clientFrame(OP_BINARY, null, d.deflate(data), true));
  }

  private write(frame: Buffer): void {
    // Frames written in one tick (a publish loop's burst) leave in one write, not one syscall each.
    const sock = this.sock;
    if (!sock.writableCorked) {
      sock.cork();
      process.nextTick(uncork, sock);
    }
    sock.write(frame);
  }

  /** Read at `pace` from now on (src/protocol/read-pace.ts), replacing the previous pace. */
  readPace(pace: ReadPace): void {
    this.pacer?.stop();
    this.pacer = pace.kind === 'full' ? undefined : new ReadPacer(this.sock, pace, () => this.probe());
  }

  /** A WebSocket ping: a paused client's way to learn that the server closed it (read-pace.ts). */
  private probe(): void {
    if (this.state === State.Open && !this.sock.destroyed) this.sock.write(clientFrame(OP_PING, null, null));
  }

  close(code = 1000): void {
    // A closing client reads again, so the close handshake completes.
    this.pacer?.stop();
    if (this.state === State.Open) this.sendClose(code);
    else if (this.state === State.Connecting) this.terminate();
  }

  terminate(): void {
    if (this.state === State.Closed) return;
    if (this.state === State.Connecting) this.error('aborted', 'WebSocket was closed before the connection was established');
    this.sock.destroy();
  }

  stopHeartbeat(): void {
    this.answerPings = false;
  }

  /**
   * Send a close frame, then wait for the server to close the TCP connection (RFC 6455
   * 7.1.1): the side that closes first keeps TIME_WAIT, and on loopback a client's
   * TIME_WAIT sockets are ports a later run cannot use. A server that never closes is cut
   * off after CLOSE_TIMEOUT_MS.
   */
  sendClose(code: number): void {
    this.state = State.Closing;
    const body = code === 1005 ? null : Buffer.from([code >> 8, code & 0xff]);
    this.sock.write(clientFrame(OP_CLOSE, null, body));
    armDeadline(this, CLOSE_TIMEOUT_MS);
  }

  error(code: string, message: string): void {
    if (this.errored) return;
    this.errored = true;
    this.ev.onError(code, message);
  }

  /**
   * Bytes before the upgrade completed: the HTTP response, maybe followed by frames. A
   * response that came whole in one read is parsed where it was read (no copy); only a
   * partial one is kept until the rest arrives.
   */
  handshake(chunk: Buffer, n: number): void {
    const data = this.response === null ? chunk.subarray(0, n) : Buffer.concat([this.response, chunk.subarray(0, n)]);
    const end = data.indexOf(CRLF_CRLF);
    if (end < 0) {
      if (data.length > MAX_RESPONSE_BYTES) return this.refuse('bad_handshake', 'handshake response headers too long');
      this.response = this.response === null ? Buffer.from(data) : data;
      return;
    }
    this.response = null;
    const head = data.toString('latin1', 0, end);
    if (!STATUS_101.test(head)) {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (!m) return this.refuse('bad_handshake', `not an HTTP response: ${head.slice(0, 40)}`);
      // Keep what the server said: the first bytes of the refusal's body (one line).
      const said = data.toString('utf8', end + 4, Math.min(data.length, end + 4 + 160)).replace(/\s+/g, ' ').trim();
      return this.refuse(`http_${m[1]}`, `Unexpected server response: ${m[1]}${said ? `: ${said}` : ''}`);
    }
    const { upgrade, connection, accept, extensions } = parseUpgradeHeaders(head);
    if (!upgrade || !connection) return this.refuse('bad_handshake', 'missing Upgrade: websocket or Connection: Upgrade');
    if (accept !== this.accept) return this.refuse('bad_handshake', 'invalid Sec-WebSocket-Accept header');
    if (extensions !== null) {
      if (this.offer === undefined) return this.refuse('bad_handshake', 'server agreed to an extension that was not offered');
      const agreed = acceptAnswer(extensions, this.offer);
      if (typeof agreed === 'string') return this.refuse('bad_extension', agreed);
      this.deflate = new DeflateSession(agreed, MAX_MESSAGE_BYTES);
      this.inflater = this.deflate;
    }
    this.accept = null;
    this.reportWire();
    this.state = State.Open;
    disarmDeadline(this);
    this.upgraded();
    if (end + 4 < data.length && (this.state as State) !== State.Closed) this.readFrames(data, end + 4, data.length);
  }

  /** Tell the engine how the handshake went: its phases, TLS resumption, compression agreed. */
  private reportWire(): void {
    if (!this.ev.onWire) return;
    const now = performance.now();
    const tcp = this.tTcp || now;
    const tlsEnd = this.tTls || tcp;
    const tlsSock = this.tTls ? (this.sock as unknown as { isSessionReused(): boolean }) : null;
    const info: WireInfo = {
      tcpUs: Math.round((tcp - this.tStart) * 1000),
      tlsUs: tlsSock ? Math.round((tlsEnd - tcp) * 1000) : -1,
      upgradeUs: Math.round((now - tlsEnd) * 1000),
      tlsResumed: tlsSock ? tlsSock.isSessionReused() : undefined,
      compression: this.offer === undefined ? undefined : this.deflate === null ? null : describeAgreement(this.deflate.agreement),
    };
    this.ev.onWire(info);
  }

  /** The WebSocket is open (the handshake deadline is disarmed). */
  protected upgraded(): void {
    this.ev.onOpen();
  }

  /** The TCP connection is gone (state is Closed already). */
  closed(): void {
    this.ev.onClose(this.closeCode, this.closeReason);
  }

  /** The deadline set with armDeadline passed: the opening or the close handshake took too long. */
  deadlinePassed(): void {
    if (this.state === State.Connecting) this.error('handshake_timeout', 'Opening handshake has timed out');
    this.sock.destroy();
  }

  private refuse(code: string, message: string): void {
    this.response = null;
    this.error(code, message);
    this.sock.destroy();
  }

  protected onControl(opcode: number, data: Buffer): void {
    if (opcode === OP_PING) {
      const answer = this.answerPings && this.state === State.Open;
      if (answer) this.sock.write(clientFrame(OP_PONG, null, data));
      this.ev.onHeartbeat(answer);
      return;
    }
    if (opcode !== OP_CLOSE) return; // pong: nothing to do
    let code = 1005;
    let reason = '';
    if (data.length === 1) return void this.fail(1002, 'protocol', 'close frame with a 1-byte payload');
    if (data.length >= 2) {
      code = data.readUInt16BE(0);
      if (!isValidCloseCode(code)) return void this.fail(1002, 'protocol', `invalid close code ${code}`);
      const r = data.subarray(2);
      if (!isUtf8(r)) return void this.fail(1007, 'bad_frame', 'invalid UTF-8 in a close reason');
      reason = r.toString('utf8');
    }
    this.closeCode = code;
    this.closeReason = reason;
    this.rdFailed = true; // nothing after a close frame is read
    if (this.state === State.Open) this.sendClose(code);
  }

  protected onViolation(closeCode: number, kind: ViolationKind, message: string): void {
    this.ev.onError(kind, message);
    if (this.state === State.Open) this.sendClose(closeCode);
    else this.sock.destroy();
  }
}

/** A connection speaking a FrameCodec's JSON dialect (wsbench/1 by default). */
class CodecConnection extends RawConnection {
  constructor(
    sock: RawSocket,
    ev: ConnectionEvents,
    readonly sh: Shared,
    accept: string,
  ) {
    super(sock, ev, accept);
  }

  join(room: string, id: number, since?: number, epoch?: string): void {
    this.send(this.sh.codec.encodeJoin(room, id, since, epoch));
  }

  leave(room: string, id: number): void {
    this.send(this.sh.codec.encodeLeave(room, id));
  }

  publish(room: string, id: number, tag: string, pad: string): void {
    if (this.sh.binary) this.sendBinary(binaryPublish(room, id, tag, pad));
    else this.send(this.sh.codec.encodePublish(room, id, { wsb: tag, pad }));
  }

  ping(id: number): boolean {
    const c = this.sh.codec;
    if (!c.encodePing) return false;
    this.send(c.encodePing(id));
    return true;
  }

  protected onMessage(opcode: number, buf: Buffer, start: number, end: number): void {
    if (this.state === State.Closed) return;
    if (opcode === OP_BINARY) {
      if (this.sh.binary && scanBinaryMessage(buf, start, end, scanned)) {
        this.ev.onDelivery(roomOf(buf, scanned.roomStart, scanned.roomEnd), scanned.seq, scanned.node, scanned.pub, scanned.counter, scanned.sendUs, scanned.replay);
      } else this.ev.onError('binary_frame', this.sh.binary ? 'a binary frame that is not a wsbench/1 binary message with a tag' : 'the server sent a binary frame where text was expected');
      return;
    }
    if (this.sh.fast) {
      if (scanDeliveryRange(buf, start, end, scanned)) {
        this.ev.onDelivery(roomOf(buf, scanned.roomStart, scanned.roomEnd), scanned.seq, scanned.node, scanned.pub, scanned.counter, scanned.sendUs, scanned.replay);
        return;
      }
      const reply = scanReplyRange(buf, start, end);
      if (reply !== null) return void this.ev.onFrame(reply);
    }
    const text = buf.toString('utf8', start, end);
    const frame = this.sh.codec.decode(text);
    if (frame === null) this.ev.onError('bad_frame', `could not decode a frame from the server: ${text.slice(0, 80)}`);
    else this.ev.onFrame(frame);
  }
}

function uncork(sock: net.Socket): void {
  sock.uncork();
}

// ------------------------------------------------------------ socket listeners
// Module functions, `this` is the socket: nothing is allocated per connection.

function onSockRead(this: RawSocket, n: number, buf: Buffer): boolean {
  const c = this[kConn];
  if (c.state === State.Connecting) c.handshake(buf, n);
  else if (c.state !== State.Closed) c.readFrames(buf, 0, n);
  if (c.pacer !== undefined) c.pacer.consumed(n);
  return true;
}

function onSockError(this: RawSocket, err: Error & { code?: string }): void {
  const c = this[kConn];
  // Like `ws`: a socket error before the upgrade is reported; after it, the close (1006) says it.
  if (c.state !== State.Connecting) return;
  const cert = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ALTNAME/.test(err.code ?? '');
  c.error(err.code ?? 'unknown', cert ? `${err.message} (a test server's self-signed certificate: --insecure; your own CA: --ca FILE)` : err.message);
}

function onSockConnect(this: RawSocket): void {
  this[kConn].tTcp = performance.now();
}

function onSockSecure(this: RawSocket): void {
  this[kConn].tTls = performance.now();
}

function onSockClose(this: RawSocket): void {
  const c = this[kConn];
  if (c.state === State.Closed) return;
  if (c.state === State.Connecting) c.error('ECONNRESET', 'socket hang up');
  disarmDeadline(c);
  c.state = State.Closed;
  c.response = null;
  c.pacer?.stop();
  c.closed();
}

/** A transport for `codec` over raw sockets (`ws:` and `wss:`), opened as `wire` says. */
export function createRawTransport(codec: FrameCodec, wire: WireOptions = plainWire()): Transport {
  const fast = codec.name === 'wsbench/1';
  const sh: Shared = { codec, fast, binary: fast && wire.binary === true };
  return {
    name: codec.name,
    awaitsWelcome: codec.awaitsWelcome ?? false,
    publishAck: codec.publishAck,
    roomField: codec.roomField,
    connect(opts: ConnectOptions, ev: ConnectionEvents): ClientConnection {
      const url = codec.url ? codec.url(opts.url, opts.token) : withToken(opts.url, opts.token);
      return openRaw(url, codec.headers?.(opts.token), opts, (sock, accept) => new CodecConnection(sock, ev, codec.forConnection ? { codec: codec.forConnection(), fast: false, binary: false } : sh, accept), wire);
    },
  };
}

/**
 * Open a raw WebSocket to `url` (`ws:`, or `wss:` over TLS); `create` builds the connection
 * object that owns the socket (a RawConnection or a subclass), before any byte is read.
 */
export function openRaw<C extends RawConnection>(url: string, headers: Record<string, string> | undefined, opts: ConnectOptions, create: (sock: RawSocket, accept: string) => C, wire?: WireOptions): C {
  const u = new URL(url);
  const key = newKey();
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const secure = u.protocol === 'wss:' || u.protocol === 'https:';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : secure ? 443 : 80;
  const w = wire ?? DEFAULT_WIRE;
  const tStart = performance.now();
  const sock = (
    secure
      ? connectTls({ host, port, localAddress: opts.localAddress, onread: ONREAD }, w.tls, w.sessions)
      : net.connect({ host, port, localAddress: opts.localAddress, noDelay: true, onread: ONREAD })
  ) as RawSocket;
  const c = create(sock, accept);
  c.tStart = tStart;
  c.offer = w.deflate;
  sock[kConn] = c;
  sock.on('error', onSockError);
  sock.on('close', onSockClose);
  sock.once('connect', onSockConnect);
  if (secure) sock.once('secureConnect', onSockSecure);
  armDeadline(c, opts.handshakeTimeoutMs);
  let req = `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`;
  if (c.offer) req += `Sec-WebSocket-Extensions: ${offerHeader(c.offer)}\r\n`;
  if (headers) for (const [k, v] of Object.entries(headers)) req += `${k}: ${v}\r\n`;
  sock.write(`${req}\r\n`);
  return c;
}

function withToken(url: string, token: string | undefined): string {
  if (!token) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
}
