/**
 * Which seqs of each room a Redis bus has seen, and which are missing: a seq
 * that jumps above the highest seen opens a hole; a hole still open after
 * `waitMs` is handed to `fill` (the bus reads it from the retention). Pure apart
 * from its timers; no Redis here.
 */

/** How long a hole in a room's seqs may stay open before it is handed to `fill`, in milliseconds. */
export const HOLE_WAIT_MS = 250;
/** Rooms tracked at once; the oldest are forgotten beyond this. */
export const MAX_TRACKED_ROOMS = 100_000;
/** Seqs per room remembered as missing at once; a larger jump is left to the server's gap report. */
export const MAX_MISSING_PER_ROOM = 1000;

interface Track {
  /** Highest seq seen (published by anyone, allocated by us, or read from Redis). */
  max: number;
  /** Whether `max` is a real starting point (a read or an earlier seq), so a jump above it is a hole. */
  known: boolean;
  /** Seqs below max not yet seen. */
  missing: Set<number> | null;
  timer: NodeJS.Timeout | null;
}

/** Callbacks and bounds of a hole tracker (`waitMs` ms). */
export interface HoleTrackerOptions {
  /** Called with a room's missing seqs (ascending) once they stayed missing for `waitMs`. */
  fill(room: string, missing: number[]): void;
  /** Called when a channel arrival fills a hole (it came after a higher seq). */
  outOfOrder(): void;
  /** Default HOLE_WAIT_MS. */
  waitMs?: number;
  /** Default MAX_TRACKED_ROOMS. */
  maxRooms?: number;
  /** Default MAX_MISSING_PER_ROOM. */
  maxMissing?: number;
}

/** Per-room seq tracking of one bus (holes, catch-up points, restore floors). */
export class HoleTracker {
  private readonly tracks = new Map<string, Track>();
  private readonly waitMs: number;
  private readonly maxRooms: number;
  private readonly maxMissing: number;

  constructor(private readonly o: HoleTrackerOptions) {
    this.waitMs = o.waitMs ?? HOLE_WAIT_MS;
    this.maxRooms = o.maxRooms ?? MAX_TRACKED_ROOMS;
    this.maxMissing = o.maxMissing ?? MAX_MISSING_PER_ROOM;
  }

  /** Rooms tracked now. */
  get size(): number {
    return this.tracks.size;
  }

  private track(room: string): Track {
    let t = this.tracks.get(room);
    if (!t) {
      if (this.tracks.size >= this.maxRooms) this.forget(this.tracks.keys().next().value as string);
      this.tracks.set(room, (t = { max: 0, known: false, missing: null, timer: null }));
    }
    return t;
  }

  private forget(room: string): void {
    const t = this.tracks.get(room);
    if (t?.timer) clearTimeout(t.timer);
    this.tracks.delete(room);
  }

  /** Record that `seq` of `room` exists (arrived on the channel when `fromChannel`, else allocated or read); open holes below it. */
  seen(room: string, seq: number, fromChannel: boolean): void {
    const t = this.track(room);
    if (seq > t.max) {
      // The first seq ever seen of a room says nothing about earlier ones (the server's join handles those).
      if (t.known && seq > t.max + 1) {
        t.missing ??= new Set();
        const from = Math.max(t.max + 1, seq - this.maxMissing);
        for (let s = from; s < seq; s++) t.missing.add(s);
        if (!t.timer) {
          t.timer = setTimeout(() => this.due(room, t), this.waitMs);
          t.timer.unref();
        }
      }
      t.max = seq;
      t.known = true;
    } else if (t.missing?.delete(seq)) {
      if (fromChannel) this.o.outOfOrder();
    }
  }

  /** A read told us the room's latest seq: later arrivals above it that skip a seq open a hole. */
  known(room: string, latest: number): void {
    const t = this.track(room);
    if (latest > t.max) t.max = latest;
    t.known = true;
  }

  /** Rooms with a known starting point and their highest seq (where a catch-up reads from). */
  knownPoints(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [room, t] of this.tracks) if (t.known) out.push([room, t.max]);
    return out;
  }

  /** Rooms with a seq above 0 and that seq (the floors a restore raises Redis to). */
  floors(): Array<[string, number]> {
    const out: Array<[string, number]> = [];
    for (const [room, t] of this.tracks) if (t.max > 0) out.push([room, t.max]);
    return out;
  }

  /** Forget every room and stop every timer. */
  clear(): void {
    for (const t of this.tracks.values()) if (t.timer) clearTimeout(t.timer);
    this.tracks.clear();
  }

  private due(room: string, t: Track): void {
    t.timer = null;
    if (this.tracks.get(room) !== t || !t.missing || t.missing.size === 0) return;
    const want = [...t.missing].sort((a, b) => a - b);
    t.missing = null;
    this.o.fill(room, want);
  }
}
