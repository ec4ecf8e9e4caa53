/** One timer for every sleeper: never early, due buckets resolved together, wakeAll ends them all. */
import { describe, expect, it } from 'vitest';
import { createFakeClock } from '../../src/executor/clock.ts';
import { SleepWheel } from '../../src/executor/sleep-wheel.ts';

describe('SleepWheel', () => {
  it('resolves each sleeper once its time has passed, never before', async () => {
    const clock = createFakeClock(1_000_500); // half-way into a millisecond
    const wheel = new SleepWheel(clock);
    const woke: Array<[string, number]> = [];
    const track = (name: string, ms: number) => void wheel.sleep(ms).then(() => woke.push([name, clock.nowUs()]));
    track('a', 20);
    track('b', 20);
    track('c', 5);
    track('d', 0.2);
    expect(wheel.size).toBe(4);
    for (let t = 0; t < 25; t++) {
      clock.advance(1);
      await Promise.resolve();
    }
    expect(woke.map((w) => w[0])).toEqual(['d', 'c', 'a', 'b']);
    const asked: Record<string, number> = { a: 20, b: 20, c: 5, d: 0.2 };
    for (const [name, at] of woke) expect(at - 1_000_500).toBeGreaterThanOrEqual(asked[name]! * 1000);
    expect(wheel.size).toBe(0);
    // One timer armed at a time: nothing is left behind.
    expect(clock.pending()).toBe(0);
  });

  it('keeps one timer for many sleepers and re-arms for an earlier one', async () => {
    const clock = createFakeClock(0);
    const wheel = new SleepWheel(clock);
    let late = 0;
    let early = 0;
    for (let i = 0; i < 1000; i++) void wheel.sleep(50).then(() => late++);
    expect(clock.pending()).toBe(1);
    void wheel.sleep(10).then(() => early++);
    expect(clock.pending()).toBe(1);
    clock.advance(10);
    await Promise.resolve();
    expect([early, late]).toEqual([1, 0]);
    clock.advance(40);
    await Promise.resolve();
    expect(late).toBe(1000);
  });

  it('wakeAll resolves every sleeper at once and disarms', async () => {
    const clock = createFakeClock(0);
    const wheel = new SleepWheel(clock);
    let n = 0;
    for (const ms of [5, 500, 60_000]) void wheel.sleep(ms).then(() => n++);
    wheel.wakeAll();
    await Promise.resolve();
    expect(n).toBe(3);
    expect(clock.pending()).toBe(0);
    expect(wheel.size).toBe(0);
  });
});
