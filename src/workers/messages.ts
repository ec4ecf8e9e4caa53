/**
 * Messages between the coordinator and its worker processes: a discriminated
 * union on `type`. Histograms cross as encoded snapshots (src/metrics).
 */
import type { MetricsSnapshot, HealthSample } from '../metrics/types.ts';
import type { RoomTally } from '../checks/ledger.ts';
import type { PublisherLog, TagWindow } from '../checks/tag-ledger.ts';
import type { SettleShortfall } from '../checks/settle.ts';
import type { CommonOptions } from '../scenario/types.ts';

/** Aggregate of one per-client observation key (`VirtualClient.observe`): sums and the clients at the extremes. */
export interface Observation {
  count: number;
  sum: number;
  min: number;
  max: number;
  minClient: number;
  maxClient: number;
}

/** Where a worker loads the scenario from (a file path; workers import it themselves). */
export type ScenarioRef = { kind: 'file'; path: string };

/**
 * Where clients get their auth token: none, one for all, one per client from a list (round robin), or minted per client (HS256, `expiresInSec` seconds).
 */
export type TokenSource =
  | { mode: 'none' }
  | { mode: 'single'; token: string }
  | { mode: 'list'; tokens: string[] }
  | { mode: 'mint'; secret: string; expiresInSec: number; claims?: string };

/** First message to a worker: its slice of clients, the targets and everything it needs to run them. */
export interface WorkerInit {
  type: 'init';
  workerId: number;
  scenario: ScenarioRef;
  options: Record<string, unknown> & CommonOptions;
  protocol: 'ws' | 'socketio';
  /** Global client indices [from, to) this worker runs. */
  fromClient: number;
  toClient: number;
  /** Target URLs; client i attaches to urls[nodeOf(i)]. */
  urls: string[];
  /** How clients get their tokens. */
  tokens: TokenSource;
  /** Source addresses to spread connections over (loopback targets only), or empty. */
  sourceAddresses: string[];
  /** Client i attaches to urls[spread[i mod spread.length]]; empty = round robin. */
  spread: number[];
  /** Learn each client's node from the server's welcome frame. */
  nodeIdentity: boolean;
  /** Record fanout.local / fanout.remote. */
  splitNodes: boolean;
  /** The node index of each URL (several URLs of one node: a bundled node's per-worker ports); absent = one node per URL. */
  urlNodes?: number[];
}

/** Phases of a run, in order; `finish` stops traffic and closes the books. */
export type Phase = 'ramp' | 'warmup' | 'steady' | 'cooldown' | 'finish';

/** Messages from the coordinator to a worker process. */
export type ToWorker =
  | WorkerInit
  | { type: 'phase'; phase: Phase }
  /** Make a share of this worker's clients stop answering heartbeats (zombies). */
  | { type: 'zombify'; clients: number[] }
  /** The highest seq per room over every worker: receivers wait for it before the books close (src/checks/settle.ts). */
  | { type: 'settle'; roomMax: Record<string, number> };

/** Client counts a worker reports with each snapshot. */
export interface WorkerStatus {
  connected: number;
  /** Clients waiting to reconnect. */
  reconnecting: number;
}

/** Messages from a worker process to the coordinator (`snapshot` about once a second). */
export type FromWorker =
  | { type: 'ready'; workerId: number; fdLimit: number }
  | { type: 'snapshot'; workerId: number; phase: Phase | 'init'; measured: boolean; metrics: MetricsSnapshot; health: HealthSample; status: WorkerStatus }
  /** `joined`: connected clients whose every join was answered. */
  | { type: 'ramp-done'; workerId: number; connected: number; joined?: number; failed: number; firstError?: string; errorExamples?: Record<string, string> }
  /** After `finish`: the highest seq this worker knows per room, once its own backlog settled. */
  | { type: 'room-max'; workerId: number; roomMax: Record<string, number> }
  | { type: 'final'; workerId: number; settle?: SettleShortfall; tallies: RoomTally[]; tagLedger: { windows: TagWindow[]; logs: PublisherLog[] }; errorExamples?: Record<string, string>; nodeClients: Record<string, number>; examples: Record<string, number[]>; observations: Record<string, Observation> }
  | { type: 'fatal'; workerId: number; message: string; code?: string };
