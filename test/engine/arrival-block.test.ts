/**
 * The arrival scheduler's blocked last stretch (issue #14): when it blocks, for how long,
 * and when it must not. Logic on a fake clock (and the real clock's cap), no microsecond
 * timing: the p99 figure is the bench's (npm run bench -- sendlag).
 */
import { describe, expect, it } from 'vitest';
import { BEHIND_US, createArrival, MAX_BLOCK_SHARE, mayBlock, type ArrivalOptions } from '../../src/executor/arrival.ts';
import { createFakeClock, MAX_BLOCK_US, realClock, SPIN_TAIL_US, WakeLateness, type Clock } from '../../src/executor/clock.ts';

type FakeClock = ReturnType<typeof createFakeClock>;

/** Run a schedule on `clock` for `ms` of fake time; returns each send's [scheduled, actual] us. */
function run(clock: FakeClock | Clock & { advance(ms: number): void }, ms: number, o: Partial<ArrivalOptions> & { ratePerSec: number }): [number, number][] {
  const sends: [number, number][] = [];
  const a = createArrival({ clock, fire: (at) => (sends.push([at, clock.nowUs()]), true), onDropped: () => {}, ...o });
  clock.advance(ms);
  a.stop();
  return sends;
}

describe('mayBlock', () => {
  const ok = { waitUs: 100, windowUs: 250, lastLagUs: 0, batch: 1, turnUs: 2, justBlocked: false };
  it('blocks in the window before an event on an idle, on-time loop', () => {
    expect(mayBlock(ok)).toBe(true);
    expect(mayBlock({ ...ok, waitUs: 250 })).toBe(true);
  });
  it('never blocks while idle (the event further than the window) or when the event is already due', () => {
    expect(mayBlock({ ...ok, waitUs: 251 })).toBe(false);
    expect(mayBlock({ ...ok, waitUs: 0 })).toBe(false);
    expect(mayBlock({ ...ok, waitUs: -500 })).toBe(false);
  });
  it('never blocks when behind (last send late or in a batch), busy (long turns), right after a block, or with no window', () => {
    expect(mayBlock({ ...ok, lastLagUs: BEHIND_US + 1 })).toBe(false);
    expect(mayBlock({ ...ok, batch: 2 })).toBe(false);
    expect(mayBlock({ ...ok, turnUs: 63 })).toBe(false);
    expect(mayBlock({ ...ok, justBlocked: true })).toBe(false);
    expect(mayBlock({ ...ok, windowUs: 0 })).toBe(false);
  });
});

describe('arrival: the blocked last stretch (fake clock)', () => {
  it('blocks before each event for at most the window and sends on the scheduled time', () => {
    const clock = createFakeClock(1_000_000, 5);
    const sends = run(clock, 1000, { ratePerSec: 200 });
    expect(sends.length).toBeGreaterThanOrEqual(199);
    for (const [at, sent] of sends.slice(1)) expect(sent - at).toBe(0);
    const blocks = clock.blocks();
    // One block per event after the first (sent on creation), each ending on its event.
    expect(blocks.length).toBeGreaterThanOrEqual(sends.length - 2);
    const scheduled = new Set(sends.map(([at]) => at));
    for (const [from, to] of blocks) {
      expect(to - from).toBeGreaterThan(0);
      expect(to - from).toBeLessThanOrEqual(250);
      expect(scheduled.has(to)).toBe(true);
    }
  });

  it('keeps the blocked share of the time at most MAX_BLOCK_SHARE: the window shrinks at high rates', () => {
    const clock = createFakeClock(0, 5);
    const sends = run(clock, 200, { ratePerSec: 2000 });
    expect(sends.length).toBeGreaterThanOrEqual(399);
    const blocks = clock.blocks();
    expect(blocks.length).toBeGreaterThan(0);
    const windowUs = (1e6 / 2000) * MAX_BLOCK_SHARE;
    for (const [from, to] of blocks) expect(to - from).toBeLessThanOrEqual(Math.ceil(windowUs));
    const blockedUs = blocks.reduce((s, [from, to]) => s + to - from, 0);
    expect(blockedUs / 200_000).toBeLessThanOrEqual(MAX_BLOCK_SHARE + 0.001);
  });

  it('never blocks twice without an event-loop turn between', () => {
    // Each send takes 4.8 ms of the 5 ms interval: the next event is inside the window as soon as a send returns.
    const clock = createFakeClock(0, 1);
    let stallUs = 0;
    const turns: number[] = [];
    const slow: FakeClock = {
      ...clock,
      nowUs: () => clock.nowUs() + stallUs,
      blockUntil: (at) => clock.blockUntil(at - stallUs),
      setImmediate: (fn) => clock.setImmediate(() => (turns.push(clock.nowUs()), fn())),
      setTimeout: (fn, ms) => clock.setTimeout(() => (turns.push(clock.nowUs()), fn()), ms),
    };
    const sends: number[] = [];
    const a = createArrival({ ratePerSec: 200, clock: slow, fire: (_at, k) => (sends.push(k), (stallUs += 4800), true), onDropped: () => {} });
    clock.advance(100);
    a.stop();
    expect(sends.length).toBeGreaterThan(5);
    const blocks = clock.blocks();
    // Right after a blocked send the next event is 200 us away, inside the window: it polls at least one turn before blocking again.
    expect(blocks.length).toBeGreaterThan(5);
    for (let i = 1; i < blocks.length; i++) expect(turns.some((t) => t >= blocks[i - 1]![1] && t <= blocks[i]![0])).toBe(true);
  });

  it('does not block with blockUs 0, with timers only (spinUs 0), or with a clock that cannot block', () => {
    for (const o of [{ blockUs: 0 }, { spinUs: 0 }]) {
      const clock = createFakeClock(0, 5);
      expect(run(clock, 200, { ratePerSec: 200, ...o }).length).toBeGreaterThanOrEqual(39);
      expect(clock.blocks()).toEqual([]);
    }
    const clock = createFakeClock(0, 5);
    const noBlock: Clock & { advance(ms: number): void } = { ...clock, blockUntil: undefined };
    const sends = run(noBlock, 200, { ratePerSec: 200 });
    expect(sends.length).toBeGreaterThanOrEqual(39);
    expect(clock.blocks()).toEqual([]);
    // Polling alone: within one 5 us turn of the schedule.
    for (const [at, sent] of sends) expect(sent - at).toBeLessThanOrEqual(5);
  });

  it('does not block on a busy loop (long polling turns): it polls as before', () => {
    const clock = createFakeClock(0, 100);
    const sends = run(clock, 300, { ratePerSec: 200 });
    expect(sends.length).toBeGreaterThanOrEqual(59);
    expect(clock.blocks()).toEqual([]);
  });

  it('does not block for the event after a stall, nor for overdue events; blocks again once on time', () => {
    const clock = createFakeClock(0, 5);
    let stallUs = 0;
    const stalled: FakeClock = { ...clock, nowUs: () => clock.nowUs() + stallUs, blockUntil: (at) => clock.blockUntil(at - stallUs) };
    const sends: [number, number][] = [];
    const a = createArrival({
      ratePerSec: 200,
      clock: stalled,
      fire: (at, k) => {
        sends.push([at, stalled.nowUs()]);
        // Event 10 stalls the loop for 7 ms: event 11 is overdue when the loop gets back.
        if (k === 10) stallUs += 7000;
        return true;
      },
      onDropped: () => {},
    });
    clock.advance(200);
    a.stop();
    const at = (k: number) => sends[k]![0];
    // Blocks after the stall, on the schedule's (stalled) clock.
    const blockEnds = clock.blocks().map(([, to]) => to + stallUs);
    // Event 11 was already due (sent late, not blocked for); event 12 follows a send over BEHIND_US late (polled).
    expect(sends[11]![1] - at(11)).toBeGreaterThan(BEHIND_US);
    expect(blockEnds).not.toContain(at(11));
    expect(blockEnds).not.toContain(at(12));
    expect(sends[12]![1] - at(12)).toBeLessThanOrEqual(5);
    // From event 13 on it blocks again, and sends on time.
    expect(blockEnds).toContain(at(13));
    for (let k = 13; k < sends.length; k++) expect(sends[k]![1] - at(k)).toBe(0);
  });

  it('stop() ends it mid-wait (timer or polling) and from inside a send right after a block', () => {
    for (const stopAfterMs of [1, 4]) {
      const clock = createFakeClock(0, 5);
      let fired = 0;
      const a = createArrival({ ratePerSec: 200, clock, fire: () => (fired++, true), onDropped: () => {} });
      clock.advance(stopAfterMs);
      const before = fired;
      a.stop();
      expect(clock.pending()).toBe(0);
      clock.advance(100);
      expect(fired).toBe(before);
    }
    const clock = createFakeClock(0, 5);
    let fired = 0;
    const a = createArrival({ ratePerSec: 200, clock, fire: () => (++fired === 3 && a.stop(), true), onDropped: () => {} });
    clock.advance(100);
    expect(fired).toBe(3);
    expect(clock.blocks().length).toBe(2);
    expect(clock.pending()).toBe(0);
  });
});

describe('WakeLateness: sleep or spin through a block', () => {
  it('sleeps while futex wakes come within the spin tail, spins after a late one until it fades, then sleeps again', () => {
    const w = new WakeLateness();
    expect(w.shouldSpin()).toBe(false);
    w.note(SPIN_TAIL_US - 10);
    w.note(-5);
    expect(w.shouldSpin()).toBe(false);
    // A wake 3 ms late: the CPU was given away (a contended machine).
    w.note(3000);
    expect(w.shouldSpin()).toBe(true);
    let spun = 0;
    while (w.shouldSpin() && spun < 10_000) {
      w.spun();
      spun++;
    }
    // 3000 * 0.98^n <= 50: about 200 blocks spun through, then it tries sleeping again.
    expect(spun).toBeGreaterThan(150);
    expect(spun).toBeLessThan(250);
    expect(w.shouldSpin()).toBe(false);
  });
});

describe('realClock.blockUntil', () => {
  it('returns once the clock reads the target, at once for a past target, and never blocks longer than MAX_BLOCK_US', () => {
    const block = realClock.blockUntil!;
    const target = realClock.nowUs() + 300;
    block(target);
    expect(realClock.nowUs()).toBeGreaterThanOrEqual(target);
    const t0 = realClock.nowUs();
    block(t0 - 1000);
    block(t0 + 60_000_000);
    const took = realClock.nowUs() - t0;
    // The 60 s ask is capped at 2 ms; allow for a preempted thread on a shared machine.
    expect(took).toBeGreaterThanOrEqual(MAX_BLOCK_US);
    expect(took).toBeLessThan(1_000_000);
  });
});
