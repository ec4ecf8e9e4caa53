/**
 * Reconnect backoff: exponential from `baseMs`, capped at `capMs`, with one of the
 * usual jitter policies (see "Exponential Backoff And Jitter", AWS architecture blog):
 * - none: base * 2^attempt
 * - full: random in [0, d]
 * - equal: d/2 + random in [0, d/2]
 * - decorrelated: random in [base, previous * 3], capped
 */
import type { JitterPolicy } from '../scenario/types.ts';
import type { Rng } from './random.ts';

/**
 * Reconnect backoff: start at `baseMs`, double per attempt up to `capMs` (ms), with `jitter` (none, full, equal, decorrelated).
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  jitter: JitterPolicy;
  /** The previous delay (decorrelated jitter only). */
  previousMs?: number;
}

/** Delay before reconnect attempt number `attempt` (0 = first retry), in ms. */
export function backoffDelayMs(attempt: number, p: BackoffPolicy, rng: Rng): number {
  const d = Math.min(p.capMs, p.baseMs * 2 ** Math.min(attempt, 30));
  switch (p.jitter) {
    case 'none':
      return d;
    case 'full':
      return rng() * d;
    case 'equal':
      return d / 2 + (rng() * d) / 2;
    case 'decorrelated': {
      const prev = Math.max(p.baseMs, p.previousMs ?? p.baseMs);
      return Math.min(p.capMs, p.baseMs + rng() * (prev * 3 - p.baseMs));
    }
  }
}
