/**
 * Backpressure on memory (docs/SECURITY.md "Limits"): the bytes a node
 * holds for traffic in flight (socket reads, frames being decoded, garbage not
 * yet collected: ArrayBuffer and V8 heap memory beyond the idle baseline and
 * beyond what the budgeted stores hold) are sampled every `sampleMs`; over
 * `inflightBytes` the node stops reading from its sockets (TCP pushes back on
 * the senders) and runs a full collection, until they fall to half of it or for
 * `maxPauseMs` at most, so a flood slows down instead of growing the process.
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

/** What the memory guard watches and how it pauses reading (bytes; `sampleMs` ms). */
export interface MemoryGuardOptions {
  /** ArrayBuffer bytes in flight allowed before reading pauses; 0 = the guard is off. */
  inflightBytes: number;
  /** ArrayBuffer bytes the budgeted stores hold now (the retention ring, the offline queue): not in flight. */
  held(): number;
  /** V8 heap bytes the budgeted stores hold now (Socket.IO's recovery buffer); default 0. */
  heldHeap?(): number;
  /** Open connections now: each may hold `perConnectionBytes` of its own state (default: none counted). */
  connections?(): number;
  /** Default GUARD_PER_CONNECTION_BYTES. */
  perConnectionBytes?: number;
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
  /** ArrayBuffer and heap bytes in use now (default from process.memoryUsage(); injectable for tests). */
  usage?: () => { arrayBuffers: number; heapUsed: number };
}

/** What /stats shows of the guard (`memoryGuard`). */
export interface MemoryGuardStats {
  /** The cap (the `inflight-bytes` option). */
  inflightBytes: number;
  /** Bytes in flight at the last sample. */
  inflightNow: number;
  /** Highest sample. */
  inflightPeak: number;
  /** Times reading was paused. */
  pauses: number;
  /** Total time paused, ms. */
  pausedMs: number;
  /** Whether reading is paused now. */
  paused: boolean;
}

/** A running memory guard (see the module comment). */
export interface MemoryGuard {
  /** Whether reading is paused now (a connection accepted meanwhile starts paused). */
  readonly paused: boolean;
  /** Take one sample and act on it (the timer calls this; exposed for tests). */
  sample(now: number): void;
  stats(): MemoryGuardStats;
  /** Stop sampling and resume reading. */
  stop(): void;
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
  /** Memory before any traffic (Node's own pools, the code, the server's structures). */
  const baseline = o.inflightBytes > 0 ? usage() : { arrayBuffers: 0, heapUsed: 0 };
  const perConnection = o.perConnectionBytes ?? GUARD_PER_CONNECTION_BYTES;
  /** Bytes in flight: what grew since the baseline and neither a budgeted store nor the connections' own state accounts for. */
  const inflightNow = () => {
    const u = usage();
    const ab = Math.max(0, u.arrayBuffers - baseline.arrayBuffers - o.held());
    const heap = Math.max(0, u.heapUsed - baseline.heapUsed - (o.heldHeap?.() ?? 0));
    return Math.max(0, ab + heap - (o.connections?.() ?? 0) * perConnection);
  };
  const st: MemoryGuardStats = { inflightBytes: o.inflightBytes, inflightNow: 0, inflightPeak: 0, pauses: 0, pausedMs: 0, paused: false };
  let pausedAt = 0;

  const resume = (now: number) => {
    st.paused = false;
    st.pausedMs += now - pausedAt;
    o.resume();
  };
  const sample = (now: number) => {
    const inflight = inflightNow();
    st.inflightNow = inflight;
    if (inflight > st.inflightPeak) st.inflightPeak = inflight;
    if (!st.paused && inflight > o.inflightBytes) {
      st.paused = true;
      st.pauses++;
      pausedAt = now;
      o.pause();
      // Buffers promoted to the old generation (a frame split across reads while a scavenge ran)
      // die there and are freed only by a full collection, which a small old generation rarely gets.
      (o.collect ?? fullGc)();
    } else if (st.paused && (inflight <= o.inflightBytes / 2 || now - pausedAt >= maxPauseMs)) {
      resume(now);
    }
  };
  const timer = o.inflightBytes > 0 ? setInterval(() => sample(Date.now()), o.sampleMs ?? GUARD_SAMPLE_MS) : null;
  timer?.unref();
  return {
    get paused() {
      return st.paused;
    },
    sample,
    stats: () => ({ ...st }),
    stop() {
      if (timer) clearInterval(timer);
      if (st.paused) resume(Date.now());
    },
  };
}
