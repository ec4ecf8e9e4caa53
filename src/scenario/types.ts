/**
 * The scenario API: what a scenario file's default export (from `defineScenario`)
 * describes. Types only, plus nothing that runs.
 */
import type { CheckResult, Ledger, MetricSummary, RoomLedger } from '../report/schema.ts';
import type { AdapterFactory } from '../protocol/types.ts';

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
  /** Socket.IO only: Engine.IO transports, comma-separated (`websocket`, `polling,websocket`). Default `websocket`. */
  transports: string;
  /** Socket.IO only: event and field name overrides, `join=subscribe,publish=send,room=channel`. Default none. */
  sioNames: string;
}

export type JitterPolicy = 'none' | 'full' | 'equal' | 'decorrelated';

/** A scenario-specific option, set with `--set key=value`. */
export interface OptionSpec {
  type: 'number' | 'count' | 'duration' | 'rate' | 'share' | 'bool' | 'string' | 'bytes';
  default: number | string | boolean;
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
  /** Publish a tagged message to a room (counted in the ledger); resolves with the ack latency or null. */
  publish(room: string): Promise<number | null>;
  /** Wait, in milliseconds, returning early when the run stops. */
  sleep(ms: number): Promise<void>;
  /** A seeded random number in [0, 1), per client. */
  random(): number;
}

/** What a scenario's `checks` function sees after the run. */
export interface RunView {
  options: Readonly<Record<string, unknown>> & CommonOptions;
  metrics: Record<string, MetricSummary>;
  counters: Record<string, number>;
  ledger: Ledger;
  rooms: RoomLedger[];
  /** Whole-run rates, per second. */
  rates: { messagesSentPerSec: number; deliveriesPerSec: number; connectsPerSec: number };
  durationMs: number;
}

export interface ScenarioDefinition {
  /** Short name, as used by `wsbench run <name>`. */
  name: string;
  /** One line shown by `wsbench list`. */
  description: string;
  /** Defaults for the common options (built-in defaults < these < CLI flags). */
  defaults?: Partial<CommonOptions>;
  /** Scenario-specific options, set with `--set key=value`. */
  options?: Record<string, OptionSpec>;
  /** Options of the bundled server for this scenario (`--server` flags override them). */
  server?: Record<string, string>;
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
  /** Custom protocol adapter for servers that speak another JSON dialect (native `ws` transport). */
  adapter?: AdapterFactory;
  /** Faults to inject, in the CLI's `ACTION[:TARGET]@TIME[+DURATION]` syntax, times from the start of warm-up. */
  faults?: string[];
  /** Extra validation of the resolved options: return every problem, each a sentence. */
  validate?: (options: Readonly<Record<string, unknown>> & CommonOptions) => string[];
}
