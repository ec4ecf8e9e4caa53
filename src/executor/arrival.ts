/**
 * Open-model arrival schedule: events at a constant `ratePerSec`, each with its
 * scheduled time. Latency must be timed from that scheduled time (not from when the
 * loop got round to it), otherwise a stalled generator hides the stall
 * (coordinated omission). When the loop falls further behind than `maxLagMs`, the
 * overdue events are counted as dropped instead of being fired in a burst.
 *
 * On time (issue #14: send.lag p99 < 100 us under light load): Node's timers run on
 * millisecond boundaries and may fire up to about a millisecond early or late, so a
 * plain timer schedule adds up to ~1 ms of generator lag to every latency. The loop
 * works in three stretches before each event:
 *  1. it sleeps on a timer until the polling margin (`spinUs`, widened to how late its
 *     timers fire) before the event;
 *  2. it polls with `setImmediate` turns, which still serve socket I/O, until `blockUs`
 *     (default 250) before it;
 *  3. it blocks the thread for that last stretch (`Clock.blockUntil`: a futex sleep, then
 *     a spin of SPIN_TAIL_US on the clock; a spin all the way while futex wakes come late,
 *     as on a contended CPU) and sends on the dot.
 * Why 3: each `setImmediate` turn allocates, so polling triggers a minor GC (a scavenge of
 * 100..200 us) every few tens of milliseconds, and one landing on the scheduled time made
 * the p99 (about 200 us on a quiet machine; of the late sends measured, most had a
 * scavenge overlapping them). The blocked stretch allocates next to nothing, so a
 * scavenge started while polling has ended before the event, and a futex sleep costs no
 * CPU. The trade-off: socket I/O waits up to `blockUs` while blocked (a receive timestamp
 * taken then is late by as much), and the thread is blocked at most MAX_BLOCK_SHARE of the
 * time (the window shrinks at high rates). It never blocks while idle (nothing due within
 * the window), when the event is already due, when the loop is behind (the last event
 * left over a millisecond late, or several were due at once), when the loop is busy (its
 * polling turns take long: I/O to serve), nor twice without an event-loop turn between:
 * under load the scheduler is the timer + `setImmediate` one of before.
 * Everything due at a wake-up is sent at once; the caller records the lag (actual send
 * minus scheduled) so what the generator adds is visible.
 */
import { Lateness, type Clock } from './clock.ts';

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
   * the margin to how late its own timers have fired lately (a decaying maximum, `Lateness`), up to
   * MAX_MARGIN_US. 0 = timers only, no polling and no blocking.
   */
  spinUs?: number;
  /**
   * The last stretch before an event spent blocking the thread (see the module
   * comment), us: at most this, at most MAX_BLOCK_SHARE of the interval between events.
   * Default 250; 0 = never block (poll to the event, the scheduler before issue #14's fix).
   * Needs a clock with `blockUntil`.
   */
  blockUs?: number;
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
/** Default blocked stretch before each event, us: longer than a scavenge of a small heap. */
const DEFAULT_BLOCK_US = 250;
/** Largest share of the time the loop may spend blocked: the window is at most this much of the interval. */
export const MAX_BLOCK_SHARE = 0.05;
/** Weight of the newest polling turn in the average turn length. */
const TURN_WEIGHT = 1 / 8;
/** The loop counts as behind (no blocking for the next event) after a send this late, us, or a batch of several. */
export const BEHIND_US = 1000;
/** The loop counts as busy (no blocking) while its average polling turn is longer than this share of the window. */
const BUSY_TURN_SHARE = 1 / 4;

/**
 * When the loop may block for the last stretch before an event: only in the window
 * (`waitUs`, the time to the event, at most `windowUs`), only when the event is not yet
 * due, the loop not behind (`lastLagUs`, the last send's lag, at most BEHIND_US, and that
 * send alone in its `batch`), not busy (`turnUs`, the average polling turn, at most
 * BUSY_TURN_SHARE of the window), and not right after a block (`justBlocked`).
 */
export function mayBlock(s: { waitUs: number; windowUs: number; lastLagUs: number; batch: number; turnUs: number; justBlocked: boolean }): boolean {
  return (
    s.windowUs > 0 &&
    s.waitUs > 0 &&
    s.waitUs <= s.windowUs &&
    !s.justBlocked &&
    s.lastLagUs <= BEHIND_US &&
    s.batch <= 1 &&
    s.turnUs <= s.windowUs * BUSY_TURN_SHARE
  );
}

/**
 * How late this loop's timers fire: a decaying maximum of (actual wake - requested
 * wake), us. The polling margin follows it, so a machine whose timers fire 1.5 ms
 * late polls from 1.75 ms before an event, a quiet one from `spinUs`.
 */
export class TimerLateness extends Lateness {
  /** The polling margin, us: at least `floorUs`, at most MAX_MARGIN_US. */
  marginUs(floorUs: number): number {
    return Math.min(MAX_MARGIN_US, Math.max(floorUs, this.lateUs + MARGIN_SLACK_US));
  }
}

/**
 * Start firing events at `o.ratePerSec` (see the module comment: timer, setImmediate polling, a short block; overdue events beyond `maxLagMs` dropped).
 */
export function createArrival(o: ArrivalOptions): Arrival {
  const intervalUs = 1e6 / o.ratePerSec;
  const maxLagUs = (o.maxLagMs ?? 1000) * 1000;
  const spinUs = Math.max(0, o.spinUs ?? 1000);
  const blockUntil = o.clock.blockUntil?.bind(o.clock);
  const windowUs = spinUs === 0 || !blockUntil ? 0 : Math.min(Math.max(0, o.blockUs ?? DEFAULT_BLOCK_US), intervalUs * MAX_BLOCK_SHARE);
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
  /** The state `mayBlock` judges, updated in place (no allocation per turn). */
  const st = { waitUs: 0, windowUs, lastLagUs: 0, batch: 0, turnUs: 0, justBlocked: false };
  /** When the last polling turn (or timer wake) ran, us; undefined while a timer sleeps and after a block. */
  let lastTurnAtUs: number | undefined;

  const dropOverdue = (now: number): void => {
    const firstAllowed = Math.ceil((now - maxLagUs - t0) / intervalUs);
    if (firstAllowed <= k) return;
    const n = firstAllowed - k;
    dropped += n;
    o.onDropped(n);
    k = firstAllowed;
  };

  const fireDue = (now: number): void => {
    let batch = 0;
    while (!stopped && t0 + k * intervalUs <= now) {
      if (batch++ === 0) st.lastLagUs = now - (t0 + k * intervalUs);
      if (o.fire(Math.round(t0 + k * intervalUs), k)) fired++;
      else {
        dropped++;
        o.onDropped(1);
      }
      k++;
    }
    if (batch > 0) st.batch = batch;
  };

  /**
   * Sleep on a timer while the next event is more than the margin + 1 ms away; block
   * through the last stretch when `mayBlock` allows (then send); else poll.
   */
  const wait = (): void => {
    const now = o.clock.nowUs();
    const nextUs = t0 + k * intervalUs;
    const waitUs = nextUs - now;
    const marginUs = spinUs === 0 ? 0 : lateness.marginUs(spinUs);
    const sleepMs = Math.floor((waitUs - marginUs) / 1000);
    if (sleepMs >= 1 || spinUs === 0) {
      const ms = Math.min(MAX_SLEEP_MS, Math.max(1, sleepMs));
      wakeAtUs = now + ms * 1000;
      lastTurnAtUs = undefined;
      timer = o.clock.setTimeout(loop, ms);
      return;
    }
    st.waitUs = waitUs;
    if (blockUntil && mayBlock(st)) {
      blockUntil(Math.ceil(nextUs));
      st.justBlocked = true;
      lastTurnAtUs = undefined;
      step();
      return;
    }
    immediate = o.clock.setImmediate(loop);
  };

  /** One wake: drop what is too old, send what is due, wait for the next. */
  const step = (): void => {
    const now = o.clock.nowUs();
    if (lastTurnAtUs !== undefined) st.turnUs += (now - lastTurnAtUs - st.turnUs) * TURN_WEIGHT;
    lastTurnAtUs = now;
    if (wakeAtUs !== undefined) {
      lateness.note(now - wakeAtUs);
      wakeAtUs = undefined;
    }
    dropOverdue(now);
    fireDue(now);
    if (!stopped) wait();
  };

  /** A timer or an immediate ran: an event-loop turn has passed. */
  const loop = (): void => {
    timer = immediate = undefined;
    if (stopped) return;
    st.justBlocked = false;
    step();
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
