/**
 * The state of one virtual client's connection as one union, and how the client
 * treats the server's heartbeat. Transitions live in runtime.ts; this file only
 * names them, so a reader sees every state a client can be in at one place.
 */

/**
 * Where a client's connection is:
 * - `idle`: not connected (never, or waiting out a reconnect backoff);
 * - `connecting`: the opening handshake is in flight;
 * - `welcoming`: open, waiting for the server's welcome frame before joining;
 * - `open`: connected (and welcomed): it joins, publishes and receives;
 * - `dropping`: this client cut the connection itself (its liveness timeout, or a scenario's
 *   `dropConnection`): the close that follows is not the server's doing;
 * - `abandoning`: the harness gave up on an attempt that opened but got no welcome in time: the
 *   attempt failed, and the close that follows is not the server's doing;
 * - `closing`: the run is over and the harness closed it;
 * - `closed`: the connection ended; a reconnect may be scheduled.
 */
export type ClientState = 'idle' | 'connecting' | 'welcoming' | 'open' | 'dropping' | 'abandoning' | 'closing' | 'closed';

/**
 * How a client treats the server's heartbeat: `healthy` answers it; `zombie` stops answering
 * (heartbeat scenario, chosen by the coordinator) and stays a zombie across reconnects;
 * `zombie-final` stopped answering on its own (`VirtualClient.stopHeartbeat`) and does not
 * reconnect once evicted.
 */
export type Liveness = 'healthy' | 'zombie' | 'zombie-final';

/** Whether a connection attempt is still in progress (handshake or welcome). */
export function isConnecting(s: ClientState): boolean {
  return s === 'connecting' || s === 'welcoming';
}

/** Whether the connection is up from the server's side: open, or open until our own drop lands. */
export function wasUp(s: ClientState): boolean {
  return s === 'open' || s === 'dropping';
}

/** One connection attempt: when it started and its handshake ended (monotonic us; 0 = not yet), whether it resumes a session, and how to report its outcome. */
export interface Attempt {
  startUs: number;
  openUs: number;
  resume: boolean;
  settle: (ok: boolean) => void;
}
