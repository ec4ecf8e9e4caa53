/**
 * The scenario API: what a scenario file's default export (from `defineScenario`)
 * describes. Types only, plus nothing that runs.
 */
import type { CheckResult, Ledger, MetricSummary, RoomLedger, ServerSide } from '../report/schema.ts';
import type { AdapterFactory } from '../protocol/types.ts';
import type { MetricName } from '../metrics/names.ts';

/** Options every scenario has. Durations in milliseconds, rates per second. */
export interface CommonOptions {
  /** Virtual clients to connect. Default 1000. */
  clients: number;
  /** Rooms the clients are spread over (client i joins room `room-(i mod rooms)`). Default 10. */
  rooms: number;
  /** Length of the measured steady phase, ms. Default 20000. */
  duration: number;
  /** Warm-up after the ramp: load runs but is not measured, ms. Default 2000. */
  warmup: number;
  /** Cool-down after publishing stops: in-flight deliveries drain, ms. Default 1500. */
  cooldown: number;
  /** New connections per second during the ramp (all workers together). Default 1000. */
  ramp: number;
  /** At most this many handshakes in flight per worker during the ramp. Default 256. */
  maxInflight: number;
  /** Publishes per second, open model, all publishers together. Default 100. */
  rate: number;
  /** Bytes of padding in every published payload. Default 100. */
  payloadBytes: number;
  /** Publishers per room (the first members of each room). Default 1. */
  publishers: number;
  /** Seed for every random choice of the run (jitter, churn). Default: random, printed in the report. */
  seed: number;
  /** Reconnect after an unexpected close, with backoff. Default true. */
  reconnect: boolean;
  /** Reconnect backoff base and cap, ms. Defaults 100 and 5000. */
  backoffBaseMs: number;
  backoffCapMs: number;
  /** Backoff jitter policy. Default `full`. */
  jitter: JitterPolicy;
  /** How long a join, publish ack or ping may take before it counts as a timeout, ms. Default 10000. */
  requestTimeoutMs: number;
  /**
   * A client that hears nothing from the server (no heartbeat, no frame) for this long, once it has
   * seen a heartbeat, gives up on the connection and reconnects, ms. 0 = never (default).
   */
  clientTimeoutMs: number;
  /** Socket.IO only: Engine.IO transports, comma-separated (`websocket`, `polling,websocket`). Default `websocket`. */
  transports: string;
  /** Native only: field name overrides, `type=op,id=ref,room=channel,payload=body,seq=offset`. Default none. */
  wsFields: string;
  /** Native only: message type name overrides, `join=sub,joined=subbed,...,welcome=none`. Default none. */
  wsTypes: string;
  /** Native only: token in the URL query (default) or an `Authorization: Bearer` header. */
  wsToken: 'query' | 'header';
  /**
   * Native only: a module exporting a codec for the server's dialect (`--adapter FILE`), applied to
   * whichever scenario runs in place of its own codec and of the renaming options. Default none.
   */
  adapter: string;
  /**
   * The client: `raw` (lean, default: the raw WebSocket client, and for Socket.IO the lean
   * Engine.IO/Socket.IO client on it), `ws` (the ws package, native only) or
   * `socket.io-client` (Socket.IO only; also used whenever `transports` includes polling).
   */
  client: 'raw' | 'ws' | 'socket.io-client';
  /** Raw client, `wss:`: accept any server certificate (`--insecure`). Default false. */
  insecure: boolean;
  /** Raw client, `wss:`: PEM file of the CA to trust instead of Node's (`--ca FILE`). Default none. */
  ca: string;
  /** Raw client: permessage-deflate offer: `off`, `on` (context takeover) or `no-takeover`. Default off. */
  compression: 'off' | 'on' | 'no-takeover';
  /** Raw client: largest LZ77 window asked of both sides, as bits 9..15 (15 = no limit asked). Default 15. */
  compressionBits: number;
  /** wsbench/1 on the raw client: publish binary frames (`on`) instead of JSON text. Default off. */
  binary: 'off' | 'on';
  /** Socket.IO only: event and field name overrides, `join=subscribe,publish=send,room=channel`. Default none. */
  sioNames: string;
  /**
   * Slow consumers: `SHARE[,mode=MODE]`, the share of each slow room's members that read slowly once
   * joined (MODE `stalled` (default), `rate:32KiB/s`, `burst:200ms/2s`). Default none. Lean client only.
   */
  slow: string;
  /** How long after joining a slow client starts reading slowly, ms. Default 0. */
  slowAfter: number;
  /** Share of the rooms that have slow members (the first ones); the others are the control group. Default 100%. */
  slowRooms: number;
  /** Network profiles per client: `3g`, `latency:80ms,jitter:20ms,bandwidth:1Mbit`, `70%:wifi,30%:3g`. Default none. */
  net: string;
}

/** Reconnect backoff jitter (AWS architecture blog terms): none, full (default), equal or decorrelated. */
export type JitterPolicy = 'none' | 'full' | 'equal' | 'decorrelated';

/** A scenario-specific option, set with `--set key=value`. */
export interface OptionSpec {
  /**
   * How `--set` text is read (grammar of src/units): `duration` in milliseconds (a bare
   * number is seconds, or milliseconds when the key ends in `Ms`), `rate` per second,
   * `bytes`, `share` a fraction 0..1 (`30%`), `count` a whole number (`10k`), `bool`
   * (on/off, true/false), `number` as written, `string` (one of `values` when given).
   */
  type: 'number' | 'count' | 'duration' | 'rate' | 'share' | 'bool' | 'string' | 'bytes';
  /** The value when neither the scenario's defaults nor `--set` give one, in the type's unit (ms for durations). */
  default: number | string | boolean;
  /** One line for the error messages that list the options. */
  description: string;
  /** For strings: the accepted values. */
  values?: string[];
  /** Inclusive bounds for numbers (after unit conversion). */
  min?: number;
  max?: number;
}

/** What a virtual client's behaviour sees (runs inside a worker process). */
export interface VirtualClient {
  /** Global client index, 0..clients-1. */
  readonly index: number;
  /** Rooms this client was assigned (already joined when `loop` starts). */
  readonly rooms: readonly string[];
  /** Resolved scenario options (common and scenario-specific). */
  readonly options: Readonly<Record<string, unknown>> & CommonOptions;
  /** False once the steady phase is over: loops must return soon after. */
  readonly running: boolean;
  /** Join a room; resolves with the join latency in microseconds, or null on timeout/error. */
  join(room: string): Promise<number | null>;
  /** Leave a room; resolves true when the server confirmed. */
  leave(room: string): Promise<boolean>;
  /** Application ping; resolves with the round trip in microseconds, or null. */
  ping(): Promise<number | null>;
  /**
   * Publish a tagged message to a room (counted in the ledger); resolves with the ack latency or null.
   * With `{ ack: false }` a missing ack is expected (rate-limit probing): not timed as `ack`, not an
   * error; the promise still resolves with the latency when an ack does come, or null.
   * The ack is what the codec declares (`publishAck`): a reply frame, the publisher's own copy
   * (`echo`), or nothing (`none`: resolves null at once).
   */
  publish(room: string, opts?: { ack?: boolean }): Promise<number | null>;
  /** Whether the connection is open now. */
  readonly connected: boolean;
  /** Per-client counts: acks received, rate_limited errors, error frames, reconnect attempts since the last rejoin. */
  readonly stats: Readonly<{ acked: number; rateLimited: number; errors: number; reconnectAttempts: number }>;
  /** The last close of this client's connection: code (number, or a Socket.IO reason) and when (monotonic us). */
  readonly lastClose: { code: number | string; atUs: number } | undefined;
  /** Resolves with the next close (or the current one if already closed), or null after `timeoutMs`. */
  waitClosed(timeoutMs: number): Promise<{ code: number | string; atUs: number } | null>;
  /**
   * Stop answering the server's heartbeats (WebSocket pongs, Engine.IO pongs): a zombie.
   * The client will not reconnect once evicted; its eviction is timed as the `eviction` metric.
   */
  stopHeartbeat(): void;
  /** Record a per-client observation (e.g. an accepted rate); the run keeps count/min/max/mean and the clients at the extremes. */
  observe(key: string, value: number): void;
  /** Add to a run counter (shown in the report's counters). */
  count(name: string, n?: number): void;
  /** Record a latency sample, microseconds, into one of the engine's metrics (`METRIC`, e.g. `chat.typing`). */
  record(metric: MetricName, us: number): void;
  /** Monotonic time in microseconds, shared by all processes of the machine. */
  nowUs(): number;
  /**
   * Read slowly from now on (a slow consumer): `stalled` (the socket is paused, so TCP backpressure
   * reaches the server), `rate:32KiB/s`, `burst:200ms/2s` (read 200 ms, pause 2 s), or `full` to read
   * at full speed again. Kept across reconnects; a slow client the server closes does not reconnect.
   * Lean client only (`client=raw`); throws on a mode it cannot read.
   */
  readSlowly(mode: string): void;
  /** Drop this client's connection abruptly (no close handshake), as a network failure would; it reconnects per policy. */
  dropConnection(): void;
  /** Wait, in milliseconds, returning early when the run stops. */
  sleep(ms: number): Promise<void>;
  /**
   * Socket.IO only: emit event `event` with `data` as its argument (e.g. `typing`, `private-message`).
   * With `{ ack: true }` resolves with the server's ack argument, or null when none came within
   * `requestTimeoutMs` or the client is not connected; without, resolves true once written (false
   * when not connected or the protocol has no events).
   */
  emit(event: string, data: unknown, opts?: { ack?: boolean }): Promise<unknown>;
  /**
   * Call `handler` with the argument of every server event `event` that the harness itself does not
   * consume (e.g. `user-typing`, `private-message`, `user-joined`), for the rest of the run, across
   * reconnects. One handler per event name (a second call replaces the first).
   */
  onEvent(event: string, handler: (data: unknown) => void): void;
  /**
   * Go offline on purpose: close the connection cleanly; it is not reconnected until `reconnect()`.
   * Resolves once closed (or after `requestTimeoutMs`).
   */
  disconnect(): Promise<void>;
  /** Come back after `disconnect()`: connect again and rejoin this client's rooms; true once joined. */
  reconnect(): Promise<boolean>;
  /** A seeded random number in [0, 1), per client. */
  random(): number;
}

/** Aggregate of one per-client observation key (see `VirtualClient.observe`). */
export interface ObservationSummary {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** The clients that saw the smallest and the largest value. */
  minClient: number;
  maxClient: number;
}

/** What a scenario's `checks` function sees after the run. */
export interface RunView {
  /** Per-client observations by key. */
  observations: Record<string, ObservationSummary>;
  /** Example client ids per notable event (`dropped:1008`, `zombie-not-evicted`, ...), at most 5 each. */
  examples: Record<string, number[]>;
  /** Where the run went: bundled reference nodes or external URLs. */
  target: { kind: 'bundled' | 'external'; protocol: 'ws' | 'socketio'; nodes: number };
  /** Clients connected at the end of the ramp. */
  rampConnected: number;
  /**
   * The densest stretch of a latency metric as a rate: the most samples within any window of
   * `windowMs`, per second. For `reconnect` after a mass drop, the herd's peak arrival rate.
   */
  peakRatePerSec(metric: string, windowMs: number): number;
  /** Per-second series of the run (see Report.series). */
  series: Record<string, number[]>;
  /** Phases and faults with their times (ms since the run started). */
  timeline: Array<{ atMs: number; kind: string; name: string; detail?: string }>;
  options: Readonly<Record<string, unknown>> & CommonOptions;
  metrics: Record<string, MetricSummary>;
  counters: Record<string, number>;
  ledger: Ledger;
  rooms: RoomLedger[];
  /** Whole-run rates, per second. */
  rates: { messagesSentPerSec: number; deliveriesPerSec: number; connectsPerSec: number };
  durationMs: number;
  /** What the target's own metrics said (`--scrape`; bundled nodes by default), when scraped. */
  server?: ServerSide;
}

/**
 * A scenario: its name and options, what each virtual client does, the faults
 * it injects and the checks that judge it. Written with {@link defineScenario}
 * in a `.ts`/`.js` file; durations in milliseconds, rates per second.
 */
export interface ScenarioDefinition {
  /** Short name, as used by `wsbench run <name>`. */
  name: string;
  /** One line shown by `wsbench list`. */
  description: string;
  /** Bundled server nodes for this scenario (default 1; `--nodes` overrides). More than one starts a redis-server. */
  nodes?: number;
  /** Defaults for the common options (built-in defaults < these < CLI flags). */
  defaults?: Partial<CommonOptions>;
  /** Scenario-specific options, set with `--set key=value`. */
  options?: Record<string, OptionSpec>;
  /**
   * Options of the bundled server for this scenario (`--server` flags override them); a function
   * may derive them from the scenario's options and the protocol flavour.
   */
  server?: Record<string, string> | ((options: Readonly<Record<string, unknown>> & CommonOptions, protocol: 'ws' | 'socketio') => Record<string, string>);
  /**
   * Options that follow from others (e.g. a client timeout from the heartbeat interval): applied after
   * merging, except to options the user set explicitly with a flag or `--set`.
   */
  /**
   * `--set` lists the scenario runs as variants by default, e.g. `['size=100B,4KiB']`; a key
   * the user sets replaces the scenario's list for it. Default none.
   */
  variants?: string[];
  derive?: (options: Readonly<Record<string, unknown>> & CommonOptions) => Record<string, unknown>;
  /**
   * Whether publishers send at `rate` during warm-up and steady (open model).
   * Default true when rate > 0.
   */
  publish?: boolean;
  /**
   * Per-client closed loop during warm-up and steady (e.g. join churn, pings).
   * Called once per client after it connected and joined its rooms; return when `vu.running` turns false.
   */
  loop?: (vu: VirtualClient) => Promise<void>;
  /** Check the whole-run results; every failed check makes the exit code 1. */
  checks?: (run: RunView) => CheckResult[];
  /**
   * Custom protocol adapter for servers that speak another JSON dialect (native `ws` transport):
   * builds the run's FrameCodec from the resolved options. `--adapter FILE` replaces it.
   */
  adapter?: AdapterFactory;
  /**
   * Faults to inject, in the CLI's `ACTION[:TARGET]@TIME[+DURATION]` syntax, times from the start of warm-up.
   * A function may choose by options and target (node faults need the bundled server).
   */
  faults?: string[] | ((options: Readonly<Record<string, unknown>> & CommonOptions, target: { kind: 'bundled' | 'external'; nodes: number }) => string[]);
  /**
   * A probe scenario (e.g. `protocol`): no virtual clients, no load phases. The run starts the
   * target, calls this once with its URLs, and the checks it returns are the run's checks (the
   * built-in load checks do not apply). Must bound its own time.
   */
  probe?: (ctx: ProbeContext) => Promise<CheckResult[]>;
  /** Extra validation of the resolved options: return every problem, each a sentence. */
  validate?: (options: Readonly<Record<string, unknown>> & CommonOptions) => string[];
}

/** What a probe scenario's `probe` sees (see `ScenarioDefinition.probe`). */
export interface ProbeContext {
  /** The target URLs (the bundled node's, or the `--target` ones). */
  urls: string[];
  target: { kind: 'bundled' | 'external'; protocol: 'ws' | 'socketio' };
  options: Readonly<Record<string, unknown>> & CommonOptions;
  /** The bundled server's settings (`server` of the scenario and `--server`); {} for an external target. */
  server: Readonly<Record<string, string>>;
  /** The token a client would present: `--token`, the first of `--token-file`, or one minted (`--secret`, else the development secret); none when the bundled server runs with auth off. */
  token?: string;
  /** One line of progress for the user. */
  info(line: string): void;
}
