/**
 * The token-expiry sweep of both flavours: once a second, every connection
 * whose token has expired is ended (native: close 1008 `token expired`;
 * Socket.IO: `kicked`). Frames are also checked as they arrive; the sweep
 * catches the connections that send nothing.
 */

/** How often expired tokens are looked for, ms. */
export const EXPIRY_SWEEP_MS = 1000;

/**
 * Start the sweep; returns the function that stops it. `expMs` is the token's
 * expiry in ms since the epoch (Infinity or 0 for never, as each flavour keeps it).
 */
export function startExpirySweep<C>(conns: () => Iterable<C>, expMs: (c: C) => number, expire: (c: C) => void): () => void {
  const timer = setInterval(() => {
    const now = Date.now();
    for (const c of conns()) {
      const exp = expMs(c);
      if (exp > 0 && now >= exp) expire(c);
    }
  }, EXPIRY_SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
