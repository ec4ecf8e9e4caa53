/**
 * The contract of src/topology: start and stop what a run targets (bundled
 * reference nodes as child processes, a redis-server, or external URLs) and
 * inject faults into it.
 */
import type { NodeReport, TargetInfo } from '../report/schema.ts';

/** The wire protocol of the target: `ws` (wsbench/1 over WebSocket) or `socketio` (Socket.IO v4). */
export type Protocol = 'ws' | 'socketio';

/** What to run against: the bundled reference nodes (count, server options, Redis) or external URLs. */
export interface TopologySpec {
  protocol: Protocol;
  /** External server URLs. When absent or empty the bundled reference server is started. */
  targets?: string[];
  /** Bundled only: number of reference nodes (processes), default 1. More than 1 needs Redis. */
  nodes?: number;
  /**
   * Bundled: server options as `wsbench serve` flag names without dashes -> raw string values.
   * External: only `secret` and the freezer's keys (FREEZE_KEYS: freeze-pid, pause-command, resume-command) are read.
   */
  server?: Record<string, string>;
  /** Use this Redis instead of starting a redis-server (bundled multi-node only). */
  redisUrl?: string;
  /** Called with every line a bundled node or redis-server prints on stderr (for diagnostics). */
  log?: (line: string) => void;
  /**
   * Entry point of the bundled server, a .ts or .js file run as
   * `node --import tsx FILE --key value ...` (default: this package's servers/main.ts).
   * For testing the harness against stand-in servers.
   */
  serverEntry?: string;
  /**
   * Bundled only: how long a node may take to print its URL, and then again to
   * answer /healthz with 200, in milliseconds (default 15000 each).
   */
  startTimeoutMs?: number;
  /**
   * Bundled only: clients the run will open, so that each node gets enough
   * cluster workers for its descriptor limit (see planServerWorkers()). Undefined = no sizing.
   */
  clients?: number;
  /** Bundled only: the descriptor limit a node inherits (default: this process's, from /proc/self/limits). */
  fdLimit?: number;
}

/** One server node of a topology: id, index, URL, pid (bundled) and whether it is up. */
export interface NodeHandle {
  /** Node id, as the node reports it in its welcome frame (`n0`, `n1`, ... for bundled nodes). */
  id: string;
  index: number;
  url: string;
  pid?: number;
  alive: boolean;
  /** Bundled only: a ready-made token the node printed at start (stdout line 2), signed with its secret. */
  token?: string;
}

/** A parsed fault: what to do to which node (index, default 0) and for how long (milliseconds, where it has a duration). */
export type FaultAction =
  | { kind: 'kill-node'; node: number }
  | { kind: 'restart-node'; node: number; durationMs?: number }
  | { kind: 'pause-node'; node: number; durationMs: number }
  | { kind: 'restart-redis'; durationMs?: number }
  | { kind: 'drop-all'; node?: number };

/** A started topology: the target and its nodes, the Redis it uses, the token secret, and the faults it can carry out. */
export interface Topology {
  target: TargetInfo;
  nodes: NodeHandle[];
  /**
   * The index into `nodes` of each `target.urls` entry. One per URL and node
   * (`[0, 1, ...]`) unless a bundled node runs with `--server ports=per-worker`:
   * then each of its cluster workers is a URL of its own, all of the same node.
   */
  urlNodes: number[];
  redis?: { url: string; pid?: number };
  /** Secret for minting HS256 tokens for the bundled server (undefined for external targets unless given). */
  secret?: string;
  /** What the topology decided on its own that the report should say (e.g. the server workers it chose). */
  notes: string[];
  /** Carry out a fault now; resolves when it has been applied (and, with a duration, undone). */
  fault(action: FaultAction): Promise<void>;
  /** Every node's /stats, for the report. Never throws: unreachable nodes come back without stats. */
  scrapeStats(): Promise<NodeReport[]>;
  /** Called when a bundled node or the redis-server exits without being asked to. */
  onUnexpectedExit(cb: (what: string, code: number | null, signal: string | null, stderr?: string) => void): void;
  /** Stop everything this topology started (SIGTERM, then SIGKILL after a grace period). Idempotent. */
  stop(): Promise<void>;
}
