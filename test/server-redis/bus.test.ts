/** Three nodes on one Redis: ordering, holes, resume on another node, one PUBLISH per message. */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, until } from '../server-ws/helpers.ts';
import { cleanup, commandCalls, messages, range, redisClient, seqsOf, startNode } from './helpers.ts';

afterEach(cleanup);

describe.skipIf(redisSkipReason())('Redis bus', () => {
  it('members on three nodes get every message once, in seq order, with publishers on every node at once', async () => {
    const redis = await startRedisForTest();
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(redis.url)));
    const members: Client[] = [];
    for (const n of nodes) for (let i = 0; i < 2; i++) members.push(await Client.open(n.server.url));
    for (const m of members) await m.join('room');
    const PER = 40;
    const publishers = [members[0]!, members[2]!, members[4]!];
    for (let i = 0; i < PER; i++) for (const [k, p] of publishers.entries()) p.send({ type: 'publish', id: `${k}-${i}`, room: 'room', payload: { k, i } });
    const total = PER * publishers.length;
    for (const m of members) {
      await until(() => messages(m).length >= total, 10_000, `${total} messages`);
      expect(seqsOf(m)).toEqual(range(1, total));
      expect(m.frames.filter((f) => f.type === 'gap')).toEqual([]);
    }
    // Each publisher's own payloads arrive in the order it sent them.
    for (const k of [0, 1, 2]) expect(messages(members[1]!).filter((f) => f.payload.k === k).map((f) => f.payload.i)).toEqual(range(0, PER - 1));
    const st = nodes[1]!.server.stats() as any;
    expect(st.bus).toBe('redis');
    expect(st.busStats).toMatchObject({ redisStatus: 'ready', subscriberStatus: 'ready', publishFailed: 0 });
    expect(st.busStats.received).toBe(2 * PER);
    expect(st.busStats.published).toBe(PER);
  });

  it('delivers in seq order when the channel carries N+1 before N, fills a hole from the retention, reports what it cannot fill', async () => {
    const redis = await startRedisForTest();
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => startNode(redis.url)));
    const member = await Client.open(c!.server.url);
    expect(await member.join('r')).toMatchObject({ type: 'joined', seq: 0 });
    const text = (seq: number) => `{"type":"message","room":"r","seq":${seq},"from":"x","payload":${seq}}`;
    const raw = redisClient(redis.url);

    // Two publishers allocate 1 and 2, and retain+publish them the other way round.
    const s1 = await a!.bus.nextSeq('r');
    const s2 = await b!.bus.nextSeq('r');
    expect([s1, s2]).toEqual([1, 2]);
    await b!.bus.append('r', { seq: 2, text: text(2) });
    b!.bus.publish({ kind: 'message', room: 'r', seq: 2, text: text(2), origin: b!.bus.id });
    await new Promise((r) => setTimeout(r, 100));
    expect(seqsOf(member)).toEqual([]); // 2 waits for 1
    await a!.bus.append('r', { seq: 1, text: text(1) });
    a!.bus.publish({ kind: 'message', room: 'r', seq: 1, text: text(1), origin: a!.bus.id });
    await until(() => messages(member).length === 2, 3000, 'messages 1 and 2');
    expect(seqsOf(member)).toEqual([1, 2]);
    expect(c!.bus.stats().outOfOrder).toBe(1);

    // Seq 3 reaches the retention but never the channel (a lost PUBLISH): filled from the retention.
    expect(await a!.bus.nextSeq('r')).toBe(3);
    await raw.zadd('wsb:ret:{r}', 3, text(3));
    expect(await b!.bus.nextSeq('r')).toBe(4);
    await b!.bus.append('r', { seq: 4, text: text(4) });
    await until(() => messages(member).length === 4, 3000, 'messages 3 and 4');
    expect(seqsOf(member)).toEqual([1, 2, 3, 4]);
    expect(c!.bus.stats().holesFilled).toBe(1);

    // Seq 5 is allocated and never retained (its publisher died): a gap frame, then 6.
    expect(await a!.bus.nextSeq('r')).toBe(5);
    expect(await b!.bus.nextSeq('r')).toBe(6);
    await b!.bus.append('r', { seq: 6, text: text(6) });
    await until(() => messages(member).length === 5, 4000, 'message 6');
    expect(member.frames.filter((f) => f.type === 'gap')).toEqual([{ type: 'gap', room: 'r', from: 5, to: 5 }]);
    expect(seqsOf(member)).toEqual([1, 2, 3, 4, 6]);
    expect(c!.bus.stats().holesMissing).toBe(1);
  });

  it('a client resumes with since on a different node; beyond the window it gets a gap first', async () => {
    const redis = await startRedisForTest();
    const [a, b] = await Promise.all([0, 1].map(() => startNode(redis.url, { retention: 10 })));
    const pub = await Client.open(a!.server.url);
    await pub.join('chat');
    for (let i = 1; i <= 25; i++) expect(await pub.request({ type: 'publish', id: i, room: 'chat', payload: i, echo: false })).toMatchObject({ type: 'ack', seq: i });

    const inside = await Client.open(b!.server.url);
    expect(await inside.request({ type: 'join', id: 'j', room: 'chat', since: 20 })).toMatchObject({ type: 'joined', seq: 25 });
    await until(() => messages(inside).length === 5, 3000, '5 replays');
    expect(messages(inside).map((f) => [f.seq, f.payload, f.replay])).toEqual(range(21, 25).map((s) => [s, s, true]));
    expect(inside.frames.filter((f) => f.type === 'gap')).toEqual([]);

    const outside = await Client.open(b!.server.url);
    await outside.request({ type: 'join', id: 'j', room: 'chat', since: 3 });
    await until(() => messages(outside).length === 10, 3000, '10 replays');
    expect(outside.frames[0]).toEqual({ type: 'gap', room: 'chat', from: 4, to: 15 });
    expect(seqsOf(outside)).toEqual(range(16, 25));

    // Live messages follow the replays on the resuming node.
    await pub.request({ type: 'publish', id: 'live', room: 'chat', payload: 26 });
    await until(() => messages(inside).length === 6, 3000, 'live message');
    expect(messages(inside)[5]).toMatchObject({ seq: 26 });
    expect(messages(inside)[5]!.replay).toBeUndefined();
  });

  it('costs one PUBLISH per message, whatever the number of members and nodes', async () => {
    const redis = await startRedisForTest();
    const nodes = await Promise.all([0, 1, 2].map(() => startNode(redis.url)));
    const members: Client[] = [];
    for (const n of nodes) for (let i = 0; i < 10; i++) members.push(await Client.open(n.server.url));
    await Promise.all(members.map((m) => m.join('big')));
    const raw = redisClient(redis.url);
    const before = await commandCalls(raw, 'publish');
    const N = 50;
    for (let i = 0; i < N; i++) members[i % members.length]!.send({ type: 'publish', id: i, room: 'big', payload: i });
    for (const m of members) await until(() => messages(m).length === N, 10_000, `${N} messages`);
    const published = (await commandCalls(raw, 'publish')) - before;
    expect(published).toBe(N); // 30 members on 3 nodes: still 50, not 1,500 or 150
    expect(nodes.reduce((a, n) => a + n.bus.stats().published, 0)).toBe(N);
  });

  it('appendNext allocates a seq and retains its message in one step; while Redis is away it refuses with unavailable', async () => {
    const redis = await startRedisForTest();
    const { bus } = await startNode(redis.url, { retention: 2 });
    expect(await bus.appendNext!('r', '{"seq":', ',"x":1}')).toBe(1);
    expect(await bus.appendNext!('r', '{"seq":', ',"x":2}')).toBe(2);
    expect(await bus.appendNext!('r', '{"seq":', ',"x":3}')).toBe(3);
    // Retention 2: the last two, each text carrying its own seq.
    expect((await bus.history('r', 0)).entries).toEqual([
      { seq: 2, text: '{"seq":2,"x":2}' },
      { seq: 3, text: '{"seq":3,"x":3}' },
    ]);
    await redis.stop();
    await until(() => bus.health().ok === false, 3000, 'the bus to notice');
    await expect(bus.appendNext!('r', '{"seq":', '}')).rejects.toMatchObject({ code: 'unavailable' });
  });
});
