/**
 * Seq order across Socket.IO nodes (servers/socketio/order.ts): two nodes in this
 * process on a real redis-server with the real adapters. A publish whose retention
 * write is slow makes the adapters relay seqs the other way round; members on both
 * nodes must still get them in seq order, and a seq whose node died after retaining
 * it comes from the retention.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, startSio, until } from './helpers.ts';
import { createRedisBus, type RedisBus } from '../../servers/core/redis-bus.ts';
import { createRedisCluster } from '../../servers/socketio/redis.ts';
import { resolveServerOptions } from '../../servers/core/options.ts';
import type { SocketIoServer } from '../../servers/socketio/server.ts';

const buses: RedisBus[] = [];
afterEach(async () => {
  await cleanup();
  await Promise.all(buses.splice(0).map((b) => b.close()));
});

async function bus(url: string, nodeId: string): Promise<RedisBus> {
  const b = createRedisBus({ url, retention: 1000, nodeId, fanout: false, log: () => {} });
  buses.push(b);
  await b.ready(5000);
  return b;
}

async function node(url: string, nodeId: string, adapter: 'redis' | 'redis-streams', b: RedisBus): Promise<SocketIoServer> {
  const options = { nodeId, redis: url, adapter, rate: 0 } as const;
  const cluster = await createRedisCluster(resolveServerOptions(options), () => {});
  return startSio(options, { bus: b, cluster });
}

const seqs = (c: Client) => c.all('new-message').map(([m]) => m.seq as number);
const orderStats = (s: SocketIoServer) => (s.stats() as unknown as { order: Record<string, number> }).order;

describe.skipIf(redisSkipReason())('Socket.IO nodes deliver each room in seq order', () => {
  for (const adapter of ['redis', 'redis-streams'] as const) {
    it(`--adapter ${adapter}: a later seq relayed first waits for the earlier one, on both nodes`, async () => {
      const redis = await startRedisForTest();
      const busA = await bus(redis.url, 'a');
      // Node a's second publish is slow after its seq is allocated (and retained).
      const appendNext = busA.appendNext!.bind(busA);
      busA.appendNext = async (room, prefix, suffix) => {
        const seq = await appendNext(room, prefix, suffix);
        if (seq === 2) await new Promise((r) => setTimeout(r, 150));
        return seq;
      };
      const a = await node(redis.url, 'a', adapter, busA);
      const b = await node(redis.url, 'b', adapter, await bus(redis.url, 'b'));
      const onA = await Client.open(a.url, { user: 'x' });
      const onB = await Client.open(b.url, { user: 'y' });
      for (const c of [onA, onB]) await c.join('r');
      await onA.ack('message', { roomId: 'r', content: 1 });
      const second = onA.ack('message', { roomId: 'r', content: 2 });
      await new Promise((r) => setTimeout(r, 30));
      await onB.ack('message', { roomId: 'r', content: 3 });
      await second;
      for (const c of [onA, onB]) {
        await until(() => seqs(c).length === 3, 3000, 'three messages');
        expect(seqs(c)).toEqual([1, 2, 3]);
      }
      // Seq 3 reached each node before seq 2 and waited for it.
      expect(orderStats(a).held + orderStats(b).held).toBeGreaterThanOrEqual(2);
      expect(orderStats(b).gapped).toBe(0);
    }, 20_000);
  }

  it('a seq retained by a node that then died is read from the retention; one never retained is reported as a gap', async () => {
    const redis = await startRedisForTest();
    const b = await node(redis.url, 'b', 'redis', await bus(redis.url, 'b'));
    // A node that allocates and retains but never fans out (it was killed right after).
    const ghost = await bus(redis.url, 'ghost');
    const onB = await Client.open(b.url, { user: 'y' });
    await onB.join('r');
    await onB.ack('message', { roomId: 'r', content: 1 });
    const s2 = await ghost.nextSeq('r');
    await ghost.append('r', { seq: s2, text: JSON.stringify({ id: 'g', roomId: 'r', userId: 'ghost', content: 'retained', type: 'text', seq: s2, timestamp: Date.now() }) });
    await ghost.nextSeq('r'); // seq 3: allocated, never retained
    await onB.ack('message', { roomId: 'r', content: 4 });
    await until(() => seqs(onB).length === 3, 3000, 'three messages');
    expect(seqs(onB)).toEqual([1, 2, 4]);
    expect(onB.all('new-message')[1]![0]).toMatchObject({ content: 'retained', userId: 'ghost' });
    expect(onB.all('gap')).toEqual([[{ roomId: 'r', from: 3, to: 3 }]]);
    expect(orderStats(b)).toMatchObject({ filled: 1, gapped: 1 });
  }, 20_000);
});
