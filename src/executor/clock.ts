/** Time source of the executors, injectable so tests can drive them with a fake clock. */
import { writeFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';

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
  /**
   * Block this thread until the clock reads `atUs` or later, at most {@link MAX_BLOCK_US}
   * from now: no event-loop turn, no socket I/O meanwhile. Optional: without it a caller
   * waits with event-loop turns.
   */
  blockUntil?(atUs: number): void;
}

/** Longest `blockUntil`, us, whatever it is asked: a caller's error cannot hang the thread. */
export const MAX_BLOCK_US = 2000;
/**
 * The last stretch of a `blockUntil` spent reading the clock instead of sleeping, us. A
 * futex sleep (`Atomics.wait`) wakes about 10..15 us late at the median with the timer
 * slack lowered to 1 us (65 us with Linux's default 50 us slack): the spin covers that.
 */
export const SPIN_TAIL_US = 50;
/**
 * `Atomics.load`s between two clock reads while spinning. Every clock read allocates a
 * heap number (a tight loop of reads here met a scavenge every ~60,000 reads), and
 * allocation is what triggers a minor GC: with 32 loads a read, a 250 us spin read the
 * clock ~870 times; with 256, ~140 times (one read per ~1.8 us of optimized code, the
 * precision of the spin; ~15 us before the JIT has warmed up).
 */
const LOADS_PER_READ = 256;

const sleeper = new Int32Array(new SharedArrayBuffer(4));
let slackLowered = false;
/** Per-wake decay of a remembered lateness: a late wake is forgotten over a few hundred wakes. */
const LATE_DECAY = 0.98;

/**
 * How late something that sleeps wakes: a decaying maximum of (wake - asked), us. The
 * arrival loop keeps one for its timers (`TimerLateness`), `blockUntil` one for its futex
 * sleeps (`WakeLateness`).
 */
export class Lateness {
  protected lateUs = 0;
  /** Note one wake `lateUs` after the time asked. */
  note(lateUs: number): void {
    this.lateUs = Math.max(lateUs, this.lateUs * LATE_DECAY);
  }
}

/**
 * How late this thread's futex sleeps wake. On an idle CPU a wake is ~10..15 us late and
 * the spin tail covers it; on a contended one (more runnable threads than cores) a thread
 * that sleeps gives its CPU away and gets it back milliseconds later, while one that spins
 * keeps it until its time slice ends. So once a wake came later than the tail,
 * `blockUntil` spins the whole stretch instead of sleeping, until the memory of that wake
 * fades (then it tries sleeping again).
 */
export class WakeLateness extends Lateness {
  /** Spin instead of sleeping: a recent wake came later than SPIN_TAIL_US covers. */
  shouldSpin(): boolean {
    return this.lateUs > SPIN_TAIL_US;
  }
  /** One block spun through without sleeping: the late wake fades as if on time. */
  spun(): void {
    this.lateUs *= LATE_DECAY;
  }
}
const wakes = new WakeLateness();

/**
 * Lower the main thread's timer slack to 1 us (Linux; elsewhere, or on a worker thread, a
 * no-op), once: the kernel may otherwise delay a timed sleep's wake by up to 50 us to batch
 * wake-ups. It touches this thread's timers only (its event-loop timers wake a little more
 * precisely too), and only in processes that block (schedulers with a send rate).
 */
function lowerTimerSlack(): void {
  if (slackLowered) return;
  slackLowered = true;
  // /proc/self/timerslack_ns is the main thread's; a worker thread has no file of its own.
  if (!isMainThread) return;
  try {
    writeFileSync('/proc/self/timerslack_ns', '1000');
  } catch {
    // Not Linux, or not allowed: the spin tail covers the later wake.
  }
}

/**
 * Block until {@link nowUs} reads `atUs` (capped at {@link MAX_BLOCK_US} from now): futex
 * sleeps (no CPU; again if one wakes early) until {@link SPIN_TAIL_US} before, then a
 * spin on the clock; a spin all the way while futex wakes come late (see
 * {@link WakeLateness}). Allocates next to nothing, so no minor GC starts meanwhile.
 */
export function blockUntil(atUs: number): void {
  lowerTimerSlack();
  const until = Math.min(atUs, nowUs() + MAX_BLOCK_US);
  const spinFromUs = until - SPIN_TAIL_US;
  if (wakes.shouldSpin()) wakes.spun();
  else {
    // Bounded: each pass either ends or sleeps toward `spinFromUs`, at most MAX_BLOCK_US away.
    for (let now = nowUs(); now < spinFromUs; ) {
      Atomics.wait(sleeper, 0, 0, (spinFromUs - now) / 1000);
      now = nowUs();
      wakes.note(now - spinFromUs);
    }
  }
  while (nowUs() < until) for (let i = 0; i < LOADS_PER_READ; i++) Atomics.load(sleeper, 0);
}

/** The process's clock: {@link nowUs} and the real timers. */
export const realClock: Clock = {
  nowUs,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setImmediate: (fn) => setImmediate(fn),
  clearImmediate: (h) => clearImmediate(h as NodeJS.Immediate),
  blockUntil,
};

/**
 * A manual clock for tests: time moves only with `advance`. An immediate runs
 * `immediateUs` (default 20) after it was set, the cost of one loop turn, so code
 * that polls with immediates makes progress in fake time. `blockUntil` moves time
 * to its target at once (capped like the real one) without running any timer, as
 * a blocked thread runs none; `blocks()` lists each block's [from, to] in us.
 */
export function createFakeClock(
  startUs = 0,
  immediateUs = 20,
): Clock & { advance(ms: number): void; pending(): number; blocks(): [number, number][]; blockUntil(atUs: number): void } {
  let now = startUs;
  let seq = 0;
  const blocks: [number, number][] = [];
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
    blockUntil(atUs) {
      const until = Math.max(now, Math.min(atUs, now + MAX_BLOCK_US));
      blocks.push([now, until]);
      now = until;
    },
    blocks: () => blocks,
  };
}
