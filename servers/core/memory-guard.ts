/**
 * Backpressure on memory (docs/SECURITY.md "Limits"). Two figures are watched,
 * every `sampleMs` and, because one turn of the event loop can read megabytes
 * from many sockets before a timer runs, after every GUARD_CHECK_BYTES the
 * server reports as received:
 *
 * - the bytes a node holds for traffic in flight (socket reads, frames being
 *   decoded, garbage not yet collected: ArrayBuffer and V8 heap memory beyond
 *   the idle baseline and beyond what the budgeted stores hold); over
 *   `inflightBytes` the node stops reading from its sockets (TCP pushes back on
 *   the senders) and runs a full collection, until they fall to half of it or
 *   for `maxPauseMs` at most, so a flood slows down instead of growing the process;
 * - the RSS backstop: what the process really takes (RSS) against its ceiling,
 *   the idle RSS (before the first connection) + `budgetBytes` (the budgeted
 *   stores' caps) + `inflightBytes` + `trafficBytes` (traffic in motion: socket
 *   buffers, parser copies, allocator slack) + each open connection's allowance
 *   + the most queued for clients (capped per connection by `slow-consumer-bytes`;
 *   kept in the ceiling until RSS comes down, as the allocator keeps what a cut
 *   slow client's queue took). The
 *   figure above misses what the allocator keeps of freed buffers and V8 heap
 *   pages not yet given back; past the ceiling less a margin (GUARD_RSS_MARGIN of
 *   `inflightBytes`) reading pauses the same way, until RSS falls a whole
 *   `inflightBytes` below the ceiling or for `maxPauseMs`. Memory the allocator keeps but
 *   no longer uses does not come back with a pause (it is reused first): a node
 *   left over the line after a flood pauses only as it reads (every
 *   GUARD_CHECK_BYTES received), or when RSS grew another margin, so it keeps
 *   serving light traffic while a flood still gets no further.
 */
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How often the guard samples, ms. */
export const GUARD_SAMPLE_MS = 20;
/** Longest single pause, ms: reading resumes then even if memory has not come down (the next sample may pause again). */
export const GUARD_MAX_PAUSE_MS = 250;
/**
 * Memory each open connection may hold beyond the baseline without counting as in
 * flight, bytes: its own state (the socket and parser objects, its entry in rooms and
 * maps; about 3 KiB on the native flavour, more on Socket.IO) with room to spare. Without
 * it, a ramp of 20,000 connections read as 60 MiB in flight and paused every socket.
 */
export const GUARD_PER_CONNECTION_BYTES = 16 * 1024;
/** Received bytes (reported with `received`) between two checks made at once, off the timer. */
export const GUARD_CHECK_BYTES = 256 * 1024;
/**
 * The RSS backstop's margin, as a share of `inflightBytes`: it pauses that far under its ceiling (and resumes
 * a whole `inflightBytes` under it, at the idle RSS plus the budgets). Under the worst-case flood RSS went up
 * to 8 MiB past the line after it was crossed (the outgoing copies queued for clients that read slowly, a
 * collection's own pages): with a margin of a half the Socket.IO flavour ended 1 MiB over its ceiling once in three runs.
 */
export const GUARD_RSS_MARGIN = 3 / 4;

/** What the memory guard watches and how it pauses reading (bytes; `sampleMs` ms). */
export interface MemoryGuardOptions {
  /** ArrayBuffer bytes in flight allowed before reading pauses; 0 = the guard is off. */
  inflightBytes: number;
  /** ArrayBuffer bytes the budgeted stores hold now (the retention ring, the offline queue): not in flight. */
  held(): number;
  /**
   * RSS allowed beyond the stores for traffic in motion, bytes (the `traffic-bytes` option): socket buffers,
   * parser copies and what the allocator keeps between them. Healthy fan-out at 160 MB/s with a full retention
   * ring took 20..30 MiB of RSS beyond the ring; without this allowance the backstop throttled it. Part of the
   * RSS ceiling (default 0).
   */
  trafficBytes?: number;
  /** V8 heap bytes the budgeted stores hold now (Socket.IO's recovery buffer); default 0. */
  heldHeap?(): number;
  /** The most the budgeted stores may hold (the sum of their caps), bytes: part of the RSS ceiling (default 0). */
  budgetBytes?: number;
  /**
   * Bytes queued for clients now (the sockets' send buffers; each connection's is capped by
   * `slow-consumer-bytes`): memory held by a cap that pausing reads does not free. Called only when
   * a figure is over its line (it walks the connections), then neither in flight nor over the ceiling.
   */
  queued?(): number;
  /** Open connections now: each may hold `perConnectionBytes` of its own state (default: none counted). */
  connections?(): number;
  /** Default GUARD_PER_CONNECTION_BYTES. */
  perConnectionBytes?: number;
  /** RSS each open connection adds to the ceiling (its socket, parser and library objects, the allocator's share); default `perConnectionBytes`. */
  perConnectionRssBytes?: number;
  /** Stop reading from every socket. */
  pause(): void;
  /** Read again. */
  resume(): void;
  /** Default GUARD_SAMPLE_MS. */
  sampleMs?: number;
  /** Default GUARD_MAX_PAUSE_MS. */
  maxPauseMs?: number;
  /** Run a full garbage collection (default: V8's, see fullGc); called when reading pauses. */
  collect?: () => void;
  /** ArrayBuffer, heap and resident bytes now (default from process.memoryUsage(); injectable for tests). */
  usage?: () => MemoryUsage;
}

/** What the guard reads of the process's memory, bytes. */
export interface MemoryUsage {
  arrayBuffers: number;
  heapUsed: number;
  rss: number;
}

/** What /stats shows of the guard (`memoryGuard`). */
export interface MemoryGuardStats {
  /** The cap (the `inflight-bytes` option). */
  inflightBytes: number;
  /** RSS allowed for traffic in motion (the `traffic-bytes` option), part of `rssCeiling`. */
  trafficBytes: number;
  /** Bytes in flight at the last sample. */
  inflightNow: number;
  /** Highest sample. */
  inflightPeak: number;
  /**
   * Growth not counted as in flight, bytes: what the figure showed with no connection, or still showed after a pause
   * that timed out (a full collection and `maxPauseMs` without reading); it goes down as that memory does.
   */
  inflightRetained: number;
  /** Times reading was paused (for either figure). */
  pauses: number;
  /** Of those, times the RSS backstop paused it. */
  rssPauses: number;
  /** RSS before the first connection, bytes. */
  rssBaseline: number;
  /** The RSS ceiling now: rssBaseline + budget + inflightBytes + trafficBytes + the connections' allowance + queuedPeak, bytes. */
  rssCeiling: number;
  /** Highest RSS seen, bytes. */
  rssPeak: number;
  /** Bytes queued for clients when last counted (only when a figure was over its line). */
  queuedBytes: number;
  /**
   * The most counted queued for clients since RSS was last well under the ceiling, part of `rssCeiling`: the
   * allocator keeps what it freed (a slow client cut at its cap) for reuse, so RSS does not come down with it.
   */
  queuedPeak: number;
  /** Total time paused, ms. */
  pausedMs: number;
  /** Whether reading is paused now. */
  paused: boolean;
}

/** A running memory guard (see the module comment). */
export interface MemoryGuard {
  /** Whether reading is paused now (a connection accepted meanwhile starts paused). */
  readonly paused: boolean;
  /** Take one sample and act on it (the timer calls this; exposed for tests); `reading` when traffic is being received. */
  sample(now: number, reading?: boolean): void;
  /** The server read `bytes` from a client: every GUARD_CHECK_BYTES, a sample at once. */
  received(bytes: number): void;
  stats(): MemoryGuardStats;
  /** Stop sampling and resume reading. */
  stop(): void;
}

/**
 * Resume order for a guard's `resume`: each call starts at the next item. Reading resumes in the order
 * the sockets are resumed (the poller reports them in that order), and under a flood at the line one
 * window of reading lasts only GUARD_CHECK_BYTES: with a fixed order the first sockets would take every
 * window and a client connected later would not be read at all.
 */
export function createRotation(): <T>(items: Iterable<T>, fn: (item: T) => void) => void {
  let turn = 0;
  return (items, fn) => {
    const all = [...items];
    if (all.length === 0) return;
    const start = turn++ % all.length;
    for (let i = 0; i < all.length; i++) fn(all[(start + i) % all.length]!);
  };
}

/** The RSS ceiling over the idle baseline before connections and queues: the caps the process holds + in flight + in motion, bytes. */
export function rssCeilingBase(o: Pick<MemoryGuardOptions, 'budgetBytes' | 'inflightBytes' | 'trafficBytes'>): number {
  return (o.budgetBytes ?? 0) + o.inflightBytes + (o.trafficBytes ?? 0);
}

let gcFn: (() => void) | null | undefined;
/**
 * A full garbage collection of this isolate, without starting Node with --expose-gc:
 * the flag is set at runtime and the `gc` function taken from a fresh context. A no-op
 * where V8 refuses.
 */
export function fullGc(): void {
  if (gcFn === undefined) {
    try {
      v8.setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}

/** Start a guard (sampling at once); a guard with `inflightBytes` 0 never samples or pauses. */
export function startMemoryGuard(o: MemoryGuardOptions): MemoryGuard {
  const usage = o.usage ?? (() => process.memoryUsage());
  const maxPauseMs = o.maxPauseMs ?? GUARD_MAX_PAUSE_MS;
  const on = o.inflightBytes > 0;
  /** Memory before any traffic (Node's own pools, the code, the server's structures). */
  const baseline = on ? usage() : { arrayBuffers: 0, heapUsed: 0, rss: 0 };
  const perConnection = o.perConnectionBytes ?? GUARD_PER_CONNECTION_BYTES;
  const perConnectionRss = o.perConnectionRssBytes ?? perConnection;
  const margin = o.inflightBytes * GUARD_RSS_MARGIN;
  const fixedCeiling = rssCeilingBase(o);
  const st: MemoryGuardStats = { inflightBytes: o.inflightBytes, trafficBytes: o.trafficBytes ?? 0, inflightNow: 0, inflightPeak: 0, inflightRetained: 0, pauses: 0, rssPauses: 0, pausedMs: 0, paused: false, rssBaseline: baseline.rss, rssCeiling: baseline.rss + fixedCeiling, rssPeak: baseline.rss, queuedBytes: 0, queuedPeak: 0 };
  let pausedAt = 0;
  /** Whether the current pause was the RSS backstop's. */
  let pausedForRss = false;
  /** RSS a pause could not bring down (0: none): the timer alone pauses again for RSS only a margin above it. */
  let stuckRss = 0;
  let connected = false;
  let receivedBytes = 0;

  const resume = (now: number) => {
    st.paused = false;
    st.pausedMs += now - pausedAt;
    o.resume();
  };
  const sample = (now: number, reading = false) => {
    const u = usage();
    const conns = o.connections?.() ?? 0;
    /** No connection open (known only with `connections`): nothing to read, nothing in flight. */
    const none = o.connections !== undefined && conns === 0;
    // The idle baseline is the RSS before the first connection (the server's lazy setup included).
    if (!connected) {
      if (conns > 0) connected = true;
      else if (u.rss > st.rssBaseline) st.rssBaseline = u.rss;
    }
    /** Bytes in flight: what grew since the baseline and neither a budgeted store nor the connections' own state accounts for. */
    const ab = Math.max(0, u.arrayBuffers - baseline.arrayBuffers - o.held());
    const heap = Math.max(0, u.heapUsed - baseline.heapUsed - (o.heldHeap?.() ?? 0));
    const grown = Math.max(0, ab + heap - conns * perConnection);
    // With no connection nothing is in flight: what the figure still shows is state the node keeps (caches, maps
    // sized for the clients that left, heap not yet shrunk). The same after a pause that timed out (below).
    if (none || grown < st.inflightRetained) st.inflightRetained = grown;
    let inflight = Math.max(0, grown - st.inflightRetained);
    const base = st.rssBaseline + fixedCeiling + conns * perConnectionRss;
    // Memory queued for clients that were then cut or caught up stays with the allocator, which reuses it:
    // the ceiling keeps the most counted until RSS is back a whole inflight-bytes under the ceiling without it.
    if (u.rss <= base - o.inflightBytes) st.queuedPeak = 0;
    if (inflight > o.inflightBytes || u.rss > base + st.queuedPeak - margin) {
      // Over a line: what is queued for clients is held by its own cap (slow-consumer-bytes), not in flight.
      const q = o.queued?.() ?? 0;
      st.queuedBytes = q;
      if (q > st.queuedPeak) st.queuedPeak = q;
      inflight = Math.max(0, inflight - q);
    }
    const ceiling = base + st.queuedPeak;
    st.inflightNow = inflight;
    if (inflight > st.inflightPeak) st.inflightPeak = inflight;
    if (u.rss > st.rssPeak) st.rssPeak = u.rss;
    st.rssCeiling = ceiling;
    const rssLow = u.rss <= st.rssCeiling - o.inflightBytes;
    if (rssLow) stuckRss = 0;
    const rssOver = u.rss > st.rssCeiling - margin && (reading || u.rss > stuckRss + margin);
    if (none && st.paused) resume(now); // nothing to read: a client that comes now must not start paused
    else if (!st.paused && !none && (inflight > o.inflightBytes || rssOver)) {
      st.paused = true;
      st.pauses++;
      pausedForRss = inflight <= o.inflightBytes;
      if (pausedForRss) st.rssPauses++;
      pausedAt = now;
      o.pause();
      // Buffers promoted to the old generation (a frame split across reads while a scavenge ran)
      // die there and are freed only by a full collection, which a small old generation rarely gets.
      (o.collect ?? fullGc)();
    } else if (st.paused) {
      const timedOut = now - pausedAt >= maxPauseMs;
      if (timedOut || (inflight <= o.inflightBytes / 2 && (!pausedForRss || rssLow))) {
        // RSS the pause did not bring down is memory the allocator keeps for reuse: pausing again cannot free it.
        if (timedOut && pausedForRss && !rssLow) stuckRss = u.rss;
        // What a full collection and maxPauseMs without reading left over the line is not in flight (nothing was
        // read meanwhile): it is kept, and only growth beyond it counts; the RSS backstop still bounds it all.
        else if (timedOut && !pausedForRss && inflight > o.inflightBytes / 2) st.inflightRetained += inflight;
        resume(now);
      }
    }
  };
  const timer = on ? setInterval(() => sample(Date.now()), o.sampleMs ?? GUARD_SAMPLE_MS) : null;
  timer?.unref();
  return {
    get paused() {
      return st.paused;
    },
    sample,
    received(bytes) {
      if (!on) return;
      receivedBytes += bytes;
      if (receivedBytes < GUARD_CHECK_BYTES) return;
      receivedBytes = 0;
      sample(Date.now(), true);
    },
    stats: () => ({ ...st }),
    stop() {
      if (timer) clearInterval(timer);
      if (st.paused) resume(Date.now());
    },
  };
}
