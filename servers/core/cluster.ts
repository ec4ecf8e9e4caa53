/**
 * `--workers N`: several processes share one port under Node cluster. The
 * primary owns the room sequences and the retention buffers (a RoomLog) and
 * relays fan-out between workers; each worker's Bus is a thin IPC client of it.
 * The same channel carries control (drop-all, shutdown), /stats aggregation and the node's
 * CPU and memory for /metrics (`usage`: the primary asks every worker for its own).
 *
 * Every IPC message of ours carries `wsb: 1` so other users of the channel are ignored.
 */
import type { Worker } from 'node:cluster';
import { RoomLog, RETENTION_SWEEP_MS, type RetentionLimits, type Bus, type BusMessage, type HistoryResult, type RetainedMessage } from './bus.ts';
import { ownUsage, setNodeUsageSource, type NodeUsage, type ProcessUsage, type ServerStats } from './metrics.ts';

type Rid = number;

/** Worker -> primary. */
export type ToPrimary =
  | { wsb: 1; op: 'next' | 'last'; rid: Rid; room: string }
  | { wsb: 1; op: 'append'; rid: Rid; room: string; entry: RetainedMessage }
  | { wsb: 1; op: 'history'; rid: Rid; room: string; after: number }
  | { wsb: 1; op: 'pub'; msg: BusMessage }
  | { wsb: 1; op: 'stats'; rid: Rid }
  | { wsb: 1; op: 'stats-res'; rid: Rid; stats: ServerStats }
  | { wsb: 1; op: 'usage'; rid: Rid }
  | { wsb: 1; op: 'usage-res'; rid: Rid; usage: ProcessUsage }
  /** `ownUrl`: the worker's own port (--ports per-worker). */
  | { wsb: 1; op: 'ready'; url: string; port: number; ownUrl?: string };

/** Primary -> worker. */
export type ToWorker =
  | { wsb: 1; op: 'res'; rid: Rid; value?: unknown; error?: string }
  | { wsb: 1; op: 'pub'; msg: BusMessage }
  | { wsb: 1; op: 'stats-req'; rid: Rid }
  | { wsb: 1; op: 'usage-req'; rid: Rid }
  | { wsb: 1; op: 'drop-all'; code?: number }
  | { wsb: 1; op: 'shutdown' };

function isOurs(m: unknown): m is { wsb: 1; op: string } {
  return typeof m === 'object' && m !== null && (m as { wsb?: unknown }).wsb === 1;
}

/** Aggregated /stats of a cluster: sums over workers, plus each worker's own. */
export interface ClusterStats extends Omit<ServerStats, 'eventLoopDelayP99Ms' | 'eventLoopDelayMaxMs'> {
  /** Worst worker's value. */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /** The primary's own RSS is included in rssBytes. */
  primaryRssBytes: number;
  /** Each worker's stats; `url` is its own URL with --ports per-worker. */
  workers: Array<ServerStats & { url?: string }>;
  /** With --ports per-worker: every worker's own URL, in worker order. */
  workerUrls?: string[];
}

/**
 * The cluster primary's side: owns room seqs and retention, relays fan-out and control to the attached workers.
 */
export interface ClusterHub {
  attach(worker: Worker): void;
  detach(worker: Worker): void;
  /** Send a control message to every attached worker. */
  broadcast(msg: ToWorker): void;
  close(): void;
}

const STATS_TIMEOUT_MS = 2000;
/** How long the primary waits for the workers' usage; a worker late past it counts with its last reading. */
const USAGE_TIMEOUT_MS = 300;

/** The primary's side: sequences, retention, relay, stats aggregation. */
export function createClusterHub(opts: { retention: number | RetentionLimits; node: string; perWorker?: boolean }): ClusterHub {
  const log = new RoomLog(opts.retention);
  // Age evictions only: the primary does not know which rooms have members in the workers, so it forgets none.
  const sweep = setInterval(() => log.sweep(), RETENTION_SWEEP_MS);
  sweep.unref();
  const workers = new Map<Worker, (m: unknown) => void>();
  /** Own URL per worker pid, from the workers' `ready` messages (--ports per-worker), in the order they were attached. */
  const ownUrls = new Map<number, string>();
  let statsRid = 0;
  const statsWaits = new Map<Rid, { got: ServerStats[]; want: number; done: () => void }>();
  /** Each attached worker's latest usage (by pid), and the CPU of workers detached since. */
  const lastUsage = new Map<number, ProcessUsage>();
  let exitedCpuSeconds = 0;
  let usageRid = 0;
  const usageWaits = new Map<Rid, { left: number; done: () => void }>();

  const send = (w: Worker, m: ToWorker) => {
    if (w.isConnected()) w.send(m);
  };

  const aggregate = async (): Promise<ClusterStats> => {
    const rid = ++statsRid;
    const got: ServerStats[] = [];
    const targets = [...workers.keys()].filter((w) => w.isConnected());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, STATS_TIMEOUT_MS);
      statsWaits.set(rid, { got, want: targets.length, done: () => { clearTimeout(timer); resolve(); } });
      if (targets.length === 0) resolve();
      for (const w of targets) send(w, { wsb: 1, op: 'stats-req', rid });
    });
    statsWaits.delete(rid);
    const sum = (k: keyof ServerStats) => got.reduce((a, s) => a + (s[k] as number), 0);
    const max = (k: keyof ServerStats) => got.reduce((a, s) => Math.max(a, s[k] as number), 0);
    const primaryRss = process.memoryUsage().rss;
    return {
      node: opts.node,
      pid: process.pid,
      bus: 'ipc',
      connections: sum('connections'),
      rooms: sum('rooms'),
      framesIn: sum('framesIn'),
      framesOut: sum('framesOut'),
      deliveries: sum('deliveries'),
      rateLimited: sum('rateLimited'),
      heartbeatTerminations: sum('heartbeatTerminations'),
      connectionsOpened: sum('connectionsOpened'),
      upgradesRejected: sum('upgradesRejected'),
      badRequests: sum('badRequests'),
      slowConsumerTerminations: sum('slowConsumerTerminations'),
      userConnsRefused: sum('userConnsRefused'),
      rssBytes: sum('rssBytes') + primaryRss,
      heapUsedBytes: sum('heapUsedBytes'),
      eventLoopDelayP99Ms: max('eventLoopDelayP99Ms'),
      eventLoopDelayMaxMs: max('eventLoopDelayMaxMs'),
      uptimeMs: max('uptimeMs'),
      primaryRssBytes: primaryRss,
      workers: got.sort((a, b) => a.pid - b.pid).map((s) => (ownUrls.has(s.pid) ? { ...s, url: ownUrls.get(s.pid) } : s)),
      ...(opts.perWorker ? { workerUrls: [...ownUrls.values()] } : {}),
    };
  };

  /** Every process of the node: the primary's own usage now, each worker's as it answers (its last reading if it is late). */
  const nodeUsage = async (): Promise<NodeUsage> => {
    const rid = ++usageRid;
    const targets = [...workers.keys()].filter((w) => w.isConnected());
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, USAGE_TIMEOUT_MS);
      usageWaits.set(rid, { left: targets.length, done: () => { clearTimeout(timer); resolve(); } });
      if (targets.length === 0) resolve();
      for (const w of targets) send(w, { wsb: 1, op: 'usage-req', rid });
    });
    usageWaits.delete(rid);
    const live = [...workers.keys()].map((w) => lastUsage.get(w.process.pid ?? -1)).filter((u): u is ProcessUsage => u !== undefined);
    return { processes: [ownUsage('primary'), ...live.sort((a, b) => a.pid - b.pid)], exitedCpuSeconds };
  };

  const onMessage = (w: Worker, raw: unknown) => {
    if (!isOurs(raw)) return;
    const m = raw as ToPrimary;
    switch (m.op) {
      case 'next':
        return send(w, { wsb: 1, op: 'res', rid: m.rid, value: log.next(m.room) });
      case 'last':
        return send(w, { wsb: 1, op: 'res', rid: m.rid, value: log.last(m.room) });
      case 'append':
        log.append(m.room, m.entry);
        return send(w, { wsb: 1, op: 'res', rid: m.rid });
      case 'history':
        return send(w, { wsb: 1, op: 'res', rid: m.rid, value: log.history(m.room, m.after) });
      case 'pub':
        for (const other of workers.keys()) if (other !== w) send(other, { wsb: 1, op: 'pub', msg: m.msg });
        return;
      case 'stats':
        aggregate().then((value) => send(w, { wsb: 1, op: 'res', rid: m.rid, value }));
        return;
      case 'usage':
        nodeUsage().then((value) => send(w, { wsb: 1, op: 'res', rid: m.rid, value }));
        return;
      case 'usage-res': {
        if (w.process.pid !== undefined) lastUsage.set(w.process.pid, { ...m.usage, role: 'worker' });
        const wait = usageWaits.get(m.rid);
        if (wait && --wait.left <= 0) wait.done();
        return;
      }
      case 'ready':
        if (m.ownUrl !== undefined && w.process.pid !== undefined) ownUrls.set(w.process.pid, m.ownUrl);
        return;
      case 'stats-res': {
        const wait = statsWaits.get(m.rid);
        if (!wait) return;
        wait.got.push(m.stats);
        if (wait.got.length >= wait.want) wait.done();
        return;
      }
      default:
        return;
    }
  };

  return {
    attach(w) {
      // Reserve the worker's place, so workerUrls come in worker order whatever order they get ready in.
      if (opts.perWorker && w.process.pid !== undefined) ownUrls.set(w.process.pid, '');
      const h = (m: unknown) => onMessage(w, m);
      workers.set(w, h);
      w.on('message', h);
    },
    detach(w) {
      const h = workers.get(w);
      if (h) w.off('message', h);
      workers.delete(w);
      const last = lastUsage.get(w.process.pid ?? -1);
      if (last) {
        exitedCpuSeconds += last.cpuSeconds;
        lastUsage.delete(last.pid);
      }
    },
    broadcast(msg) {
      for (const w of workers.keys()) send(w, msg);
    },
    close() {
      clearInterval(sweep);
      for (const [w, h] of workers) w.off('message', h);
      workers.clear();
    },
  };
}

/** A cluster worker's bus: a thin IPC client of the primary, also carrying /stats and control. */
export interface IpcBus extends Bus {
  /** Ask the primary for the aggregated /stats. */
  clusterStats(): Promise<ClusterStats>;
  /** Answer the primary's stats requests and control messages. */
  onControl(handlers: { stats(): ServerStats; dropAll(code?: number): void; shutdown(): void }): void;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** The node's usage for one /metrics answer: the primary waits USAGE_TIMEOUT_MS for the workers, so this is ample, and well inside a scraper's timeout (800 ms). */
const USAGE_REQUEST_TIMEOUT_MS = 600;

/** A worker's Bus: every operation is a request to the cluster primary over the IPC channel. */
export function createIpcBus(): IpcBus {
  if (typeof process.send !== 'function') throw new Error('createIpcBus() needs an IPC channel (run as a cluster worker)');
  const id = `ipc-${process.pid}`;
  let rid = 0;
  const waits = new Map<Rid, { resolve(v: unknown): void; reject(e: Error): void; timer: NodeJS.Timeout }>();
  const subscribers = new Set<(m: BusMessage) => void>();
  let control: Parameters<IpcBus['onControl']>[0] | null = null;
  let connected = true;

  const request = <T>(m: Record<string, unknown>, timeoutMs = REQUEST_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (!connected) return reject(new Error('cluster primary is gone'));
      const r = ++rid;
      const timer = setTimeout(() => {
        waits.delete(r);
        reject(new Error(`cluster primary did not answer ${String(m.op)} in ${timeoutMs} ms`));
      }, timeoutMs);
      waits.set(r, { resolve: resolve as (v: unknown) => void, reject, timer });
      process.send!({ wsb: 1, rid: r, ...m });
    });

  const onMessage = (raw: unknown) => {
    if (!isOurs(raw)) return;
    const m = raw as ToWorker;
    switch (m.op) {
      case 'res': {
        const w = waits.get(m.rid);
        if (!w) return;
        waits.delete(m.rid);
        clearTimeout(w.timer);
        if (m.error) w.reject(new Error(m.error));
        else w.resolve(m.value);
        return;
      }
      case 'pub':
        for (const s of subscribers) s(m.msg);
        return;
      case 'stats-req':
        if (control) process.send!({ wsb: 1, op: 'stats-res', rid: m.rid, stats: control.stats() });
        return;
      case 'usage-req':
        process.send!({ wsb: 1, op: 'usage-res', rid: m.rid, usage: ownUsage('worker') });
        return;
      case 'drop-all':
        control?.dropAll(m.code);
        return;
      case 'shutdown':
        control?.shutdown();
        return;
    }
  };
  process.on('message', onMessage);
  const onDisconnect = () => {
    connected = false;
    for (const [, w] of waits) {
      clearTimeout(w.timer);
      w.reject(new Error('cluster primary is gone'));
    }
    waits.clear();
  };
  process.on('disconnect', onDisconnect);
  // This worker's /metrics reports the whole node: the primary gathers every process's usage.
  const nodeUsage = () => request<NodeUsage>({ op: 'usage' }, USAGE_REQUEST_TIMEOUT_MS);
  setNodeUsageSource(nodeUsage);

  return {
    kind: 'ipc',
    id,
    // The rooms' seqs live in the primary (this worker's parent): a new primary begins them again.
    epoch: `ipc-${process.ppid}`,
    nextSeq: (room) => request<number>({ op: 'next', room }),
    lastSeq: (room) => request<number>({ op: 'last', room }),
    append: (room, entry) => request<void>({ op: 'append', room, entry }),
    history: (room, after) => request<HistoryResult>({ op: 'history', room, after }),
    publish(msg) {
      if (connected) process.send!({ wsb: 1, op: 'pub', msg });
    },
    subscribe(handler) {
      subscribers.add(handler);
      return () => subscribers.delete(handler);
    },
    health: () => (connected ? { ok: true } : { ok: false, reason: 'cluster primary is gone' }),
    async close() {
      setNodeUsageSource(undefined);
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      subscribers.clear();
    },
    clusterStats: () => request<ClusterStats>({ op: 'stats' }),
    onControl(h) {
      control = h;
    },
  };
}
