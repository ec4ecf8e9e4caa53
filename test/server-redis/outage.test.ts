/** Redis goes away and comes back (empty: no persistence): degraded, refused publishes, nothing accepted lost. */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, getJson, until, type Frame } from '../server-ws/helpers.ts';
import { createBus } from '../../servers/core/bus-factory.ts';
import { resolveServerOptions } from '../../servers/core/options.ts';
import { freePort } from '../helpers/index.ts';
import { cleanup, messages, seqsOf, startNode } from './helpers.ts';

afterEach(cleanup);

describe.skipIf(redisSkipReason())('Redis outage', () => {
  it('healthz goes degraded then ok, publishes meanwhile are refused, fan-out resumes with seqs that do not collide', async () => {
    const redis = await startRedisForTest();
    const [a, b] = await Promise.all([0, 1].map(() => startNode(redis.url)));
    const pa = await Client.open(a!.server.url);
    const pb = await Client.open(b!.server.url);
    const ma = await Client.open(a!.server.url);
    const mb = await Client.open(b!.server.url);
    for (const c of [pa, pb, ma, mb]) await c.join('r');
    const acked: number[] = [];
    let n = 0;
    const publish = async (c: Client): Promise<Frame> => {
      const reply = await c.request({ type: 'publish', id: `p${++n}`, room: 'r', payload: n, echo: false }, 5000);
      if (reply.type === 'ack') acked.push(reply.seq);
      return reply;
    };
    for (let i = 0; i < 4; i++) await publish(i % 2 ? pa : pb);
    expect(acked).toEqual([1, 2, 3, 4]);

    const restarted = redis.restart(1200);
    await until(async () => (await getJson(a!.server.port, '/healthz')).status === 503, 3000, 'node a degraded');
    const { body } = await getJson(b!.server.port, '/healthz');
    expect(body).toMatchObject({ status: 'degraded' });
    expect(body.reason).toMatch(/redis/);
    // Refused, not given a local seq that could collide.
    const refused = await publish(pa);
    expect(refused).toMatchObject({ type: 'error', code: 'unavailable' });
    // The node keeps serving its connections.
    expect(await ma.request({ type: 'ping', id: 'still-here' })).toMatchObject({ type: 'pong' });

    await restarted;
    for (const nd of [a!, b!]) await until(async () => (await getJson(nd.server.port, '/healthz')).status === 200, 8000, 'healthz ok again');
    for (let i = 0; i < 6; i++) expect(await publish(i % 2 ? pa : pb)).toMatchObject({ type: 'ack' });
    // Redis restarted empty: the nodes raised the room's seq back to what they knew, so seqs continue.
    expect(acked.slice(4)).toEqual([5, 6, 7, 8, 9, 10]);
    for (const m of [ma, mb]) {
      await until(() => messages(m).length >= acked.length, 5000, 'every accepted message');
      expect(seqsOf(m)).toEqual(acked);
      expect(m.frames.filter((f) => f.type === 'gap')).toEqual([]);
    }
    const st = a!.bus.stats();
    expect(st.restores).toBe(1);
    expect(st.reconnects).toBeGreaterThanOrEqual(2);
    expect(st.refused).toBeGreaterThanOrEqual(1);
    expect(st.redisStatus).toBe('ready');
  });

  it('a node does not start when Redis is not reachable', async () => {
    const port = await freePort();
    const options = resolveServerOptions({ redis: `redis://127.0.0.1:${port}` });
    await expect(createBus(options, 'single', { log: () => {}, connectTimeoutMs: 400 })).rejects.toThrow(/not reachable within 400 ms/);
  });
});
