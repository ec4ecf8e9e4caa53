/**
 * Ack after relay with the Redis pub/sub adapter (servers/socketio/relay-gate.ts): node A
 * reaches Redis through a TCP proxy that can hold A's PUBLISH commands. While the PUBLISH
 * of a message is held, its publisher gets no ack (a node that acked here could lose the
 * message for the other nodes if Redis died now), and no own `new-message` either; once
 * Redis has it, the ack comes first, then the message, on both nodes.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, until, spawnMain, sleep } from './helpers.ts';

afterEach(cleanup);

/** A RESP PUBLISH command (ioredis writes command names in lower case). */
const PUBLISH = /\$7\r\npublish\r\n/i;

/** A TCP proxy to `port`; while `hold` is on, a connection's bytes to Redis from its first PUBLISH on wait for release(). */
async function publishHoldingProxy(port: number): Promise<{ url: string; hold(on: boolean): void; close(): void }> {
  let holding = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    sockets.add(inbound).add(outbound);
    let parked: Buffer[] | null = null;
    inbound.on('data', (chunk: Buffer) => {
      if (parked) return void parked.push(chunk);
      if (holding && PUBLISH.test(chunk.toString('latin1'))) {
        parked = [chunk];
        held.push(() => {
          for (const c of parked!) outbound.write(c);
          parked = null;
        });
        return;
      }
      outbound.write(chunk);
    });
    outbound.on('data', (chunk) => inbound.write(chunk));
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', end).on('error', end);
    outbound.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(server.address() as { port: number }).port}`,
    hold(on) {
      holding = on;
      if (!on) for (const release of held.splice(0)) release();
    },
    close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

describe.skipIf(redisSkipReason())('socket.io flavour, pub/sub adapter: ack after relay', () => {
  it('the ack waits for Redis to take the PUBLISH, and still precedes the sender’s own new-message', async () => {
    const redis = await startRedisForTest();
    const proxy = await publishHoldingProxy(Number(new URL(redis.url).port));
    try {
      const a = spawnMain(['--protocol', 'socketio', '--redis', proxy.url, '--adapter', 'redis', '--node-id', 'a', '--rate', '0']);
      const b = spawnMain(['--protocol', 'socketio', '--redis', redis.url, '--adapter', 'redis', '--node-id', 'b', '--rate', '0']);
      const [[urlA], [urlB]] = await Promise.all([a.firstLines(2), b.firstLines(2)]);
      const x = await Client.open(urlA!, { user: 'x' });
      const y = await Client.open(urlB!, { user: 'y' });
      await x.join('r');
      await y.join('r');
      await sleep(100);
      expect(await x.ack('message', { roomId: 'r', content: 'first' })).toMatchObject({ success: true, seq: 1 });
      await until(() => y.all('new-message').length === 1, 3000, 'the first message on node b');

      proxy.hold(true);
      let acked: any;
      let ownAtAck = -1;
      // A plain callback runs as the ack packet is decoded (a promise's then would run after the next packet).
      const ack = new Promise<void>((resolve) =>
        x.socket.timeout(10_000).emit('message', { roomId: 'r', content: 'held' }, (err: Error | null, r: unknown) => {
          acked = err ?? r;
          ownAtAck = x.all('new-message').length;
          resolve();
        }),
      );
      await sleep(600);
      expect(acked).toBeUndefined();
      expect(x.all('new-message').map(([m]) => m.content)).toEqual(['first']);
      expect(y.all('new-message')).toHaveLength(1);

      proxy.hold(false);
      await ack;
      expect(acked).toMatchObject({ success: true, seq: 2 });
      await until(() => x.all('new-message').length === 2 && y.all('new-message').length === 2, 3000, 'the held message on both nodes');
      // The ack came before the sender's own copy.
      expect(ownAtAck).toBe(1);
      expect(x.all('new-message').map(([m]) => m.seq)).toEqual([1, 2]);
      for (const n of [a, b]) n.child.kill('SIGTERM');
      for (const n of [a, b]) expect((await n.exited).code).toBe(0);
    } finally {
      proxy.close();
    }
  }, 40_000);
});
