/**
 * RFC 6455 conformance cases for the `protocol` scenario, each one check
 * (`rfc6455.<case>`), run one after another on fresh connections from the probe
 * (rfc6455-probe.ts) and each bounded by `caseTimeoutMs`. No case needs an echoing
 * server; the echo cases run only when an echo was detected, and are otherwise
 * reported unverified.
 */
import { randomBytes } from 'node:crypto';
import type { CheckResult } from '../report/schema.ts';
import { failedCheck, passedCheck, unverifiedCheck } from '../checks/outcome.ts';
import { acceptFor, closePayload, handshake, type ProbeConnection, type ProbeFrame, type ProbeTarget, type ServerFrame } from './rfc6455-probe.ts';

const OP = { cont: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** How the cases run. */
export interface ConformanceOptions extends ProbeTarget {
  /** Bound of each case, ms (handshake, answer, close). */
  caseTimeoutMs: number;
  /** How long to wait for an echo of the probe message before deciding the server does not echo, ms. */
  echoWaitMs: number;
  /** The server's largest message in bytes when known (0 = unknown). */
  maxMessageBytes: number;
  /** With an unknown limit: the size of the message that probes for one, bytes. */
  oversizeProbeBytes: number;
  /** Called with a line per finished case (progress). */
  onCase?: (check: CheckResult) => void;
}

/** One case: its check name and how it runs. */
interface Case {
  name: string;
  run: (o: ConformanceOptions) => Promise<CheckResult>;
}

/** Run every case in order; one check per case, never throws for a misbehaving server. */
export async function runConformance(o: ConformanceOptions): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const push = (c: CheckResult) => {
    out.push(c);
    o.onCase?.(c);
  };
  for (const c of CASES) push(await guarded(c, o));
  const echo = await detectEcho(o);
  for (const c of ECHO_CASES) push(echo === true ? await guarded(c, o) : unverifiedCheck(c.name, echo === false ? `the server does not echo (no copy of a text message within ${o.echoWaitMs} ms)` : echo));
  return out;
}

/** A case that throws is a failure of the harness, reported as the case's failure with the error. */
async function guarded(c: Case, o: ConformanceOptions): Promise<CheckResult> {
  try {
    return await c.run(o);
  } catch (e) {
    return unverifiedCheck(c.name, `the probe itself failed: ${(e as Error).message}`);
  }
}

/** Why a handshake case cannot judge the answer: the server refused the probe's credentials, not its request. */
function authRefusal(status: number): string | undefined {
  return status === 401 || status === 403 ? `the server refused the probe’s credentials (HTTP ${status}): give its token with --token (or its secret with --secret)` : undefined;
}

/** Open a well-formed connection, or return the reason it could not be opened. */
async function open(o: ConformanceOptions): Promise<ProbeConnection | string> {
  const r = await handshake(o, {}, o.caseTimeoutMs);
  if (r.conn) return r.conn;
  return r.error ? `the handshake failed: ${r.error}` : (authRefusal(r.status) ?? `the handshake was refused with HTTP ${r.status}`);
}

const handshakeAccept: Case = {
  name: 'rfc6455.handshake-accept',
  run: async (o) => {
    const name = 'rfc6455.handshake-accept';
    const r = await handshake(o, {}, o.caseTimeoutMs);
    r.conn?.destroy();
    if (r.status === 0) return unverifiedCheck(name, `no handshake response: ${r.error}`);
    const auth = authRefusal(r.status);
    if (auth) return unverifiedCheck(name, auth);
    if (r.status !== 101) return failedCheck(name, `a valid upgrade request got HTTP ${r.status}, not 101`, { status: r.status });
    const want = acceptFor(r.key!);
    const got = r.headers['sec-websocket-accept'];
    const upgrade = (r.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const connection = /\bupgrade\b/i.test(r.headers.connection ?? '');
    if (got !== want || !upgrade || !connection) {
      return failedCheck(name, `101 with ${got === want ? '' : `Sec-WebSocket-Accept ${JSON.stringify(got)} instead of ${want}`}${!upgrade ? ' no "Upgrade: websocket"' : ''}${!connection ? ' no "Connection: Upgrade"' : ''}`.trim(), { expected: want, got, headers: r.headers });
    }
    return passedCheck(name, `101 Switching Protocols with the right Sec-WebSocket-Accept (${want})`);
  },
};

const versionNegotiation: Case = {
  name: 'rfc6455.handshake-version',
  run: async (o) => {
    const name = 'rfc6455.handshake-version';
    const r = await handshake(o, { version: '12' }, o.caseTimeoutMs);
    r.conn?.destroy();
    if (r.status === 0) return unverifiedCheck(name, `no handshake response: ${r.error}`);
    const auth = authRefusal(r.status);
    if (auth) return unverifiedCheck(name, auth);
    const offered = r.headers['sec-websocket-version'] ?? '';
    const lists13 = offered.split(',').some((v) => v.trim() === '13');
    // RFC 6455 4.2.2 / 4.4: abort with an error "such as 426" and say the versions it supports.
    if (r.status >= 400 && r.status < 500 && lists13) return passedCheck(name, `Sec-WebSocket-Version 12 was refused with HTTP ${r.status} and "Sec-WebSocket-Version: ${offered}"${r.status === 426 ? '' : ' (426 Upgrade Required is the RFC’s example)'}`);
    if (r.status === 101) return failedCheck(name, 'the server upgraded a request with Sec-WebSocket-Version 12 (only 13 is RFC 6455)', { status: r.status });
    return failedCheck(name, `Sec-WebSocket-Version 12 got HTTP ${r.status}${lists13 ? '' : ' without a Sec-WebSocket-Version header listing 13'}`, { status: r.status, headers: r.headers });
  },
};

/** A request the server must refuse with 400 Bad Request (RFC 6455 4.2.1, 4.2.2). */
function badRequest(slug: string, what: string, req: Parameters<typeof handshake>[1]): Case {
  const name = `rfc6455.${slug}`;
  const run = async (o: ConformanceOptions): Promise<CheckResult> => {
    const r = await handshake(o, req, o.caseTimeoutMs);
    r.conn?.destroy();
    if (r.status === 0) return unverifiedCheck(name, `no handshake response: ${r.error}`);
    const auth = authRefusal(r.status);
    if (auth) return unverifiedCheck(name, auth);
    if (r.status === 400) return passedCheck(name, `${what}: refused with 400 Bad Request`);
    return failedCheck(name, `${what}: got HTTP ${r.status}, expected 400 Bad Request`, { status: r.status });
  };
  return { name, run };
}

const pingPong: Case = {
  name: 'rfc6455.ping-pong',
  run: async (o) => {
    const name = 'rfc6455.ping-pong';
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      const payload = randomBytes(60);
      const from = conn.frames.length;
      conn.send({ opcode: OP.ping, payload });
      const pong = await conn.waitFrame((f) => f.opcode === OP.pong, o.caseTimeoutMs, from);
      if (!pong) return failedCheck(name, conn.tcpClosed ? 'the connection closed instead of a pong' : `no pong within ${o.caseTimeoutMs} ms of a ping`);
      if (!pong.payload.equals(payload)) return failedCheck(name, `the pong carried ${pong.payload.length} bytes that differ from the ping’s ${payload.length} (RFC 6455 5.5.3: the same Application data)`, { pingHex: payload.toString('hex'), pongHex: pong.payload.toString('hex') });
      if (pong.masked) return failedCheck(name, 'the pong was masked (a server must not mask its frames, RFC 6455 5.1)');
      return passedCheck(name, `a ping with ${payload.length} bytes was answered by a pong with the same bytes`);
    } finally {
      conn.destroy();
    }
  },
};

const closeHandshake: Case = {
  name: 'rfc6455.close-handshake',
  run: async (o) => {
    const name = 'rfc6455.close-handshake';
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      conn.send({ opcode: OP.close, payload: closePayload(1000, 'wsbench probe') });
      const c = await conn.waitClose(o.caseTimeoutMs);
      if (!c) return failedCheck(name, `no close frame within ${o.caseTimeoutMs} ms of ours`);
      if (!c.closeFrame) return failedCheck(name, 'the server dropped the TCP connection without answering our close frame');
      // RFC 6455 5.5.1: the answer typically echoes the code; an empty close frame is allowed too.
      if (c.code !== undefined && c.code !== 1000) return failedCheck(name, `the server answered our close 1000 with ${c.code} (RFC 6455 5.5.1: it echoes the status code)`, { code: c.code, reason: c.reason });
      const tcp = await conn.waitTcpClosed(o.caseTimeoutMs);
      if (!tcp) return failedCheck(name, `the server answered with close 1000 but kept the TCP connection open for ${o.caseTimeoutMs} ms (RFC 6455 7.1.1: the server closes it first)`);
      return passedCheck(name, `our close 1000 was answered with ${c.code === undefined ? 'an empty close frame' : 'close 1000'}, then the server closed the TCP connection`);
    } finally {
      conn.destroy();
    }
  },
};

/**
 * A violation the server must answer by failing the connection with `code` (RFC 6455
 * 7.1.7: a close frame with the code, then the TCP close).
 */
function violation(slug: string, what: string, code: number, frames: (o: ConformanceOptions) => ProbeFrame[] | string): Case {
  const name = `rfc6455.${slug}`;
  const run = async (o: ConformanceOptions): Promise<CheckResult> => {
    const built = frames(o);
    if (typeof built === 'string') return unverifiedCheck(name, built);
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      conn.send(...built);
      return judgeClose(name, what, code, await conn.waitClose(o.caseTimeoutMs), o.caseTimeoutMs);
    } finally {
      conn.destroy();
    }
  };
  return { name, run };
}

/** The verdict on how a connection ended after a violation that calls for `code`. */
function judgeClose(name: string, what: string, code: number, c: Awaited<ReturnType<ProbeConnection['waitClose']>>, timeoutMs: number): CheckResult {
  if (!c) return failedCheck(name, `${what}: the connection stayed open for ${timeoutMs} ms; expected close ${code}`, { expected: code });
  if (!c.closeFrame) return failedCheck(name, `${what}: the server dropped the TCP connection without a close frame; expected close ${code}`, { expected: code });
  if (c.code !== code) return failedCheck(name, `${what}: closed with ${c.code ?? 'an empty close frame'}${c.reason ? ` "${c.reason}"` : ''}, expected ${code}`, { expected: code, code: c.code, reason: c.reason });
  return passedCheck(name, `${what}: closed with ${code}${c.reason ? ` "${c.reason}"` : ''}`);
}

const INVALID_UTF8 = Buffer.from([0x68, 0x69, 0xc3, 0x28, 0xff, 0xfe]);

const oversize: Case = {
  name: 'rfc6455.oversize-message',
  run: async (o) => {
    const name = 'rfc6455.oversize-message';
    const limit = o.maxMessageBytes;
    const size = limit > 0 ? limit + 1 : o.oversizeProbeBytes;
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      conn.send({ opcode: OP.binary, payload: Buffer.alloc(size, 0x61) });
      const c = await conn.waitClose(o.caseTimeoutMs);
      if (limit > 0) return judgeClose(name, `a ${size}-byte message (the limit is ${limit})`, 1009, c, o.caseTimeoutMs);
      if (c?.closeFrame && c.code === 1009) return passedCheck(name, `a ${size}-byte message was refused with 1009 (the server has a limit below that)`);
      if (!c) return unverifiedCheck(name, `the server’s message limit is unknown (set --set max-message=BYTES) and it accepted a ${size}-byte message, so its limit (if any) is above that`);
      return failedCheck(name, `a ${size}-byte message with no stated limit: ${c.closeFrame ? `closed with ${c.code ?? 'an empty close frame'}` : 'the TCP connection dropped without a close frame'}, expected 1009 if it is too big`, { code: c.code });
    } finally {
      conn.destroy();
    }
  },
};

/** The cases that need no echo, in order. */
const CASES: Case[] = [
  handshakeAccept,
  versionNegotiation,
  badRequest('handshake-missing-key', 'an upgrade request without Sec-WebSocket-Key', { key: null }),
  badRequest('handshake-bad-key', 'a Sec-WebSocket-Key that is not 16 bytes in base64', { key: 'not-a-valid-key' }),
  pingPong,
  closeHandshake,
  violation('close-invalid-code', 'a close frame with the reserved code 1005', 1002, () => [{ opcode: OP.close, payload: closePayload(1005) }]),
  violation('close-one-byte', 'a close frame with a 1-byte payload (a code takes 2)', 1002, () => [{ opcode: OP.close, payload: Buffer.from([0x03]) }]),
  violation('close-invalid-utf8-reason', 'a close frame whose reason is invalid UTF-8', 1007, () => [{ opcode: OP.close, payload: Buffer.concat([closePayload(1000), INVALID_UTF8]) }]),
  violation('unmasked-client-frame', 'an unmasked client frame', 1002, () => [{ opcode: OP.text, payload: 'unmasked', masked: false }]),
  violation('reserved-bits', 'a text frame with RSV1 set and no extension negotiated', 1002, () => [{ opcode: OP.text, payload: 'rsv1', rsv: 4 }]),
  violation('reserved-opcode-data', 'a frame with the reserved data opcode 0x3', 1002, () => [{ opcode: 0x3, payload: 'x' }]),
  violation('reserved-opcode-control', 'a frame with the reserved control opcode 0xB', 1002, () => [{ opcode: 0xb, payload: 'x' }]),
  violation('fragmented-control', 'a ping frame without FIN (control frames must not be fragmented)', 1002, () => [{ opcode: OP.ping, payload: 'x', fin: false }]),
  violation('control-too-long', 'a ping with 126 bytes of payload (control frames carry at most 125)', 1002, () => [{ opcode: OP.ping, payload: Buffer.alloc(126, 0x70) }]),
  violation('continuation-without-start', 'a continuation frame with no message in progress', 1002, () => [{ opcode: OP.cont, payload: 'orphan' }]),
  violation('data-during-fragments', 'a new text frame while a fragmented message is in progress', 1002, () => [
    { opcode: OP.text, payload: 'part one', fin: false },
    { opcode: OP.text, payload: 'not a continuation' },
  ]),
  violation('invalid-utf8', 'a text frame with invalid UTF-8', 1007, () => [{ opcode: OP.text, payload: INVALID_UTF8 }]),
  oversize,
];

/**
 * Whether the server echoes: a unique text message sent on a fresh connection comes
 * back within `echoWaitMs`. True, false, or the reason it could not tell.
 */
async function detectEcho(o: ConformanceOptions): Promise<boolean | string> {
  const conn = await open(o);
  if (typeof conn === 'string') return `could not tell whether the server echoes: ${conn}`;
  try {
    const probe = `wsbench-echo-probe-${randomBytes(6).toString('hex')}`;
    conn.send({ opcode: OP.text, payload: probe });
    const back = await conn.waitFrame((f) => f.opcode === OP.text && f.payload.toString('utf8') === probe, o.echoWaitMs);
    return back !== undefined;
  } finally {
    conn.destroy();
  }
}

/** Read one whole data message (joining fragments) from `from` on, or undefined after `timeoutMs`. */
async function nextMessage(conn: ProbeConnection, from: number, timeoutMs: number): Promise<{ opcode: number; data: Buffer; frames: number; next: number } | undefined> {
  const deadline = Date.now() + timeoutMs;
  let i = from;
  const parts: ServerFrame[] = [];
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const f = await conn.waitFrame((x) => x.opcode < 0x8, left, i);
    if (!f) return undefined;
    i = conn.frames.indexOf(f, i) + 1;
    parts.push(f);
    if (f.fin) return { opcode: parts[0]!.opcode, data: Buffer.concat(parts.map((p) => p.payload)), frames: parts.length, next: i };
  }
}

/** Message sizes the echo case sends, under the server's limit when known. */
function echoSizes(o: ConformanceOptions): number[] {
  const sizes = [0, 125, 126, 65535, 65536, 256 * 1024];
  return o.maxMessageBytes > 0 ? sizes.filter((s) => s <= o.maxMessageBytes) : sizes;
}

const echoSizesCase: Case = {
  name: 'rfc6455.echo-sizes',
  run: async (o) => {
    const name = 'rfc6455.echo-sizes';
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      const wrong: string[] = [];
      const sizes = echoSizes(o);
      let at = conn.frames.length;
      for (const size of sizes) {
        for (const opcode of [OP.text, OP.binary]) {
          const data = opcode === OP.text ? Buffer.alloc(size, 0x7a) : randomBytes(size);
          conn.send({ opcode, payload: data });
          const m = await nextMessage(conn, at, o.caseTimeoutMs);
          const kind = opcode === OP.text ? 'text' : 'binary';
          if (!m) {
            wrong.push(`${size} B ${kind}: no echo within ${o.caseTimeoutMs} ms`);
            return failedCheck(name, wrong.join('; '), { sizes });
          }
          at = m.next;
          if (m.opcode !== opcode || !m.data.equals(data)) wrong.push(`${size} B ${kind}: came back as ${m.data.length} B ${m.opcode === OP.text ? 'text' : 'binary'}${m.data.equals(data) ? '' : ' with other bytes'}`);
        }
      }
      if (wrong.length) return failedCheck(name, wrong.join('; '), { sizes });
      return passedCheck(name, `text and binary messages of ${sizes.join(', ')} bytes came back unchanged`, { sizes });
    } finally {
      conn.destroy();
    }
  },
};

const echoFragmentsCase: Case = {
  name: 'rfc6455.echo-fragmented',
  run: async (o) => {
    const name = 'rfc6455.echo-fragmented';
    const conn = await open(o);
    if (typeof conn === 'string') return unverifiedCheck(name, conn);
    try {
      // A multi-byte character split over fragments, and a ping between them (RFC 6455 5.4, 5.5).
      const text = Buffer.from('fragments: h\u00e9llo w\u00f6rld \u20ac', 'utf8');
      const euro = text.indexOf(0xe2);
      const pieces = [text.subarray(0, 13), text.subarray(13, euro + 1), text.subarray(euro + 1)];
      const from = conn.frames.length;
      const ping = randomBytes(8);
      conn.send({ opcode: OP.text, payload: pieces[0], fin: false }, { opcode: OP.ping, payload: ping }, { opcode: OP.cont, payload: pieces[1], fin: false }, { opcode: OP.cont, payload: pieces[2] });
      const m = await nextMessage(conn, from, o.caseTimeoutMs);
      const pong = conn.frames.slice(from).find((f) => f.opcode === OP.pong);
      if (!m) return failedCheck(name, `no echo of a message sent in 3 fragments within ${o.caseTimeoutMs} ms${conn.tcpClosed ? ' (the connection closed)' : ''}`);
      if (!m.data.equals(text) || m.opcode !== OP.text) return failedCheck(name, `a text message in 3 fragments (with a ping between them) came back as ${JSON.stringify(m.data.toString('utf8'))}${m.frames > 1 ? ` in ${m.frames} frames` : ''}; expected ${JSON.stringify(text.toString('utf8'))}`);
      if (!pong?.payload.equals(ping)) return failedCheck(name, 'the fragmented message came back, but the ping between its fragments got no pong with the same payload');
      return passedCheck(name, 'a text message in 3 fragments, split inside a UTF-8 character with a ping between fragments, came back whole; the ping was answered');
    } finally {
      conn.destroy();
    }
  },
};

/** The cases that need an echoing server. */
const ECHO_CASES: Case[] = [echoSizesCase, echoFragmentsCase];

/** Every check name the conformance run reports, in order. */
export const CONFORMANCE_CHECKS: readonly string[] = [...CASES, ...ECHO_CASES].map((c) => c.name);
