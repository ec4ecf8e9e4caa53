/** Time source of the executors, injectable so tests can drive them with a fake clock. */
import { nowUs } from '../protocol/tag.ts';

export interface Clock {
  /** Monotonic microseconds. */
  nowUs(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  nowUs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A manual clock for tests: time moves only with `advance`. */
export function createFakeClock(startUs = 0): Clock & { advance(ms: number): void; pending(): number } {
  let now = startUs;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    nowUs: () => now,
    setTimeout(fn, ms) {
      const id = ++seq;
      timers.set(id, { at: now + Math.max(0, ms) * 1000, fn });
      return id;
    },
    clearTimeout(h) {
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
