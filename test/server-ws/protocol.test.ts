/** PROTOCOL.md section 1, row by row, against a real server and real `ws` clients. */
import { describe, it, expect, afterEach } from 'vitest';
import net from 'node:net';
import WebSocket from 'ws';
import { Client, cleanup, startTestServer, token, upgradeStatus, getJson, sleep, until } from './helpers.ts';
import { signToken, DEV_SECRET } from '../../servers/core/jwt.ts';

afterEach(cleanup);

describe('connecting and authentication', () => {
  it('accepts a token in the query or in Authorization: Bearer, and sends the welcome', async () => {
    const s = await startTestServer({ heartbeatMs: 5000, rate: 50, burst: 60, maxPayload: 4096, nodeId: 'n7' });
    expect(s.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/ws$/);
    const a = await Client.open(s.url, { claims: { sub: 'alice' } });
    expect(a.welcome).toMatchObject({ type: 'welcome', user: 'alice', node: 'n7', heartbeatMs: 5000, limits: { rate: 50, burst: 60, maxPayload: 4096 } });
    expect(typeof a.welcome.sid).toBe('string');
    const b = await Client.open(s.url, { token: null, ws: { headers: { Authorization: `Bearer ${token({ sub: 'bob' })}` } } });
    expect(b.welcome.user).toBe('bob');
    expect(b.welcome.sid).not.toBe(a.welcome.sid);
  });

  it('answers 401 before any WebSocket exists: missing, malformed, badly signed, expired', async () => {
    const s = await startTestServer();
    const expired = signToken({ sub: 'x', exp: Math.floor(Date.now() / 1000) - 5 }, DEV_SECRET);
    for (const url of [s.url, `${s.url}?token=garbage`, `${s.url}?token=${token({}, { secret: 'wrong' })}`, `${s.url}?token=${expired}`]) {
      expect(await upgradeStatus(url)).toBe(401);
    }
    expect(await upgradeStatus(s.url, { headers: { Authorization: 'Bearer nope' } })).toBe(401);
    expect(s.stats()).toMatchObject({ connections: 0, connectionsOpened: 0, upgradesRejected: 5 });
  });

  it('--auth off accepts anyone', async () => {
    const s = await startTestServer({ auth: false });
    const c = await Client.open(s.url, { token: null });
    expect(c.welcome.user).toMatch(/^anon-/);
  });

  it('refuses other paths with 404', async () => {
    const s = await startTestServer();
    expect(await upgradeStatus(s.url.replace('/ws', '/other') + `?token=${token()}`)).toBe(404);
  });

  it('closes with 1008 when the token expires while connected', async () => {
    const s = await startTestServer();
    const c = await Client.open(s.url, { token: signToken({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 2 }, DEV_SECRET) });
    const { code, reason } = await Promise.race([c.closed, sleep(5000).then(() => ({ code: -1, reason: 'timeout' }))]);
    expect(code).toBe(1008);
    expect(reason).toBe('token expired');
  });

  it('drops a client that never finishes its upgrade request (headers timeout)', async () => {
    const s = await startTestServer({ headersTimeoutMs: 300 });
    const sock = net.connect(s.port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    const sentAt = Date.now();
    sock.write('GET /ws HTTP/1.1\r\nHost: x\r\n');
    let reply = '';
    // Dropped, at most with a 408 on its way out.
    const closedAt = await new Promise<number>((r) => {
      sock.on('data', (d) => (reply += d));
      sock.on('close', () => r(Date.now()));
      sock.on('error', () => {});
    });
    // Not before the 300 ms timeout; by the next connection check (every 300 ms) plus
    // slack for a loaded box. Without the timeout the socket would stay open for 10 s.
    expect(closedAt - sentAt).toBeGreaterThanOrEqual(290);
    expect(closedAt - sentAt).toBeLessThan(3000);
    expect(reply === '' || reply.startsWith('HTTP/1.1 408 ')).toBe(true);
  });
});

describe('frames', () => {
  it('join -> joined with members and seq; leave -> left', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    const b = await Client.open(s.url);
    expect(await a.request({ type: 'join', id: 1, room: 'r' })).toEqual({ type: 'joined', id: 1, room: 'r', members: 1, seq: 0, epoch: expect.any(String) });
    expect(await b.request({ type: 'join', id: 'x', room: 'r' })).toEqual({ type: 'joined', id: 'x', room: 'r', members: 2, seq: 0, epoch: expect.any(String) });
    expect(await b.request({ type: 'leave', id: 2, room: 'r' })).toEqual({ type: 'left', id: 2, room: 'r' });
    expect(s.stats().rooms).toBe(1);
    await a.request({ type: 'leave', id: 3, room: 'r' });
    expect(s.stats().rooms).toBe(0);
  });

  it('publish -> ack with seq; every member gets the message, the sender too unless echo:false', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url, { claims: { sub: 'alice' } });
    const b = await Client.open(s.url, { claims: { sub: 'bob' } });
    await a.join('r');
    await b.join('r');
    expect(await a.request({ type: 'publish', id: 1, room: 'r', payload: { n: 1 } })).toEqual({ type: 'ack', id: 1, room: 'r', seq: 1, epoch: expect.any(String) });
    const m = { type: 'message', room: 'r', seq: 1, from: 'alice', payload: { n: 1 } };
    expect(await a.next((f) => f.type === 'message')).toEqual(m);
    expect(await b.next((f) => f.type === 'message')).toEqual(m);
    expect(await a.request({ type: 'publish', id: 2, room: 'r', payload: 'quiet', echo: false })).toMatchObject({ type: 'ack', seq: 2 });
    expect(await b.next((f) => f.type === 'message')).toMatchObject({ seq: 2, payload: 'quiet' });
    await sleep(100);
    expect(a.frames.filter((f) => f.type === 'message')).toEqual([]);
    expect(s.stats().deliveries).toBe(3);
  });

  it('seq is per room, from 1, and members see messages in seq order once', async () => {
    const s = await startTestServer({ rate: 0 });
    const a = await Client.open(s.url);
    const b = await Client.open(s.url);
    await a.join('x');
    await a.join('y');
    await b.join('x');
    for (let i = 0; i < 200; i++) a.send({ type: 'publish', id: i, room: i % 3 === 0 ? 'y' : 'x', payload: i });
    await until(() => b.frames.filter((f) => f.type === 'message').length === 133, 5000, 'deliveries');
    const seqs = b.frames.filter((f) => f.type === 'message').map((f) => f.seq);
    expect(seqs).toEqual(Array.from({ length: 133 }, (_, i) => i + 1));
    await until(() => a.frames.filter((f) => f.type === 'message' && f.room === 'y').length === 67);
    expect(a.frames.filter((f) => f.room === 'y' && f.type === 'message').map((f) => f.seq)).toEqual(Array.from({ length: 67 }, (_, i) => i + 1));
  });

  it('ping -> pong with the payload', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    expect(await a.request({ type: 'ping', id: 9, payload: { t: [1, 2] } })).toEqual({ type: 'pong', id: 9, payload: { t: [1, 2] } });
    expect(await a.request({ type: 'ping', id: 10 })).toEqual({ type: 'pong', id: 10 });
  });

  it('forbidden: a room outside the token list (exact and prefix)', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url, { claims: { rooms: ['lobby', 'team:*'] } });
    expect(await a.request({ type: 'join', id: 1, room: 'lobby' })).toMatchObject({ type: 'joined' });
    expect(await a.request({ type: 'join', id: 2, room: 'team:7' })).toMatchObject({ type: 'joined' });
    expect(await a.request({ type: 'join', id: 3, room: 'admin' })).toMatchObject({ type: 'error', id: 3, code: 'forbidden' });
  });

  it('not_joined: publish to a room the connection is not in', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    expect(await a.request({ type: 'publish', id: 1, room: 'r', payload: 1 })).toMatchObject({ type: 'error', id: 1, code: 'not_joined' });
  });

  it('bad_request: not JSON, not an object, unknown type, missing or wrongly typed fields; the connection stays', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    const cases: unknown[] = [
      'not json', '[1,2]', '42', 'null', { id: 1 }, { type: 'dance', id: 1 }, { type: 7, id: 1 },
      { type: 'join', room: 'r' }, { type: 'join', id: {}, room: 'r' }, { type: 'join', id: 1 }, { type: 'join', id: 1, room: 5 },
      { type: 'join', id: 1, room: '' }, { type: 'join', id: 1, room: 'r', since: -1 }, { type: 'join', id: 1, room: 'r', since: 'x' },
      { type: 'publish', id: 1, room: 'r' }, { type: 'publish', id: 1, room: 'r', payload: 1, echo: 'no' }, { type: 'leave', id: 1 },
      { type: 'ping' },
    ];
    for (const c of cases) a.send(typeof c === 'string' ? c : JSON.stringify(c));
    a.ws.send(Buffer.from([0, 1, 2]), { binary: true });
    await until(() => a.frames.length === cases.length + 1, 3000, 'errors');
    expect(a.frames.every((f) => f.type === 'error' && f.code === 'bad_request' && typeof f.message === 'string')).toBe(true);
    expect(a.frames.find((f) => f.message.includes('binary'))).toBeTruthy();
    expect(await a.request({ type: 'ping', id: 'still-here' })).toMatchObject({ type: 'pong' });
  });

  it('invalid UTF-8 in a text frame: ws closes with 1007', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    // Send a text frame whose bytes are not UTF-8 (the client's sender does not validate buffers).
    a.ws.send(Buffer.from([0xc3, 0x28, 0xff]), { binary: false });
    expect((await a.closed).code).toBe(1007);
  });

  it('caps: room-name length and rooms per connection (bad_request)', async () => {
    const s = await startTestServer({ maxRoomName: 8, maxRoomsPerConn: 2 });
    const a = await Client.open(s.url);
    expect(await a.request({ type: 'join', id: 1, room: '123456789' })).toMatchObject({ code: 'bad_request' });
    expect(await a.request({ type: 'join', id: 2, room: 'éééé' })).toMatchObject({ type: 'joined' });
    expect(await a.request({ type: 'join', id: 3, room: 'éééée' })).toMatchObject({ code: 'bad_request' });
    expect(await a.request({ type: 'join', id: 4, room: 'b' })).toMatchObject({ type: 'joined' });
    expect(await a.request({ type: 'join', id: 5, room: 'c' })).toMatchObject({ code: 'bad_request', message: expect.stringMatching(/too many rooms/) });
    expect(await a.request({ type: 'join', id: 6, room: 'b' })).toMatchObject({ type: 'joined' });
  });

  it('frames over maxPayload close with 1009', async () => {
    const s = await startTestServer({ maxPayload: 1024 });
    const a = await Client.open(s.url);
    a.send({ type: 'ping', id: 1, payload: 'x'.repeat(2000) });
    expect((await a.closed).code).toBe(1009);
  });
});

describe('retention and resume', () => {
  it('join with since replays retained messages in order, marked replay, then live ones', async () => {
    const s = await startTestServer({ rate: 0 });
    const pub = await Client.open(s.url);
    await pub.join('r');
    for (let i = 1; i <= 5; i++) await pub.request({ type: 'publish', id: i, room: 'r', payload: i });
    const c = await Client.open(s.url);
    expect(await c.request({ type: 'join', id: 'j', room: 'r', since: 2 })).toMatchObject({ type: 'joined', seq: 5 });
    pub.send({ type: 'publish', id: 6, room: 'r', payload: 6 });
    await until(() => c.frames.filter((f) => f.type === 'message').length === 4);
    const msgs = c.frames.filter((f) => f.type === 'message');
    expect(msgs.map((f) => [f.seq, f.replay ?? false])).toEqual([[3, true], [4, true], [5, true], [6, false]]);
    expect(msgs[0]).toEqual({ type: 'message', room: 'r', seq: 3, from: 'alice', payload: 3, replay: true });
  });

  it('a gap frame precedes the replay when retention no longer holds some messages', async () => {
    const s = await startTestServer({ rate: 0, retention: 3 });
    const pub = await Client.open(s.url);
    await pub.join('r');
    for (let i = 1; i <= 8; i++) await pub.request({ type: 'publish', id: i, room: 'r', payload: i });
    const c = await Client.open(s.url);
    await c.request({ type: 'join', id: 'j', room: 'r', since: 1 });
    await until(() => c.frames.filter((f) => f.type === 'message').length === 3);
    expect(c.frames.map((f) => (f.type === 'gap' ? `gap ${f.from}-${f.to}` : f.seq))).toEqual(['gap 2-5', 6, 7, 8]);
  });

  it('retention 0 keeps nothing: resume is one gap', async () => {
    const s = await startTestServer({ rate: 0, retention: 0 });
    const pub = await Client.open(s.url);
    await pub.join('r');
    for (let i = 1; i <= 3; i++) await pub.request({ type: 'publish', id: i, room: 'r', payload: i });
    const c = await Client.open(s.url);
    await c.request({ type: 'join', id: 'j', room: 'r', since: 0 });
    expect(await c.next((f) => f.type === 'gap')).toEqual({ type: 'gap', room: 'r', from: 1, to: 3 });
  });

  it('a publish racing a join: replays come before live messages, nothing twice, nothing missing', async () => {
    // delay-ms keeps publishes in flight (seq allocated, not yet fanned out) while the join runs.
    const s = await startTestServer({ rate: 0, delayMs: 30 });
    const pub = await Client.open(s.url);
    await pub.join('r');
    for (let i = 1; i <= 3; i++) await pub.request({ type: 'publish', id: i, room: 'r', payload: i });
    for (let i = 4; i <= 20; i++) pub.send({ type: 'publish', id: i, room: 'r', payload: i });
    await sleep(5);
    const c = await Client.open(s.url);
    const joined = await c.request({ type: 'join', id: 'j', room: 'r', since: 0 });
    await until(() => c.frames.filter((f) => f.type === 'message').length >= 20, 5000, 'all 20');
    await sleep(100);
    const msgs = c.frames.filter((f) => f.type === 'message');
    expect(msgs.map((f) => f.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Everything up to the joined seq is a replay, everything after is live.
    expect(msgs.every((f) => (f.seq <= joined.seq) === (f.replay === true))).toBe(true);
    expect(c.frames.some((f) => f.type === 'gap')).toBe(false);
  });

  it('join and leave of one connection are answered in order', async () => {
    const s = await startTestServer({ rate: 0 });
    const a = await Client.open(s.url);
    a.send({ type: 'join', id: 1, room: 'r' });
    a.send({ type: 'leave', id: 2, room: 'r' });
    a.send({ type: 'join', id: 3, room: 'r' });
    await until(() => a.frames.length === 3);
    expect(a.frames.map((f) => `${f.type}:${f.id}`)).toEqual(['joined:1', 'left:2', 'joined:3']);
  });
});

describe('presence', () => {
  it('sends presence join and leave to the other members when on', async () => {
    const s = await startTestServer({ presence: true });
    const a = await Client.open(s.url, { claims: { sub: 'alice' } });
    const b = await Client.open(s.url, { claims: { sub: 'bob' } });
    await a.join('r');
    await b.join('r');
    expect(await a.next((f) => f.type === 'presence')).toEqual({ type: 'presence', room: 'r', user: 'bob', state: 'join' });
    b.ws.close();
    expect(await a.next((f) => f.type === 'presence')).toEqual({ type: 'presence', room: 'r', user: 'bob', state: 'leave' });
    expect(b.frames.some((f) => f.type === 'presence')).toBe(false);
  });

  it('sends nothing when off', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    const b = await Client.open(s.url);
    await a.join('r');
    await b.join('r');
    await b.request({ type: 'leave', id: 1, room: 'r' });
    await sleep(50);
    expect(a.frames.some((f) => f.type === 'presence')).toBe(false);
  });
});

describe('rate limiting', () => {
  it('drops frames over the bucket with at most one rate_limited error per second', async () => {
    const s = await startTestServer({ rate: 10, burst: 5, abuse: 1000 });
    const a = await Client.open(s.url);
    const sentAt = Date.now();
    for (let i = 0; i < 50; i++) a.send({ type: 'ping', id: i });
    await until(() => a.frames.some((f) => f.code === 'rate_limited'));
    await sleep(200);
    // The burst, plus what 10/s refilled while the server could have been reading them.
    const refilled = Math.ceil((10 * (Date.now() - sentAt)) / 1000);
    const pongs = a.frames.filter((f) => f.type === 'pong').length;
    expect(pongs).toBeGreaterThanOrEqual(5);
    expect(pongs).toBeLessThanOrEqual(5 + refilled);
    expect(a.frames.filter((f) => f.code === 'rate_limited')).toHaveLength(1);
    expect(s.stats().rateLimited).toBe(50 - pongs);
    expect(a.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('closes with 1008 "rate limit exceeded" past abuse drops in 10 s', async () => {
    const s = await startTestServer({ rate: 10, burst: 5 }); // abuse defaults to 10
    const a = await Client.open(s.url);
    for (let i = 0; i < 40; i++) a.send({ type: 'ping', id: i });
    expect(await a.closed).toEqual({ code: 1008, reason: 'rate limit exceeded' });
  });
});

describe('HTTP on the same port and server controls', () => {
  it('/healthz, /stats, /metrics, 404', async () => {
    const s = await startTestServer({ nodeId: 'n4' });
    const a = await Client.open(s.url);
    await a.join('r');
    expect(await getJson(s.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok', node: 'n4' } });
    const { body } = await getJson(s.port, '/stats');
    for (const k of ['node', 'pid', 'connections', 'rooms', 'framesIn', 'framesOut', 'deliveries', 'rateLimited', 'heartbeatTerminations', 'rssBytes']) expect(body).toHaveProperty(k);
    expect(body).toMatchObject({ node: 'n4', pid: process.pid, connections: 1, rooms: 1, framesIn: 1 });
    const text = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    for (const m of ['wsbench_server_connections{node="n4"} 1', 'wsbench_server_rooms', 'wsbench_server_frames_in_total', 'wsbench_server_frames_out_total', 'wsbench_server_deliveries_total', 'wsbench_server_rate_limited_total', 'wsbench_server_heartbeat_terminations_total', 'wsbench_server_event_loop_delay_p99_seconds', 'wsbench_server_process_resident_memory_bytes']) {
      expect(text).toContain(m);
    }
    expect((await getJson(s.port, '/nope')).status).toBe(404);
  });

  it('dropAll closes every connection with 1012 and keeps serving', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    const b = await Client.open(s.url);
    s.dropAll();
    expect((await a.closed).code).toBe(1012);
    expect((await b.closed).code).toBe(1012);
    await until(() => s.stats().connections === 0);
    await Client.open(s.url);
  });

  it('close() sends 1001 to everyone and stops listening', async () => {
    const s = await startTestServer();
    const a = await Client.open(s.url);
    await a.join('r');
    await s.close();
    expect(await a.closed).toEqual({ code: 1001, reason: 'server shutting down' });
    await expect(Client.open(s.url)).rejects.toThrow();
  });

  it('writes pre-framed buffers only while ws has nothing queued (ws 8 internals still as expected)', async () => {
    // The server-side internals the fast path depends on, checked on a fresh server socket pair.
    const { WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    try {
      await new Promise((r) => wss.once('listening', r));
      const port = (wss.address() as { port: number }).port;
      const got = new Promise<WebSocket>((r) => wss.once('connection', r));
      const cl = new WebSocket(`ws://127.0.0.1:${port}`);
      cl.on('error', () => {});
      await new Promise((r) => cl.once('open', r));
      const sw = (await got) as unknown as { _socket: unknown; _sender: { _state: number; _queue: unknown[] }; _extensions: object };
      expect(sw._socket).toBeTruthy();
      expect(sw._sender._state).toBe(0);
      expect(Array.isArray(sw._sender._queue)).toBe(true);
      expect(Object.keys(sw._extensions)).toEqual([]);
      cl.terminate();
    } finally {
      wss.close();
    }
  });
});
