/** The memory guard (servers/core/memory-guard.ts) with an injected memory reading: when it pauses, resumes, and what it excludes. */
import { describe, it, expect } from 'vitest';
import { startMemoryGuard, rssCeilingBase, GUARD_CHECK_BYTES } from '../../servers/core/memory-guard.ts';

const MIB = 1024 * 1024;

function guarded(inflightBytes: number, held = () => 0, heldHeap = () => 0) {
  const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB, rss: 100 * MIB };
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
    const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB, rss: 100 * MIB };
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
  describe('RSS backstop', () => {
    /** inflight-bytes 16 MiB (margin 12 MiB), budgets 64 MiB, idle RSS 100 MiB, one connection: the ceiling is 180 MiB + 32 KiB, pauses past 168, resumes at 164. */
    function backstop(conns = () => 1) {
      const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB, rss: 100 * MIB };
      const calls: string[] = [];
      const g = startMemoryGuard({ inflightBytes: 16 * MIB, budgetBytes: 64 * MIB, held: () => 0, connections: conns, perConnectionRssBytes: 32 * 1024, usage: () => ({ ...use }), pause: () => calls.push('pause'), resume: () => calls.push('resume'), collect: () => calls.push('gc'), sampleMs: 60_000, maxPauseMs: 100 });
      return { g, use, calls };
    }
    it('pauses (and collects) when RSS nears idle + budgets + inflight-bytes though nothing counts as in flight; resumes once RSS is back at idle + budgets', () => {
      const { g, use, calls } = backstop();
      use.rss += 68 * MIB; // 168 MiB: not past the line yet
      g.sample(0);
      expect(calls).toEqual([]);
      use.rss += 1 * MIB;
      g.sample(10);
      expect(calls).toEqual(['pause', 'gc']);
      expect(g.stats()).toMatchObject({ inflightNow: 0, pauses: 1, rssPauses: 1, rssBaseline: 100 * MIB, rssCeiling: 180 * MIB + 32 * 1024, rssPeak: 169 * MIB });
      use.rss -= 3 * MIB; // 166: in-flight is fine, RSS not yet down to 164
      g.sample(20);
      expect(g.paused).toBe(true);
      use.rss -= 2 * MIB;
      g.sample(30);
      expect(calls).toEqual(['pause', 'gc', 'resume']);
      g.stop();
    });
    it('the idle baseline is the highest RSS before the first connection; each connection raises the ceiling by its allowance', () => {
      let n = 0;
      const { g, use } = backstop(() => n);
      use.rss += 4 * MIB;
      g.sample(0);
      expect(g.stats().rssBaseline).toBe(104 * MIB);
      n = 1000;
      use.rss += 10 * MIB;
      g.sample(10);
      n = 0;
      g.sample(20);
      expect(g.stats().rssBaseline).toBe(104 * MIB); // fixed once a client came
      n = 1000;
      g.sample(30);
      expect(g.stats().rssCeiling).toBe(104 * MIB + 80 * MIB + 1000 * 32 * 1024);
      g.stop();
    });
    it('RSS a pause cannot bring down (memory the allocator keeps): the timer does not pause again until RSS grows another margin; reading past GUARD_CHECK_BYTES does', () => {
      const { g, use, calls } = backstop();
      use.rss += 75 * MIB; // 175
      g.sample(0);
      g.sample(100); // timed out, RSS still 175
      expect(calls).toEqual(['pause', 'gc', 'resume']);
      g.sample(200);
      g.sample(300);
      expect(calls).toHaveLength(3); // a quiet node over the line keeps serving
      g.received(GUARD_CHECK_BYTES - 1);
      expect(calls).toHaveLength(3);
      g.received(1); // a client reading on: checked at once, and paused
      expect(calls).toEqual(['pause', 'gc', 'resume', 'pause', 'gc']);
      g.sample(Date.now() + 100);
      use.rss += 13 * MIB; // 188: grown more than a margin past where it stuck
      g.sample(Date.now() + 200);
      expect(calls.filter((c) => c === 'pause')).toHaveLength(3);
      expect(g.stats()).toMatchObject({ rssPauses: 3, rssPeak: 188 * MIB });
      g.stop();
    });
  });
  describe('traffic-bytes and what is queued for clients', () => {
    /** inflight 16 MiB (margin 12), budgets 64, traffic 48, idle RSS 100, one connection (no allowance): the ceiling is 228 MiB, pauses past 216. */
    function inMotion(queued: () => number) {
      const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB, rss: 100 * MIB };
      const calls: string[] = [];
      const g = startMemoryGuard({ inflightBytes: 16 * MIB, budgetBytes: 64 * MIB, trafficBytes: 48 * MIB, held: () => 0, queued, connections: () => 1, perConnectionRssBytes: 0, usage: () => ({ ...use }), pause: () => calls.push('pause'), resume: () => calls.push('resume'), collect: () => {}, sampleMs: 60_000, maxPauseMs: 100 });
      return { g, use, calls };
    }
    it('the ceiling is idle RSS + the caps held + inflight-bytes + traffic-bytes; traffic in motion under it never pauses', () => {
      expect(rssCeilingBase({ budgetBytes: 64 * MIB, inflightBytes: 16 * MIB, trafficBytes: 48 * MIB })).toBe(128 * MIB);
      expect(rssCeilingBase({ inflightBytes: 16 * MIB })).toBe(16 * MIB);
      const { g, use, calls } = inMotion(() => 0);
      use.rss += 116 * MIB; // 216: a full ring + 52 MiB of traffic in motion, not past 228 - 12
      g.sample(0, true);
      expect(calls).toEqual([]);
      expect(g.stats()).toMatchObject({ trafficBytes: 48 * MIB, rssCeiling: 228 * MIB });
      use.rss += 1 * MIB;
      g.sample(10, true);
      expect(calls).toEqual(['pause']);
      g.stop();
    });
    it('the most queued for clients stays in the ceiling after they are cut (the allocator keeps it) until RSS is back under the ceiling less inflight-bytes', () => {
      let q = 0;
      const { g, use, calls } = inMotion(() => q);
      q = 100 * MIB; // five slow clients near their 32 MiB cap
      use.rss += 200 * MIB; // 300: over 216, but 100 MiB of it queued
      g.sample(0, true);
      expect(calls).toEqual([]);
      expect(g.stats()).toMatchObject({ queuedBytes: 100 * MIB, queuedPeak: 100 * MIB, rssCeiling: 328 * MIB });
      q = 0; // cut: the queues are freed, RSS stays
      g.sample(10, true);
      expect(calls).toEqual([]); // healthy traffic reading on is not throttled
      expect(g.stats()).toMatchObject({ queuedPeak: 100 * MIB, rssCeiling: 328 * MIB });
      use.rss += 20 * MIB; // 320: grown past 328 - 12, a flood on top
      g.sample(20, true);
      expect(calls).toEqual(['pause']);
      g.sample(200);
      use.rss = 210 * MIB; // back under 228 - 16: the allowance goes
      g.sample(300);
      expect(g.stats()).toMatchObject({ queuedPeak: 0, rssCeiling: 228 * MIB, paused: false });
      g.stop();
    });
  });
  it('never stays paused with nothing to read: when the last client leaves reading resumes and what the figure still shows is kept, not in flight; so is what a timed-out pause left', () => {
    let conns = 5000;
    const use = { arrayBuffers: 10 * MIB, heapUsed: 20 * MIB, rss: 100 * MIB };
    const calls: string[] = [];
    const g = startMemoryGuard({ inflightBytes: 16 * MIB, held: () => 0, connections: () => conns, perConnectionBytes: 0, usage: () => ({ ...use }), pause: () => calls.push('pause'), resume: () => calls.push('resume'), collect: () => {}, sampleMs: 60_000, maxPauseMs: 100 });
    use.heapUsed += 17.1e6; // the ramp's maps and caches: 17.1 MB over the 16 MiB cap
    g.sample(0);
    expect(calls).toEqual(['pause']);
    conns = 0; // every client left
    g.sample(10);
    expect(calls).toEqual(['pause', 'resume']);
    expect(g.stats()).toMatchObject({ paused: false, inflightNow: 0, inflightRetained: 17.1e6 });
    conns = 1; // a new client is read at once
    g.sample(20, true);
    expect(g.paused).toBe(false);
    use.heapUsed += 17 * MIB; // a flood from it still pauses
    g.sample(30, true);
    expect(calls).toEqual(['pause', 'resume', 'pause']);
    g.sample(130); // a collection and 100 ms without reading left it there: kept, not in flight
    expect(g.stats()).toMatchObject({ paused: false, inflightNow: 17 * MIB, inflightRetained: 17.1e6 + 17 * MIB });
    g.sample(140, true);
    expect(g.paused).toBe(false);
    use.heapUsed -= 30 * MIB; // freed at last: the retained figure follows it down
    g.sample(150);
    expect(g.stats().inflightRetained).toBe(17.1e6 - 13 * MIB);
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
