/**
 * One native connection's state, and the ws socket class that points back to it.
 */
import * as wsModule from 'ws';
import { WebSocket, type RawData } from 'ws';
import type { Identity } from '../core/identities.ts';

/**
 * ws ends a socket's frame reader (a Writable) once when the peer's FIN arrives and again
 * when the socket closes; Node answers an `end()` on a finished or destroyed Writable by
 * building an error (ERR_STREAM_ALREADY_FINISHED, with its stack trace) that nobody
 * receives when no callback was given. Two of those per closed connection were several
 * percent of the server's CPU when many connections close at once (a reconnection storm):
 * such a call now returns at once. A call with arguments, or on a stream still open or
 * corked, goes to Writable's `end` unchanged.
 */
export function endQuietly(this: NodeJS.WritableStream & { writableFinished: boolean; destroyed: boolean; writableCorked: number }, ...args: unknown[]): unknown {
  if (args.length === 0 && (this.writableFinished || this.destroyed) && this.writableCorked === 0) return this;
  return WRITABLE_END.apply(this, args as []);
}
/** ws exports its Receiver at runtime but @types/ws does not declare it. */
const ReceiverProto = (wsModule as unknown as { Receiver: { prototype: { end: (...a: unknown[]) => unknown } } }).Receiver.prototype;
const WRITABLE_END = ReceiverProto.end;
ReceiverProto.end = endQuietly;

/**
 * ws lets the server construct its sockets from a subclass: declaring the back
 * pointer as a class field keeps every socket on one hidden class (adding a
 * property later would push 10,000s of sockets into slower, larger shapes).
 */
export class ConnSocket extends WebSocket {
  wsbConn: Conn | null = null;
  /** Its server's handlers, set on accept; until then events go through EventEmitter as usual. */
  wsbEvents: SocketEvents | null = null;

  /**
   * Events of an accepted socket go straight to its server's handlers instead of through
   * registered listeners: five listeners turned every socket's `_events` into a dictionary
   * of about 300 bytes (memory per idle connection, docs/BENCHMARKS.md). ws emits at most
   * two arguments.
   */
  override emit(event: string | symbol, a?: unknown, b?: unknown): boolean {
    const h = this.wsbEvents;
    if (h === null) return super.emit(event, a, b);
    switch (event) {
      case 'message':
        h.message.call(this, a as RawData, b as boolean);
        return true;
      case 'ping':
        h.ping.call(this, a as Buffer);
        return true;
      case 'pong':
        h.pong.call(this);
        return true;
      case 'close':
        h.close.call(this);
        return true;
      case 'error':
        h.error.call(this);
        return true;
      default:
        return super.emit(event, a, b);
    }
  }

  /** Take `events` as this socket's handlers and free the empty listener table (see {@link dropListenerTable}). */
  useEvents(events: SocketEvents): void {
    this.wsbEvents = events;
    this.dropListenerTable();
  }

  /**
   * Free the empty listener table EventEmitter gave the socket (a dictionary of about 160 bytes):
   * with events dispatched by {@link emit} it stays empty, and EventEmitter makes a new one if a
   * listener is ever added.
   */
  private dropListenerTable(): void {
    if (this.eventNames().length === 0) (this as unknown as { _events: object | undefined })._events = undefined;
  }
}

/** A server's handlers for its sockets' events (`this` is the socket); one object per server. */
export interface SocketEvents {
  message(this: WebSocket, data: RawData, isBinary: boolean): void;
  ping(this: WebSocket, data: Buffer): void;
  pong(this: WebSocket): void;
  close(this: WebSocket): void;
  error(this: WebSocket): void;
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
