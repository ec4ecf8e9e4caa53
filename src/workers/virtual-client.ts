/**
 * One virtual client: what a scenario's loop sees (`VirtualClient`) and the events of its
 * connection (`ConnectionEvents`), both forwarded to the worker runtime that owns it.
 */
import type { ClientConnection, ConnectionEvents, DecodedFrame, WireInfo } from '../protocol/types.ts';
import type { CommonOptions, VirtualClient } from '../scenario/types.ts';
import { closeWindow, createReceiverRoom, endTagWindow, tagJoinSent, type ReceiverRoom } from '../checks/ledger.ts';
import type { PublisherLog } from '../checks/tag-ledger.ts';
import { createRng, type Rng } from '../executor/random.ts';
import type { Attempt, ClientState, Liveness } from './client-state.ts';
import { nodeOf, roomsOf } from './placement.ts';
import type { Clock } from '../executor/clock.ts';
import type { RequestKind } from './request-tracker.ts';
import type { RuntimeConfig } from './runtime-config.ts';
import { COUNTER } from '../metrics/names.ts';
import { conditionsOf, noConditions, type ClientConditions } from './client-conditions.ts';
import { parseReadPace } from '../protocol/read-pace.ts';

/** A close as a client saw it: WebSocket code (or Socket.IO reason) and when (monotonic us). */
export type CloseRecord = { code: number | string; atUs: number };

/** What a client needs from the runtime that owns it (WorkerRuntime implements it). */
export interface ClientHost {
  readonly cfg: RuntimeConfig;
  readonly clock: Clock;
  readonly loopsRunning: boolean;
  connOpened(c: Client): void;
  connWire(info: WireInfo): void;
  onFrame(c: Client, f: DecodedFrame): void;
  deliver(c: Client, room: string, seq: number, pubNode: number, pub: number, counter: number, sendUs: number, replay: boolean): void;
  connError(c: Client, code: string, message: string): void;
  connClosed(c: Client, code: number | string): void;
  request(c: Client, kind: RequestKind, room: string | undefined, send: (id: number, c: Client) => unknown): Promise<number | null>;
  publishFrom(c: Client, room: string, scheduledUs: number, wantResult: boolean, quiet?: boolean): Promise<number | null>;
  count(name: string, n?: number): void;
  record(name: string, us: number): void;
  observe(key: string, value: number, client: number): void;
  sleep(ms: number): Promise<void>;
  /** A slow client starts reading at its pace (client-conditions.ts). */
  startSlow(c: Client): void;
  connect(c: Client, resume?: boolean): Promise<boolean>;
}

/**
 * One virtual client. It is also the ConnectionEvents of its connection: prototype methods
 * rather than closures per connection, because each closure costs ~300 bytes here (tsx keeps
 * function names with a defineProperty, which gives every closure its own property array).
 */
export class Client implements VirtualClient, ConnectionEvents {
  readonly index: number;
  readonly rooms: string[];
  readonly options: Readonly<Record<string, unknown>> & CommonOptions;
  /** Index of the target URL this client connects to. */
  node: number;
  /**
   * The server node this client is attached to, as a number carried in publish tags: the hash of
   * the node id the server announced (welcome `node`), else the URL index with several URLs, else -1.
   */
  nodeKey = -1;
  /** The node id the server announced, if any. */
  nodeName: string | undefined;
  conn: ClientConnection | undefined;
  state: ClientState = 'idle';
  liveness: Liveness = 'healthy';
  recv = new Map<string, ReceiverRoom>();
  /** Failed attempts since the last successful open (backoff grows with it). */
  attempts = 0;
  /** Connections that opened so far (0 = never connected). */
  sessions = 0;
  /** Joins of the last open that failed (timed out, refused or lost); the client counts as connected only at 0. */
  joinsFailed = 0;
  lastBackoffMs = 0;
  dropUs = 0;
  /** When this client last rejoined after a drop (monotonic us; 0 = never): it is back when backUs >= dropUs. */
  backUs = 0;
  /** Why its last connection attempt failed (`errors.<code>` code or `close_<code>`), for the not-back report. */
  lastError: string | undefined;
  /** What this client published per room, for the tag ledger (counters count per room). */
  readonly pubLogs = new Map<string, PublisherLog>();
  private rngFn: Rng | undefined;
  /** The connection attempt in progress, if any. */
  attempt: Attempt | undefined;
  /** When this client last answered a server heartbeat, and last heard anything from the server (us). */
  lastPongUs = 0;
  lastActivityUs = 0;
  /** Server heartbeats heard so far (the liveness timeout applies once there was one). */
  heartbeatsSeen = 0;
  readonly stats = { acked: 0, rateLimited: 0, errors: 0, reconnectAttempts: 0 };
  lastClose: CloseRecord | undefined;
  closeWaiters: Array<(v: CloseRecord | null) => void> = [];
  /** Ids of this client's requests awaiting a reply, in the order sent (so a close fails only its own). */
  readonly pendingIds = new Set<number>();
  /** Slow reading and network profile (client-conditions.ts); undefined in runs without them. */
  cond: ClientConditions | undefined;
  /** The scenario's handlers of server events (`onEvent`), or undefined when it set none. */
  private eventHandlers: Map<string, (data: unknown) => void> | undefined;

  constructor(
    readonly rt: ClientHost,
    index: number,
  ) {
    const cfg = rt.cfg;
    this.index = index;
    this.options = cfg.options;
    this.rooms = roomsOf(index, cfg.options);
    this.node = nodeOf(index, cfg.options.rooms, cfg.spread, cfg.urls.length);
    this.cond = conditionsOf(index, cfg.options);
  }

  /** Created on first use (backoff jitter, scenario randomness): most clients never need one. */
  get rng(): Rng {
    return (this.rngFn ??= createRng(this.rt.cfg.options.seed * 1_000_003 + this.index));
  }

  get zombie(): boolean {
    return this.liveness !== 'healthy';
  }

  onOpen(): void {
    this.rt.connOpened(this);
  }

  onWire(info: WireInfo): void {
    this.rt.connWire(info);
  }

  onHeartbeat(answered: boolean): void {
    const now = this.rt.clock.nowUs();
    this.lastActivityUs = now;
    this.heartbeatsSeen++;
    if (answered) this.lastPongUs = now;
  }

  onFrame(f: DecodedFrame): void {
    this.rt.onFrame(this, f);
  }

  onDelivery(room: string, seq: number, node: number, pub: number, counter: number, sendUs: number, replay: boolean): void {
    this.rt.deliver(this, room, seq, node, pub, counter, sendUs, replay);
  }

  onError(code: string, message: string): void {
    this.rt.connError(this, code, message);
  }

  onClose(code: number | string): void {
    this.rt.connClosed(this, code);
  }

  get running(): boolean {
    return this.rt.loopsRunning;
  }

  random(): number {
    return this.rng();
  }

  join(room: string, since?: number, epoch?: string): Promise<number | null> {
    let r = this.recv.get(room);
    if (!r) this.recv.set(room, (r = createReceiverRoom(room, this.index)));
    else if (since === undefined) closeWindow(r);
    tagJoinSent(r, this.rt.clock.nowUs());
    return this.rt.request(this, 'join', room, (id) => this.conn!.join(room, id, since, epoch));
  }

  leave(room: string): Promise<boolean> {
    const r = this.recv.get(room);
    if (r) {
      r.active = false;
      endTagWindow(r, this.rt.clock.nowUs());
    }
    return this.rt.request(this, 'leave', room, (id) => this.conn!.leave(room, id)).then((v) => v !== null);
  }

  ping(): Promise<number | null> {
    return this.rt.request(this, 'ping', undefined, sendPing);
  }

  publish(room: string, opts: { ack?: boolean } = {}): Promise<number | null> {
    return this.rt.publishFrom(this, room, this.rt.clock.nowUs(), true, opts.ack === false);
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  stopHeartbeat(): void {
    if (this.liveness !== 'healthy') return;
    this.liveness = 'zombie-final';
    this.rt.count(COUNTER.zombies);
    this.conn?.stopHeartbeat();
  }

  waitClosed(timeoutMs: number): Promise<CloseRecord | null> {
    if (this.state === 'closed' && this.lastClose) return Promise.resolve(this.lastClose);
    const clock = this.rt.clock;
    return new Promise((resolve) => {
      const t = clock.setTimeout(() => {
        this.closeWaiters = this.closeWaiters.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (v: CloseRecord | null) => {
        clock.clearTimeout(t);
        resolve(v);
      };
      this.closeWaiters.push(done);
    });
  }

  observe(key: string, value: number): void {
    this.rt.observe(key, value, this.index);
  }

  count(name: string, n = 1): void {
    this.rt.count(name, n);
  }

  record(metric: string, us: number): void {
    this.rt.record(metric, us);
  }

  nowUs(): number {
    return this.rt.clock.nowUs();
  }

  readSlowly(mode: string): void {
    const pace = parseReadPace(mode);
    if (!pace.ok) throw new Error(pace.error);
    const cond = (this.cond ??= noConditions());
    cond.slow = pace.value.kind === 'full' ? undefined : pace.value;
    if (this.state === 'open') this.rt.startSlow(this);
    else if (!cond.slow) this.conn?.readPace?.(pace.value);
  }

  dropConnection(): void {
    if (this.state !== 'open') return;
    this.state = 'dropping';
    this.rt.count(COUNTER.clientDrops);
    this.conn?.terminate();
  }

  sleep(ms: number): Promise<void> {
    return this.rt.sleep(ms);
  }

  emit(event: string, data: unknown, opts: { ack?: boolean } = {}): Promise<unknown> {
    const conn = this.conn;
    if (this.state !== 'open' || !conn?.emit) return Promise.resolve(opts.ack ? null : false);
    if (!opts.ack) {
      conn.emit(event, data);
      return Promise.resolve(true);
    }
    const clock = this.rt.clock;
    return new Promise((resolve) => {
      const t = clock.setTimeout(() => resolve(null), this.options.requestTimeoutMs);
      conn.emit!(event, data, (res) => {
        clock.clearTimeout(t);
        resolve(res);
      });
    });
  }

  onEvent(event: string, handler: (data: unknown) => void): void {
    (this.eventHandlers ??= new Map()).set(event, handler);
  }

  /** @internal A server event the harness does not consume: the scenario's handler, if any. */
  serverEvent(name: string, data: unknown): void {
    this.eventHandlers?.get(name)?.(data);
  }

  async disconnect(): Promise<void> {
    if (this.state !== 'open') return;
    // Closing by us: the runtime does not reconnect it.
    this.state = 'closing';
    this.conn?.close(1000);
    await this.waitClosed(this.options.requestTimeoutMs);
  }

  reconnect(): Promise<boolean> {
    if (this.state !== 'closed') return Promise.resolve(this.state === 'open');
    return this.rt.connect(this, false);
  }
}

/** Writes a ping (module-level: no closure per `vu.ping()`). */
function sendPing(id: number, c: Client): boolean {
  return c.conn!.ping(id);
}
