/**
 * A raw RFC 6455 probe connection for the `protocol` scenario: it opens a TCP (or TLS)
 * socket, writes a handshake request it composes itself (so it can also be wrong on
 * purpose), and then writes any frame bytes, well formed or not, while it reads the
 * server's frames one by one. Everything is bounded by the caller's timeouts; nothing
 * here throws on a misbehaving server, it only reports what it saw.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createHash, randomBytes } from 'node:crypto';

/** The GUID a server appends to the key before hashing it (RFC 6455 section 1.3). */
export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The `Sec-WebSocket-Accept` a correct server answers to `key`. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** One frame as the server sent it; `payload` is unmasked when the server masked it (which it must not). */
export interface ServerFrame {
  fin: boolean;
  /** The three reserved bits, as a number 0..7 (RSV1 = 4). */
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** A frame to write: every field may break the rules on purpose. */
export interface ProbeFrame {
  /** Default true. */
  fin?: boolean;
  /** Reserved bits 0..7 (RSV1 = 4). Default 0. */
  rsv?: number;
  opcode: number;
  /** Mask the payload as a client must (default true). */
  masked?: boolean;
  payload?: Buffer | string;
  /** Claim this payload length in the header instead of the real one (oversize claims). */
  claimedLength?: number;
}

/** Encode one frame exactly as described (mask key random, RFC 6455 section 5.2). */
export function encodeFrame(f: ProbeFrame): Buffer {
  const payload = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : (f.payload ?? Buffer.alloc(0));
  const n = f.claimedLength ?? payload.length;
  const masked = f.masked !== false;
  const head = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const out = Buffer.alloc(head + (masked ? 4 : 0) + payload.length);
  out[0] = (f.fin === false ? 0 : 0x80) | (((f.rsv ?? 0) & 7) << 4) | (f.opcode & 0x0f);
  const m = masked ? 0x80 : 0;
  if (head === 2) out[1] = m | n;
  else if (head === 4) {
    out[1] = m | 126;
    out.writeUInt16BE(n, 2);
  } else {
    out[1] = m | 127;
    out.writeUInt32BE(Math.floor(n / 0x100000000), 2);
    out.writeUInt32BE(n >>> 0, 6);
  }
  let p = head;
  if (masked) {
    const key = randomBytes(4);
    key.copy(out, p);
    p += 4;
    for (let k = 0; k < payload.length; k++) out[p + k] = payload[k]! ^ key[k & 3]!;
  } else payload.copy(out, p);
  return out;
}

/** A close frame's payload: the code (2 bytes, big-endian) and an optional UTF-8 reason. */
export function closePayload(code: number, reason = ''): Buffer {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2, 'utf8');
  return b;
}

/** What to put into the handshake request (every field may be wrong on purpose). */
export interface HandshakeRequest {
  /** `Sec-WebSocket-Key`; null leaves the header out. Default: 16 random bytes in base64. */
  key?: string | null;
  /** `Sec-WebSocket-Version`; null leaves it out. Default `13`. */
  version?: string | null;
  /** HTTP method. Default GET. */
  method?: string;
  /** Leave out `Upgrade: websocket`. */
  noUpgrade?: boolean;
}

/** The server's answer to a handshake request. */
export interface HandshakeResult {
  /** HTTP status, or 0 when no status line came (timeout, closed, not HTTP). */
  status: number;
  /** Response headers, names lower-cased. */
  headers: Record<string, string>;
  /** The key that was sent (when one was). */
  key?: string;
  /** Why there is no status: a connection error or a timeout. */
  error?: string;
  /** The open connection when the status was 101, otherwise undefined (the socket is closed). */
  conn?: ProbeConnection;
}

/** How to reach the target. */
export interface ProbeTarget {
  /** ws:// or wss:// URL (its query is sent as is). */
  url: string;
  /** Skip certificate verification for wss:// (self-signed test servers). Default false. */
  insecure?: boolean;
}

/** Send a handshake request and read the response head, within `timeoutMs`. */
export function handshake(target: ProbeTarget, req: HandshakeRequest, timeoutMs: number): Promise<HandshakeResult> {
  const u = new URL(target.url);
  const tls = u.protocol === 'wss:';
  const port = Number(u.port) || (tls ? 443 : 80);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const key = req.key === undefined ? randomBytes(16).toString('base64') : req.key;
  const lines = [`${req.method ?? 'GET'} ${u.pathname || '/'}${u.search} HTTP/1.1`, `Host: ${u.host}`];
  if (!req.noUpgrade) lines.push('Upgrade: websocket', 'Connection: Upgrade');
  if (key !== null) lines.push(`Sec-WebSocket-Key: ${key}`);
  const version = req.version === undefined ? '13' : req.version;
  if (version !== null) lines.push(`Sec-WebSocket-Version: ${version}`);
  const request = `${lines.join('\r\n')}\r\n\r\n`;
  return new Promise((resolve) => {
    const socket: Socket = tls ? tlsConnect({ host, port, servername: host, rejectUnauthorized: !target.insecure }) : tcpConnect({ host, port });
    let head = Buffer.alloc(0);
    let done = false;
    const finish = (r: HandshakeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      if (!r.conn) socket.destroy();
      resolve({ ...r, ...(key !== null ? { key } : {}) });
    };
    const timer = setTimeout(() => finish({ status: 0, headers: {}, error: `no response head within ${timeoutMs} ms` }), timeoutMs);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const parsed = parseHead(head.subarray(0, end).toString('latin1'));
      if (!parsed) return finish({ status: 0, headers: {}, error: 'the response is not HTTP' });
      const rest = head.subarray(end + 4);
      if (parsed.status !== 101) return finish(parsed);
      const conn = new ProbeConnection(socket);
      if (rest.length) conn.feed(rest);
      finish({ ...parsed, conn });
    };
    socket.on('data', onData);
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('error', (e) => finish({ status: 0, headers: {}, error: e.message }));
    socket.on('close', () => finish({ status: 0, headers: {}, error: 'the server closed the connection without answering' }));
  });
}

/** Status and headers of an HTTP response head, or undefined when it is not one. */
function parseHead(text: string): { status: number; headers: Record<string, string> } | undefined {
  const [statusLine, ...rest] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '');
  if (!m) return undefined;
  const headers: Record<string, string> = {};
  for (const line of rest) {
    const c = line.indexOf(':');
    if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
  }
  return { status: Number(m[1]), headers };
}

/** How a connection ended, or that it had not within the wait. */
export interface CloseOutcome {
  /** A close frame came from the server. */
  closeFrame: boolean;
  /** Its status code (undefined for an empty close frame). */
  code?: number;
  reason?: string;
  /** The TCP connection ended. */
  tcpClosed: boolean;
}

/**
 * An upgraded connection: frames written raw, frames read into a list that waiters
 * scan. The close frame's arrival and the TCP close are both recorded.
 */
export class ProbeConnection {
  /** Every frame the server sent, in order. */
  readonly frames: ServerFrame[] = [];
  tcpClosed = false;
  private buf: Buffer = Buffer.alloc(0);
  private wakers = new Set<() => void>();

  constructor(private readonly socket: Socket) {
    socket.on('data', (c: Buffer) => this.feed(c));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.tcpClosed = true;
      this.wake();
    });
  }

  /** Bytes from the socket: parse every complete frame. */
  feed(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const f = readFrame(this.buf);
      if (!f) break;
      this.frames.push(f.frame);
      this.buf = this.buf.subarray(f.used);
    }
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  /** Write raw bytes (frames from `encodeFrame`, or anything). Ignored once the socket is gone. */
  write(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Write frames, each encoded by `encodeFrame`. */
  send(...frames: ProbeFrame[]): void {
    for (const f of frames) this.write(encodeFrame(f));
  }

  /**
   * The first frame at index >= `from` that `match` accepts, or undefined when the
   * connection closed or `timeoutMs` passed first.
   */
  waitFrame(match: (f: ServerFrame) => boolean, timeoutMs: number, from = 0): Promise<ServerFrame | undefined> {
    return this.waitUntil(() => this.frames.slice(from).find(match), timeoutMs);
  }

  /** The close frame and/or TCP close, waiting up to `timeoutMs` for either; undefined when neither came. */
  async waitClose(timeoutMs: number): Promise<CloseOutcome | undefined> {
    const closeNow = () => {
      const c = this.frames.find((f) => f.opcode === 0x8);
      if (!c && !this.tcpClosed) return undefined;
      const out: CloseOutcome = { closeFrame: Boolean(c), tcpClosed: this.tcpClosed };
      if (c && c.payload.length >= 2) {
        out.code = c.payload.readUInt16BE(0);
        out.reason = c.payload.subarray(2).toString('utf8');
      }
      return out;
    };
    return this.waitUntil(closeNow, timeoutMs);
  }

  /** Wait until the TCP connection ends (true) or `timeoutMs` passes (false). */
  async waitTcpClosed(timeoutMs: number): Promise<boolean> {
    return (await this.waitUntil(() => (this.tcpClosed ? true : undefined), timeoutMs)) === true;
  }

  /** Resolve with the first defined value of `probe`, re-evaluated on every frame and on close. */
  private waitUntil<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
    const now = probe();
    if (now !== undefined || this.tcpClosed) return Promise.resolve(now);
    return new Promise((resolve) => {
      const done = (v: T | undefined) => {
        clearTimeout(timer);
        this.wakers.delete(waker);
        resolve(v);
      };
      const waker = () => {
        const v = probe();
        if (v !== undefined || this.tcpClosed) done(v);
      };
      const timer = setTimeout(() => done(undefined), timeoutMs);
      this.wakers.add(waker);
    });
  }

  /** Drop the connection at once. */
  destroy(): void {
    this.socket.destroy();
  }
}

/** Parse one frame from the front of `buf`, or undefined when it is incomplete. */
function readFrame(buf: Buffer): { frame: ServerFrame; used: number } | undefined {
  if (buf.length < 2) return undefined;
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  let n = b1 & 0x7f;
  let p = 2;
  if (n === 126) {
    if (buf.length < 4) return undefined;
    n = buf.readUInt16BE(2);
    p = 4;
  } else if (n === 127) {
    if (buf.length < 10) return undefined;
    n = buf.readUInt32BE(2) * 0x100000000 + buf.readUInt32BE(6);
    p = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  const key = masked ? buf.subarray(p, p + 4) : undefined;
  if (masked) p += 4;
  if (buf.length < p + n) return undefined;
  const payload = Buffer.from(buf.subarray(p, p + n));
  if (key) for (let k = 0; k < payload.length; k++) payload[k] = payload[k]! ^ key[k & 3]!;
  return { frame: { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload }, used: p + n };
}
