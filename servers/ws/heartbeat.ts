/**
 * The native flavour's heartbeat: every `heartbeatMs` each open connection that
 * answered the previous ping is pinged again; one that did not is terminated.
 */

/** What the heartbeat needs of a connection. */
export interface HeartbeatConn {
  /** Set true by the pong handler, false when a ping goes out. */
  alive: boolean;
  readonly ws: { readyState: number; ping(): void; terminate(): void };
}

/** One sweep: terminate the silent, ping the rest. Returns how many were terminated. */
export function sweepHeartbeat(conns: Iterable<HeartbeatConn>): number {
  let terminated = 0;
  for (const c of conns) {
    if (c.ws.readyState !== 1) continue;
    if (!c.alive) {
      terminated++;
      c.ws.terminate();
      continue;
    }
    c.alive = false;
    c.ws.ping();
  }
  return terminated;
}

/** Start sweeping every `heartbeatMs` (0 = never); returns the function that stops it. */
export function startHeartbeat(conns: () => Iterable<HeartbeatConn>, heartbeatMs: number, onTerminated: (n: number) => void): () => void {
  if (heartbeatMs <= 0) return () => {};
  // setImmediate: pongs that already reached the socket are read (poll phase) before the sweep, so a
  // late timer after a busy stretch never evicts a healthy peer.
  const timer = setInterval(() => setImmediate(() => onTerminated(sweepHeartbeat(conns()))), heartbeatMs);
  timer.unref();
  return () => clearInterval(timer);
}
