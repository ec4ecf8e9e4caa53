/**
 * Many sleepers, one timer: `vu.sleep(ms)` of every virtual client of a worker goes
 * through one SleepWheel. A sleeper is a resolve function in the bucket of the
 * millisecond it is due; one clock timer is armed for the earliest bucket, and when
 * it fires every bucket that is due is resolved in one go.
 *
 * Profiled on 1,000 clients each running `await vu.ping(); await vu.sleep(20)`, a timer
 * per sleep (a Node Timeout, a wake closure and a set entry per call) was a large share
 * of the harness's own JavaScript time and garbage; here a sleep costs its promise and
 * a slot in an array. A sleep never ends early: a bucket is resolved once the clock has
 * reached its millisecond.
 */
import type { Clock } from './clock.ts';

/**
 * One timer for every `vu.sleep(ms)` of a worker (see the module comment); `wakeAll()` resolves every sleeper at once (shutdown).
 */
export class SleepWheel {
  /** Sleepers per due millisecond (clock microseconds / 1000, rounded up). */
  private readonly buckets = new Map<number, Array<() => void>>();
  /** The due milliseconds that have a bucket, ascending. */
  private readonly due: number[] = [];
  private timer: unknown;
  /** The millisecond the armed timer is for (0 = none armed). */
  private armedFor = 0;
  private sleepers = 0;
  private readonly onTimer = (): void => this.fire();

  constructor(private readonly clock: Clock) {}

  /** Sleepers waiting now. */
  get size(): number {
    return this.sleepers;
  }

  /** A promise resolved once `ms` milliseconds (>= 0; fractions round up to the next millisecond) have passed. */
  sleep(ms: number): Promise<void> {
    const at = Math.ceil((this.clock.nowUs() + Math.max(0, ms) * 1000) / 1000);
    return new Promise<void>((resolve) => this.add(at, resolve));
  }

  /** Resolve every sleeper now (the run is stopping) and disarm the timer. */
  wakeAll(): void {
    this.disarm();
    const all = [...this.buckets.values()];
    this.buckets.clear();
    this.due.length = 0;
    this.sleepers = 0;
    for (const list of all) for (const wake of list) wake();
  }

  private add(at: number, resolve: () => void): void {
    let list = this.buckets.get(at);
    if (list === undefined) {
      this.buckets.set(at, (list = []));
      this.insertDue(at);
    }
    list.push(resolve);
    this.sleepers++;
    if (this.armedFor === 0 || at < this.armedFor) this.arm(at);
  }

  /** Keep `due` ascending; new buckets are nearly always the latest, so search from the end. */
  private insertDue(at: number): void {
    const d = this.due;
    let k = d.length;
    while (k > 0 && d[k - 1]! > at) k--;
    if (k === d.length) d.push(at);
    else d.splice(k, 0, at);
  }

  private arm(at: number): void {
    this.disarm();
    const waitMs = Math.max(1, Math.ceil(at - this.clock.nowUs() / 1000));
    this.armedFor = at;
    this.timer = this.clock.setTimeout(this.onTimer, waitMs);
  }

  private disarm(): void {
    if (this.armedFor === 0) return;
    this.clock.clearTimeout(this.timer);
    this.armedFor = 0;
    this.timer = undefined;
  }

  private fire(): void {
    this.armedFor = 0;
    this.timer = undefined;
    const nowMs = this.clock.nowUs() / 1000;
    const d = this.due;
    let k = 0;
    while (k < d.length && d[k]! <= nowMs) k++;
    const ready = d.splice(0, k);
    for (const at of ready) {
      const list = this.buckets.get(at)!;
      this.buckets.delete(at);
      this.sleepers -= list.length;
      for (const wake of list) wake();
    }
    if (d.length > 0) this.arm(d[0]!);
  }
}
