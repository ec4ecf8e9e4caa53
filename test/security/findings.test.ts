/**
 * Issue #13, one test per finding: each failed on the code before the hardening.
 * Small limits keep every test short; the big floods are in `npm run bench` (security section).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, getJson, startTestServer, token, until, sleep, upgradeStatus } from '../server-ws/helpers.ts';
import { Client as SioClient, cleanup as cleanupSio, startSio } from '../server-socketio/helpers.ts';
import { createRedisBus } from '../../servers/core/redis-bus.ts';
import { redactUrl } from '../../servers/core/redact.ts';
import { captureLog, nested, rawHttp } from './helpers.ts';
import { openSocketIo } from './fuzz-run.ts';

/** Acks of hand-written packets (ids the client library does not know), by id. */
function rawAcks(c: SioClient): Map<number, any> {
  const got = new Map<number, any>();
  c.socket.io.engine.on('packet', (p: { type: string; data?: unknown }) => {
    const m = p.type === 'message' && typeof p.data === 'string' ? /^3(\d+)(\[.*)$/s.exec(p.data) : null;
    if (m) got.set(Number(m[1]), JSON.parse(m[2]!)[0]);
  });
  return got;
}

afterEach(async () => {
  await cleanupSio();
  await cleanup();
});

describe('deep nesting (finding 1)', () => {
  it('native: a payload 5,000 levels deep is bad_request, logged without a stack, and the server keeps serving', async () => {
    const { lines, log } = captureLog();
    const s = await startTestServer({}, { log });
    const c = await Client.open(s.url);
    await c.join('r');
    // Written by hand: JSON.stringify in the test would overflow too.
    const deep = `${'['.repeat(5000)}0${']'.repeat(5000)}`;
    for (let i = 0; i < 5; i++) {
      c.send(`{"type":"publish","id":"p${i}","room":"r","payload":${deep}}`);
      const r = await c.next((f) => f.id === `p${i}`);
      expect(r).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/nested deeper than 32/) });
    }
    expect(await c.request({ type: 'publish', id: 'ok', room: 'r', payload: nested(30) })).toMatchObject({ type: 'ack' });
    expect(lines.filter((l) => /\n\s+at /.test(l))).toEqual([]);
    expect(lines.length).toBeLessThanOrEqual(1);
  });

  for (const transport of ['websocket', 'polling'] as const) {
    it(`socketio over ${transport}: a message 5,000 levels deep is bad_request and the server keeps serving`, async () => {
      const s = await startSio();
      const a = await SioClient.open(s.url, { io: { transports: [transport] } });
      expect(await a.join('r')).toMatchObject({ success: true });
      // The JS client cannot encode such a value (it recurses too): the packets are written by hand.
      const deep = `${'['.repeat(5000)}0${']'.repeat(5000)}`;
      const acks = rawAcks(a);
      a.socket.io.engine.send(`2901["message",{"roomId":"r","content":${deep}}]`);
      a.socket.io.engine.send(`2902["private-message",{"targetUserId":"nobody","content":${deep}}]`);
      a.socket.io.engine.send(`2903["typing",${deep}]`);
      await until(() => acks.size >= 2, 3000, 'acks of the deep packets');
      expect(acks.get(901)).toMatchObject({ success: false, error: 'bad_request', message: expect.stringMatching(/nested deeper than 32/) });
      expect(acks.get(902)).toMatchObject({ error: 'bad_request' });
      expect(await a.ack('message', { roomId: 'r', content: 'still here' })).toMatchObject({ success: true, seq: 1 });
      const b = await SioClient.open(s.url, { user: 'bob' });
      expect(await b.join('r')).toMatchObject({ success: true });
    });
  }
});

describe('secrets (finding 3)', () => {
  it('/healthz and the log show the Redis URL with its password redacted', async () => {
    const { lines, log } = captureLog();
    const url = 'redis://:Sup3rSecretPw@127.0.0.1:1/0';
    const bus = createRedisBus({ url, retention: 10, nodeId: 'n0', log });
    try {
      const s = await startTestServer({}, { bus, log });
      await sleep(300);
      const res = await fetch(`http://127.0.0.1:${s.port}/healthz`);
      const text = await res.text();
      expect(res.status).toBe(503);
      expect(text).toContain('redis://:***@127.0.0.1:1/0');
      expect(text).not.toContain('Sup3rSecretPw');
      expect(lines.join('\n')).not.toContain('Sup3rSecretPw');
    } finally {
      await bus.close();
    }
  });

  it('redactUrl hides passwords and lone user names, keeps the rest', () => {
    expect(redactUrl('redis://user:pw@h:1/2')).toBe('redis://user:***@h:1/2');
    expect(redactUrl('rediss://secret@h')).toBe('rediss://***@h');
    expect(redactUrl('redis://h:6379')).toBe('redis://h:6379');
  });
});

describe('limits per identity (finding 4)', () => {
  it('three clients of one identity reconnecting in a loop share one bucket: about rate x time + burst accepted', async () => {
    const s = await startTestServer({ rate: 20, burst: 20, userRate: 20, userBurst: 20, abuse: 1_000_000 });
    let acks = 0;
    const until = Date.now() + 2000;
    const loop = async () => {
      while (Date.now() < until) {
        const c = await Client.open(s.url, { claims: { sub: 'mallory' } });
        // Not awaited: with the identity's bucket empty the join is dropped too (and the publishes answered not_joined).
        c.send({ type: 'join', id: 'j', room: 'r' });
        for (let i = 0; i < 40; i++) c.send({ type: 'publish', id: i, room: 'r', payload: i });
        // No ping to sync on: an empty bucket would drop it. Accepted publishes are acked within this.
        await sleep(100);
        acks += c.frames.filter((f) => f.type === 'ack').length;
        c.ws.terminate();
      }
    };
    await Promise.all([loop(), loop(), loop()]);
    // 2 s at 20/s plus a burst of 20 (joins and pings take tokens too); before, each connection got 20 more.
    expect(acks).toBeLessThanOrEqual(20 * 2 + 20);
    expect(acks).toBeGreaterThan(0);
  });

  it('refuses connections past max-conns-per-user with 429 (native) and too_many_connections (socketio)', async () => {
    const s = await startTestServer({ maxConnsPerUser: 2 });
    await Client.open(s.url, { claims: { sub: 'carol' } });
    await Client.open(s.url, { claims: { sub: 'carol' } });
    expect(await upgradeStatus(`${s.url}?token=${token({ sub: 'carol' })}`)).toBe(429);
    await Client.open(s.url, { claims: { sub: 'dave' } });
    expect(s.stats().userConnsRefused).toBe(1);

    const io = await startSio({ maxConnsPerUser: 1 });
    await SioClient.open(io.url, { user: 'carol' });
    const second = SioClient.create(io.url, { user: 'carol' });
    const [message, data] = await second.next('connect_error');
    expect(message).toMatch(/too many connections/);
    expect(data).toMatchObject({ code: 'too_many_connections' });
  });

  it('WebSocket pings take tokens: a paced ping flood (each batch waits for its pongs) ends in 1008', async () => {
    const s = await startTestServer({ rate: 50, burst: 50, abuse: 100 });
    const c = await Client.open(s.url);
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    for (let sent = 0; sent < 2000 && c.ws.readyState === 1; ) {
      for (let i = 0; i < 20; i++, sent++) c.ws.ping();
      const want = sent;
      await until(() => pongs >= want || c.ws.readyState !== 1, 3000, 'pongs');
    }
    const closed = await Promise.race([c.closed, sleep(3000).then(() => ({ code: 0, reason: 'still open after the flood' }))]);
    expect(closed).toMatchObject({ code: 1008, reason: 'rate limit exceeded' });
    expect(s.stats().rateLimited).toBeGreaterThan(100);
  });

  it('socketio: Engine.IO ping/pong packets take tokens too: a flood gets the socket kicked', async () => {
    const s = await startSio({ rate: 50, burst: 50, abuse: 100 });
    const ws = await openSocketIo(s.url, token({ sub: 'pinger' }));
    const texts: string[] = [];
    ws.on('message', (d) => texts.push(d.toString()));
    const closed = new Promise<void>((r) => ws.once('close', () => r()));
    for (let i = 0; i < 40 && ws.readyState === 1; i++) {
      for (let j = 0; j < 10; j++) ws.send('3');
      await sleep(5);
    }
    await Promise.race([closed, sleep(3000)]);
    expect(texts.some((t) => t.startsWith('42["kicked"') && t.includes('rate limit exceeded'))).toBe(true);
  });

  it('socketio: WebSocket pings on the websocket transport take tokens too', async () => {
    const s = await startSio({ rate: 50, burst: 50, abuse: 100 });
    const ws = await openSocketIo(s.url, token({ sub: 'pinger' }));
    const texts: string[] = [];
    ws.on('message', (d) => texts.push(d.toString()));
    let pongs = 0;
    ws.on('pong', () => pongs++);
    for (let sent = 0; sent < 1000 && ws.readyState === 1 && !texts.some((t) => t.startsWith('42["kicked"')); ) {
      for (let i = 0; i < 20; i++, sent++) ws.ping();
      const want = sent;
      await until(() => pongs >= want || ws.readyState !== 1, 3000, 'pongs');
    }
    expect(texts.some((t) => t.startsWith('42["kicked"') && t.includes('rate limit exceeded'))).toBe(true);
  });
});

describe('rooms (finding 5)', () => {
  it("socketio: another socket's id cannot be joined, so nothing can be pushed to it", async () => {
    const s = await startSio({ presence: true });
    const victim = await SioClient.open(s.url, { user: 'victim' });
    const attacker = await SioClient.open(s.url, { user: 'attacker' });
    const sid = victim.socket.id!;
    expect(await attacker.join(sid)).toMatchObject({ success: false, error: 'bad_request', message: expect.stringMatching(/socket id/) });
    attacker.socket.emit('typing', { roomId: sid });
    expect(await attacker.ack('message', { roomId: sid, content: 'x' })).toMatchObject({ success: false });
    await sleep(100);
    expect(victim.all('user-typing')).toEqual([]);
    expect(victim.all('new-message')).toEqual([]);
  });

  const badNames = ['a\u0000b', 'zero\u200Bwidth', 'bidi\u202Eflip', 'bom\uFEFF', 'line\nbreak', '@reserved'];
  it('refuses control, zero-width and reserved room names in both flavours with the same message', async () => {
    const s = await startTestServer();
    const c = await Client.open(s.url);
    const io = await startSio();
    const a = await SioClient.open(io.url);
    for (const name of badNames) {
      const native = await c.request({ type: 'join', id: name, room: name });
      const sio = await a.join(name);
      expect(native).toMatchObject({ type: 'error', code: 'bad_request' });
      expect(sio).toMatchObject({ success: false, error: 'bad_request' });
      expect(sio.message).toBe(native.message);
    }
    expect(await c.join('ok room é 漢 😀')).toMatchObject({ type: 'joined' });
    expect(await a.join('ok room é 漢 😀')).toMatchObject({ success: true });
  });
});

describe('HTTP (finding 6)', () => {
  it('answers 431 to request headers over 16 KB, in both flavours', async () => {
    const s = await startTestServer();
    const io = await startSio();
    for (const port of [s.port, io.port]) {
      const res = await rawHttp(port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`);
      expect(res).toMatch(/^HTTP\/1\.1 431 /);
      const ok = await getJson(port, '/healthz');
      expect(ok.status).toBe(200);
    }
  });
});

describe('bounded memory (finding 2)', () => {
  it('native: 60 KB messages to many rooms stay under the node and room byte budgets; evictions in /metrics; a resume past them gets a gap', async () => {
    const budget = 1024 * 1024;
    const s = await startTestServer({ rate: 0, retentionBytes: budget, roomRetentionBytes: 256 * 1024, maxPayload: 128 * 1024 });
    const c = await Client.open(s.url);
    const payload = 'x'.repeat(60 * 1024);
    for (let r = 0; r < 10; r++) {
      await c.join(`room-${r}`);
      for (let i = 0; i < 8; i++) c.send({ type: 'publish', id: `${r}-${i}`, room: `room-${r}`, payload, echo: false });
      await c.request({ type: 'ping', id: `sync-${r}` }, 5000);
    }
    const st = s.stats();
    expect(st.retention!.bytes).toBeLessThanOrEqual(budget);
    expect(st.retention!.evictedMessages).toBeGreaterThan(0);
    expect(st.limits).toMatchObject({ retentionBytes: budget, roomRetentionBytes: 256 * 1024, retention: 1000, maxDepth: 32 });
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toMatch(/wsbench_server_retention_evicted_messages_total\{node="n0"\} [1-9]/);
    // room-0's oldest messages were evicted (node budget, oldest first): resuming from 0 reports them as a gap.
    const d = await Client.open(s.url);
    const joined = await d.join('room-0', { since: 0 });
    expect(joined).toMatchObject({ type: 'joined', seq: 8 });
    expect(await d.next((f) => f.type === 'gap')).toMatchObject({ room: 'room-0', from: 1 });
  });

  it('socketio: the recovery buffer (every broadcast, kept 2 min by Socket.IO) stays under recovery-bytes', async () => {
    const s = await startSio({ rate: 0, recoveryBytes: 100_000 });
    const a = await SioClient.open(s.url);
    expect(await a.join('r')).toMatchObject({ success: true });
    const content = 'z'.repeat(10_000);
    for (let i = 0; i < 30; i++) expect(await a.ack('message', { roomId: 'r', content })).toMatchObject({ success: true });
    const rb = s.stats().recoveryBuffer!;
    expect(rb.bytes).toBeLessThanOrEqual(100_000);
    expect(rb.evicted).toBeGreaterThanOrEqual(20);
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toMatch(/wsbench_server_recovery_evicted_total\{node="n0"\} [1-9]/);
  });

  it('socketio: the offline queue refuses with queue_full past offline-max-per-user; /stats and /metrics show it', async () => {
    const s = await startSio({ rate: 0, offlineMaxPerUser: 3, offlineBytes: 1024 * 1024 });
    const a = await SioClient.open(s.url);
    const replies = [];
    for (let i = 0; i < 5; i++) replies.push(await a.ack('private-message', { targetUserId: 'ghost', content: `m${i}` }));
    expect(replies.slice(0, 3).every((r) => r.queued === true)).toBe(true);
    expect(replies[3]).toMatchObject({ success: false, error: 'queue_full', message: expect.stringMatching(/offline-max-per-user 3/) });
    expect(s.stats().offline).toMatchObject({ messages: 3, refused: 2 });
    const metrics = await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text();
    expect(metrics).toMatch(/wsbench_server_offline_refused_total\{node="n0"\} 2/);
    const ghost = await SioClient.open(s.url, { user: 'ghost' });
    await until(() => ghost.all('private-message').length === 3, 3000, 'three queued messages');
  });
});
