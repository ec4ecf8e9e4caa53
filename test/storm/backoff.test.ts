/**
 * Reconnect backoff: each jitter policy stays inside its bounds, grows with the attempt up to the
 * cap, and never stops giving a delay (a storm's clients keep retrying, however many attempts).
 */
import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from '../../src/executor/backoff.ts';
import { createRng } from '../../src/executor/random.ts';

const policy = { baseMs: 1000, capMs: 4000 };

describe('backoffDelayMs', () => {
  it('none: base * 2^attempt, capped', () => {
    const rng = createRng(1);
    expect([0, 1, 2, 3, 10].map((a) => backoffDelayMs(a, { ...policy, jitter: 'none' }, rng))).toEqual([1000, 2000, 4000, 4000, 4000]);
  });

  it('full: uniform in [0, the capped exponential], spread over the whole range', () => {
    const rng = createRng(2);
    for (const attempt of [0, 1, 2, 5]) {
      const top = Math.min(4000, 1000 * 2 ** attempt);
      const xs = Array.from({ length: 2000 }, () => backoffDelayMs(attempt, { ...policy, jitter: 'full' }, rng));
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...xs)).toBeLessThanOrEqual(top);
      // Spread: both the lowest and the highest tenth of the range are used (a herd is spread, not moved).
      expect(xs.some((x) => x < top / 10)).toBe(true);
      expect(xs.some((x) => x > (top * 9) / 10)).toBe(true);
    }
  });

  it('equal: in [d/2, d]', () => {
    const rng = createRng(3);
    const xs = Array.from({ length: 500 }, () => backoffDelayMs(1, { ...policy, jitter: 'equal' }, rng));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...xs)).toBeLessThanOrEqual(2000);
  });

  it('decorrelated: in [base, min(cap, 3 * previous)]', () => {
    const rng = createRng(4);
    let prev = 1000;
    for (let i = 0; i < 200; i++) {
      const d = backoffDelayMs(i, { ...policy, jitter: 'decorrelated', previousMs: prev }, rng);
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(Math.min(4000, prev * 3));
      prev = d;
    }
  });

  it('keeps giving a finite delay at any attempt number (no retry limit)', () => {
    const rng = createRng(5);
    for (const jitter of ['none', 'full', 'equal', 'decorrelated'] as const) {
      for (const attempt of [50, 1_000, 1e6]) {
        const d = backoffDelayMs(attempt, { ...policy, jitter, previousMs: 4000 }, rng);
        expect(Number.isFinite(d)).toBe(true);
        expect(d).toBeLessThanOrEqual(4000);
      }
    }
  });
});
