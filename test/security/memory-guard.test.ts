/** The memory guard (servers/core/memory-guard.ts) with an injected memory reading: when it pauses, resumes, and what it excludes. */
import { describe, it, expect } from 'vitest';
import { startMemoryGuard } from '../../servers/core/memory-guard.ts';

const MIB = 1024 * 1024;

function guarded(inflightBytes: number, held = () => 0, heldHeap = () => 0) {
  const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB };
  const calls: string[] = [];
  const g = startMemoryGuard({
    inflightBytes,
    held,
    heldHeap,
    usage: () => ({ ...use }),
    pause: () => calls.push('pause'),
    resume: () => calls.push('resume'),
    collect: () => calls.push('gc'),
    sampleMs: 60_000,
    maxPauseMs: 100,
  });
  return { g, use, calls };
}

describe('memory guard', () => {
  it('pauses (and collects) over the cap, resumes at half of it; counts pauses and paused time', () => {
    const { g, use, calls } = guarded(16 * MIB);
    g.sample(0);
    expect(calls).toEqual([]);
    use.arrayBuffers += 10 * MIB;
    use.heapUsed += 7 * MIB;
    g.sample(10);
    expect(calls).toEqual(['pause', 'gc']);
    expect(g.paused).toBe(true);
    use.heapUsed -= 7 * MIB;
    g.sample(20);
    expect(g.paused).toBe(true); // 10 MiB > 8 MiB (half)
    use.arrayBuffers -= 3 * MIB;
    g.sample(50);
    expect(calls).toEqual(['pause', 'gc', 'resume']);
    expect(g.stats()).toMatchObject({ inflightBytes: 16 * MIB, inflightNow: 7 * MIB, inflightPeak: 17 * MIB, pauses: 1, pausedMs: 40, paused: false });
    g.stop();
  });
  it('resumes after maxPauseMs even when memory has not come down', () => {
    const { g, use, calls } = guarded(1 * MIB);
    use.arrayBuffers += 5 * MIB;
    g.sample(0);
    g.sample(50);
    expect(g.paused).toBe(true);
    g.sample(100);
    expect(calls).toEqual(['pause', 'gc', 'resume']);
    g.stop();
  });
  it('what the budgeted stores hold is not in flight', () => {
    let ring = 0;
    let strings = 0;
    const { g, use, calls } = guarded(4 * MIB, () => ring, () => strings);
    ring = 64 * MIB;
    use.arrayBuffers += 64 * MIB + 2 * MIB;
    strings = 16 * MIB;
    use.heapUsed += 16 * MIB + 1 * MIB;
    g.sample(0);
    expect(calls).toEqual([]);
    expect(g.stats().inflightNow).toBe(3 * MIB);
    g.stop();
  });
  it('each open connection\'s own state is not in flight: a ramp of 20,000 connections does not pause reading, a flood still does', () => {
    let conns = 0;
    const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB };
    const calls: string[] = [];
    const g = startMemoryGuard({ inflightBytes: 16 * MIB, held: () => 0, connections: () => conns, usage: () => ({ ...use }), pause: () => calls.push('pause'), resume: () => calls.push('resume'), collect: () => {}, sampleMs: 60_000 });
    // 20,000 connections at about 3 KiB of heap each: 60 MiB, within their 16 KiB allowance.
    conns = 20_000;
    use.heapUsed += 60 * MIB;
    g.sample(0);
    expect(calls).toEqual([]);
    // A flood on top of them: 20,000 x 16 KiB = 312.5 MiB allowed; 320 MiB more in flight is over by 7.5 + 60 MiB.
    use.arrayBuffers += 320 * MIB;
    g.sample(10);
    expect(calls).toEqual(['pause']);
    g.stop();
  });
  it('off at 0: never pauses; stop() resumes a paused node', () => {
    const off = guarded(0);
    off.use.arrayBuffers += 1000 * MIB;
    off.g.stop();
    expect(off.calls).toEqual([]);
    const on = guarded(1 * MIB);
    on.use.arrayBuffers += 5 * MIB;
    on.g.sample(0);
    on.g.stop();
    expect(on.calls).toEqual(['pause', 'gc', 'resume']);
  });
});

describe('memory guard on a real server', () => {
  it('native: a node over inflight-bytes pauses reading, loses nothing, and shows it in /stats', async () => {
    const { startTestServer, Client, cleanup, until } = await import('../server-ws/helpers.ts');
    try {
      // 1 byte: any growth since the server started counts as over, so the guard pauses.
      const server = await startTestServer({ inflightBytes: 1 });
      const c = await Client.open(server.url);
      await c.join('r');
      const payload = 'p'.repeat(10_000);
      for (let i = 0; i < 30; i++) c.send({ type: 'publish', id: i, room: 'r', payload });
      await until(() => c.frames.filter((f) => f.type === 'ack').length === 30, 20_000, '30 acks');
      await until(() => (server.stats().memoryGuard?.pauses ?? 0) > 0, 5000, 'a pause');
      const st = server.stats();
      expect(st.limits?.inflightBytes).toBe(1);
      expect(st.memoryGuard).toMatchObject({ inflightBytes: 1 });
      expect(c.frames.filter((f) => f.type === 'ack').map((f) => f.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    } finally {
      await cleanup();
    }
  });
  it('inflight-bytes 0: no guard in /stats', async () => {
    const { startTestServer, cleanup } = await import('../server-ws/helpers.ts');
    try {
      const server = await startTestServer({ inflightBytes: 0 });
      expect(server.stats().memoryGuard).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});
