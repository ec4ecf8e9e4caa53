/**
 * A binary private message to a user who is offline is queued and handed over later as
 * bytes, identical to what was sent, as a live one arrives: in the single node's memory
 * queue and in the Redis queue two nodes share (servers/socketio/offline-queue.ts).
 */
import { describe, it, expect, afterEach } from 'vitest';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, startSio, until, spawnMain } from './helpers.ts';

afterEach(cleanup);

/** Bytes that are not valid UTF-8 and include every byte value, so any text detour would show. */
const BYTES = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));

/** Alice sends bob (offline) a binary and a text private message, then one live once he is back; all checked on bob's side. */
async function offlineThenLive(senderUrl: string, receiverUrl: string): Promise<void> {
  const alice = await Client.open(senderUrl, { user: 'alice' });
  expect(await alice.ack('private-message', { targetUserId: 'bob', content: BYTES })).toMatchObject({ success: true, delivered: false, queued: true });
  expect(await alice.ack('private-message', { targetUserId: 'bob', content: 'text' })).toMatchObject({ delivered: false });
  const bob = await Client.open(receiverUrl, { user: 'bob' });
  await until(() => bob.all('private-message').length === 2, 5000, 'the two queued messages');
  const [bin, text] = bob.all('private-message').map(([m]) => m);
  expect(bin).toMatchObject({ fromUserId: 'alice', targetUserId: 'bob', offline: true });
  expect(Buffer.isBuffer(bin.content)).toBe(true);
  expect(Buffer.compare(bin.content, BYTES)).toBe(0);
  expect(bin).not.toHaveProperty('binary');
  expect(text).toMatchObject({ content: 'text', offline: true });
  // The live one, for comparison: bytes as well.
  expect(await alice.ack('private-message', { targetUserId: 'bob', content: BYTES.subarray(0, 10) })).toMatchObject({ delivered: true });
  await until(() => bob.all('private-message').length === 3, 5000, 'the live message');
  const live = bob.all('private-message')[2]![0];
  expect(Buffer.isBuffer(live.content) && Buffer.compare(live.content, BYTES.subarray(0, 10))).toBe(0);
}

describe('socket.io flavour: binary private messages queued offline', () => {
  it('one node (memory queue): handed over as the same bytes', async () => {
    const s = await startSio({ rate: 0 });
    await offlineThenLive(s.url, s.url);
  });

  it.skipIf(redisSkipReason())('two nodes over Redis (queued on one, handed over by the other): the same bytes', async () => {
    const redis = await startRedisForTest();
    const nodes = await Promise.all(
      ['a', 'b'].map(async (id) => {
        const m = spawnMain(['--protocol', 'socketio', '--redis', redis.url, '--node-id', `pm-${id}`, '--rate', '0']);
        const [url] = await m.firstLines(2);
        return { m, url: url! };
      }),
    );
    await offlineThenLive(nodes[0]!.url, nodes[1]!.url);
    for (const n of nodes) n.m.child.kill('SIGTERM');
    for (const n of nodes) expect((await n.m.exited).code).toBe(0);
  }, 40_000);
});
