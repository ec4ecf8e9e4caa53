/**
 * Open-model arrival schedule: events at a constant `ratePerSec`, each with its
 * scheduled time. Latency must be timed from that scheduled time (not from when the
 * loop got round to it), otherwise a stalled generator hides the stall
 * (coordinated omission). When the loop falls further behind than `maxLagMs`, the
 * overdue events are counted as dropped instead of being fired in a burst.
 *
 * On time: Node's timers run on millisecond boundaries and may fire up to about a
 * millisecond early or late, so a plain timer schedule adds up to ~1 ms of generator
 * lag to every latency. The loop sleeps on a timer until `spinUs` before the next
 * event and finishes the wait with `setImmediate` turns (which still serve socket
 * I/O in between): it polls only in the last stretch before an event, never while
 * idle. Everything due at a wake-up is sent at once; the caller records the lag
 * (actual send minus scheduled) so what the generator adds is visible.
 */
import type { Clock } from './clock.ts';

/**
 * An open-model schedule: `ratePerSec` events per second from now, each handed to `fire` with its scheduled time.
 */
export interface ArrivalOptions {
  ratePerSec: number;
  clock: Clock;
  /** Fire one event scheduled at `scheduledUs`; return false when no sender was free (counted as dropped). */
  fire(scheduledUs: number, index: number): boolean;
  /** Called with the number of events dropped because the loop fell behind. */
  onDropped(n: number): void;
  /** Lag beyond which overdue events are dropped, ms. Default 1000. */
  maxLagMs?: number;
  /**
   * How long before an event the timer hands over to `setImmediate` polling, at
   * least, us. Default 1000: a timer may fire up to ~1 ms early or late, so a shorter
   * margin arrives late more often, a longer one polls longer (CPU). The loop widens
   * the margin to how late its own timers have fired lately (see `LATE_DECAY`), up to
   * MAX_MARGIN_US. 0 = timers only, no polling.
   */
  spinUs?: number;
}

/** A running schedule: `stop()` ends it; `fired()` and `dropped()` count events so far. */
export interface Arrival {
  stop(): void;
  fired(): number;
  dropped(): number;
}

/** Longest single timer sleep, ms: the loop re-checks the schedule at least this often. */
const MAX_SLEEP_MS = 50;
/** Widest polling margin, us, however late timers fire (a starved loop is late anyway). */
const MAX_MARGIN_US = 3000;
/** Extra margin beyond the timers' recent lateness, us. */
const MARGIN_SLACK_US = 250;
/** Per-wake decay of the remembered timer lateness: it forgets a late wake over ~100 wakes. */
const LATE_DECAY = 0.98;

/**
 * How late this loop's timers fire: a decaying maximum of (actual wake - requested
 * wake), us. The polling margin follows it, so a machine whose timers fire 1.5 ms
 * late polls from 1.75 ms before an event, a quiet one from `spinUs`.
 */
export class TimerLateness {
  private lateUs = 0;
  /** Note one wake that came `lateUs` after it was asked for. */
  note(lateUs: number): void {
    this.lateUs = Math.max(lateUs, this.lateUs * LATE_DECAY);
  }
  /** The polling margin, us: at least `floorUs`, at most MAX_MARGIN_US. */
  marginUs(floorUs: number): number {
    return Math.min(MAX_MARGIN_US, Math.max(floorUs, this.lateUs + MARGIN_SLACK_US));
  }
}

/**
 * Start firing events at `o.ratePerSec` (see the module comment: timer then setImmediate polling, overdue events beyond `maxLagMs` dropped).
 */
export function createArrival(o: ArrivalOptions): Arrival {
  const intervalUs = 1e6 / o.ratePerSec;
  const maxLagUs = (o.maxLagMs ?? 1000) * 1000;
  const spinUs = Math.max(0, o.spinUs ?? 1000);
  const t0 = o.clock.nowUs();
  let k = 0;
  let fired = 0;
  let dropped = 0;
  let stopped = false;
  let timer: unknown;
  let immediate: unknown;
  /** When the pending timer was asked to wake, us (undefined while polling). */
  let wakeAtUs: number | undefined;
  const lateness = new TimerLateness();

  const dropOverdue = (now: number): void => {
    const firstAllowed = Math.ceil((now - maxLagUs - t0) / intervalUs);
    if (firstAllowed <= k) return;
    const n = firstAllowed - k;
    dropped += n;
    o.onDropped(n);
    k = firstAllowed;
  };

  const fireDue = (now: number): void => {
    while (!stopped && t0 + k * intervalUs <= now) {
      if (o.fire(Math.round(t0 + k * intervalUs), k)) fired++;
      else {
        dropped++;
        o.onDropped(1);
      }
      k++;
    }
  };

  /** Sleep on a timer while the next event is more than the margin + 1 ms away, else poll. */
  const wait = (): void => {
    const now = o.clock.nowUs();
    const waitUs = t0 + k * intervalUs - now;
    const marginUs = spinUs === 0 ? 0 : lateness.marginUs(spinUs);
    const sleepMs = Math.floor((waitUs - marginUs) / 1000);
    if (sleepMs >= 1 || spinUs === 0) {
      const ms = Math.min(MAX_SLEEP_MS, Math.max(1, sleepMs));
      wakeAtUs = now + ms * 1000;
      timer = o.clock.setTimeout(loop, ms);
    } else immediate = o.clock.setImmediate(loop);
  };

  const loop = (): void => {
    timer = immediate = undefined;
    if (stopped) return;
    const now = o.clock.nowUs();
    if (wakeAtUs !== undefined) {
      lateness.note(now - wakeAtUs);
      wakeAtUs = undefined;
    }
    dropOverdue(now);
    fireDue(now);
    if (!stopped) wait();
  };
  if (o.ratePerSec > 0) loop();
  return {
    stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      if (immediate !== undefined) o.clock.clearImmediate(immediate);
    },
    fired: () => fired,
    dropped: () => dropped,
  };
}
