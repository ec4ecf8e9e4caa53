/** Two Socket.IO nodes sharing one Redis: adapter fan-out, global room seqs, the offline queue across nodes. */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, until, spawnMain, getJson } from './helpers.ts';

afterEach(cleanup);

async function node(redisUrl: string, id: string, adapter: string) {
  const m = spawnMain(['--protocol', 'socketio', '--redis', redisUrl, '--adapter', adapter, '--node-id', id, '--rate', '0']);
  const [url, tokenLine] = await m.firstLines(2);
  return { m, url: url!, token: tokenLine!.slice('token: '.length) };
}

describe.skipIf(redisSkipReason())('socket.io flavour on two nodes sharing a Redis', () => {
  for (const adapter of ['redis', 'redis-streams']) {
    it(`--adapter ${adapter}: members on either node get every message exactly once, seqs global; a private message queued on one node is delivered by the other`, async () => {
      const redis = await startRedisForTest();
      const [n1, n2] = await Promise.all([node(redis.url, 'a', adapter), node(redis.url, 'b', adapter)]);
      const x = await Client.open(n1.url, { user: 'x' });
      const y = await Client.open(n2.url, { user: 'y' });
      await x.join('r');
      await y.join('r');
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 10; i++) await (i % 2 ? x : y).ack('message', { roomId: 'r', content: i });
      for (const c of [x, y]) {
        await until(() => c.all('new-message').length === 10, 5000, '10 messages');
        // Every seq exactly once and in seq order, though they came from two nodes (servers/socketio/order.ts).
        expect(c.all('new-message').map(([m]) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      }
      expect(await x.ack('private-message', { targetUserId: 'y', content: 'online' })).toMatchObject({ delivered: true });
      await y.next('private-message');
      expect(await x.ack('private-message', { targetUserId: 'z', content: 'later' })).toMatchObject({ delivered: false });
      const z = await Client.open(n2.url, { user: 'z' });
      expect((await z.next('private-message'))[0]).toMatchObject({ content: 'later', fromUserId: 'x', offline: true });
      expect((await getJson(Number(new URL(n1.url).port), '/stats')).body.bus).toBe('redis');
      for (const n of [n1, n2]) n.m.child.kill('SIGTERM');
      for (const n of [n1, n2]) expect((await n.m.exited).code).toBe(0);
    }, 30_000);
  }
});
