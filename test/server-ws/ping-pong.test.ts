/**
 * Protocol-level pings from a client: the server answers each with a pong carrying the
 * same data (servers/ws/server.ts onPing; ws's autoPong is off to save memory per
 * connection), pings count as inbound frames, and a ping flood is cut like a frame flood.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { Client, cleanup, startTestServer } from './helpers.ts';

afterEach(cleanup);

/** Send a protocol ping with `data`; resolves with the pong's data. */
function pingPong(c: Client, data: string): Promise<string> {
  return new Promise((resolve) => {
    c.ws.once('pong', (d: Buffer) => resolve(d.toString()));
    c.ws.ping(data);
  });
}

describe('client pings', () => {
  it('every ping gets a pong with its data; events still reach the server after accept', async () => {
    const s = await startTestServer({ heartbeatMs: 0 });
    const c = await Client.open(s.url);
    expect(await pingPong(c, 'one')).toBe('one');
    expect(await pingPong(c, 'two')).toBe('two');
    expect(await c.request({ type: 'ping', id: 3 })).toMatchObject({ type: 'pong', id: 3 });
    expect(s.stats().framesIn).toBeGreaterThanOrEqual(3);
    c.ws.close(1000);
    await c.closed;
    // The close event reached the server: the connection is gone from its stats.
    for (let i = 0; i < 50 && s.stats().connections !== 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(s.stats().connections).toBe(0);
  });

  it('a ping flood past the abuse threshold is closed with 1008', async () => {
    const s = await startTestServer({ heartbeatMs: 0, rate: 5, burst: 5, abuse: 10 });
    const c = await Client.open(s.url);
    for (let i = 0; i < 200 && c.ws.readyState === 1; i++) c.ws.ping('x');
    const { code } = await c.closed;
    expect(code).toBe(1008);
    expect(s.stats().rateLimited).toBeGreaterThan(0);
  });
});
