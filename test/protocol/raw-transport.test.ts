/**
 * The raw client transport against real `ws` servers and misbehaving raw ones,
 * and side by side with the `ws`-based transport for the same situations.
 */
import net from 'node:net';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { createRawTransport, parseUpgradeHeaders } from '../../src/protocol/raw-transport.ts';
import { createWsTransport } from '../../src/protocol/ws-transport.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import type { ClientConnection, ConnectionEvents, DecodedFrame, FrameCodec, Transport } from '../../src/protocol/types.ts';

type Ev =
  | ['open']
  | ['heartbeat', boolean]
  | ['frame', DecodedFrame]
  | ['delivery', string, number, number, number, number, number, boolean]
  | ['error', string, string]
  | ['close', number | string, string];

/** Records a connection's events; `closed` resolves on onClose. */
function recorder() {
  const events: Ev[] = [];
  let onClosed!: () => void;
  const closed = new Promise<void>((r) => (onClosed = r));
  let onOpened!: () => void;
  const opened = new Promise<void>((r) => (onOpened = r));
  const waiters: Array<() => void> = [];
  const ev: ConnectionEvents = {
    onOpen: () => {
      events.push(['open']);
      onOpened();
    },
    onHeartbeat: (a) => void events.push(['heartbeat', a]),
    onFrame: (f) => void events.push(['frame', f]),
    onDelivery: (...a) => void events.push(['delivery', ...a]),
    onError: (c, m) => void events.push(['error', c, m]),
    onClose: (c, r) => {
      events.push(['close', c, r]);
      onClosed();
    },
  };
  for (const k of Object.keys(ev) as Array<keyof ConnectionEvents>) {
    const f = ev[k] as (...a: unknown[]) => void;
    (ev as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => {
      f(...a);
      for (const w of waiters.splice(0)) w();
    };
  }
  const until = async (pred: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out; events: ${JSON.stringify(events)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { ev, events, closed, opened, until, kinds: () => events.map((e) => e[0]) };
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function wsServer(opts: ConstructorParameters<typeof WebSocketServer>[0] = {}): Promise<{ wss: WebSocketServer; url: string; conns: WebSocket[] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...opts });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const conns: WebSocket[] = [];
  wss.on('connection', (ws) => conns.push(ws));
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return { wss, url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/ws`, conns };
}

/** A raw TCP server running `handler` per socket; `upgrade()` answers the handshake correctly. */
async function rawServer(handler: (sock: net.Socket, upgrade: () => void, request: string) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('error', () => {});
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.off('data', onData);
      const key = /sec-websocket-key: (.*)\r\n/i.exec(head)?.[1] ?? '';
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      handler(sock, () => sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`), head);
    };
    sock.on('data', onData);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  cleanups.push(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    srv.close(() => r());
  }));
  return `ws://127.0.0.1:${(srv.address() as net.AddressInfo).port}/ws`;
}

/** Reads masked client frames from a raw server socket. */
function clientFrames(sock: net.Socket, on: (opcode: number, payload: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      if (buf.length < 2) return;
      let n = buf[1]! & 0x7f;
      let h = 2;
      if (n === 126) [n, h] = [buf.readUInt16BE(2), 4];
      else if (n === 127) [n, h] = [Number(buf.readBigUInt64BE(2)), 10];
      if (buf.length < h + 4 + n) return;
      const mask = buf.subarray(h, h + 4);
      const p = Buffer.from(buf.subarray(h + 4, h + 4 + n));
      for (let k = 0; k < n; k++) p[k] = p[k]! ^ mask[k & 3]!;
      on(buf[0]! & 0x0f, p);
      buf = buf.subarray(h + 4 + n);
    }
  });
}

const serverFrame = (b0: number, payload: Buffer | string) => {
  const p = Buffer.from(payload);
  return Buffer.concat([Buffer.from([b0, p.length]), p]);
};

const raw = createRawTransport(nativeCodec);
const viaWs = createWsTransport(nativeCodec);
const connect = (t: Transport, url: string, ev: ConnectionEvents, extra: Partial<Parameters<Transport['connect']>[0]> = {}): ClientConnection => {
  const c = t.connect({ url, handshakeTimeoutMs: 2000, ...extra }, ev);
  cleanups.push(() => c.terminate());
  return c;
};

const DELIVERY = (room: string, seq: number) => `{"type":"message","room":"${room}","seq":${seq},"from":"u","payload":{"wsb":"3.7.42.123456","pad":"xx"}}`;

describe('raw transport against a ws server', () => {
  it('opens, sends masked frames the server reads, and takes the delivery fast path', async () => {
    const { url, conns } = await wsServer();
    const got: string[] = [];
    const r = recorder();
    const c = connect(raw, url, r.ev, { token: 'tok en' });
    await r.opened;
    expect(c.isOpen).toBe(true);
    conns[0]!.on('message', (d) => got.push(d.toString()));
    c.join('room-1', 1);
    c.publish('room-1', 2, '1.2.3.4', 'x'.repeat(200));
    expect(c.ping(3)).toBe(true);
    await new Promise((res) => setTimeout(res, 100));
    expect(got.map((g) => JSON.parse(g).type)).toEqual(['join', 'publish', 'ping']);
    expect(JSON.parse(got[1]!).payload.pad).toHaveLength(200);
    for (let s = 1; s <= 3; s++) conns[0]!.send(DELIVERY('room-9', s));
    conns[0]!.send('{"type":"joined","id":1,"room":"room-1","seq":0}');
    await r.until(() => r.events.length >= 5);
    expect(r.events.slice(1, 4)).toEqual([1, 2, 3].map((s) => ['delivery', 'room-9', s, 3, 7, 42, 123456, false]));
    expect(r.events[4]).toEqual(['frame', { kind: 'joined', id: 1, room: 'room-1', members: undefined, seq: 0 }]);
    c.close(1000);
    await r.closed;
    expect(r.events.at(-1)).toEqual(['close', 1000, '']);
  });

  it('puts the token in the query, or in headers through the codec', async () => {
    const seen: string[] = [];
    const { url } = await wsServer({ verifyClient: (info: { req: { url?: string; headers: Record<string, unknown> } }) => (seen.push(`${info.req.url} ${info.req.headers['x-token'] ?? ''}`), true) });
    const r1 = recorder();
    connect(raw, url, r1.ev, { token: 'a b' });
    await r1.opened;
    const codec: FrameCodec = { ...nativeCodec, name: 'custom', headers: (t) => ({ 'x-token': t ?? '' }), url: (u) => u };
    const r2 = recorder();
    connect(createRawTransport(codec), url, r2.ev, { token: 'h1' });
    await r2.opened;
    expect(seen).toEqual(['/ws?token=a%20b ', '/ws h1']);
  });

  it('answers pings unless told to stop (zombie), reporting each heartbeat', async () => {
    const { url, conns } = await wsServer();
    const r = recorder();
    const c = connect(raw, url, r.ev);
    await r.opened;
    let pongs = 0;
    conns[0]!.on('pong', (d) => {
      expect(d.toString()).toBe('hb');
      pongs++;
    });
    conns[0]!.ping('hb');
    await r.until(() => pongs === 1);
    c.stopHeartbeat();
    conns[0]!.ping('hb');
    await r.until(() => r.events.filter((e) => e[0] === 'heartbeat').length === 2);
    await new Promise((res) => setTimeout(res, 100));
    expect(pongs).toBe(1);
    expect(r.events.filter((e) => e[0] === 'heartbeat')).toEqual([['heartbeat', true], ['heartbeat', false]]);
  });

  it('echoes a server close and reports its code and reason', async () => {
    const { url, conns } = await wsServer();
    const r = recorder();
    connect(raw, url, r.ev);
    await r.opened;
    const serverSaw = new Promise<number>((res) => conns[0]!.once('close', (code) => res(code)));
    conns[0]!.close(4001, 'evicted');
    await r.closed;
    expect(await serverSaw).toBe(4001);
    expect(r.events.at(-1)).toEqual(['close', 4001, 'evicted']);
  });

  it('receives a fragmented message from ws', async () => {
    const { url, conns } = await wsServer();
    const r = recorder();
    connect(raw, url, r.ev);
    await r.opened;
    const text = DELIVERY('frag', 5);
    conns[0]!.send(text.slice(0, 10), { fin: false });
    conns[0]!.send(text.slice(10, 40), { fin: false });
    conns[0]!.send(text.slice(40), { fin: true });
    await r.until(() => r.events.length >= 2);
    expect(r.events[1]).toEqual(['delivery', 'frag', 5, 3, 7, 42, 123456, false]);
  });

  it('reports 401 as http_401 then a 1006 close, like the ws transport', async () => {
    const { url } = await wsServer({ verifyClient: (_i: unknown, cb: (ok: boolean, code?: number) => void) => cb(false, 401) });
    for (const t of [raw, viaWs]) {
      const r = recorder();
      connect(t, url, r.ev);
      await r.closed;
      expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'http_401'], ['close', 1006]]);
    }
  });

  it('reports a refused connection with its errno code', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    for (const t of [raw, viaWs]) {
      const r = recorder();
      connect(t, `ws://127.0.0.1:${port}/`, r.ev);
      await r.closed;
      expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'ECONNREFUSED'], ['close', 1006]]);
    }
  });

  it('binds to the given local address', async () => {
    const { url, wss } = await wsServer();
    const seen = new Promise<string | undefined>((res) => wss.once('connection', (_ws, req) => res(req.socket.remoteAddress)));
    const r = recorder();
    connect(raw, url, r.ev, { localAddress: '127.0.0.7' });
    await r.opened;
    expect(await seen).toBe('127.0.0.7');
  });

  it('terminate() before the upgrade reports aborted, after it a 1006 close', async () => {
    const url = await rawServer(() => {});
    const r = recorder();
    const c = connect(raw, url, r.ev);
    c.close();
    await r.closed;
    expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'aborted'], ['close', 1006]]);
    const { url: u2 } = await wsServer();
    const r2 = recorder();
    const c2 = connect(raw, u2, r2.ev);
    await r2.opened;
    c2.terminate();
    await r2.closed;
    expect(c2.isOpen).toBe(false);
    expect(r2.events.map((e) => e.slice(0, 2))).toEqual([['open'], ['close', 1006]]);
  });
});

describe('raw transport against misbehaving servers', () => {
  it('times out a handshake that never finishes', async () => {
    const url = await rawServer(() => {});
    const r = recorder();
    const t0 = Date.now();
    connect(raw, url, r.ev, { handshakeTimeoutMs: 300 });
    await r.closed;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'handshake_timeout'], ['close', 1006]]);
  });

  it('refuses a wrong Sec-WebSocket-Accept', async () => {
    const url = await rawServer((sock) => sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: nope\r\n\r\n'));
    const r = recorder();
    connect(raw, url, r.ev);
    await r.closed;
    expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'bad_handshake'], ['close', 1006]]);
  });

  it('reports any other status as http_<status>', async () => {
    const url = await rawServer((sock) => sock.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n'));
    const r = recorder();
    connect(raw, url, r.ev);
    await r.closed;
    expect(r.events.map((e) => e.slice(0, 2))).toEqual([['error', 'http_503'], ['close', 1006]]);
  });

  it('reads frames that arrive in the same packet as the 101', async () => {
    const url = await rawServer((sock, upgrade) => {
      sock.cork();
      upgrade();
      sock.write(serverFrame(0x81, '{"type":"welcome","node":"n1"}'));
      sock.uncork();
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.until(() => r.events.length >= 2);
    expect(r.events).toEqual([['open'], ['frame', { kind: 'welcome', node: 'n1' }]]);
  });

  it('takes a 101 split over several reads, mixed-case headers, and the frame after it', async () => {
    const url = await rawServer((sock, _upgrade, request) => {
      const key = /sec-websocket-key: (.*)\r\n/i.exec(request)![1]!;
      const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      const whole = Buffer.concat([
        Buffer.from(`HTTP/1.1 101 Switching Protocols\r\nUPGRADE:WebSocket\r\nconnection: keep-alive, Upgrade \r\nsec-websocket-accept:  ${accept}\r\n\r\n`, 'latin1'),
        serverFrame(0x81, '{"type":"welcome","node":"n2"}'),
      ]);
      // Cut inside the status line, inside the blank line that ends the headers, and inside the frame.
      const cuts = [5, whole.indexOf('\r\n\r\n') + 3, whole.length - 4, whole.length];
      let from = 0;
      const next = (i: number): void => {
        if (i >= cuts.length) return;
        sock.write(whole.subarray(from, cuts[i]));
        from = cuts[i]!;
        setTimeout(() => next(i + 1), 30);
      };
      next(0);
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.until(() => r.events.length >= 2);
    expect(r.events).toEqual([['open'], ['frame', { kind: 'welcome', node: 'n2' }]]);
  });

  it('parseUpgradeHeaders: names in any case, values trimmed, repeated extensions joined', () => {
    const head = 'HTTP/1.1 101 Switching Protocols\r\nupgrade: WEBSOCKET \r\nConnection: foo, upgrade\r\nSec-WebSocket-Accept:  abc= \r\nsec-websocket-extensions: a\r\nSec-WebSocket-Extensions: b; x=1\r\nbad line\r\n: empty name';
    expect(parseUpgradeHeaders(head)).toEqual({ upgrade: true, connection: true, accept: 'abc=', extensions: 'a, b; x=1' });
    expect(parseUpgradeHeaders('HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nConnection: close')).toEqual({ upgrade: false, connection: false, accept: '', extensions: null });
    expect(parseUpgradeHeaders('HTTP/1.1 101 OK')).toEqual({ upgrade: false, connection: false, accept: '', extensions: null });
  });

  it.each([
    ['a frame with reserved bits', serverFrame(0xc1, 'x'), 'protocol', 1002],
    ['an unknown opcode', serverFrame(0x83, 'x'), 'protocol', 1002],
    ['a masked frame', Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x78]), 'protocol', 1002],
    ['invalid UTF-8 in text', serverFrame(0x81, Buffer.from([0xff, 0xfe])), 'bad_frame', 1007],
    ['a close with an invalid code', serverFrame(0x88, Buffer.from([0x03, 0xed])), 'protocol', 1002],
  ])('closes on %s: counted, close code sent, never a throw', async (_n, bytes, kind, code) => {
    let sentClose: number | undefined;
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      clientFrames(sock, (op, p) => {
        if (op !== 8) return;
        sentClose = p.readUInt16BE(0);
        sock.end();
      });
      sock.write(bytes);
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.closed;
    expect(r.events[1]!.slice(0, 2)).toEqual(['error', kind]);
    expect(r.events.at(-1)).toEqual(['close', 1006, '']);
    expect(sentClose).toBe(code);
  });

  it('a bare close from the server (TCP closed without a close frame) is 1006', async () => {
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      setTimeout(() => sock.end(), 20);
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.closed;
    expect(r.events).toEqual([['open'], ['close', 1006, '']]);
  });

  it('a close frame with no status is 1005 and is echoed', async () => {
    let echoed: Buffer | undefined;
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      clientFrames(sock, (op, p) => {
        if (op === 8) {
          echoed = p;
          sock.end();
        }
      });
      sock.write(Buffer.from([0x88, 0]));
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.closed;
    expect(r.events.at(-1)).toEqual(['close', 1005, '']);
    expect(echoed?.length).toBe(0);
  });

  it('after a close handshake the server closes TCP first (TIME_WAIT stays on the server)', async () => {
    let clientEndedFirst: boolean | undefined;
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      let ended = false;
      sock.on('end', () => (ended = true));
      clientFrames(sock, (op) => {
        if (op !== 8) return;
        sock.write(Buffer.from([0x88, 2, 0x03, 0xe8]));
        setTimeout(() => {
          clientEndedFirst = ended;
          sock.end();
        }, 100);
      });
    });
    const r = recorder();
    const c = connect(raw, url, r.ev);
    await r.opened;
    c.close(1000);
    await r.closed;
    expect(clientEndedFirst).toBe(false);
    expect(r.events.at(-1)).toEqual(['close', 1000, '']);
  });

  it('a fragmented message with a ping in the middle, over separate packets', async () => {
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      const text = Buffer.from(DELIVERY('room-x', 9));
      const parts = [Buffer.concat([Buffer.from([0x01, 20]), text.subarray(0, 20)]), Buffer.from([0x89, 0]), Buffer.concat([Buffer.from([0x80, text.length - 20]), text.subarray(20)])];
      let k = 0;
      const next = () => {
        if (k < parts.length) {
          sock.write(parts[k++]!);
          setTimeout(next, 10);
        }
      };
      next();
    });
    const r = recorder();
    connect(raw, url, r.ev);
    await r.until(() => r.events.length >= 3);
    expect(r.events.slice(1)).toEqual([['heartbeat', true], ['delivery', 'room-x', 9, 3, 7, 42, 123456, false]]);
  });

  it('a binary frame and an undecodable text frame are counted, the connection stays up', async () => {
    const url = await rawServer((sock, upgrade) => {
      upgrade();
      sock.write(Buffer.concat([serverFrame(0x82, 'bin'), serverFrame(0x81, 'not json'), serverFrame(0x81, '{"type":"pong","id":4}')]));
    });
    const r = recorder();
    const c = connect(raw, url, r.ev);
    await r.until(() => r.events.length >= 4);
    expect(r.events.slice(1).map((e) => e.slice(0, 2))).toEqual([['error', 'binary_frame'], ['error', 'bad_frame'], ['frame', { kind: 'pong', id: 4 }]]);
    expect(c.isOpen).toBe(true);
  });
});
