/**
 * `join-room` with {since} on the Socket.IO flavour (servers/socketio/resume.ts): the
 * retained messages after `since` come first, flagged replay, then live ones, each seq
 * once and in order, also while publishers keep going and across nodes sharing a Redis.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, startSio, spawnMain, until, getJson } from './helpers.ts';
import { createLocalBus } from '../../servers/core/bus.ts';

afterEach(cleanup);

const seqsOf = (c: Client) => c.all('new-message').map(([m]) => m.seq as number);

/** Publish `n` messages from `c` without waiting for each ack (they race the resume). */
function burst(c: Client, n: number): Promise<unknown[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => c.ack('message', { roomId: 'r', content: i })));
}

async function resume(url: string, since: number, user = 'late'): Promise<{ c: Client; ack: any }> {
  const c = await Client.open(url, { user });
  const ack = await c.ack('join-room', 'r', { since });
  return { c, ack };
}

describe('join-room with since, one node', () => {
  it('says so in `connected`; replays (since, S] flagged replay before live messages, each seq once, while a publisher keeps going', async () => {
    const s = await startSio({ rate: 0 });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    await burst(pub, 20);
    const { c, ack } = await (async () => {
      const during = burst(pub, 200);
      const r = await resume(s.url, 5);
      await during;
      return r;
    })();
    expect(ack).toMatchObject({ success: true, room: { id: 'r' } });
    expect(ack.seq).toBeGreaterThanOrEqual(20);
    await burst(pub, 10);
    await until(() => seqsOf(c).includes(230), 5000, 'seq 230');
    const msgs = c.all('new-message').map(([m]) => m);
    // Exactly 6..230, in order: no hole, no duplicate, replays first and up to the join's seq.
    expect(msgs.map((m) => m.seq)).toEqual(Array.from({ length: 225 }, (_, i) => i + 6));
    const replayed = msgs.filter((m) => m.replay === true).map((m) => m.seq);
    expect(replayed[0]).toBe(6);
    expect(replayed.at(-1)).toBe(ack.seq);
    expect(msgs.slice(0, replayed.length).every((m) => m.replay === true)).toBe(true);
    expect(msgs.slice(replayed.length).some((m) => m.replay === true)).toBe(false);
    expect(msgs[0]).toMatchObject({ roomId: 'r', userId: 'pub', type: 'text' });
    const stats = s.stats() as unknown as { resume: Record<string, number> };
    expect(stats.resume).toMatchObject({ resumes: 1, replayed: replayed.length, gapped: 0 });
  });

  it('live messages that arrive while the retention is read wait for the replay, then follow it in order', async () => {
    // A real local bus whose history answers only after the live burst, as a distant Redis
    // might: the race made certain, however slow the machine.
    const bus = createLocalBus({ retention: 1000 });
    const history = bus.history.bind(bus);
    let reading!: () => void;
    const historyRead = new Promise<void>((r) => (reading = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    bus.history = async (room, after) => {
      const r = await history(room, after);
      if (after === 3) {
        // the late member's join with {since: 3}
        reading();
        await released;
      }
      return r;
    };
    const s = await startSio({ rate: 0 }, { bus });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    await burst(pub, 10);
    const late = await Client.open(s.url, { user: 'late' });
    const joined = late.ack('join-room', 'r', { since: 3 });
    await historyRead;
    await burst(pub, 20);
    release();
    const ack = await joined;
    expect(ack.seq).toBe(10);
    await until(() => seqsOf(late).includes(30), 3000, 'seq 30');
    expect(seqsOf(late)).toEqual(Array.from({ length: 27 }, (_, i) => i + 4));
    const msgs = late.all('new-message').map(([m]) => m);
    expect(msgs.filter((m) => m.replay).map((m) => m.seq)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect((s.stats() as unknown as { resume: Record<string, number> }).resume).toMatchObject({ held: 20, replayed: 7, duplicatesDropped: 0 });
    await bus.close();
  });

  it('a seq allocated but not yet retained when the join reads the retention is waited for, not reported lost', async () => {
    const bus = createLocalBus({ retention: 1000 });
    const append = bus.append.bind(bus);
    bus.append = async (room, e) => {
      if (e.seq === 5) await new Promise((res) => setTimeout(res, 120));
      return append(room, e);
    };
    const s = await startSio({ rate: 0 }, { bus });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    await burst(pub, 4);
    const fifth = pub.ack('message', { roomId: 'r', content: 5 });
    await new Promise((r) => setTimeout(r, 20));
    const { c, ack } = await resume(s.url, 0);
    expect(ack.seq).toBe(5);
    await fifth;
    await until(() => seqsOf(c).length === 5, 3000, 'five messages');
    expect(seqsOf(c)).toEqual([1, 2, 3, 4, 5]);
    expect(c.all('gap')).toEqual([]);
    await bus.close();
  });

  it('the `connected` event lists join-since among its features', async () => {
    const s = await startSio();
    const c = Client.create(s.url);
    const [info] = await c.next('connected');
    expect(info.features).toContain('join-since');
  });

  it('seqs older than the retention are reported with one gap event, then the retained ones replayed', async () => {
    const s = await startSio({ rate: 0, retention: 3 });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    for (let i = 0; i < 10; i++) await pub.ack('message', { roomId: 'r', content: i });
    const { c, ack } = await resume(s.url, 2);
    expect(ack.seq).toBe(10);
    await until(() => seqsOf(c).length === 3, 3000, 'three replays');
    expect(c.all('gap')).toEqual([[{ roomId: 'r', from: 3, to: 7 }]]);
    expect(seqsOf(c)).toEqual([8, 9, 10]);
    // The gap came before the replays.
    const order = c.events.filter((e) => e.name === 'gap' || e.name === 'new-message').map((e) => e.name);
    expect(order[0]).toBe('gap');
  });

  it('with retention 0 everything missed is one gap; live messages still follow', async () => {
    const s = await startSio({ rate: 0, retention: 0 });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    for (let i = 0; i < 4; i++) await pub.ack('message', { roomId: 'r', content: i });
    const { c } = await resume(s.url, 1);
    expect(await c.next('gap')).toEqual([{ roomId: 'r', from: 2, to: 4 }]);
    await pub.ack('message', { roomId: 'r', content: 'live' });
    await until(() => seqsOf(c).length === 1, 3000, 'the live message');
    expect(seqsOf(c)).toEqual([5]);
    expect((s.stats() as unknown as { resume: Record<string, number> }).resume.gapped).toBe(3);
  });

  it('a member already in the room (recovered, or a repeated join) gets no replay; bad since is refused', async () => {
    const s = await startSio({ rate: 0 });
    const pub = await Client.open(s.url, { user: 'pub' });
    await pub.join('r');
    await pub.ack('message', { roomId: 'r', content: 1 });
    expect(await pub.ack('join-room', 'r', { since: 0 })).toMatchObject({ success: true, seq: 1 });
    await new Promise((r) => setTimeout(r, 100));
    expect(pub.all('new-message').filter(([m]) => m.replay)).toEqual([]);
    for (const bad of [-1, 1.5, 'x']) {
      const res = await pub.ack('join-room', 'q', { since: bad });
      expect(res).toMatchObject({ success: false, error: 'bad_request' });
      expect(res.message).toMatch(/since must be a non-negative integer/);
    }
    expect(await pub.ack('join-room', 'q', 7)).toMatchObject({ error: 'bad_request', message: expect.stringMatching(/options must be an object/) });
  });
});

describe.skipIf(redisSkipReason())('join-room with since across nodes sharing a Redis', () => {
  for (const adapter of ['redis', 'redis-streams']) {
    it(`--adapter ${adapter}: a member resumes on the other node with nothing lost or repeated while the publisher keeps going`, async () => {
      const redis = await startRedisForTest();
      const start = async (id: string) => {
        const m = spawnMain(['--protocol', 'socketio', '--redis', redis.url, '--adapter', adapter, '--node-id', id, '--rate', '0']);
        const [url] = await m.firstLines(2);
        return { m, url: url! };
      };
      const [a, b] = await Promise.all([start('a'), start('b')]);
      const pub = await Client.open(a.url, { user: 'pub' });
      await pub.join('r');
      await burst(pub, 30);
      const during = burst(pub, 150);
      const { c, ack } = await resume(b.url, 10);
      await during;
      expect(ack.success).toBe(true);
      await until(() => seqsOf(c).includes(180), 5000, 'seq 180');
      expect(seqsOf(c)).toEqual(Array.from({ length: 170 }, (_, i) => i + 11));
      const stats = (await getJson(Number(new URL(b.url).port), '/stats')).body as { resume: Record<string, number> };
      expect(stats.resume.resumes).toBe(1);
      expect(stats.resume.replayed).toBeGreaterThanOrEqual(20);
      for (const n of [a, b]) n.m.child.kill('SIGTERM');
      for (const n of [a, b]) expect((await n.m.exited).code).toBe(0);
    }, 30_000);
  }
});
