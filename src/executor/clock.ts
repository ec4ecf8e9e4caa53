/** Time source of the executors, injectable so tests can drive them with a fake clock. */
import { nowUs } from '../protocol/tag.ts';

export interface Clock {
  /** Monotonic microseconds. */
  nowUs(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Run `fn` on the next turn of the event loop, after pending I/O (Node's `setImmediate`). */
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

export const realClock: Clock = {
  nowUs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
};

/**
 * A manual clock for tests: time moves only with `advance`. An immediate runs
 * `immediateUs` (default 20) after it was set, the cost of one loop turn, so code
 * that polls with immediates makes progress in fake time.
 */
export function createFakeClock(startUs = 0, immediateUs = 20): Clock & { advance(ms: number): void; pending(): number } {
  let now = startUs;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const schedule = (fn: () => void, atUs: number): number => {
    const id = ++seq;
    timers.set(id, { at: atUs, fn });
    return id;
  };
  return {
    nowUs: () => now,
    setTimeout: (fn, ms) => schedule(fn, now + Math.max(0, ms) * 1000),
    clearTimeout(h) {
      timers.delete(h as number);
    },
    setImmediate: (fn) => schedule(fn, now + immediateUs),
    clearImmediate(h) {
      timers.delete(h as number);
    },
    advance(ms: number) {
      const until = now + ms * 1000;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of timers) if (e[1].at <= until && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
        if (!next) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = until;
    },
    pending: () => timers.size,
  };
}
