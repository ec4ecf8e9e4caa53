/**
 * Connection ramp: start `total` connection attempts at `ratePerSec`, never more
 * than `maxInflight` handshakes at once. When the in-flight bound holds a start
 * back, the ramp runs late rather than piling up handshakes (which would measure
 * the generator's backlog instead of the server).
 */
import type { Clock } from './clock.ts';

/** A connection ramp: `total` attempts at `ratePerSec`, at most `maxInflight` handshakes at once. */
export interface RampOptions {
  total: number;
  /** Attempts per second; 0 or Infinity = as fast as the in-flight bound allows. */
  ratePerSec: number;
  maxInflight: number;
  clock: Clock;
  /** Start attempt i; resolve when its handshake finished (either way). */
  start(i: number): Promise<unknown>;
}

/** A running ramp. */
export interface Ramp {
  /** Resolves when every attempt has finished. */
  done: Promise<void>;
  /** Attempts started so far. */
  started(): number;
  inflight(): number;
  /** Stop starting new attempts; `done` resolves once the in-flight ones finish. */
  stop(): void;
}

/**
 * Start the ramp (see the module comment): attempts at the rate, held back while `maxInflight` handshakes are open.
 */
export function createRamp(o: RampOptions): Ramp {
  let next = 0;
  let inflight = 0;
  let stopped = false;
  let timer: unknown;
  const intervalUs = o.ratePerSec > 0 && Number.isFinite(o.ratePerSec) ? 1e6 / o.ratePerSec : 0;
  const t0 = o.clock.nowUs();
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));

  const finishIfDone = () => {
    if (inflight === 0 && (next >= o.total || stopped)) resolveDone();
  };

  const pump = () => {
    timer = undefined;
    if (stopped) return finishIfDone();
    const now = o.clock.nowUs();
    while (next < o.total && inflight < o.maxInflight && (intervalUs === 0 || t0 + next * intervalUs <= now)) {
      const i = next++;
      inflight++;
      o.start(i).then(onFinished, onFinished);
    }
    if (next >= o.total) return finishIfDone();
    if (inflight < o.maxInflight) {
      const waitMs = Math.max(1, Math.ceil((t0 + next * intervalUs - now) / 1000));
      timer = o.clock.setTimeout(pump, waitMs);
    }
    // else: the next finished handshake pumps again.
  };

  function onFinished() {
    inflight--;
    if (timer === undefined && !stopped) pump();
    else finishIfDone();
  }

  if (o.total === 0) resolveDone();
  else pump();

  return {
    done,
    started: () => next,
    inflight: () => inflight,
    stop() {
      stopped = true;
      if (timer !== undefined) o.clock.clearTimeout(timer);
      timer = undefined;
      finishIfDone();
    },
  };
}
