/**
 * The inside of one worker process: its slice of the virtual clients, their
 * connections, the open-model publisher loop, the ledger and the samples.
 * Everything here reports through a Recorder (samples) and the ledger state;
 * failures of the network are counted, never thrown.
 */
import type { Recorder } from '../metrics/types.ts';
import type { ClientConnection, ConnectionEvents, DecodedFrame, Transport } from '../protocol/types.ts';
import type { CommonOptions, ScenarioDefinition, VirtualClient } from '../scenario/types.ts';
import type { Phase, WorkerInit, WorkerStatus } from './messages.ts';
import { encodeTag, padding, parseTag } from '../protocol/tag.ts';
import { createRamp, type Ramp } from '../executor/ramp.ts';
import { createArrival, type Arrival } from '../executor/arrival.ts';
import { nowUs, realClock } from '../executor/clock.ts';
import { backoffDelayMs } from '../executor/backoff.ts';
import { addReceiver, closeWindow, createReceiverRoom, emptyTally, endTagWindow, onDelivery, onJoined, onUnsequencedDelivery, tagJoinAcked, tagJoinSent, type ReceiverRoom, type RoomTally } from '../checks/ledger.ts';
import { createPublisherLog, logPublish, logRefused, trimLog, type PublisherLog, type TagWindow } from '../checks/tag-ledger.ts';
import { createRng, type Rng } from '../executor/random.ts';
import { mintToken, type TokenClaims } from '../protocol/jwt.ts';
import { NodeIdRegistry } from '../topology/node-identity.ts';
import { limitCodeMatcher } from '../scenario/limit-codes.ts';

/** Replace `{client}` and `{worker}` in every string of a claims template. */
export function fillClaims(template: unknown, client: number, worker: number): unknown {
  if (typeof template === 'string') return template.replace(/\{client\}/g, String(client)).replace(/\{worker\}/g, String(worker));
  if (Array.isArray(template)) return template.map((v) => fillClaims(v, client, worker));
  if (template && typeof template === 'object') return Object.fromEntries(Object.entries(template).map(([k, v]) => [k, fillClaims(v, client, worker)]));
  return template;
}

/** A worker's slice of the run, as its init message gave it, plus what the worker built from it. */
export type RuntimeConfig = Pick<WorkerInit, 'workerId' | 'options' | 'fromClient' | 'toClient' | 'urls' | 'tokens' | 'sourceAddresses' | 'spread' | 'nodeIdentity' | 'splitNodes'> & {
  scenario: ScenarioDefinition;
  transport: Transport;
  recorder: Recorder;
};

/** Aggregate of one per-client observation key. */
export interface Observation {
  count: number;
  sum: number;
  min: number;
  max: number;
  minClient: number;
  maxClient: number;
}

type Pending = { kind: 'join' | 'leave' | 'ack' | 'ping'; startUs: number; client: Client; room?: string; resolve?: (v: number | null) => void; quiet?: boolean; counter?: number };

/** A node id as a tag number: FNV-1a, 31 bits, the same in every worker process. */
export function nodeHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}

/** Room name of a client index: client i is a member of room (i mod rooms). */
export function roomName(i: number): string {
  return `room-${i}`;
}

export function roomsOf(index: number, o: CommonOptions & Record<string, unknown>): string[] {
  const perClient = Math.max(1, Number(o.roomsPerClient ?? 1));
  const out: string[] = [];
  for (let k = 0; k < perClient && k < o.rooms; k++) out.push(roomName((index + k * Math.ceil(o.rooms / perClient)) % o.rooms));
  return out;
}

/** Client i publishes when it is one of the first `publishers` members of its room. */
export function isPublisher(index: number, o: CommonOptions): boolean {
  return Math.floor(index / o.rooms) < o.publishers;
}

/**
 * One virtual client. It is also the ConnectionEvents of its connection: prototype methods
 * rather than closures per connection, because each closure costs ~300 bytes here (tsx keeps
 * function names with a defineProperty, which gives every closure its own property array).
 */
class Client implements VirtualClient, ConnectionEvents {
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
  state: 'idle' | 'connecting' | 'open' | 'closed' = 'idle';
  recv = new Map<string, ReceiverRoom>();
  attempts = 0;
  lastBackoffMs = 0;
  dropUs = 0;
  closingByUs = false;
  /** What this client published per room, for the tag ledger (counters count per room). */
  readonly pubLogs = new Map<string, PublisherLog>();
  private rngFn: Rng | undefined;
  /** The connection attempt in progress: when it started (us), whether it resumes, how to settle it. */
  attemptStartUs = 0;
  attemptResume = false;
  attemptSettle: ((ok: boolean) => void) | undefined;
  /** Open, but waiting for the server's welcome before joining. */
  awaitingWelcome = false;
  zombie = false;
  everConnected = false;
  /** When this client last answered a server heartbeat, and last heard anything from the server (us). */
  lastPongUs = 0;
  lastActivityUs = 0;
  sawHeartbeat = false;
  /** The next close was caused by this client's own liveness timeout: not counted as a server close. */
  timedOut = false;
  noReconnect = false;
  readonly stats = { acked: 0, rateLimited: 0, errors: 0, reconnectAttempts: 0 };
  lastClose: { code: number | string; atUs: number } | undefined;
  closeWaiters: Array<(v: { code: number | string; atUs: number } | null) => void> = [];
  /** Ids of this client's requests awaiting a reply (so a close fails only its own). */
  readonly pendingIds = new Set<number>();

  constructor(
    readonly rt: WorkerRuntime,
    index: number,
  ) {
    this.index = index;
    this.options = rt.cfg.options;
    this.rooms = roomsOf(index, rt.cfg.options);
    // Round robin over each room's members (client i is member number i div rooms of its room),
    // not over client indices: with 10 rooms and 2 nodes the latter would put every member of a
    // room on the same node and no message would ever cross nodes.
    const rank = Math.floor(index / Math.max(1, rt.cfg.options.rooms));
    this.node = rt.cfg.spread.length ? rt.cfg.spread[rank % rt.cfg.spread.length]! : rank % rt.cfg.urls.length;
  }

  /** Created on first use (backoff jitter, scenario randomness): most clients never need one. */
  get rng(): Rng {
    return (this.rngFn ??= createRng(this.rt.cfg.options.seed * 1_000_003 + this.index));
  }

  onOpen(): void {
    // The server counts a new connection as alive: the heartbeat window starts here.
    this.lastActivityUs = this.lastPongUs = nowUs();
    if (!this.awaitingWelcome) void this.rt.afterOpen(this);
  }

  onHeartbeat(answered: boolean): void {
    const now = nowUs();
    this.lastActivityUs = now;
    this.sawHeartbeat = true;
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

  join(room: string, since?: number): Promise<number | null> {
    let r = this.recv.get(room);
    if (!r) this.recv.set(room, (r = createReceiverRoom(room, this.index)));
    else if (since === undefined) closeWindow(r);
    tagJoinSent(r, nowUs());
    return this.rt.request(this, 'join', room, (id) => this.conn!.join(room, id, since));
  }

  leave(room: string): Promise<boolean> {
    const r = this.recv.get(room);
    if (r) {
      r.active = false;
      endTagWindow(r, nowUs());
    }
    return this.rt.request(this, 'leave', room, (id) => this.conn!.leave(room, id)).then((v) => v !== null);
  }

  ping(): Promise<number | null> {
    return this.rt.request(this, 'ping', undefined, (id) => this.conn!.ping(id));
  }

  publish(room: string, opts: { ack?: boolean } = {}): Promise<number | null> {
    return this.rt.publishFrom(this, room, nowUs(), true, opts.ack === false);
  }

  get connected(): boolean {
    return this.state === 'open';
  }

  stopHeartbeat(): void {
    if (this.zombie) return;
    this.zombie = true;
    this.noReconnect = true;
    this.rt.count('zombies');
    this.conn?.stopHeartbeat();
  }

  waitClosed(timeoutMs: number): Promise<{ code: number | string; atUs: number } | null> {
    if (this.state === 'closed' && this.lastClose) return Promise.resolve(this.lastClose);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.closeWaiters = this.closeWaiters.filter((w) => w !== done);
        resolve(null);
      }, timeoutMs);
      const done = (v: { code: number | string; atUs: number } | null) => {
        clearTimeout(t);
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

  nowUs(): number {
    return nowUs();
  }

  dropConnection(): void {
    if (this.state !== 'open') return;
    this.timedOut = true;
    this.rt.count('client.drops');
    this.conn?.terminate();
  }

  sleep(ms: number): Promise<void> {
    return this.rt.sleep(ms);
  }
}

/**
 * The virtual clients of one worker process: connects them (ramp with bounded
 * in-flight handshakes), joins their rooms, publishes at the open-model rate,
 * matches requests to answers with timeouts, reconnects with backoff, keeps the
 * per-room ledger, and records latencies (microseconds) and counters into the
 * worker's `Recorder` (`cfg.recorder`). Driven by phase messages from the
 * coordinator; time is `nowUs` (microseconds). Network failures are counted, never thrown.
 */
export class WorkerRuntime {
  readonly clients: Client[] = [];
  readonly publishers: Client[] = [];
  readonly pending = new Map<number, Pending>();
  phase: Phase | 'init' = 'init';
  loopsRunning = false;
  private nextId = 1;
  private pubCursor = 0;
  private ramp: Ramp | undefined;
  private arrival: Arrival | undefined;
  private sweepTimer: NodeJS.Timeout;
  private sleepers = new Set<() => void>();
  private reconnectTimers = new Set<NodeJS.Timeout>();
  private roomMaxAck = new Map<string, number>();
  private readonly pad: string;
  private readonly rec: Recorder;
  private firstError: string | undefined;
  readonly examples: Record<string, number[]> = {};
  /** Node ids per URL: an id two URLs share makes every client known by its URL. */
  private readonly nodeIds = new NodeIdRegistry();
  /** The first message per `errors.<code>`: what the server said (HTTP status and body, connect_error, error frame). */
  readonly errorExamples: Record<string, string> = {};
  readonly observations = new Map<string, Observation>();
  private claimsTemplate: unknown;
  /** Whether an error code means "rate limited" (the `limit-codes` option, else the common spellings). */
  private readonly isLimitCode: (code: string) => boolean;

  constructor(readonly cfg: RuntimeConfig) {
    this.rec = cfg.recorder;
    this.isLimitCode = limitCodeMatcher(typeof cfg.options.limitCodes === 'string' ? cfg.options.limitCodes : '');
    this.pad = padding(cfg.options.payloadBytes);
    for (let i = cfg.fromClient; i < cfg.toClient; i++) {
      const c = new Client(this, i);
      this.clients.push(c);
      if (isPublisher(i, cfg.options)) this.publishers.push(c);
    }
    this.sweepTimer = setInterval(() => this.sweep(), 250);
    this.sweepTimer.unref();
  }

  status(): WorkerStatus {
    let connected = 0;
    let reconnecting = 0;
    for (const c of this.clients) {
      if (c.state === 'open') connected++;
      else if (c.everConnected && c.state !== 'closed') reconnecting++;
    }
    return { connected, reconnecting };
  }

  count(name: string, n = 1): void {
    this.rec.count(name, n);
  }

  /** A per-client observation (e.g. accepted rate): kept as count/min/max/sum with the clients at the extremes. */
  observe(key: string, value: number, client: number): void {
    let o = this.observations.get(key);
    if (!o) this.observations.set(key, (o = { count: 0, sum: 0, min: Infinity, max: -Infinity, minClient: client, maxClient: client }));
    o.count++;
    o.sum += value;
    if (value < o.min) {
      o.min = value;
      o.minClient = client;
    }
    if (value > o.max) {
      o.max = value;
      o.maxClient = client;
    }
  }

  example(kind: string, index: number): void {
    const list = (this.examples[kind] ??= []);
    if (list.length < 5) list.push(index);
  }

  /** Ramp: connect every client at this worker's share of the ramp rate. */
  async runRamp(ratePerSec: number): Promise<{ connected: number; joined: number; failed: number; firstError?: string; errorExamples: Record<string, string> }> {
    this.ramp = createRamp({
      total: this.clients.length,
      ratePerSec,
      maxInflight: this.cfg.options.maxInflight,
      clock: realClock,
      start: (k) => this.connect(this.clients[k]!),
    });
    await this.ramp.done;
    const { connected } = this.status();
    // Connected is not joined: a join the server never answered leaves the client outside its room.
    const joined = this.clients.filter((c) => c.state === 'open' && c.rooms.every((room) => c.recv.get(room)?.active)).length;
    return { connected, joined, failed: this.clients.length - connected, firstError: this.firstError, errorExamples: this.errorExamples };
  }

  /** Open one client's connection, await the welcome (when the codec has one) and join its rooms. */
  connect(c: Client, resume = false): Promise<boolean> {
    if (this.phase === 'finish') return Promise.resolve(false);
    c.state = 'connecting';
    c.attempts++;
    c.attemptStartUs = nowUs();
    c.attemptResume = resume;
    c.awaitingWelcome = this.cfg.transport.awaitsWelcome;
    // Until the server names its node, a client with several URLs is known by its URL.
    c.nodeName = undefined;
    c.nodeKey = this.cfg.urls.length > 1 ? c.node : -1;
    return new Promise<boolean>((resolve) => {
      c.attemptSettle = resolve;
      c.conn = this.cfg.transport.connect(
        {
          url: this.cfg.urls[c.node]!,
          clientKey: c.index,
          token: this.tokenFor(c.index),
          localAddress: this.cfg.sourceAddresses.length ? this.cfg.sourceAddresses[c.index % this.cfg.sourceAddresses.length] : undefined,
          handshakeTimeoutMs: this.cfg.options.requestTimeoutMs,
        },
        c,
      );
    });
  }

  private settle(c: Client, ok: boolean): void {
    const resolve = c.attemptSettle;
    c.attemptSettle = undefined;
    resolve?.(ok);
  }

  /** @internal The connection is open (and welcomed): count it and join the client's rooms. */
  async afterOpen(c: Client): Promise<void> {
    const resume = c.attemptResume;
    c.state = 'open';
    c.everConnected = true;
    c.attempts = 0;
    this.rec.count('connections.opened');
    this.rec.record('connect', nowUs() - c.attemptStartUs);
    if (c.zombie) c.conn?.stopHeartbeat();
    const joins = c.rooms.map((room) => {
      const r = c.recv.get(room);
      const since = resume && r && r.joinSeq >= 0 ? r.lastSeq : undefined;
      return c.join(room, since);
    });
    const results = await Promise.all(joins);
    if (resume && results.every((x) => x !== null)) {
      this.rec.record('reconnect', nowUs() - c.dropUs);
      this.rec.count('reconnects');
      this.observe('reconnect.attempts', c.stats.reconnectAttempts, c.index);
      c.stats.reconnectAttempts = 0;
    }
    this.settle(c, c.state === 'open');
  }

  /** @internal */
  connError(c: Client, code: string, message: string): void {
    this.countError(code, message);
    if (c.state === 'connecting') {
      this.rec.count('connections.failed');
      this.firstError ??= `${code}: ${message} (${this.cfg.urls[c.node]})`;
      this.example(`connect:${code}`, c.index);
    }
  }

  /** @internal */
  connClosed(c: Client, code: number | string): void {
    const now = nowUs();
    const wasOpen = c.state === 'open';
    c.state = 'closed';
    c.awaitingWelcome = false;
    c.lastClose = { code, atUs: now };
    for (const w of c.closeWaiters.splice(0)) w(c.lastClose);
    for (const r of c.recv.values()) endTagWindow(r, now);
    if (code === 'ping_timeout' && wasOpen && !c.zombie) {
      // Engine.IO's own client-side heartbeat timeout: the client noticed a silent server itself.
      this.rec.count('errors.heartbeat_timeout');
      this.rec.record('detect', now - c.lastActivityUs);
      c.timedOut = true;
    }
    const byServer = !c.closingByUs && !c.timedOut;
    this.failPendingOf(c, byServer);
    c.timedOut = false;
    if (byServer) this.rec.count(`close.${code}`);
    if (byServer && wasOpen) {
      if (c.zombie) {
        // Eviction: from the last heartbeat this client answered to the server's close.
        this.rec.record('eviction', now - c.lastPongUs);
        // Also per client for the whole run: evictions in the warm-up are judged like the rest.
        this.observe('eviction.ms', (now - c.lastPongUs) / 1000, c.index);
        this.rec.count('evictions');
      } else this.rec.count('healthy.dropped');
    }
    this.settle(c, false);
    if (wasOpen && !c.closingByUs) this.onDropped(c, code);
    else if (!wasOpen && c.everConnected && !c.closingByUs) this.scheduleReconnect(c);
  }

  private tokenFor(i: number): string | undefined {
    const t = this.cfg.tokens;
    switch (t.mode) {
      case 'none':
        return undefined;
      case 'single':
        return t.token;
      case 'list':
        return t.tokens[(i - this.cfg.fromClient) % t.tokens.length];
      case 'mint':
        return mintToken(t.claims ? (fillClaims(this.claimsTemplate ??= JSON.parse(t.claims), i, this.cfg.workerId) as TokenClaims) : { sub: `user-${i}` }, t.secret, { expiresInSec: t.expiresInSec });
    }
  }

  private onDropped(c: Client, code: number | string): void {
    this.example(`dropped:${code}`, c.index);
    c.dropUs = nowUs();
    if (!this.cfg.options.reconnect || this.phase === 'finish' || c.noReconnect) {
      for (const r of c.recv.values()) r.active = false;
      return;
    }
    this.scheduleReconnect(c);
  }

  private scheduleReconnect(c: Client): void {
    if (this.phase === 'finish' || !this.cfg.options.reconnect || c.noReconnect) {
      for (const r of c.recv.values()) r.active = false;
      return;
    }
    const o = this.cfg.options;
    const delay = backoffDelayMs(c.attempts, { baseMs: o.backoffBaseMs, capMs: o.backoffCapMs, jitter: o.jitter, previousMs: c.lastBackoffMs }, c.rng);
    c.lastBackoffMs = delay;
    // After two failed attempts on the same node, try the next one (its node may be gone).
    if (c.attempts >= 2 && this.cfg.urls.length > 1) c.node = (c.node + 1) % this.cfg.urls.length;
    c.state = 'idle';
    const t = setTimeout(() => {
      this.reconnectTimers.delete(t);
      this.rec.count('reconnect.attempts');
      c.stats.reconnectAttempts++;
      void this.connect(c, true);
    }, delay);
    this.reconnectTimers.add(t);
  }

  /** @internal */
  deliver(c: Client, room: string, seq: number, pubNode: number, pub: number, counter: number, sendUs: number, replay: boolean): void {
    const now = nowUs();
    c.lastActivityUs = now;
    this.rec.count('messages.received');
    const r = c.recv.get(room);
    if (r === undefined) {
      this.rec.count('errors.unexpected_message');
      return;
    }
    const verdict = seq < 0 ? onUnsequencedDelivery(r, pub, counter, sendUs) : onDelivery(r, seq);
    if (verdict === 'dup') this.rec.count('ledger.duplicated');
    else if (verdict === 'reorder') this.rec.count('ledger.reordered');
    if (replay) {
      this.rec.count('messages.replayed');
      return;
    }
    const lat = now - sendUs;
    this.rec.record('fanout', lat);
    // Tag nodes are nodeKey + 1 (0 = the publisher did not know its node).
    if (this.cfg.splitNodes && pubNode > 0 && c.nodeKey >= 0) this.rec.record(pubNode - 1 === c.nodeKey ? 'fanout.local' : 'fanout.remote', lat);
  }

  /** @internal */
  onFrame(c: Client, f: DecodedFrame): void {
    if (f.kind !== 'message') c.lastActivityUs = nowUs();
    switch (f.kind) {
      case 'welcome':
        if (f.node !== undefined && this.cfg.nodeIdentity) {
          c.nodeName = f.node;
          const claim = this.nodeIds.claim(f.node, c.node);
          if (claim === 'named') c.nodeKey = nodeHash(f.node);
          else if (claim === 'shared-now') for (const o of this.clients) o.nodeKey = this.cfg.urls.length > 1 ? o.node : -1;
        }
        if (c.awaitingWelcome && c.state === 'connecting') {
          c.awaitingWelcome = false;
          void this.afterOpen(c);
        }
        return;
      case 'joined': {
        const p = this.take(f.id);
        const r = c.recv.get(f.room) ?? c.recv.set(f.room, createReceiverRoom(f.room, c.index)).get(f.room)!;
        onJoined(r, f.seq);
        tagJoinAcked(r, nowUs());
        if (f.seq !== undefined) this.noteSeq(f.room, f.seq);
        if (p) this.finish(p, 'join');
        return;
      }
      case 'left': {
        const p = this.take(f.id);
        if (p) this.finish(p, undefined);
        return;
      }
      case 'ack': {
        const p = this.take(f.id);
        c.stats.acked++;
        if (p) {
          this.finish(p, p.quiet ? undefined : 'ack');
          if (f.seq !== undefined && p.room) this.noteSeq(p.room, f.seq);
        }
        return;
      }
      case 'pong': {
        const p = this.take(f.id);
        if (p) this.finish(p, 'rtt');
        return;
      }
      case 'message': {
        const tag = f.tag ? parseTag(f.tag) : null;
        if (tag) this.deliver(c, f.room, f.seq ?? -1, tag.node, tag.publisher, tag.counter, tag.sendUs, f.replay === true);
        else this.rec.count('messages.untagged');
        return;
      }
      case 'gap':
        this.rec.count('ledger.gaps', Math.max(0, f.to - f.from + 1));
        return;
      case 'error': {
        this.countError(f.code, f.message ?? `error frame with code ${f.code}`);
        c.stats.errors++;
        if (this.isLimitCode(f.code)) c.stats.rateLimited++;
        if (f.id !== undefined) {
          const p = this.take(f.id);
          if (p?.kind === 'ack') this.refused(c, p);
          if (p) p.resolve?.(null);
        }
        return;
      }
      case 'other':
        this.rec.count(`events.${f.name}`);
        return;
    }
  }

  /** Count `errors.<code>` and keep the first message of each code as evidence. */
  private countError(code: string, message: string): void {
    this.rec.count(`errors.${code}`);
    this.errorExamples[`errors.${code}`] ??= message.slice(0, 200);
  }

  private noteSeq(room: string, seq: number): void {
    if (seq > (this.roomMaxAck.get(room) ?? 0)) this.roomMaxAck.set(room, seq);
  }

  private take(id: string | number): Pending | undefined {
    const key = typeof id === 'number' ? id : Number(id);
    const p = this.pending.get(key);
    if (p) {
      this.pending.delete(key);
      p.client.pendingIds.delete(key);
    }
    return p;
  }

  private finish(p: Pending, metric: string | undefined): void {
    const lat = nowUs() - p.startUs;
    if (metric) this.rec.record(metric, lat);
    p.resolve?.(lat);
  }

  /** Send a request that expects a reply correlated by id; resolves with the latency or null. */
  request(c: Client, kind: Pending['kind'], room: string | undefined, send: (id: number) => unknown): Promise<number | null> {
    if (c.state !== 'open' || !c.conn) return Promise.resolve(null);
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, { kind, startUs: nowUs(), client: c, room, resolve });
      c.pendingIds.add(id);
      if (send(id) === false) {
        this.pending.delete(id);
        c.pendingIds.delete(id);
        resolve(null);
      }
    });
  }

  /**
   * Publish a tagged message. `quiet`: the caller expects some publishes to go
   * unanswered (rate-limit probing), so no ack latency is recorded and a missing
   * ack is not an error.
   */
  publishFrom(c: Client, room: string, scheduledUs: number, wantResult: boolean, quiet = false): Promise<number | null> {
    if (c.state !== 'open' || !c.conn) return Promise.resolve(null);
    const id = this.nextId++;
    let log = c.pubLogs.get(room);
    if (!log) c.pubLogs.set(room, (log = createPublisherLog(c.index, room)));
    const counter = logPublish(log, scheduledUs);
    const tag = encodeTag(c.nodeKey + 1, c.index, counter, scheduledUs);
    this.rec.count('messages.sent');
    c.pendingIds.add(id);
    if (!wantResult) {
      this.pending.set(id, { kind: 'ack', startUs: scheduledUs, client: c, room, quiet, counter });
      c.conn.publish(room, id, tag, this.pad);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.pending.set(id, { kind: 'ack', startUs: scheduledUs, client: c, room, resolve, quiet, counter });
      c.conn!.publish(room, id, tag, this.pad);
    });
  }

  /** The server refused a publish (an error frame for it, or a close while its ack was pending). */
  private refused(c: Client, p: Pending): void {
    const log = p.room === undefined ? undefined : c.pubLogs.get(p.room);
    if (log && p.counter !== undefined) logRefused(log, p.counter);
  }

  private failPendingOf(c: Client, byServer: boolean): void {
    for (const id of c.pendingIds) {
      const p = this.pending.get(id);
      if (!p) continue;
      this.pending.delete(id);
      if (byServer && p.kind === 'ack') this.refused(c, p);
      if (!p.quiet) this.rec.count(`errors.${p.kind}_lost`);
      p.resolve?.(null);
    }
    c.pendingIds.clear();
  }

  /** Time out requests that waited longer than requestTimeoutMs; detect silent servers. */
  private sweep(): void {
    const now = nowUs();
    const limit = now - this.cfg.options.requestTimeoutMs * 1000;
    for (const [id, p] of this.pending) {
      // Entries are in insertion order, so the first young one ends the scan.
      if (p.startUs >= limit) break;
      this.pending.delete(id);
      p.client.pendingIds.delete(id);
      if (!p.quiet) this.rec.count(`errors.${p.kind}_timeout`);
      p.resolve?.(null);
    }
    this.sweepSilentGreeters(now);
    const timeoutUs = Number(this.cfg.options.clientTimeoutMs ?? 0) * 1000;
    if (timeoutUs > 0 && this.phase !== 'finish') {
      for (const c of this.clients) {
        if (c.state !== 'open' || !c.sawHeartbeat || c.zombie) continue;
        const silent = now - c.lastActivityUs;
        if (silent > timeoutUs) {
          // The server went quiet (frozen or gone): give up on it like a real client would.
          this.rec.count('errors.heartbeat_timeout');
          this.rec.record('detect', silent);
          c.timedOut = true;
          c.conn?.terminate();
        }
      }
    }
  }

  /** Connections the server opened but never greeted with the welcome frame the dialect waits for: named as such, then closed. */
  private sweepSilentGreeters(now: number): void {
    const limitUs = this.cfg.options.requestTimeoutMs * 1000;
    for (const c of this.clients) {
      if (!c.awaitingWelcome || c.state !== 'connecting' || !c.conn?.isOpen || now - c.lastActivityUs < limitUs) continue;
      c.awaitingWelcome = false;
      const message = `the WebSocket opened but the server sent no welcome frame within ${this.cfg.options.requestTimeoutMs} ms (${this.cfg.urls[c.node]})`;
      this.countError('no_welcome', message);
      this.rec.count('connections.failed');
      this.firstError ??= `no_welcome: ${message}`;
      this.example('connect:no_welcome', c.index);
      c.closingByUs = true;
      c.conn.terminate();
    }
  }

  /** Open-model publishing at this worker's share of the rate. */
  startPublishing(ratePerSec: number): void {
    if (this.arrival || ratePerSec <= 0 || this.publishers.length === 0) return;
    this.arrival = createArrival({
      ratePerSec,
      clock: realClock,
      fire: (scheduledUs) => {
        // Round robin over publishers that are connected; none free = dropped.
        for (let tries = 0; tries < this.publishers.length; tries++) {
          const c = this.publishers[this.pubCursor++ % this.publishers.length]!;
          if (c.state === 'open') {
            void this.publishFrom(c, c.rooms[0]!, scheduledUs, false);
            return true;
          }
        }
        return false;
      },
      onDropped: (n) => this.rec.count('messages.dropped', n),
    });
  }

  stopPublishing(): void {
    this.arrival?.stop();
    this.arrival = undefined;
  }

  startLoops(): void {
    const loop = this.cfg.scenario.loop;
    if (!loop || this.loopsRunning) return;
    this.loopsRunning = true;
    for (const c of this.clients) {
      const run = async () => {
        while (this.loopsRunning) {
          if (c.state !== 'open') {
            await this.sleep(200);
            continue;
          }
          try {
            await loop(c);
          } catch (e) {
            this.rec.count('errors.scenario_loop');
            this.firstError ??= `scenario loop threw: ${(e as Error).message}`;
            await this.sleep(1000);
          }
          // A loop that returns while running is restarted; give the event loop a turn.
          if (this.loopsRunning) await this.sleep(0);
        }
      };
      void run();
    }
  }

  stopLoops(): void {
    this.loopsRunning = false;
    for (const wake of this.sleepers) wake();
    this.sleepers.clear();
  }

  sleep(ms: number): Promise<void> {
    if (!this.loopsRunning && ms > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(t);
        this.sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      this.sleepers.add(wake);
    });
  }

  zombify(indices: number[]): void {
    for (const i of indices) {
      const c = this.clients[i - this.cfg.fromClient];
      if (!c) continue;
      c.zombie = true;
      c.conn?.stopHeartbeat();
    }
  }

  /** The per-room tallies of every receiver, for the coordinator's ledger. */
  tallies(): RoomTally[] {
    const byRoom = new Map<string, RoomTally>();
    for (const c of this.clients) {
      for (const r of c.recv.values()) {
        let t = byRoom.get(r.room);
        if (!t) byRoom.set(r.room, (t = emptyTally(r.room)));
        addReceiver(t, r);
      }
    }
    for (const [room, seq] of this.roomMaxAck) {
      let t = byRoom.get(room);
      if (!t) byRoom.set(room, (t = emptyTally(room)));
      if (seq > t.maxSeq) t.maxSeq = seq;
    }
    return [...byRoom.values()];
  }

  /** Every receiver's membership windows and every publisher's log, for the coordinator's tag ledger. */
  tagLedger(): { windows: TagWindow[]; logs: PublisherLog[] } {
    const windows: TagWindow[] = [];
    const logs: PublisherLog[] = [];
    for (const c of this.clients) {
      for (const r of c.recv.values()) windows.push(...r.windows);
      for (const l of c.pubLogs.values()) logs.push(trimLog(l));
    }
    return { windows, logs };
  }

  /** Zombies the server never evicted: counted, with example ids, before the final close. */
  noteUnevictedZombies(): void {
    for (const c of this.clients) {
      if (c.zombie && c.state === 'open') {
        this.rec.count('zombies.not_evicted');
        this.example('zombie-not-evicted', c.index);
      }
    }
  }

  /** Connected clients per `<url index>|<node id the server announced, or empty>`. */
  nodeClients(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const c of this.clients) {
      if (c.state !== 'open') continue;
      const key = `${c.node}|${c.nodeName ?? ''}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** Close every connection and wait (bounded) for the closes to finish. */
  async closeAll(timeoutMs = 3000): Promise<void> {
    this.phase = 'finish';
    this.stopPublishing();
    this.stopLoops();
    this.ramp?.stop();
    for (const t of this.reconnectTimers) clearTimeout(t);
    this.reconnectTimers.clear();
    for (const c of this.clients) {
      c.closingByUs = true;
      if (c.conn && c.state !== 'closed') c.conn.close(1000);
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && this.clients.some((c) => c.state === 'open' || c.state === 'connecting')) {
      await new Promise((r) => setTimeout(r, 25));
    }
    for (const c of this.clients) if (c.state !== 'closed') c.conn?.terminate();
    clearInterval(this.sweepTimer);
  }
}
