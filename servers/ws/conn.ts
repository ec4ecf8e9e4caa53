/**
 * One native connection's state, and the ws socket class that points back to it.
 */
import { WebSocket } from 'ws';
import type { Identity } from '../core/identities.ts';

/**
 * ws lets the server construct its sockets from a subclass: declaring the back
 * pointer as a class field keeps every socket on one hidden class (adding a
 * property later would push 10,000s of sockets into slower, larger shapes).
 */
export class ConnSocket extends WebSocket {
  wsbConn: Conn | null = null;
}

/** Per-connection state: kept small (no request object, lazy room set). */
export class Conn {
  rooms: Set<string> | null = null;
  /** The connection's join/leave operations still running (null when none). */
  chain: Promise<void> | null = null;
  tokens: number;
  refillAt: number;
  rateErrorAt = -Infinity;
  abuseStart = 0;
  abuseCount = 0;
  alive = true;
  constructor(
    readonly ws: WebSocket,
    readonly sid: string,
    readonly user: string,
    readonly allowed: string[] | undefined,
    /** Token expiry in ms since the epoch (Infinity with auth off). */
    readonly expMs: number,
    readonly direct: boolean,
    /** The per-identity limits this connection shares (servers/core/identities.ts). */
    readonly identity: Identity,
    burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.refillAt = now;
  }
}

/** What `serially` needs of a connection. */
export interface SerialConn {
  chain: Promise<void> | null;
  /** Whether the connection is still open (an operation queued behind a closed one is skipped). */
  readonly ws: { readyState: number };
}

/**
 * Run `op` after the connection's earlier joins and leaves, in the order sent, so a
 * join followed at once by a leave or a second join gets every reply, in order.
 * A failure is logged; the chain carries on.
 */
export function serially(c: SerialConn, op: () => Promise<void> | undefined, log: (line: string) => void): void {
  const run = (): Promise<void> | undefined => {
    if (c.ws.readyState !== 1) return undefined;
    return op();
  };
  const p = c.chain ? c.chain.then(run) : run();
  if (!p) return;
  const tracked: Promise<void> = p.catch((err) => log(`wsbench server: join/leave failed: ${(err as Error).message}`)).finally(() => {
    if (c.chain === tracked) c.chain = null;
  });
  c.chain = tracked;
}
