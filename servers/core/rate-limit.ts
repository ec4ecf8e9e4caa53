/**
 * The per-connection token bucket of both flavours (PROTOCOL.md "Rate limiting"):
 * `rate` tokens per second refill up to `burst`; every inbound frame or event costs
 * one; a connection that has more than `abuse` frames dropped within 10 s is abusive.
 */

/** Dropped frames are counted over this window to decide abuse, ms. */
export const ABUSE_WINDOW_MS = 10_000;

/** The bucket's state, kept on the connection object. */
export interface Bucket {
  tokens: number;
  refillAt: number;
  abuseStart: number;
  abuseCount: number;
}

/**
 * Take a token at `now` (ms). `ok`: the frame may proceed; `dropped`: over the limit;
 * `abuse`: over the limit and past the abuse threshold (the caller closes the connection).
 * With `rate` 0 there is no limit.
 */
export function takeToken(b: Bucket, now: number, opts: { rate: number; burst: number; abuse: number }): 'ok' | 'dropped' | 'abuse' {
  if (opts.rate <= 0) return 'ok';
  b.tokens = Math.min(opts.burst, b.tokens + ((now - b.refillAt) * opts.rate) / 1000);
  b.refillAt = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 'ok';
  }
  if (now - b.abuseStart > ABUSE_WINDOW_MS) {
    b.abuseStart = now;
    b.abuseCount = 0;
  }
  return ++b.abuseCount > opts.abuse ? 'abuse' : 'dropped';
}
