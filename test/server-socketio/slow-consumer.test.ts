/**
 * The Socket.IO flavour's slow-consumer limit (`slow-consumer-bytes`): a member whose TCP socket
 * stops reading is cut once Engine.IO holds more than the limit for it, counted in
 * slowConsumerTerminations; healthy members keep receiving; 0 never cuts.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, startSio, until, sleep } from './helpers.ts';

afterEach(cleanup);

/** Stop reading the client's TCP socket (the kernel buffers fill, then the server's); returns a function that destroys it. */
function stall(c: Client): () => void {
  const tcp = (c.socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; destroy(): void } } }).ws._socket;
  tcp.pause();
  return () => tcp.destroy();
}

/** 64 KiB text payload: 160 of them (10 MiB) overflow any loopback socket buffers many times over. */
const BIG = 'x'.repeat(60_000);
const SENDS = 160;

async function flood(pub: Client): Promise<void> {
  for (let i = 0; i < SENDS; i++) {
    const a = await pub.ack('message', { roomId: 'r', content: BIG });
    expect(a.success).toBe(true);
  }
}

describe('socket.io flavour: slow consumers', () => {
  it('cuts a member that stops reading once over slow-consumer-bytes; the healthy member gets everything', async () => {
    const s = await startSio({ rate: 0, userRate: 0, slowConsumerBytes: 1_048_576 });
    const pub = await Client.open(s.url, { user: 'pub' });
    const healthy = await Client.open(s.url, { user: 'healthy' });
    const slow = await Client.open(s.url, { user: 'slow' });
    for (const c of [pub, healthy, slow]) expect((await c.join('r')).success).toBe(true);
    stall(slow);
    await flood(pub);
    await until(() => s.stats().slowConsumerTerminations === 1, 5000, 'one slow consumer cut');
    await until(() => s.stats().connections === 2, 5000, 'the slow member gone');
    await until(() => healthy.all('new-message').length === SENDS, 10_000, 'every message to the healthy member');
    expect(healthy.all('disconnect')).toEqual([]);
  });

  it('slow-consumer-bytes=0 never cuts: the stalled member stays connected', async () => {
    const s = await startSio({ rate: 0, userRate: 0, slowConsumerBytes: 0 });
    const pub = await Client.open(s.url, { user: 'pub' });
    const slow = await Client.open(s.url, { user: 'slow' });
    for (const c of [pub, slow]) expect((await c.join('r')).success).toBe(true);
    const destroy = stall(slow);
    try {
      await flood(pub);
      await sleep(300);
      expect(s.stats().slowConsumerTerminations).toBe(0);
      expect(s.stats().connections).toBe(2);
    } finally {
      // Else the server's close waits for ws's 30 s closing timeout on the stalled socket.
      destroy();
    }
  });
});
