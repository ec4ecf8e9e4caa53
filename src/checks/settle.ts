/**
 * Closing the books only once the deliveries in flight have arrived.
 *
 * A worker used to take its ledger tallies a fixed cool-down after publishing
 * stopped. A server that lags (a cluster of bundled workers relaying over IPC on a
 * loaded machine: fan-out p99 above 2 s) was still delivering then: those
 * deliveries arrived after the tallies, were counted in `messages.received` but
 * judged "lost" by the ledger. Before the tallies, the worker now waits until
 *
 *  - no publish of its own still waits for its ack,
 *  - every open receiver of a room has reached the highest seq this worker knows
 *    for that room (an ack, a join reply or another receiver's delivery), and
 *  - no delivery arrived for `quietMs` (rooms without seq are only covered by this
 *    quiet window),
 *
 * then tells the coordinator the highest seq it knows per room and waits, in a
 * second round, until its receivers have the highest seq any worker knows (the
 * publishers of another worker of this run; another shard's are not known),
 *
 * or until `timeoutMs` (the request timeout, at most SETTLE_MAX_MS: a delivery
 * later than that after its ack is judged lost, as an ack that late is).
 */
import { seqKey, type ReceiverRoom, type RoomTally } from './ledger.ts';

/** What the settle loop reads of a worker's runtime (src/workers/runtime.ts). */
export interface SettleSource {
  readonly clients: ReadonlyArray<{ readonly state: string; readonly recv: ReadonlyMap<string, ReceiverRoom> }>;
  readonly requests: { readonly pending: ReadonlyMap<number, { readonly kind: string; readonly quiet?: boolean }> };
  /** Per-room tallies; only `maxSeq` (the highest seq known here) is read. */
  tallies(): RoomTally[];
}

/** Where the books stand: what is still due, and a figure that grows with every delivery. */
export interface Backlog {
  /** Publishes still waiting for their ack. */
  acksPending: number;
  /** Open receivers short of their room's highest known seq. */
  receiversBehind: number;
  /** Deliveries counted so far (delivered + duplicated over every receiver). */
  progress: number;
}

/** The highest seq known per sequence (`seqKey`: the room, and its epoch when the server names one) in `tallies` (what one worker knows). */
export function roomMaxOf(tallies: Iterable<RoomTally>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of tallies) {
    const key = seqKey(t.room, t.epoch);
    if (t.maxSeq > (out[key] ?? 0)) out[key] = t.maxSeq;
  }
  return out;
}

/** The highest seq per room over several workers' `roomMaxOf` (the coordinator's round). */
export function highestSeqs(all: Iterable<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of all) for (const [room, seq] of Object.entries(m)) if (seq > (out[room] ?? 0)) out[room] = seq;
  return out;
}

/**
 * Read the backlog of `src` now. `known`: the highest seq per room over every generator
 * worker (from the coordinator), so receivers also wait for what another worker's
 * publishers published.
 */
export function readBacklog(src: SettleSource, known: Readonly<Record<string, number>> = {}): Backlog {
  let acksPending = 0;
  // Quiet publishes (rate-limit probing) may never be answered: not waited for.
  for (const p of src.requests.pending.values()) if (p.kind === 'ack' && !p.quiet) acksPending++;
  const roomMax = new Map<string, number>(Object.entries(known));
  for (const [key, seq] of Object.entries(roomMaxOf(src.tallies()))) if (seq > (roomMax.get(key) ?? 0)) roomMax.set(key, seq);
  let receiversBehind = 0;
  let progress = 0;
  for (const c of src.clients) {
    for (const r of c.recv.values()) {
      progress += r.delivered + r.duplicated;
      // A receiver whose connection is gone cannot catch up: the ledger judges it as it stands.
      if (c.state !== 'open' || !r.active || r.joinSeq < 0) continue;
      if (r.lastSeq < (roomMax.get(seqKey(r.room, r.epoch)) ?? 0)) receiversBehind++;
    }
  }
  return { acksPending, receiversBehind, progress };
}

/** How long `settleLedger` waits and how it polls (all durations ms). */
export interface SettleOptions {
  /** Longest wait, ms (the run's request timeout). */
  timeoutMs: number;
  /** Deliveries must have stopped for this long, ms (default 500). */
  quietMs?: number;
  /** Poll interval, ms (default 50). */
  pollMs?: number;
  /** Clock, ms (default Date.now). */
  now?: () => number;
  /** Timer (default setTimeout). */
  sleep?: (ms: number) => Promise<void>;
  /**
   * What a watcher saw before the wait began (see `watchProgress`): deliveries that went
   * quiet during the cool-down count toward `quietMs`, so a run whose traffic has already
   * stopped closes its books at once instead of waiting `quietMs` more.
   */
  before?: QuietMark;
}

/** The progress figure a watcher last saw, and since when (ms, on the settle clock) it has not moved. */
export interface QuietMark {
  progress: number;
  sinceMs: number;
}

/**
 * Watch `read().progress` every `everyMs` (default 100) from now on; `mark()` says since
 * when it has not moved, `stop()` ends the watch. Started at the cool-down.
 */
export function watchProgress(read: () => Backlog, everyMs = 100, now: () => number = Date.now): { mark(): QuietMark; stop(): void } {
  let last: QuietMark = { progress: read().progress, sinceMs: now() };
  const timer = setInterval(() => {
    const p = read().progress;
    if (p !== last.progress) last = { progress: p, sinceMs: now() };
  }, everyMs);
  timer.unref?.();
  return { mark: () => last, stop: () => clearInterval(timer) };
}

/** How the settle wait ended. */
export interface SettleResult {
  /** True when everything due arrived and deliveries went quiet; false on the timeout. */
  settled: boolean;
  /** How long the wait took, ms. */
  waitedMs: number;
  /** The backlog when the wait ended. */
  backlog: Backlog;
}

/** Upper bound of the wait, ms: the coordinator waits 20 s for a worker's final report, closing included. */
export const SETTLE_MAX_MS = 10_000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Wait until the worker's books can be closed (see the module comment), at most `timeoutMs`. */
export async function settleLedger(read: () => Backlog, o: SettleOptions): Promise<SettleResult> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const quietMs = o.quietMs ?? 500;
  const pollMs = o.pollMs ?? 50;
  const start = now();
  let backlog = read();
  let lastProgress = o.before?.progress ?? backlog.progress;
  let quietSince = o.before?.sinceMs ?? start;
  for (;;) {
    const t = now();
    if (backlog.progress !== lastProgress) {
      lastProgress = backlog.progress;
      quietSince = t;
    }
    const due = backlog.acksPending + backlog.receiversBehind;
    if (due === 0 && t - quietSince >= quietMs) return { settled: true, waitedMs: t - start, backlog };
    if (t - start >= o.timeoutMs) return { settled: false, waitedMs: t - start, backlog };
    await sleep(pollMs);
    backlog = read();
  }
}

/** What a worker says of its settle in its final report: undefined when everything due arrived. */
export interface SettleShortfall {
  waitedMs: number;
  receiversBehind: number;
  acksPending: number;
}

/** The worker's shortfall after its settle rounds, or undefined when it settled. */
export function shortfallOf(r: SettleResult): SettleShortfall | undefined {
  if (r.settled || r.backlog.receiversBehind + r.backlog.acksPending === 0) return undefined;
  return { waitedMs: r.waitedMs, receiversBehind: r.backlog.receiversBehind, acksPending: r.backlog.acksPending };
}

/** The report's note when some worker closed its books with deliveries still due (they count as lost). */
export function shortfallNote(all: ReadonlyArray<SettleShortfall>): string | undefined {
  if (all.length === 0) return undefined;
  const behind = all.reduce((a, s) => a + s.receiversBehind, 0);
  const acks = all.reduce((a, s) => a + s.acksPending, 0);
  const waited = Math.max(...all.map((s) => s.waitedMs));
  return `the ledger closed after waiting ${(waited / 1000).toFixed(1)} s for deliveries in flight with ${behind} receivers still short of their room's last seq and ${acks} publishes unacknowledged: what they miss is counted as lost`;
}
