/**
 * Open-model arrival schedule: events at a constant `ratePerSec`, each with its
 * scheduled time. Latency must be timed from that scheduled time (not from when the
 * loop got round to it), otherwise a stalled generator hides the stall
 * (coordinated omission). When the loop falls further behind than `maxLagMs`, the
 * overdue events are counted as dropped instead of being fired in a burst.
 */
import type { Clock } from './clock.ts';

export interface ArrivalOptions {
  ratePerSec: number;
  clock: Clock;
  /** Fire one event scheduled at `scheduledUs`; return false when no sender was free (counted as dropped). */
  fire(scheduledUs: number, index: number): boolean;
  /** Called with the number of events dropped because the loop fell behind. */
  onDropped(n: number): void;
  /** Lag beyond which overdue events are dropped, ms. Default 1000. */
  maxLagMs?: number;
  /** Timer granularity, ms. Default 2. */
  tickMs?: number;
}

export interface Arrival {
  stop(): void;
  fired(): number;
  dropped(): number;
}

export function createArrival(o: ArrivalOptions): Arrival {
  const intervalUs = 1e6 / o.ratePerSec;
  const maxLagUs = (o.maxLagMs ?? 1000) * 1000;
  const tickMs = o.tickMs ?? 2;
  const t0 = o.clock.nowUs();
  let k = 0;
  let fired = 0;
  let dropped = 0;
  let stopped = false;
  let timer: unknown;

  const loop = () => {
    timer = undefined;
    if (stopped) return;
    const now = o.clock.nowUs();
    // Skip (and count) everything older than the allowed lag.
    const oldestAllowed = now - maxLagUs;
    const firstAllowed = Math.ceil((oldestAllowed - t0) / intervalUs);
    if (firstAllowed > k) {
      const n = firstAllowed - k;
      dropped += n;
      o.onDropped(n);
      k = firstAllowed;
    }
    while (!stopped && t0 + k * intervalUs <= now) {
      const at = Math.round(t0 + k * intervalUs);
      if (o.fire(at, k)) fired++;
      else {
        dropped++;
        o.onDropped(1);
      }
      k++;
    }
    if (!stopped) {
      const waitMs = Math.max(tickMs, Math.floor((t0 + k * intervalUs - o.clock.nowUs()) / 1000));
      timer = o.clock.setTimeout(loop, Math.min(waitMs, 50));
    }
  };
  if (o.ratePerSec > 0) loop();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
    },
    fired: () => fired,
    dropped: () => dropped,
  };
}
