/**
 * The inside of one worker process: its slice of the virtual clients, their
 * connections, the open-model publisher loop, the ledger and the samples.
 * Everything here reports through a Recorder (samples) and the ledger state;
 * failures of the network are counted, never thrown.
 *
 * Its parts: client state (client-state.ts, virtual-client.ts), request matching and
 * timeouts (request-tracker.ts), frame dispatch (frame-dispatch.ts), tokens
 * (token-source.ts) and placement (placement.ts). This file holds the life cycle.
 */
import type { Recorder } from '../metrics/types.ts';
import type { DecodedFrame, PublishAck, WireInfo } from '../protocol/types.ts';
import type { Observation, Phase, WorkerStatus } from './messages.ts';
import type { RuntimeConfig } from './runtime-config.ts';
import { encodeTag, padding } from '../protocol/tag.ts';
import { createRamp, type Ramp } from '../executor/ramp.ts';
import { createArrival, type Arrival } from '../executor/arrival.ts';
import { realClock, type Clock } from '../executor/clock.ts';
import { backoffDelayMs } from '../executor/backoff.ts';
import { SleepWheel } from '../executor/sleep-wheel.ts';
import { addReceiverEpochs, emptyTally, endTagWindow, onDelivery, onUnsequencedDelivery, parseSeqKey, seqKey, type RoomTally } from '../checks/ledger.ts';
import { createPublisherLog, logPublish, logRefused, trimLog, type PublisherLog, type TagWindow } from '../checks/tag-ledger.ts';
import { isConnecting, wasUp } from './client-state.ts';
import { Client, type ClientHost } from './virtual-client.ts';
import { RequestTracker, type PendingRequest, type RequestKind } from './request-tracker.ts';
import { dispatchFrame, type DispatchHost } from './frame-dispatch.ts';
import { TokenMinter } from './token-source.ts';
import { isPublisher, nodeHash } from './placement.ts';
import { NodeIdRegistry } from '../topology/node-identity.ts';
import { limitCodeMatcher } from '../scenario/limit-codes.ts';
import { COUNTER, METRIC, RECOVERY_OBSERVATION, closeCounter, errorCounter, notBackCounter } from '../metrics/names.ts';
import { catchUp, connectUnder, noteDelivery, observeSkipped, SLOW_OBSERVATION, startSlow } from './client-conditions.ts';

export type { Observation } from './messages.ts';

export type { RuntimeConfig } from './runtime-config.ts';

/** The answer of a request that cannot be sent (shared: a settled promise can be awaited many times). */
const RESOLVED_NULL: Promise<number | null> = Promise.resolve(null);

/** How often requests are checked for timeouts and servers for silence, ms. */
const SWEEP_MS = 250;

/**
 * The virtual clients of one worker process: connects them (ramp with bounded
 * in-flight handshakes), joins their rooms, publishes at the open-model rate,
 * matches requests to answers with timeouts, reconnects with backoff, keeps the
 * per-room ledger, and records latencies (microseconds) and counters into the
 * worker's `Recorder` (`cfg.recorder`). Driven by phase messages from the
 * coordinator (worker-main.ts); time is `clock.nowUs` (microseconds). Network failures are counted, never thrown.
 */
export class WorkerRuntime implements ClientHost, DispatchHost {
  readonly clients: Client[] = [];
  readonly publishers: Client[] = [];
  readonly requests: RequestTracker<Client>;
  readonly clock: Clock;
  phase: Phase | 'init' = 'init';
  loopsRunning = false;
  private pubCursor = 0;
  private ramp: Ramp | undefined;
  private arrival: Arrival | undefined;
  private sweepTimer: unknown;
  /** Every `vu.sleep` of this worker's clients: one timer for all (sleep-wheel.ts). */
  private readonly sleeps: SleepWheel;
  /** Event-loop turns seen by the loops (bumped by one shared immediate; see startLoops). */
  private turn = 0;
  private turnArmed = false;
  private readonly bumpTurn = (): void => {
    this.turn++;
    this.turnArmed = false;
  };
  /** Clients open and waiting for the server's welcome frame. */
  private readonly welcoming = new Set<Client>();
  private reconnectTimers = new Set<unknown>();
  /** Set once the clients not back were counted (the end of the run): later rejoins are not counted back. */
  private notBackNoted = false;
  private roomMaxAck = new Map<string, number>();
  private readonly pad: string;
  private readonly ackMode: PublishAck;
  private readonly rec: Recorder;
  private readonly tokens: TokenMinter;
  private firstError: string | undefined;
  private saidRoomless = false;
  readonly examples: Record<string, number[]> = {};
  /** The first message per `errors.<code>`: what the server said (HTTP status and body, connect_error, error frame). */
  readonly errorExamples: Record<string, string> = {};
  readonly observations = new Map<string, Observation>();
  /** Node ids per URL: an id two URLs share makes every client known by its URL. */
  private readonly nodeIds: NodeIdRegistry;
  /** Whether an error code means "rate limited" (the `limit-codes` option, else the common spellings). */
  readonly isLimitCode: (code: string) => boolean;

  constructor(readonly cfg: RuntimeConfig) {
    this.rec = cfg.recorder;
    this.nodeIds = new NodeIdRegistry(cfg.urlNodes);
    this.isLimitCode = limitCodeMatcher(typeof cfg.options.limitCodes === 'string' ? cfg.options.limitCodes : '');
    this.clock = cfg.clock ?? realClock;
    this.sleeps = new SleepWheel(this.clock);
    this.requests = new RequestTracker<Client>(cfg.recorder);
    this.tokens = new TokenMinter(cfg.tokens, cfg.fromClient, cfg.workerId);
    this.pad = padding(cfg.options.payloadBytes);
    this.ackMode = cfg.transport.publishAck ?? 'frame';
    for (let i = cfg.fromClient; i < cfg.toClient; i++) {
      const c = new Client(this, i);
      this.clients.push(c);
      if (isPublisher(i, cfg.options)) this.publishers.push(c);
    }
    this.scheduleSweep();
  }

  status(): WorkerStatus {
    let connected = 0;
    let reconnecting = 0;
    for (const c of this.clients) {
      if (c.state === 'open') connected++;
      else if (c.sessions > 0 && c.state !== 'closed') reconnecting++;
    }
    return { connected, reconnecting };
  }

  count(name: string, n = 1): void {
    this.rec.count(name, n);
  }

  /** A scenario's latency sample (us) for metric `name`. */
  record(name: string, us: number): void {
    this.rec.record(name, us);
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
      clock: this.clock,
      start: (k) => this.connect(this.clients[k]!),
    });
    await this.ramp.done;
    const { connected } = this.status();
    // Connected is not joined: a join the server never answered leaves the client outside its room.
    let joined = 0;
    for (const c of this.clients) if (c.state === 'open' && c.joinsFailed === 0) joined++;
    return { connected, joined, failed: this.clients.length - connected, firstError: this.firstError, errorExamples: this.errorExamples };
  }

  /** Open one client's connection, await the welcome (when the codec has one) and join its rooms. */
  connect(c: Client, resume = false): Promise<boolean> {
    if (this.phase === 'finish') return Promise.resolve(false);
    c.state = 'connecting';
    c.attempts++;
    // Until the server names its node, a client with several URLs is known by its URL.
    c.nodeName = undefined;
    c.nodeKey = this.cfg.urls.length > 1 ? c.node : -1;
    return new Promise<boolean>((resolve) => {
      c.attempt = { startUs: this.clock.nowUs(), openUs: 0, resume, settle: resolve };
      c.conn = connectUnder(
        this.cfg.transport,
        {
          url: this.cfg.urls[c.node]!,
          clientKey: c.index,
          token: this.tokens.tokenFor(c.index),
          localAddress: this.cfg.sourceAddresses.length ? this.cfg.sourceAddresses[c.index % this.cfg.sourceAddresses.length] : undefined,
          handshakeTimeoutMs: this.cfg.options.requestTimeoutMs,
        },
        c,
        c.cond,
        this.rec,
        this.clock,
        c,
        this.pad.length + 120,
      );
    });
  }

  private settle(c: Client, ok: boolean): void {
    const a = c.attempt;
    c.attempt = undefined;
    a?.settle(ok);
  }

  /** @internal The raw client's handshake phases (`connect.tcp/tls/upgrade`), TLS resumption and compression agreed. */
  connWire(info: WireInfo): void {
    this.rec.record(METRIC.connectTcp, info.tcpUs);
    this.rec.record(METRIC.connectUpgrade, info.upgradeUs);
    if (info.tlsUs >= 0) {
      this.rec.record(METRIC.connectTls, info.tlsUs);
      this.rec.count(info.tlsResumed ? COUNTER.tlsResumed : COUNTER.tlsFull);
    }
    if (info.compression === null) this.rec.count(COUNTER.compressionDeclined);
    else if (info.compression !== undefined) {
      this.rec.count(COUNTER.compressionNegotiated);
      // One counter per agreed parameter, e.g. `compression.server_no_context_takeover`, `compression.client_max_window_bits_15`.
      for (const p of info.compression.split('; ').slice(1)) this.rec.count(`compression.${p.replace('=', '_')}`);
    }
  }

  /** @internal The handshake completed: join now, or first wait for the server's welcome. */
  connOpened(c: Client): void {
    // The server counts a new connection as alive: the heartbeat window starts here.
    const now = this.clock.nowUs();
    c.lastActivityUs = c.lastPongUs = now;
    if (c.attempt) c.attempt.openUs = now;
    if (!this.cfg.transport.awaitsWelcome) return void this.afterOpen(c);
    c.state = 'welcoming';
    this.welcoming.add(c);
  }

  /** @internal The server's welcome frame arrived. */
  welcomed(c: Client): void {
    if (c.state !== 'welcoming') return;
    this.welcoming.delete(c);
    void this.afterOpen(c);
  }

  /** Fail the attempts that opened but heard no welcome within requestTimeoutMs (named, not a generic connect failure). */
  private abandonUnwelcomed(nowUs: number): void {
    const limitMs = this.cfg.options.requestTimeoutMs;
    for (const c of this.welcoming) {
      if (c.state !== 'welcoming') {
        this.welcoming.delete(c);
        continue;
      }
      if (nowUs - (c.attempt?.openUs ?? nowUs) < limitMs * 1000) continue;
      this.welcoming.delete(c);
      const message =
        `the WebSocket opened but the server sent no welcome frame within ${limitMs} ms (${this.cfg.urls[c.node]}); ` +
        `the dialect expects one before joining: if this server sends none, use --set ws-types=welcome=none or awaitsWelcome: false in the adapter`;
      this.countError('no_welcome', message);
      this.rec.count(COUNTER.connectionsFailed);
      this.example('connect:no_welcome', c.index);
      this.firstError ??= `no_welcome: ${message}`;
      c.state = 'abandoning';
      c.conn?.terminate();
    }
  }

  /** @internal The connection is open (and welcomed): count it and join the client's rooms. */
  async afterOpen(c: Client): Promise<void> {
    const resume = c.attempt?.resume ?? false;
    c.state = 'open';
    c.sessions++;
    c.attempts = 0;
    c.lastError = undefined;
    this.rec.count(COUNTER.connectionsOpened);
    this.rec.record(METRIC.connect, this.clock.nowUs() - (c.attempt?.startUs ?? 0));
    if (c.zombie) c.conn?.stopHeartbeat();
    c.joinsFailed = 0;
    const joins = c.rooms.map((room) => {
      const r = c.recv.get(room);
      const since = resume && r && r.joinSeq >= 0 ? r.lastSeq : undefined;
      // The epoch `since` belongs to: a server that began again replays its new epoch from the start.
      return c.join(room, since, since === undefined ? undefined : r?.epoch);
    });
    const results = await Promise.all(joins);
    c.joinsFailed = results.filter((x) => x === null).length;
    if (c.cond?.slow && c.state === 'open') this.startSlow(c, Number(this.cfg.options.slowAfter ?? 0));
    if (c.joinsFailed > 0 && c.state === 'open') {
      this.example('connect:join_failed', c.index);
      this.firstError ??= `join_failed: connected, but ${c.joinsFailed} of ${c.rooms.length} joins got no reply within ${this.cfg.options.requestTimeoutMs} ms or were refused (${this.cfg.urls[c.node]})`;
    }
    // A rejoin that completes after the not-back count (the run is closing) is not counted back too.
    if (resume && c.state === 'open' && !this.notBackNoted && results.every((x) => x !== null)) {
      const now = this.clock.nowUs();
      c.backUs = now;
      this.rec.record(METRIC.reconnect, now - c.dropUs);
      this.observe(RECOVERY_OBSERVATION, (now - c.dropUs) / 1000, c.index);
      this.rec.count(COUNTER.reconnects);
      this.observe(COUNTER.reconnectAttempts, c.stats.reconnectAttempts, c.index);
      c.stats.reconnectAttempts = 0;
    }
    this.settle(c, c.state === 'open');
  }

  /** @internal */
  connError(c: Client, code: string, message: string): void {
    this.countError(code, message);
    if (isConnecting(c.state)) {
      c.lastError = code;
      this.rec.count(COUNTER.connectionsFailed);
      this.firstError ??= `${code}: ${message} (${this.cfg.urls[c.node]})`;
      this.example(`connect:${code}`, c.index);
    }
  }

  /** @internal */
  connClosed(c: Client, code: number | string): void {
    const now = this.clock.nowUs();
    const prev = c.state;
    const wasOpen = wasUp(prev);
    const byUs = prev === 'closing';
    let timedOut = prev === 'dropping' || prev === 'abandoning';
    c.state = 'closed';
    c.lastClose = { code, atUs: now };
    for (const w of c.closeWaiters.splice(0)) w(c.lastClose);
    for (const r of c.recv.values()) endTagWindow(r, now);
    if (code === 'ping_timeout' && wasOpen && !c.zombie) {
      // Engine.IO's own client-side heartbeat timeout: the client noticed a silent server itself.
      this.rec.count(COUNTER.errorsHeartbeatTimeout);
      this.rec.record(METRIC.detect, now - c.lastActivityUs);
      timedOut = true;
    }
    const byServer = !byUs && !timedOut;
    // A publish still waiting for its ack when the server closed was refused by that close.
    this.requests.failAllOf(c, byServer ? (p) => p.kind === 'ack' && this.refused(c, p) : undefined);
    if (byServer) this.rec.count(closeCounter(code));
    if (byServer && wasOpen && c.cond?.slow) {
      // A slow consumer the server cut: how long it took, and the client stays away.
      this.observe(SLOW_OBSERVATION.cutMs, (now - c.cond.slowSinceUs) / 1000, c.index);
      this.example(`slow-cut:${code}`, c.index);
      this.settle(c, false);
      return this.scheduleReconnect(c, true);
    }
    if (byServer && wasOpen) {
      if (c.zombie) {
        // Eviction: from the last heartbeat this client answered to the server's close.
        this.rec.record(METRIC.eviction, now - c.lastPongUs);
        // Also per client for the whole run: evictions in the warm-up are judged like the rest.
        this.observe('eviction.ms', (now - c.lastPongUs) / 1000, c.index);
        this.rec.count(COUNTER.evictions);
      } else this.rec.count(COUNTER.healthyDropped);
    }
    if (isConnecting(prev) && c.lastError === undefined) c.lastError = `close_${code}`;
    this.settle(c, false);
    if (wasOpen && !byUs) this.onDropped(c, code);
    else if (!wasOpen && c.sessions > 0 && !byUs) this.scheduleReconnect(c);
  }

  private onDropped(c: Client, code: number | string): void {
    this.example(`dropped:${code}`, c.index);
    c.dropUs = this.clock.nowUs();
    this.scheduleReconnect(c);
  }

  private scheduleReconnect(c: Client, stayAway = false): void {
    if (stayAway || this.phase === 'finish' || !this.cfg.options.reconnect || c.liveness === 'zombie-final') {
      for (const r of c.recv.values()) r.active = false;
      return;
    }
    const o = this.cfg.options;
    const delay = backoffDelayMs(c.attempts, { baseMs: o.backoffBaseMs, capMs: o.backoffCapMs, jitter: o.jitter, previousMs: c.lastBackoffMs }, c.rng);
    c.lastBackoffMs = delay;
    // After two failed attempts on the same node, try the next one (its node may be gone).
    if (c.attempts >= 2 && this.cfg.urls.length > 1) c.node = (c.node + 1) % this.cfg.urls.length;
    c.state = 'idle';
    const t = this.clock.setTimeout(() => {
      this.reconnectTimers.delete(t);
      this.rec.count(COUNTER.reconnectAttempts);
      c.stats.reconnectAttempts++;
      void this.connect(c, true);
    }, delay);
    this.reconnectTimers.add(t);
  }

  /** @internal A tagged room message reached client `c` (from the fast path or a decoded frame). */
  deliver(c: Client, room: string, seq: number, pubNode: number, pub: number, counter: number, sendUs: number, replay: boolean): void {
    if (pub === c.index && this.ackMode === 'echo' && !replay) this.echoAck(c, room, counter);
    const now = this.clock.nowUs();
    c.lastActivityUs = now;
    this.rec.count(COUNTER.messagesReceived);
    const r = c.recv.get(room);
    if (r === undefined) {
      this.rec.count(COUNTER.errorsUnexpectedMessage);
      return;
    }
    const before = r.lastSeq;
    const verdict = seq < 0 ? onUnsequencedDelivery(r, pub, counter, sendUs) : onDelivery(r, seq);
    if (c.cond !== undefined) noteDelivery(c.cond, this.rec, before, seq, replay ? -1 : now - sendUs);
    if (verdict === 'dup') this.rec.count(COUNTER.ledgerDuplicated);
    else if (verdict === 'reorder') this.rec.count(COUNTER.ledgerReordered);
    if (replay) {
      this.rec.count(COUNTER.messagesReplayed);
      return;
    }
    const lat = now - sendUs;
    this.rec.record(METRIC.fanout, lat);
    // Tag nodes are nodeKey + 1 (0 = the publisher did not know its node).
    if (this.cfg.splitNodes && pubNode > 0 && c.nodeKey >= 0) this.rec.record(pubNode - 1 === c.nodeKey ? METRIC.fanoutLocal : METRIC.fanoutRemote, lat);
  }

  /**
   * @internal A tagged message without a room reached a client in several rooms (or none): the
   * harness cannot file it. Counted as `errors.message_without_room`; said once on stderr, naming the field.
   */
  roomless(c: Client): void {
    this.rec.count(COUNTER.errorsMessageWithoutRoom);
    this.example('message-without-room', c.index);
    if (this.saidRoomless) return;
    this.saidRoomless = true;
    const field = this.cfg.transport.roomField;
    const what = field ? `no room field "${field}"` : 'no room';
    const rooms = [...c.recv.values()].filter((r) => r.active).length;
    this.firstError ??= `a message frame had ${what}`;
    process.stderr.write(
      `wsbench: a message frame from the server had ${what}, and client ${c.index} is in ${rooms} rooms, so it cannot tell which room the message belongs to ` +
        `(counted as errors.message_without_room). Name the server's room field (--set ws-fields=room=NAME) or decode the room in your adapter.\n`,
    );
  }

  /** @internal */
  onFrame(c: Client, f: DecodedFrame): void {
    dispatchFrame(this, c, f);
  }

  /** @internal The server named its node `id` to `c`: key the client by it, unless another URL named the same id. */
  claimNodeId(c: Client, id: string): void {
    c.nodeName = id;
    const claim = this.nodeIds.claim(id, c.node);
    if (claim === 'named') c.nodeKey = nodeHash(id);
    else if (claim === 'shared-now') for (const o of this.clients) o.nodeKey = this.cfg.urls.length > 1 ? o.node : -1;
  }

  /** @internal Count `errors.<code>` and keep the first message of each code as evidence. */
  countError(code: string, message: string): void {
    this.rec.count(errorCounter(code));
    this.errorExamples[`errors.${code}`] ??= message.slice(0, 200);
  }

  /** @internal The server refused a publish (an error frame for it, or a close while its ack was pending). */
  refused(c: Client, p: PendingRequest<Client>): void {
    const log = p.room === undefined ? undefined : c.pubLogs.get(p.room);
    if (log && p.counter !== undefined) logRefused(log, p.counter);
  }

  /** @internal The highest room seq an ack or join revealed (the ledger's end of room), per sequence epoch when the server names one. */
  noteSeq(room: string, seq: number, epoch?: string): void {
    const key = seqKey(room, epoch);
    if (seq > (this.roomMaxAck.get(key) ?? 0)) this.roomMaxAck.set(key, seq);
  }

  /**
   * Send a request that expects a reply correlated by id; resolves with the latency or null.
   * `send(id, c)` writes it (false = it could not be sent); a module-level function costs no
   * closure per request.
   */
  request(c: Client, kind: RequestKind, room: string | undefined, send: (id: number, c: Client) => unknown): Promise<number | null> {
    if (c.state !== 'open' || !c.conn) return RESOLVED_NULL;
    const id = this.requests.newId();
    return new Promise((resolve) => {
      this.requests.add(id, { kind, startUs: this.clock.nowUs(), client: c, room, resolve });
      if (send(id, c) === false) {
        this.requests.drop(id);
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
    const id = this.requests.newId();
    let log = c.pubLogs.get(room);
    if (!log) c.pubLogs.set(room, (log = createPublisherLog(c.index, room)));
    const counter = logPublish(log, scheduledUs);
    const tag = encodeTag(c.nodeKey + 1, c.index, counter, scheduledUs);
    this.rec.count(COUNTER.messagesSent);
    if (this.ackMode === 'none') {
      // Nothing will answer: the publish is judged by its deliveries alone.
      c.conn.publish(room, id, tag, this.pad);
      return Promise.resolve(null);
    }
    if (!wantResult) {
      this.requests.add(id, { kind: 'ack', startUs: scheduledUs, client: c, room, counter, quiet });
      c.conn.publish(room, id, tag, this.pad);
      return Promise.resolve(null);
    }
    return new Promise((resolve) => {
      this.requests.add(id, { kind: 'ack', startUs: scheduledUs, client: c, room, counter, resolve, quiet });
      c.conn!.publish(room, id, tag, this.pad);
    });
  }

  /** @internal The room of `c`'s own publish `counter` still awaiting its echo, when `publisher` is `c`. */
  echoRoom(c: Client, publisher: number, counter: number): string | undefined {
    if (publisher !== c.index || this.ackMode !== 'echo') return undefined;
    const id = this.requests.oldestOf(c, 'ack', (p) => p.counter === counter);
    return id === undefined ? undefined : this.requests.pending.get(id)?.room;
  }

  /** With `publishAck: 'echo'`: the publisher's own copy of its message (`room`, `counter`) is that publish's ack. */
  private echoAck(c: Client, room: string, counter: number): void {
    // Counters count per room: the echo is matched by both.
    const id = this.requests.oldestOf(c, 'ack', (p) => p.counter === counter && p.room === room);
    const p = id === undefined ? undefined : this.requests.take(id);
    c.stats.acked++;
    if (p) this.requests.finish(p, p.quiet ? undefined : METRIC.ack, this.clock.nowUs());
  }

  private scheduleSweep(): void {
    const t = this.clock.setTimeout(() => {
      this.sweep();
      if (this.sweepTimer !== undefined) this.scheduleSweep();
    }, SWEEP_MS);
    (t as { unref?: () => void }).unref?.();
    this.sweepTimer = t;
  }

  /** Time out requests that waited longer than requestTimeoutMs; detect silent servers. */
  private sweep(): void {
    const now = this.clock.nowUs();
    this.requests.expireBefore(now - this.cfg.options.requestTimeoutMs * 1000);
    if (this.welcoming.size) this.abandonUnwelcomed(now);
    const timeoutUs = Number(this.cfg.options.clientTimeoutMs ?? 0) * 1000;
    if (timeoutUs > 0 && this.phase !== 'finish') {
      for (const c of this.clients) {
        if (c.state !== 'open' || c.heartbeatsSeen === 0 || c.zombie) continue;
        const silent = now - c.lastActivityUs;
        if (silent > timeoutUs) {
          // The server went quiet (frozen or gone): give up on it like a real client would.
          this.rec.count(COUNTER.errorsHeartbeatTimeout);
          this.rec.record(METRIC.detect, silent);
          c.state = 'dropping';
          c.conn?.terminate();
        }
      }
    }
  }

  /** Open-model publishing at this worker's share of the rate. */
  startPublishing(ratePerSec: number): void {
    if (this.arrival || ratePerSec <= 0 || this.publishers.length === 0) return;
    this.arrival = createArrival({
      ratePerSec,
      clock: this.clock,
      fire: (scheduledUs) => {
        // Round robin over publishers that are connected; none free = dropped.
        for (let tries = 0; tries < this.publishers.length; tries++) {
          const c = this.publishers[this.pubCursor++ % this.publishers.length]!;
          if (c.state === 'open') {
            this.rec.record(METRIC.sendLag, this.clock.nowUs() - scheduledUs);
            void this.publishFrom(c, c.rooms[0]!, scheduledUs, false);
            return true;
          }
        }
        return false;
      },
      onDropped: (n) => this.rec.count(COUNTER.messagesDropped, n),
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
    for (const c of this.clients) void this.runLoop(c, loop);
  }

  /** One client's scenario loop, restarted while the loops run. */
  private async runLoop(c: Client, loop: (vu: Client) => Promise<void>): Promise<void> {
    while (this.loopsRunning) {
      if (c.state !== 'open') {
        await this.sleep(200);
        continue;
      }
      const turn = this.currentTurn();
      try {
        await loop(c);
      } catch (e) {
        this.rec.count(COUNTER.errorsScenarioLoop);
        this.firstError ??= `scenario loop threw: ${(e as Error).message}`;
        await this.sleep(1000);
      }
      // A loop that returned without the event loop turning (nothing awaited I/O or a
      // timer) would starve it when restarted at once: give it a turn first.
      if (this.loopsRunning && this.turn === turn) await this.sleep(0);
    }
  }

  /** The event-loop turn now; arms the one immediate that marks the next turn. */
  private currentTurn(): number {
    if (!this.turnArmed) {
      this.turnArmed = true;
      this.clock.setImmediate(this.bumpTurn);
    }
    return this.turn;
  }

  stopLoops(): void {
    this.loopsRunning = false;
    this.sleeps.wakeAll();
  }

  sleep(ms: number): Promise<void> {
    if (!this.loopsRunning && ms > 0) return Promise.resolve();
    return this.sleeps.sleep(ms);
  }

  /** @internal A slow client starts reading at its pace (`delayMs` after joining, or when its loop asks). */
  startSlow(c: Client, delayMs = 0): void {
    if (delayMs <= 0) return startSlow(c.cond, c.conn, this.rec, this.clock.nowUs());
    const conn = c.conn;
    this.clock.setTimeout(() => {
      if (c.conn === conn && c.state === 'open') startSlow(c.cond, c.conn, this.rec, this.clock.nowUs());
    }, delayMs);
  }

  /** The cool-down: slow clients catch up (read at full speed) so the ledger sees what the server sent them. */
  catchUpSlow(): void {
    for (const c of this.clients) if (c.state === 'open') catchUp(c.cond, c.conn);
  }

  /**
   * Before the final close: every client's missing seqs as observations (client-conditions.ts),
   * the tail included: up to the highest seq of its room this worker saw delivered or acked.
   */
  noteSkipped(): void {
    // Per sequence (room and epoch); each client reads the maxima of its rooms' current epochs.
    const keyMax = new Map(this.roomMaxAck);
    for (const c of this.clients) for (const r of c.recv.values()) if (r.lastSeq > (keyMax.get(seqKey(r.room, r.epoch)) ?? -1)) keyMax.set(seqKey(r.room, r.epoch), r.lastSeq);
    for (const c of this.clients) {
      if (!c.cond) continue;
      const roomMax = new Map<string, number>();
      for (const r of c.recv.values()) roomMax.set(r.room, keyMax.get(seqKey(r.room, r.epoch)) ?? r.lastSeq);
      observeSkipped(c.cond, c.recv.values(), roomMax, (key, v) => this.observe(key, v, c.index));
    }
  }

  /** Make these clients (global indices) stop answering heartbeats; they stay zombies across reconnects. */
  zombify(indices: number[]): void {
    for (const i of indices) {
      const c = this.clients[i - this.cfg.fromClient];
      if (!c) continue;
      c.liveness = 'zombie';
      c.conn?.stopHeartbeat();
    }
  }

  /** The per-room tallies of every receiver, for the coordinator's ledger. */
  tallies(): RoomTally[] {
    const byKey = new Map<string, RoomTally>();
    for (const c of this.clients) for (const r of c.recv.values()) addReceiverEpochs(byKey, r);
    for (const [key, seq] of this.roomMaxAck) {
      let t = byKey.get(key);
      if (!t) {
        const { room, epoch } = parseSeqKey(key);
        byKey.set(key, (t = emptyTally(room, epoch)));
      }
      if (seq > t.maxSeq) t.maxSeq = seq;
    }
    return [...byKey.values()];
  }

  /** Every receiver's membership windows and every publisher's log, for the coordinator's tag ledger. */
  tagLedger(): { windows: TagWindow[]; logs: PublisherLog[] } {
    const windows: TagWindow[] = [];
    const logs: PublisherLog[] = [];
    for (const c of this.clients) {
      // Copies: the final close that follows must not end the windows that are open now.
      for (const r of c.recv.values()) for (const w of r.windows) windows.push({ ...w });
      for (const l of c.pubLogs.values()) logs.push(trimLog(l));
    }
    return { windows, logs };
  }

  /** Zombies the server never evicted: counted, with example ids, before the final close. */
  noteUnevictedZombies(): void {
    for (const c of this.clients) {
      if (c.zombie && c.state === 'open') {
        this.rec.count(COUNTER.zombiesNotEvicted);
        this.example('zombie-not-evicted', c.index);
      }
    }
  }

  /**
   * Dropped clients not back (rejoined) when the run ends, counted per reason before the final
   * close: `reconnect.not_back.<what it was doing>` and `reconnect.not_back.last_error.<why its
   * last attempt failed>`, with example ids under `not-back:<reason>`.
   */
  noteNotBack(): void {
    this.notBackNoted = true;
    for (const c of this.clients) {
      if (c.dropUs === 0 || c.backUs >= c.dropUs) continue;
      const reason = notBackReason(c);
      this.rec.count(notBackCounter(reason));
      this.example(`not-back:${reason}`, c.index);
      if (c.lastError !== undefined) this.rec.count(notBackCounter(`last_error.${c.lastError}`));
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
    for (const t of this.reconnectTimers) this.clock.clearTimeout(t);
    this.reconnectTimers.clear();
    for (const c of this.clients) {
      if (c.state === 'idle' || c.state === 'closed') continue;
      c.state = 'closing';
      c.conn?.close(1000);
    }
    const deadlineUs = this.clock.nowUs() + timeoutMs * 1000;
    while (this.clock.nowUs() < deadlineUs && this.clients.some((c) => c.state === 'closing' && c.conn)) {
      await new Promise<void>((r) => this.clock.setTimeout(r, 25));
    }
    for (const c of this.clients) if (c.state !== 'closed') c.conn?.terminate();
    this.clock.clearTimeout(this.sweepTimer);
    this.sweepTimer = undefined;
  }
}

/**
 * What a dropped client that is not back was doing: `backoff` (waiting to retry), `connecting`
 * (handshake in flight), `welcoming` (open, no welcome yet), `dropping` (cutting its own
 * connection), `joining` (joins of the resume in
 * flight), `join_failed` (open, but a join timed out or was refused), `not_retrying` (closed, no
 * reconnect scheduled: reconnect off, or the client stopped answering heartbeats itself).
 */
export function notBackReason(c: Pick<Client, 'state' | 'joinsFailed'>): string {
  switch (c.state) {
    case 'idle':
      return 'backoff';
    case 'connecting':
      return 'connecting';
    case 'welcoming':
    case 'abandoning':
      return 'welcoming';
    case 'dropping':
      return 'dropping';
    case 'open':
      return c.joinsFailed > 0 ? 'join_failed' : 'joining';
    default:
      return 'not_retrying';
  }
}
