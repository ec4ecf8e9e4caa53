/** Heartbeat: a peer that does not answer pings is evicted within (1x, 2x] the interval; healthy peers stay. */
import { describe, it, expect, afterEach } from 'vitest';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Client, cleanup, startTestServer, sleep } from './helpers.ts';

afterEach(cleanup);

describe('heartbeat', () => {
  it('evicts a silent peer after more than one and at most two intervals, never a healthy one', async () => {
    const intervalMs = 400;
    const s = await startTestServer({ heartbeatMs: intervalMs });
    const healthy = await Client.open(s.url);
    // Timers of this process (the server's included) run late on a loaded box by up to
    // the event-loop delay seen meanwhile: the upper bound allows that much more.
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const opened = Date.now();
    const zombie = await Client.open(s.url, { ws: { autoPong: false } });
    const { code } = await zombie.closed;
    const evictedAfter = Date.now() - opened;
    lag.disable();
    expect(code).toBe(1006); // terminated, no close frame
    expect(evictedAfter).toBeGreaterThan(intervalMs - 25);
    expect(evictedAfter).toBeLessThanOrEqual(2 * intervalMs + 150 + lag.max / 1e6);
    // The healthy peer survives several more intervals.
    await sleep(3 * intervalMs);
    expect(healthy.ws.readyState).toBe(1);
    expect(await healthy.request({ type: 'ping', id: 1 })).toMatchObject({ type: 'pong' });
    expect(s.stats()).toMatchObject({ heartbeatTerminations: 1, connections: 1 });
  });

  it('sends no pings with heartbeat 0', async () => {
    const s = await startTestServer({ heartbeatMs: 0 });
    const c = await Client.open(s.url, { ws: { autoPong: false } });
    let pings = 0;
    c.ws.on('ping', () => pings++);
    await sleep(300);
    expect(pings).toBe(0);
    expect(c.welcome.heartbeatMs).toBe(0);
  });
});
