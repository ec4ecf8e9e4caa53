/** Time source of the executors, injectable so tests can drive them with a fake clock. */

/**
 * Monotonic time in integer microseconds, on `process.hrtime`'s clock (shared by all
 * processes of a machine). `performance.now()` reads the same monotonic clock without
 * allocating (hrtime returns an array), so it is offset once onto hrtime's origin.
 */
const hr = process.hrtime();
const offsetUs = hr[0] * 1_000_000 + hr[1] / 1000 - performance.now() * 1000;

/**
 * Monotonic now in integer microseconds, on `process.hrtime`'s origin (comparable across processes of one machine).
 */
export function nowUs(): number {
  return Math.floor(performance.now() * 1000 + offsetUs);
}

/** The time source executors and the worker runtime read, injectable for tests. */
export interface Clock {
  /** Monotonic microseconds. */
  nowUs(): number;
  /** Run `fn` after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer of `setTimeout`. */
  clearTimeout(handle: unknown): void;
  /** Run `fn` on the next turn of the event loop, after pending I/O (Node's `setImmediate`). */
  setImmediate(fn: () => void): unknown;
  clearImmediate(handle: unknown): void;
}

/** The process's clock: {@link nowUs} and the real timers. */
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
