/**
 * Fidelity of the lean Socket.IO client (src/protocol/socketio-lean.ts): the same
 * script through it and through socket.io-client (socketio-transport.ts), against
 * the same real Socket.IO 4 servers (the bundled flavour and plain `socket.io`
 * Servers written here), must report the same events to the engine: frames, acks,
 * deliveries (the lean fast path against the library's parsed message), close codes
 * and error codes. Two small hand-written servers stand in for what no Socket.IO 4
 * server does: an Engine.IO v3 handshake, and a server that stops pinging.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import { WebSocketServer } from 'ws';
import { createSocketIoServer, type SocketIoServer } from '../../servers/socketio/server.ts';
import type { ServerOptions } from '../../servers/core/options.ts';
import { createLeanSocketIoTransport } from '../../src/protocol/socketio-lean.ts';
import { createSocketIoTransport } from '../../src/protocol/socketio-transport.ts';
import { DEFAULT_SOCKETIO_NAMES } from '../../src/protocol/socketio-names.ts';
import type { ClientConnection, ConnectionEvents, Transport } from '../../src/protocol/types.ts';

type Kind = 'lean' | 'library';
const names = DEFAULT_SOCKETIO_NAMES;
const library = () => createSocketIoTransport({ names, transports: ['websocket'] });
const TRANSPORTS: Record<Kind, () => Transport> = {
  lean: () => createLeanSocketIoTransport({ names, tls: async () => library() }),
  library,
};

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** One connection's events as the engine sees them; deliveries normalised to the same shape for both clients. */
class Probe implements ConnectionEvents {
  readonly events: unknown[][] = [];
  conn!: ClientConnection;
  private waiters: Array<() => void> = [];

  onOpen(): void {
    this.push(['open']);
  }
  onHeartbeat(answered: boolean): void {
    this.push(['heartbeat', answered]);
  }
  onFrame(f: Parameters<ConnectionEvents['onFrame']>[0]): void {
    if (f.kind === 'message' && f.tag) {
      const [node, pub, counter, sendUs] = f.tag.split('.').map(Number);
      this.push(['delivery', f.room, f.seq ?? -1, node, pub, counter, sendUs, f.replay === true]);
    } else this.push(['frame', 'epoch' in f && f.epoch !== undefined ? { ...f, epoch: 'the server process epoch' } : f]); // each server run has its own
  }
  onDelivery(room: string, seq: number, node: number, pub: number, counter: number, sendUs: number, replay: boolean): void {
    this.push(['delivery', room, seq, node, pub, counter, sendUs, replay]);
  }
  onError(code: string, message: string): void {
    this.push(['error', code, message]);
  }
  onClose(code: number | string, reason: string): void {
    this.push(['close', code, reason]);
  }

  private push(e: unknown[]): void {
    this.events.push(e);
    for (const w of this.waiters.splice(0)) w();
  }

  /** Events without heartbeats (their number depends on timing). */
  get seen(): unknown[][] {
    return this.events.filter((e) => e[0] !== 'heartbeat');
  }

  count(kind: string): number {
    return this.events.filter((e) => e[0] === kind || (e[0] === 'frame' && (e[1] as { kind: string }).kind === kind)).length;
  }

  async until(pred: () => boolean, ms = 4000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error(`timed out; events: ${JSON.stringify(this.events).slice(0, 800)}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }
}

function connect(t: Transport, url: string, clientKey: number, token?: string): Probe {
  const p = new Probe();
  p.conn = t.connect({ url, clientKey, token, handshakeTimeoutMs: 3000 }, p);
  closers.push(() => p.conn.terminate());
  return p;
}

async function bundled(opts: Partial<ServerOptions> = {}): Promise<SocketIoServer> {
  const s = await createSocketIoServer({ port: 0, host: '127.0.0.1', auth: false, heartbeatMs: 0, ...opts }, { log: () => {}, transports: ['websocket'] });
  closers.push(() => s.close({ drainTimeoutMs: 200 }));
  return s;
}

async function plain(setup: (io: Server) => void, opts: ConstructorParameters<typeof Server>[1] = {}): Promise<string> {
  const http: HttpServer = createServer();
  const io = new Server(http, { transports: ['websocket'], ...opts });
  setup(io);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  closers.push(async () => {
    io.disconnectSockets(true);
    await io.close();
  });
  return `http://127.0.0.1:${(http.address() as { port: number }).port}/socket.io`;
}

/** Run `script` once per client kind against a fresh server from `server`; returns each kind's result. */
async function both<T>(server: () => Promise<string>, script: (t: Transport, url: string) => Promise<T>): Promise<Record<Kind, T>> {
  const out = {} as Record<Kind, T>;
  for (const kind of ['lean', 'library'] as Kind[]) out[kind] = await script(TRANSPORTS[kind](), await server());
  return out;
}

const tag = (counter: number) => `1.0.${counter}.1000`;

describe('lean vs socket.io-client against the bundled Socket.IO server', () => {
  it('join, publish with acks, deliveries to every member, leave, client close: the same events', async () => {
    const r = await both(
      async () => (await bundled()).url,
      async (t, url) => {
        const a = connect(t, url, 1);
        const b = connect(t, url, 2);
        await a.until(() => a.count('open') === 1 && a.count('welcome') === 1);
        await b.until(() => b.count('open') === 1 && b.count('welcome') === 1);
        a.conn.join('room-1', 1);
        b.conn.join('room-1', 2);
        await a.until(() => a.count('joined') === 1);
        await b.until(() => b.count('joined') === 1);
        for (let k = 0; k < 3; k++) a.conn.publish('room-1', 10 + k, tag(k), 'x'.repeat(50));
        await b.until(() => b.count('delivery') === 3);
        await a.until(() => a.count('ack') === 3 && a.count('delivery') === 3);
        b.conn.leave('room-1', 20);
        await b.until(() => b.count('left') === 1);
        a.conn.close();
        expect(a.conn.isOpen).toBe(false);
        return { a: a.seen, b: b.seen };
      },
    );
    expect(r.lean).toEqual(r.library);
    expect(r.lean.b.filter((e) => e[0] === 'delivery')).toEqual([0, 1, 2].map((k) => ['delivery', 'room-1', k + 1, 1, 0, k, 1000, false]));
    expect(r.lean.a.at(-1)).toEqual(['close', 1000, 'client close']);
  });

  it('connection state recovery: the pid/offset brings the session back with what was missed, no join {since}', async () => {
    let server!: SocketIoServer;
    const r = await both(
      async () => (server = await bundled()).url,
      async (t, url) => {
        const pub = connect(t, url, 1);
        const sub = connect(t, url, 2);
        await pub.until(() => pub.count('open') === 1);
        await sub.until(() => sub.count('open') === 1);
        pub.conn.join('room-1', 1);
        sub.conn.join('room-1', 2);
        await sub.until(() => sub.count('joined') === 1 && pub.count('joined') === 1);
        pub.conn.publish('room-1', 3, tag(0), '');
        await sub.until(() => sub.count('delivery') === 1);
        server.dropAll();
        await sub.until(() => sub.count('close') === 1 && pub.count('close') === 1);
        const pub2 = connect(t, url, 1);
        await pub2.until(() => pub2.count('open') === 1);
        pub2.conn.publish('room-1', 4, tag(1), ''); // recovered: still a member, so the publish is accepted
        pub2.conn.publish('room-1', 5, tag(2), '');
        await pub2.until(() => pub2.count('ack') === 2);
        const sub2 = connect(t, url, 2);
        await sub2.until(() => sub2.count('delivery') === 2);
        sub2.conn.join('room-1', 6, 1);
        await sub2.until(() => sub2.count('joined') === 1);
        return { sub: sub.seen, sub2: sub2.seen, pub2: pub2.seen, resume: (server.stats() as unknown as { resume: { resumes: number } }).resume };
      },
    );
    expect(r.lean.sub.filter((e) => e[0] === 'close')).toEqual([['close', 'transport_close', 'transport close']]);
    expect(r.lean.sub2.filter((e) => e[0] === 'delivery')).toEqual([
      ['delivery', 'room-1', 2, 1, 0, 1, 1000, false],
      ['delivery', 'room-1', 3, 1, 0, 2, 1000, false],
    ]);
    // A recovered session joins without {since}: the server's resume counters stay at zero.
    expect(r.lean.resume.resumes).toBe(0);
    expect({ sub2: r.lean.sub2, pub2: r.lean.pub2 }).toEqual({ sub2: r.library.sub2, pub2: r.library.pub2 });
  });

  it('recovery off: join-room {since} replays what was missed, flagged as replay', async () => {
    let server!: SocketIoServer;
    const r = await both(
      async () => (server = await bundled({ recoveryMs: 0 })).url,
      async (t, url) => {
        const pub = connect(t, url, 1);
        const sub = connect(t, url, 2);
        await sub.until(() => sub.count('welcome') === 1 && pub.count('welcome') === 1);
        pub.conn.join('room-1', 1);
        sub.conn.join('room-1', 2);
        await sub.until(() => sub.count('joined') === 1 && pub.count('joined') === 1);
        sub.conn.terminate();
        for (let k = 0; k < 2; k++) pub.conn.publish('room-1', 3 + k, tag(k), '');
        await pub.until(() => pub.count('ack') === 2);
        const sub2 = connect(t, url, 2);
        await sub2.until(() => sub2.count('welcome') === 1);
        sub2.conn.join('room-1', 5, 0);
        await sub2.until(() => sub2.count('delivery') === 2 && sub2.count('joined') === 1);
        return { sub2: sub2.seen, resumes: (server.stats() as unknown as { resume: Record<string, number> }).resume };
      },
    );
    expect(r.lean.sub2.filter((e) => e[0] === 'delivery').map((e) => e[7])).toEqual([true, true]);
    expect(r.lean.resumes).toMatchObject({ resumes: 1, replayed: 2 });
    expect(r.lean).toEqual(r.library);
  });
});

describe('https: targets', () => {
  it('go to socket.io-client, loaded once on first use, with calls made before it loaded replayed', async () => {
    const server = await bundled();
    let loads = 0;
    // Stands in for TLS (no certificate here): the forwarding is what is tested, over plain http.
    const lean = createLeanSocketIoTransport({
      names,
      tls: async () => {
        loads++;
        const lib = library();
        return { ...lib, connect: (opts, ev) => lib.connect({ ...opts, url: opts.url.replace('https:', 'http:') }, ev) };
      },
    });
    const url = server.url.replace('http:', 'https:');
    const a = connect(lean, url, 1);
    const b = connect(lean, url, 2);
    b.conn.close(); // before the library was even loaded
    await a.until(() => a.count('open') === 1);
    a.conn.join('room-1', 1);
    await a.until(() => a.count('joined') === 1);
    await b.until(() => b.count('close') === 1);
    expect(loads).toBe(1);
    expect(a.conn.isOpen).toBe(true);
    expect(b.seen).toEqual([['close', 1000, 'client close']]);
  });
});

describe('lean vs socket.io-client against plain socket.io Servers', () => {
  it('a refused handshake, other and binary events, a gap, an error reply and a server disconnect: the same events', async () => {
    const script = async (t: Transport, url: string) => {
      const refused = connect(t, url, 1, 'bad');
      await refused.until(() => refused.count('close') === 1);
      const c = connect(t, url, 2, 'good');
      await c.until(() => c.count('open') === 1);
      c.conn.join('room-1', 1);
      c.conn.publish('room-1', 2, tag(0), '');
      await c.until(() => c.count('close') === 1);
      return { refused: refused.seen, c: c.seen };
    };
    const r = await both(
      () =>
        plain((io) => {
          io.use((socket, next) => (socket.handshake.auth.token === 'good' ? next() : next(Object.assign(new Error('no entry'), { data: { code: 'unauthorized' } }))));
          io.on('connection', (s) => {
            s.emit('presence', { users: 2 });
            s.emit('avatar', Buffer.from([1, 2, 3]), { id: 1 });
            s.emit('gap', { roomId: 'room-1', from: 3, to: 5 });
            s.on('join-room', (room: string, ack: (r: unknown) => void) => ack({ success: true, room: { id: room }, members: 1, seq: 7 }));
            s.on('message', (_m: unknown, ack: (r: unknown) => void) => {
              ack({ success: false, error: 'forbidden' });
              setTimeout(() => s.disconnect(true), 20);
            });
          });
        }),
      script,
    );
    expect(r.lean.refused).toEqual([
      ['error', 'handshake_refused_no_entry', 'the server refused the handshake: no entry'],
      ['close', 'connect_error', 'no entry'],
    ]);
    expect(r.lean.c).toEqual([
      ['open'],
      ['frame', { kind: 'other', name: 'presence', data: { users: 2 } }],
      ['frame', { kind: 'other', name: 'avatar' }],
      ['frame', { kind: 'gap', room: 'room-1', from: 3, to: 5 }],
      ['frame', { kind: 'joined', id: 1, room: 'room-1', members: 1, seq: 7 }],
      ['frame', { kind: 'error', id: 2, code: 'forbidden' }],
      ['close', 'io_server_disconnect', 'io server disconnect'],
    ]);
    expect(r.lean).toEqual(r.library);
  });

  it('Engine.IO pings answered; a zombie stops answering and the server closes it', async () => {
    const r = await both(
      () => plain(() => {}, { pingInterval: 100, pingTimeout: 100 }),
      async (t, url) => {
        const c = connect(t, url, 1);
        await c.until(() => c.count('heartbeat') >= 2);
        c.conn.stopHeartbeat();
        await c.until(() => c.count('close') === 1);
        return { answered: c.events.filter((e) => e[0] === 'heartbeat').map((e) => e[1]), close: c.events.at(-1) };
      },
    );
    for (const k of ['lean', 'library'] as Kind[]) {
      expect(r[k].answered.slice(0, 2)).toEqual([true, true]);
      expect(r[k].answered.at(-1)).toBe(false);
    }
    expect(r.lean.close).toEqual(r.library.close);
    expect(r.lean.close).toEqual(['close', 'transport_close', 'transport close']);
  });
});

describe('servers that are not Socket.IO 4', () => {
  /** A WebSocket server at /socket.io/ that sends `open`, then does what `after` says. */
  async function fakeEngine(open: Record<string, unknown>, after: (send: (s: string) => void, text: string) => void): Promise<string> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/socket.io/' });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    wss.on('connection', (ws) => {
      ws.send(`0${JSON.stringify(open)}`);
      ws.on('message', (d) => after((s) => ws.send(s), d.toString()));
    });
    closers.push(() => new Promise<void>((r) => wss.close(() => r())));
    for (const c of wss.clients) c.terminate();
    return `http://127.0.0.1:${(wss.address() as { port: number }).port}/socket.io`;
  }

  it('an Engine.IO v3 server (Socket.IO 2.x: no sid in its CONNECT) is named as such', async () => {
    const r = await both(
      () => fakeEngine({ sid: 'a', upgrades: [], pingInterval: 25000, pingTimeout: 5000 }, (send, text) => text.startsWith('40') && send('40')),
      async (t, url) => {
        const c = connect(t, url, 1);
        await c.until(() => c.count('close') === 1);
        return c.seen;
      },
    );
    expect(r.lean[0]).toEqual(['error', 'engine_io_v3', expect.stringMatching(/Socket\.IO 2\.x server \(Engine\.IO v3\)/)]);
    expect(r.library[0]).toEqual(['error', 'engine_io_v3', expect.stringMatching(/Socket\.IO 2\.x server \(Engine\.IO v3\)/)]);
    expect(r.lean.at(-1)?.[1]).toBe('connect_error');
  });

  it('an Engine.IO v3 server refusing the v4 handshake (400, code 5) is named from its answer over websocket too', async () => {
    const http = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end('{"code":5,"message":"Unsupported protocol version"}');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    closers.push(() => new Promise<void>((r) => http.close(() => r())));
    const c = connect(TRANSPORTS.lean(), `http://127.0.0.1:${(http.address() as { port: number }).port}`, 1);
    await c.until(() => c.count('close') === 1);
    expect(c.seen[0]).toEqual(['error', 'engine_io_v3', expect.stringMatching(/Unsupported protocol version.*Socket\.IO 2\.x server \(Engine\.IO v3\)/)]);
  });

  it('a server that stops pinging: the client closes with ping timeout after pingInterval + pingTimeout', async () => {
    const r = await both(
      () => fakeEngine({ sid: 'a', upgrades: [], pingInterval: 150, pingTimeout: 100, maxPayload: 1e6 }, (send, text) => text.startsWith('40') && send('40{"sid":"b"}')),
      async (t, url) => {
        const c = connect(t, url, 1);
        await c.until(() => c.count('open') === 1);
        const t0 = Date.now();
        await c.until(() => c.count('close') === 1);
        return { ms: Date.now() - t0, seen: c.seen };
      },
    );
    expect(r.lean.seen).toEqual(r.library.seen);
    expect(r.lean.seen.at(-1)).toEqual(['close', 'ping_timeout', 'ping timeout']);
    expect(r.lean.ms).toBeGreaterThanOrEqual(200);
    expect(r.lean.ms).toBeLessThan(1500);
  });
});
