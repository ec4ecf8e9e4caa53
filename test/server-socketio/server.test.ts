/** The Socket.IO flavour, row by row of PROTOCOL.md section 2, with real socket.io-client clients. */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, startSio, token, getJson, until, sleep } from './helpers.ts';

afterEach(cleanup);

describe('socket.io flavour: handshake', () => {
  it('refuses a missing, badly signed or expired token with a connect_error saying why', async () => {
    const s = await startSio();
    const cases: Array<[string | null, RegExp]> = [
      [null, /unauthorized: missing token/],
      [token({}, { secret: 'not-the-secret' }), /unauthorized: bad signature/],
      [token({}, { expiresInSec: -10 }), /unauthorized: token expired/],
      ['not.a.jwt', /unauthorized: malformed token/],
    ];
    for (const [t, re] of cases) {
      const c = Client.create(s.url, { token: t });
      const [message, data] = await c.next('connect_error');
      expect(message).toMatch(re);
      expect(data).toEqual({ code: 'unauthorized' });
      expect(c.all('connected')).toEqual([]);
    }
    expect(s.stats().upgradesRejected).toBe(4);
    expect(s.stats().connections).toBe(0);
  });

  it('emits connected {sessionId, userId, node, serverTime}; auth off names anonymous users; polling works too', async () => {
    const s = await startSio({ nodeId: 'nX' });
    const c = Client.create(s.url, { user: 'bob' });
    const [info] = await c.next('connected');
    expect(info).toMatchObject({ sessionId: c.socket.id, userId: 'bob', node: 'nX', recovered: false });
    expect(Math.abs(info.serverTime - Date.now())).toBeLessThan(2000);
    const off = await startSio({ auth: false });
    const a = Client.create(off.url, { token: null, io: { transports: ['polling'] } });
    expect((await a.next('connected'))[0]).toMatchObject({ userId: expect.stringMatching(/^anon-\d+$/) });
    expect(a.socket.io.engine.transport.name).toBe('polling');
    expect((await a.join('r')).success).toBe(true);
  });
});

describe('socket.io flavour: rooms and messages', () => {
  it('join/leave acks; message ack + new-message with a per-room seq, in order, to every member', async () => {
    const s = await startSio({ rate: 0 });
    const a = await Client.open(s.url, { user: 'alice' });
    const b = await Client.open(s.url, { user: 'bob' });
    expect(await a.join('r')).toEqual({ success: true, room: { id: 'r' }, members: 1, seq: 0, epoch: expect.any(String) });
    expect(await b.join('r')).toEqual({ success: true, room: { id: 'r' }, members: 2, seq: 0, epoch: expect.any(String) });
    const acks = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).ack('message', { roomId: 'r', content: `m${i}` })));
    expect(acks.map((x) => x.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    for (const x of acks) expect(x).toMatchObject({ success: true, messageId: expect.any(String), timestamp: expect.any(Number) });
    for (const c of [a, b]) {
      await until(() => c.all('new-message').length === 20, 3000, '20 messages');
      const msgs = c.all('new-message').map((args) => args[0]);
      expect(msgs.map((m) => m.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(msgs[0]).toMatchObject({ roomId: 'r', type: 'text', id: expect.any(String), timestamp: expect.any(Number) });
    }
    const first = b.all('new-message')[0]![0];
    expect(first).toMatchObject({ userId: first.content === 'm0' ? 'bob' : expect.any(String) });
    // Another room has its own sequence; a late joiner learns where the room stands.
    await a.join('other');
    expect((await a.ack('message', { roomId: 'other', content: 1, type: 'json' })).seq).toBe(1);
    const c = await Client.open(s.url, { user: 'carol' });
    expect(await c.join('r')).toMatchObject({ members: 3, seq: 20 });
    expect(await b.ack('leave-room', 'r')).toEqual({ success: true });
    await a.ack('message', { roomId: 'r', content: 'after' });
    await c.next('new-message', ([m]) => m.seq === 21);
    await sleep(50);
    expect(b.all('new-message')).toHaveLength(20);
    expect(s.stats()).toMatchObject({ rooms: 2, connections: 3 });
  });

  it('refuses with {error}: not joined, forbidden room, bad arguments, reserved names', async () => {
    const s = await startSio();
    const a = await Client.open(s.url, { claims: { rooms: ['ok-*'] } });
    expect(await a.ack('message', { roomId: 'ok-1', content: 'x' })).toMatchObject({ success: false, error: 'not_joined' });
    expect(await a.join('nope')).toMatchObject({ success: false, error: 'forbidden' });
    expect(await a.join('ok-1')).toMatchObject({ success: true });
    expect(await a.ack('join-room', 42)).toMatchObject({ error: 'bad_request' });
    expect(await a.join('@user:bob')).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/reserved/) });
    expect(await a.ack('message', 'text')).toMatchObject({ error: 'bad_request' });
    expect(await a.ack('message', { roomId: 'ok-1' })).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/content/) });
    expect(s.stats().badRequests).toBe(4);
    expect(a.socket.connected).toBe(true);
  });

  it('typing goes to the others in the room as user-typing; presence sends user-joined / user-left', async () => {
    const s = await startSio({ presence: true });
    const a = await Client.open(s.url, { user: 'alice' });
    const b = await Client.open(s.url, { user: 'bob' });
    await a.join('r');
    await b.join('r');
    expect((await a.next('user-joined'))[0]).toEqual({ userId: 'bob', roomId: 'r' });
    b.socket.emit('typing', { roomId: 'r' });
    expect((await a.next('user-typing'))[0]).toEqual({ userId: 'bob', roomId: 'r' });
    await b.ack('leave-room', 'r');
    expect((await a.next('user-left'))[0]).toEqual({ userId: 'bob', roomId: 'r' });
    await b.join('r');
    await a.next('user-joined');
    b.socket.disconnect();
    expect((await a.next('user-left'))[0]).toEqual({ userId: 'bob', roomId: 'r' });
    expect(b.all('user-typing')).toEqual([]);
    expect(a.all('user-joined').concat(b.all('user-joined'))).toEqual([]);
  });

  it('private messages reach every connection of the user; to an offline user they are queued and delivered on the next connect', async () => {
    const s = await startSio();
    const a = await Client.open(s.url, { user: 'alice' });
    expect(await a.ack('private-message', { targetUserId: 'bob', content: 'one' })).toMatchObject({ success: true, delivered: false });
    expect(await a.ack('private-message', { targetUserId: 'bob', content: 'two' })).toMatchObject({ success: true, delivered: false });
    const b1 = await Client.open(s.url, { user: 'bob' });
    await until(() => b1.all('private-message').length === 2, 3000, 'queued messages');
    expect(b1.all('private-message').map(([m]) => [m.content, m.fromUserId, m.offline])).toEqual([['one', 'alice', true], ['two', 'alice', true]]);
    const b2 = await Client.open(s.url, { user: 'bob' });
    await sleep(50);
    expect(b2.all('private-message')).toEqual([]);
    expect(await a.ack('private-message', { targetUserId: 'bob', content: 'live' })).toMatchObject({ delivered: true });
    for (const b of [b1, b2]) expect((await b.next('private-message', ([m]) => m.content === 'live'))[0]).toMatchObject({ fromUserId: 'alice', targetUserId: 'bob' });
    expect(await a.ack('private-message', { content: 'x' })).toMatchObject({ error: 'bad_request' });
  });
});

describe('socket.io flavour: limits and liveness', () => {
  it('rate limit: a dropped event is acked {error:"rate_limited"}; abuse disconnects the socket', async () => {
    const s = await startSio({ rate: 2, burst: 3, abuse: 6 });
    const a = await Client.open(s.url);
    await a.join('r');
    const replies: any[] = [];
    for (let i = 0; i < 6; i++) replies.push(await a.ack('message', { roomId: 'r', content: i }));
    expect(replies.filter((r) => r.success).length).toBeLessThanOrEqual(3);
    expect(replies.some((r) => r.error === 'rate_limited')).toBe(true);
    expect(a.socket.connected).toBe(true);
    for (let i = 0; i < 10; i++) a.socket.emit('message', { roomId: 'r', content: i });
    expect((await a.next('kicked'))[0]).toEqual({ reason: 'rate limit exceeded' });
    expect(await a.next('disconnect')).toEqual(['io server disconnect']);
    expect(s.stats().rateLimited).toBeGreaterThan(6);
  });

  it('heartbeat: a client that stops answering pings is disconnected within pingInterval + pingTimeout', async () => {
    const s = await startSio({ heartbeatMs: 300, pingTimeoutMs: 200 });
    const healthy = await Client.open(s.url, { user: 'h' });
    const zombie = await Client.open(s.url, { user: 'z' });
    const engine = zombie.socket.io.engine as unknown as { _sendPacket(type: string, ...rest: unknown[]): void };
    const send = engine._sendPacket.bind(engine);
    engine._sendPacket = (type: string, ...rest: unknown[]) => {
      if (type !== 'pong') send(type, ...rest);
    };
    const stoppedAt = Date.now();
    await until(() => s.stats().heartbeatTerminations === 1, 3000, 'the zombie to be dropped');
    // At most one interval until the unanswered ping, then pingTimeout (plus scheduling slack).
    expect(Date.now() - stoppedAt).toBeLessThan(300 + 200 + 250);
    await sleep(700);
    expect(healthy.socket.connected).toBe(true);
    expect(s.stats().connections).toBe(1);
  });

  it('connection state recovery: after a transport drop the client gets back its session, rooms and the missed messages', async () => {
    const s = await startSio({ rate: 0 });
    const a = await Client.open(s.url, { user: 'alice', io: { reconnection: true, reconnectionDelay: 400, reconnectionDelayMax: 400, randomizationFactor: 0 } });
    const b = await Client.open(s.url, { user: 'bob' });
    await a.join('r');
    await b.join('r');
    await b.ack('message', { roomId: 'r', content: 'before' });
    await a.next('new-message');
    const sid = a.socket.id;
    // A network drop of this client only (s.dropAll() would drop b too).
    a.socket.io.engine.close();
    await a.next('disconnect');
    for (const content of ['m1', 'm2', 'm3']) await b.ack('message', { roomId: 'r', content });
    const [info] = await a.next('connected', () => true, 5000);
    expect(info).toMatchObject({ recovered: true, sessionId: sid });
    expect(a.socket.recovered).toBe(true);
    await until(() => a.all('new-message').length === 3, 3000, 'replayed messages');
    expect(a.all('new-message').map(([m]) => [m.content, m.seq])).toEqual([['m1', 2], ['m2', 3], ['m3', 4]]);
    // The rooms came back: live messages and private messages still arrive.
    await b.ack('message', { roomId: 'r', content: 'live' });
    await a.next('new-message', ([m]) => m.seq === 5);
    expect(await b.ack('private-message', { targetUserId: 'alice', content: 'pm' })).toMatchObject({ delivered: true });
  });
});

describe('socket.io flavour: HTTP endpoints', () => {
  it('/healthz, /stats (native field names) and /metrics', async () => {
    const s = await startSio({ nodeId: 'n7', rate: 0 });
    const a = await Client.open(s.url);
    await a.join('r');
    await a.ack('message', { roomId: 'r', content: 1 });
    expect(await getJson(s.port, '/healthz')).toEqual({ status: 200, body: { status: 'ok', node: 'n7' } });
    const { body } = await getJson(s.port, '/stats');
    expect(body).toMatchObject({ node: 'n7', bus: 'local', connections: 1, rooms: 1, deliveries: 1, connectionsOpened: 1, framesIn: 2, heartbeatTerminations: 0, rateLimited: 0 });
    for (const k of ['framesOut', 'upgradesRejected', 'badRequests', 'rssBytes', 'heapUsedBytes', 'eventLoopDelayP99Ms', 'uptimeMs', 'pid']) expect(body).toHaveProperty(k);
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toMatch(/wsbench_server_connections\{node="n7"\} 1/);
    expect(metrics).toMatch(/wsbench_server_deliveries_total\{node="n7"\} 1/);
    expect((await fetch(`http://127.0.0.1:${s.port}/nope`)).status).toBe(404);
  });
});
