/**
 * The coordinator's side of the worker messages: folds snapshots, ledgers, examples and
 * observations from every worker process into one place, and lets the run wait until
 * every worker has said something (`ready`, `ramp-done`, `final`).
 */
import type { FromWorker } from '../workers/messages.ts';
import type { Observation } from '../workers/runtime.ts';
import type { HealthSample } from '../metrics/types.ts';
import type { ObservationSummary } from '../scenario/types.ts';
import type { PublisherLog, TagWindow } from '../checks/tag-ledger.ts';
import { createAggregator } from '../metrics/index.ts';
import { mergeTallies, type RoomTally } from '../checks/ledger.ts';

type Waiter = { need: number; got: FromWorker[]; resolve: (m: FromWorker[]) => void };

/** Examples kept per kind (client ids) and per error code (messages). */
const MAX_EXAMPLES = 5;

/**
 * The coordinator's fold of every worker's messages (see the module comment): metrics, health, ledgers, examples, observations.
 */
export class RunCollector {
  readonly agg = createAggregator();
  /** Connected clients per worker, from its latest snapshot. */
  readonly connected: number[];
  /** Health samples of the steady phase, per worker. */
  readonly healthSamples: HealthSample[][];
  /** The latest health sample of each worker, any phase (for live sinks). */
  readonly latestHealth: Array<HealthSample | undefined>;
  readonly tallies = new Map<string, RoomTally>();
  readonly tagWindows: TagWindow[] = [];
  readonly publisherLogs: PublisherLog[] = [];
  /** Connected clients per `<url index>|<node id>`. */
  readonly nodeClients: Record<string, number> = {};
  /** A few client ids per kind of event (`connect:<code>`, `dropped:<code>`, ...). */
  readonly examples: Record<string, number[]> = {};
  /** The first message seen per `errors.<code>` counter, as evidence of what the server said. */
  readonly errorExamples: Record<string, string> = {};
  readonly observations = new Map<string, Observation>();
  /** The first worker-reported fatal error, and the first worker that died. */
  fatal: string | undefined;
  workerDied: string | undefined;
  private readonly waiters = new Map<string, Waiter>();

  constructor(readonly workers: number) {
    this.connected = new Array<number>(workers).fill(0);
    this.healthSamples = Array.from({ length: workers }, () => []);
    this.latestHealth = new Array<HealthSample | undefined>(workers);
  }

  /** Clients connected now, over every worker. */
  connectedNow(): number {
    return this.connected.reduce((a, b) => a + b, 0);
  }

  /** Resolves with every worker's message of `type`, or with those that came by `timeoutMs`. */
  waitFor(type: FromWorker['type'], timeoutMs: number): Promise<FromWorker[]> {
    return new Promise<FromWorker[]>((resolve) => {
      const w: Waiter = { need: this.workers, got: [], resolve };
      this.waiters.set(type, w);
      setTimeout(() => {
        if (this.waiters.get(type) === w) {
          this.waiters.delete(type);
          resolve(w.got);
        }
      }, timeoutMs).unref();
    });
  }

  /** Whether someone is still waiting for `type`. */
  waiting(type: FromWorker['type']): boolean {
    return this.waiters.has(type);
  }

  /** Stop waiting for `type`: the waiter resolves with what came so far. */
  giveUp(type: FromWorker['type']): void {
    const w = this.waiters.get(type);
    this.waiters.delete(type);
    w?.resolve(w.got);
  }

  /** A worker process exited while it should not have: nothing more will come from it. */
  onWorkerExit(id: number, code: number | null, signal: string | null): void {
    this.workerDied ??= `worker ${id} exited (${signal ?? `code ${code}`})`;
    for (const w of this.waiters.values()) w.resolve(w.got);
  }

  onMessage(m: FromWorker): void {
    switch (m.type) {
      case 'snapshot':
        this.agg.add(m.metrics, { measured: m.measured });
        this.connected[m.workerId] = m.status.connected;
        if (m.phase === 'steady') this.healthSamples[m.workerId]!.push(m.health);
        this.latestHealth[m.workerId] = m.health;
        break;
      case 'final':
        this.addFinal(m);
        break;
      case 'fatal':
        this.fatal ??= m.message;
        break;
    }
    const w = this.waiters.get(m.type);
    if (w) {
      w.got.push(m);
      if (w.got.length >= w.need) {
        this.waiters.delete(m.type);
        w.resolve(w.got);
      }
    }
    if (m.type === 'fatal') for (const w2 of this.waiters.values()) w2.resolve(w2.got);
  }

  private addFinal(m: Extract<FromWorker, { type: 'final' }>): void {
    mergeTallies(this.tallies, m.tallies);
    for (const w of m.tagLedger.windows) this.tagWindows.push(w);
    for (const l of m.tagLedger.logs) this.publisherLogs.push(l);
    for (const [k, n] of Object.entries(m.nodeClients)) this.nodeClients[k] = (this.nodeClients[k] ?? 0) + n;
    for (const [k, v] of Object.entries(m.examples)) (this.examples[k] ??= []).push(...v.slice(0, MAX_EXAMPLES - (this.examples[k]?.length ?? 0)));
    for (const [k, v] of Object.entries(m.errorExamples ?? {})) this.errorExamples[k] ??= v;
    for (const [k, o] of Object.entries(m.observations)) mergeObservation(this.observations, k, o);
  }

  /** The per-client observations as the report shows them. */
  observationSummaries(): Record<string, ObservationSummary> | undefined {
    if (!this.observations.size) return undefined;
    const out: Record<string, ObservationSummary> = {};
    for (const [k, o] of this.observations) out[k] = { count: o.count, min: o.min, max: o.max, mean: o.count ? o.sum / o.count : 0, minClient: o.minClient, maxClient: o.maxClient };
    return out;
  }
}

function mergeObservation(into: Map<string, Observation>, key: string, o: Observation): void {
  const cur = into.get(key);
  if (!cur) return void into.set(key, { ...o });
  cur.count += o.count;
  cur.sum += o.sum;
  if (o.min < cur.min) [cur.min, cur.minClient] = [o.min, o.minClient];
  if (o.max > cur.max) [cur.max, cur.maxClient] = [o.max, o.maxClient];
}
