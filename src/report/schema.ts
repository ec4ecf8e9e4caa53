/**
 * The JSON report (`wsbench.report/1`): the source of truth of a run. Every other
 * output (console table, HTML, JUnit, Markdown, compare) is rendered from it.
 *
 * Stable fields (never renamed without a schema bump): schema, tool, scenario,
 * target, startedAt, endedAt, durationMs, metrics, counters, ledger, checks,
 * gates, generator, series. Everything else may be added freely.
 *
 * This module holds types only; any module may import it.
 */

/** The `schema` field of every report this version writes; readers refuse others. */
export const REPORT_SCHEMA = 'wsbench.report/1' as const;

/** Summary of one latency histogram. Every value is in integer microseconds. */
export interface MetricSummary {
  unit: 'us';
  /** Samples recorded. */
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  p999: number;
  max: number;
  /** The whole histogram, HDR-encoded (compressed, base64), so reports merge and compare exactly. */
  hdr: string;
}

/**
 * How the delivery ledger judged the run: `seq` from the server's per-room sequence
 * numbers (room order checked), `tag` from the harness's own publish tags when the
 * server gives no seq (order checked per publisher).
 */
export type LedgerMode = 'seq' | 'tag';

/** Delivery ledger of a run (or one room). */
export interface Ledger {
  /** Deliveries that should have happened: for every publish, the members of its room at ack time. */
  expected: number;
  /** Deliveries seen, reordered ones included and duplicates not. */
  delivered: number;
  /** Expected deliveries never seen: `expected - delivered` per room, never below 0. */
  lost: number;
  /** Deliveries seen again (seq equal to the last one seen in the room). */
  duplicated: number;
  /** Deliveries seen out of order (seq below the last one seen in the room). */
  reordered: number;
  /** Which evidence judged the books (absent in reports written before it existed: `seq`). */
  mode?: LedgerMode;
  /** Tag mode: publishes the server refused (an error frame for the publish, or a server close right after it) and nobody received. Counted in publishes, not deliveries; expected by nobody. */
  refused?: number;
  /**
   * Tag mode: (receiver, publish) pairs at the edge of a membership window that cannot be
   * judged either way (published while the join was in flight, or after the receiver's last
   * delivery before it left or lost its connection). Neither expected nor lost; shown so
   * nothing is forgiven silently.
   */
  unjudged?: number;
  /** Tag mode, a shard's report: deliveries from publishers of another shard (whose logs are there, not here), counted as delivered but judged by no shard. */
  otherShards?: number;
  /**
   * Seq mode: how many times a room's sequence began again (the server named a new `epoch`
   * in a join reply, e.g. a restarted node that keeps its rooms in memory); each epoch was
   * judged on its own. Absent when no sequence began again.
   */
  epochs?: number;
}

/** The delivery ledger of one room (counts of deliveries, as in Ledger). */
export interface RoomLedger extends Ledger {
  room: string;
}

/** A check's outcome. `unverified`: the run could not tell; never counted as a pass. */
export type CheckStatus = 'passed' | 'failed' | 'unverified';

/** The verdict of one check (built-in or the scenario's). */
export interface CheckResult {
  /** Stable name, e.g. `ledger.no-loss`. */
  name: string;
  /** True only for a verified pass: false for `failed` and for `unverified`. */
  passed: boolean;
  /** The three-way outcome; absent means `passed ? 'passed' : 'failed'` (reports and scenario checks written before it existed). */
  status?: CheckStatus;
  /** With `status: 'unverified'`: why the run could not tell. */
  reason?: string;
  /** One human sentence: what was expected and what was seen. */
  detail: string;
  /** Numbers and a few example client ids behind the verdict. */
  evidence?: Record<string, unknown>;
}

/** The verdict of one `--gate` expression, with the measured value. */
export interface GateResult {
  /** The expression as the user wrote it, e.g. `fanout.p99 < 50ms`. */
  expr: string;
  passed: boolean;
  /** The measured value in the expression's base unit (us for times, ratio 0..1 for %, per second for /s). */
  actual: number | boolean | null;
  detail?: string;
}

/**
 * One generator worker process: its id, clients, event-loop delay p99 (µs), CPU (percent
 * of one core) and peak RSS (bytes) over the run.
 */
export interface WorkerHealth {
  id: number;
  clients: number;
  eventLoopDelayP99Us: number;
  cpuPercent: number;
  rssBytesPeak: number;
}

/** The load generator as a whole: worker processes, whether it saturated (and why), and its busiest worker's figures. */
export interface GeneratorHealth {
  processes: number;
  saturated: boolean;
  /** Why the run was marked saturated, when it was. */
  reason?: string;
  eventLoopDelayP99Us: number;
  /** Busiest worker's CPU, percent of one core. */
  cpuPercent: number;
  rssBytesPeak: number;
  /**
   * CPU seconds (user + system) of every generator (worker) process over the measured
   * window, summed; absent in reports written before it existed.
   */
  cpuSeconds?: number;
  workers: WorkerHealth[];
}

/** What a timeline event is: a run phase (`ramp`, `warmup`, `steady`, ...), an injected fault, or a note. */
export type TimelineKind = 'phase' | 'fault' | 'note';

/** One event of the run's timeline, at milliseconds since the run started. */
export interface TimelineEvent {
  /** Milliseconds since the run started. */
  atMs: number;
  kind: TimelineKind;
  name: string;
  detail?: string;
}

/** What the run was aimed at: the bundled reference server or external URLs, its protocol, node count and URLs. */
export interface TargetInfo {
  kind: 'bundled' | 'external';
  protocol: 'ws' | 'socketio';
  nodes: number;
  urls: string[];
}

/** One server node of the run: id (as in its welcome), URL, its own /stats at the end, and the clients attached to it. */
export interface NodeReport {
  id: string;
  url: string;
  /** The node's own /stats, scraped at the end of the run, when available. */
  stats?: Record<string, unknown>;
  /** Clients the harness attached to this node. */
  clients?: number;
  /** True for a node the harness learned of only from the servers (one URL behind a load balancer). */
  learned?: boolean;
}

/** One process of a scraped node (`report.server.processes`). */
export interface ServerProcess {
  /** The `/metrics` URL it was counted through. */
  url: string;
  /** `single` (the node is one process), `primary` or `worker` (a cluster's). */
  role: string;
  pid: number;
  /** Its CPU over the window, seconds. */
  cpuSeconds: number;
}

/** What the scraper learned about the server side over the run, for the report. */
export interface ServerSide {
  /** The endpoints read. */
  urls: string[];
  /** Scrapes that answered 200 with text, and those that did not. */
  scrapes: number;
  failures: number;
  /** The first failure of each URL, verbatim (status or error code). */
  errors?: string[];
  /** Resident memory of all targets together, bytes: at the start of the measured window, at its end, and the peak. */
  rssBytesStart?: number;
  rssBytesEnd?: number;
  rssBytesPeak?: number;
  /** Slope of that memory over the measured window (Theil-Sen: a single step does not move it), bytes per hour. */
  rssSlopeBytesPerHour?: number;
  /** Lowest memory in each quarter of the measured window, bytes, and whether they rose through the window. */
  rssFloorsBytes?: number[];
  rssFloorsRising?: boolean;
  /**
   * Live memory (Node targets with prom-client default metrics): V8 heap in use plus
   * external memory (Buffers), bytes, with the same slope and quarter floors. What a
   * leak grows, without RSS's sawtooth of major GCs minutes apart; `soak` judges by it.
   */
  heapBytesStart?: number;
  heapBytesEnd?: number;
  heapSlopeBytesPerHour?: number;
  heapFloorsBytes?: number[];
  heapFloorsRising?: boolean;
  /**
   * CPU of all targets together over the measured window, percent of one core (mean) and
   * seconds. With `cpuCoverage` `node` (the bundled server's `wsbench_node_cpu_seconds_total`)
   * that is every process of each node, a cluster's primary and workers, listed in
   * `processes`; with `process` (`process_cpu_seconds_total`), only the process that
   * answered each scrape (of a cluster: one worker).
   */
  cpuPercentMean?: number;
  cpuSeconds?: number;
  cpuCoverage?: 'node' | 'process';
  /** The scrapes the CPU figures are between, wall-clock milliseconds. */
  cpuWindow?: { fromMs: number; toMs: number };
  /** With `cpuCoverage` `node`: each process counted, with its CPU seconds over `cpuWindow`. */
  processes?: ServerProcess[];
  /** Largest event-loop lag any target reported, milliseconds. */
  eventLoopLagMaxMs?: number;
}

/** How the run ended: `completed` (judged), `interrupted` (Ctrl-C, exit 130) or `failed` (the harness could not run it, see RunCause). */
export type RunStatus = 'completed' | 'interrupted' | 'failed';

/** Why a run failed (status `failed`): the error the CLI printed, with its stable code. */
export interface RunCause {
  /** `WSB_ERR_*`. */
  code: string;
  message: string;
  hint?: string;
}

/** What one variant's traffic cost (src/run/traffic-figures.ts); absent figures could not be measured. */
export interface TrafficFigures {
  /** Padding bytes per published payload. */
  payloadBytes: number;
  /** The raw client's compression option (`off`, `on`, `no-takeover`). */
  compression: string;
  /** Whether publishes went as binary frames (`--set binary=on`). */
  binary: boolean;
  /** Connections that agreed permessage-deflate. */
  negotiated: number;
  deliveriesPerSec: number;
  fanoutP50Us?: number;
  fanoutP99Us?: number;
  fanoutP999Us?: number;
  /** Deliveries over the measured window per CPU-second of the generator's workers. */
  deliveriesPerCpuSec?: number;
  /** Server CPU milliseconds per MB of payload delivered (payload bytes x deliveries), from `--scrape`. */
  serverCpuMsPerMB?: number;
  /** Server resident memory (peak, whole process) per connected client, bytes, from `--scrape`. */
  serverRssPerConnBytes?: number;
}

/** One row of the side-by-side comparison of variants (`--set jitter=none,full`). */
export interface VariantSummary {
  /** What the traffic cost (deliveries per CPU-second, server CPU per MB, ...). */
  traffic?: TrafficFigures;
  label: string;
  /** True only for a verified pass (no failed check or gate, none unverified). */
  passed: boolean;
  /** `failed` when a check or gate failed, else `unverified` when a check could not be verified, else `passed` (absent in older reports: `passed` decides). */
  verdict?: CheckStatus;
  /** Names of the checks that could not be verified (any trial of `--repeat`). */
  unverified?: string[];
  /** Peak rate of rejoins over any 100 ms window after the drop (the thundering herd), per second. */
  herdPeakPerSec: number;
  /** Drop-to-rejoined, microseconds (absent when nothing reconnected). */
  reconnectP50Us?: number;
  reconnectP99Us?: number;
  reconnectMaxUs?: number;
  reconnectAttemptsMean?: number;
  fanoutP99Us?: number;
  lost: number;
  duplicated: number;
}

/** The JSON report of one run (`wsbench.report/1`); see the module comment for the stable fields. Times in microseconds unless a name says `Ms`. */
export interface Report {
  schema: typeof REPORT_SCHEMA;
  tool: { name: string; version: string };
  git?: { sha: string };
  machine: {
    hostname: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    totalMemBytes: number;
    node: string;
  };
  scenario: { name: string; description?: string; options: Record<string, unknown> };
  target: TargetInfo;
  /** ISO 8601. */
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Length of the measured (steady) window the rates are computed over, ms. */
  measuredMs?: number;
  status: RunStatus;
  /** With status `failed`: why (the error and its code). Reports of failed runs are written to `--out` too. */
  cause?: RunCause;
  /** Phases, faults and notes, in order. */
  timeline: TimelineEvent[];
  metrics: Record<string, MetricSummary>;
  counters: Record<string, number>;
  /**
   * Whole-run rates over the measured (non-warm-up) window, per second. `acksPerSec`
   * (publish acks, the `ack` metric's samples) and `roundTripsPerSec` (pings answered,
   * `rtt` samples) are absent in reports written before they existed.
   */
  rates: { messagesSentPerSec: number; deliveriesPerSec: number; connectsPerSec: number; acksPerSec?: number; roundTripsPerSec?: number };
  /**
   * What the server said, per `errors.<code>` counter: the first message seen, e.g.
   * `errors.http_429` -> `HTTP 429: Rate limit exceeded`, `errors.connect_error` -> the
   * Socket.IO `connect_error` message, `errors.rate_limit_exceeded` -> the error frame's text.
   */
  errorExamples?: Record<string, string>;
  ledger: Ledger;
  /** Per-room ledger, only rooms with a problem plus a bounded sample of the rest. */
  rooms?: RoomLedger[];
  checks: CheckResult[];
  gates: GateResult[];
  generator: GeneratorHealth;
  /**
   * Per-second series, index i = second i of the run. Names used by the engine:
   * `connections` (open at the end of the second), `messages.sent`, `messages.received`,
   * `errors`, `<metric>.p50`, `<metric>.p99` (us), e.g. `fanout.p99`.
   */
  series: Record<string, number[]>;
  nodes?: NodeReport[];
  /** The target's own metrics over the run (`--scrape`; the bundled nodes' /metrics by default): memory, CPU, event loop. */
  server?: ServerSide;
  /** Per-client observations of the scenario (count/min/max/mean and the clients at the extremes). */
  observations?: Record<string, { count: number; min: number; max: number; mean: number; minClient: number; maxClient: number }>;
  /** With `--set key=a,b`: one summary per variant, run one after another (this report is the last one's). */
  variants?: VariantSummary[];
  /** Things the engine decided or noticed, in plain words (worker split, source addresses, ...). */
  notes: string[];
}
