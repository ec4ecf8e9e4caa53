/**
 * Per-room sequences and retention buffers in memory (the local bus and the
 * cluster primary), the frames kept as bytes in one ring (servers/core/byte-ring.ts), bounded four ways (docs/SECURITY.md "Limits"):
 * messages per room (`retention`), bytes per room, bytes per node (all rooms,
 * the oldest message anywhere evicted first) and age. A room with nothing
 * retained, no publish within the age limit and no member is forgotten.
 * What a cap evicts is simply absent from `history`, so a member resuming
 * past it gets a `gap` (PROTOCOL.md "Resume").
 */
import type { HistoryResult, RetainedMessage } from './bus.ts';
import { ByteRing, type RingRecord } from './byte-ring.ts';

/** Budgets of a RoomLog; a missing budget is unlimited. */
export interface RetentionLimits {
  /** Messages kept per room, 0 = none. */
  retention: number;
  /** Bytes kept per room (UTF-8 length of the frames). */
  roomBytes?: number;
  /** Bytes kept in all rooms together: the size the ring may grow to (default 64 MiB). */
  totalBytes?: number;
  /** Age after which a message is evicted and an idle room forgotten, ms. */
  maxAgeMs?: number;
}

/** What /stats shows of the retention, and /metrics counts. */
export interface RetentionStats {
  /** Messages retained now. */
  messages: number;
  /** Bytes retained now (UTF-8 length of the frames; the ring holding them is at most the node budget). */
  bytes: number;
  /** Rooms whose seq is remembered. */
  rooms: number;
  /** Messages evicted by a byte budget or the age limit (not by the per-room count, which is the resume window). */
  evictedMessages: number;
  evictedBytes: number;
  /** Idle rooms forgotten. */
  forgottenRooms: number;
  /** Bytes the ring holding them has allocated (off the V8 heap; at most the node budget). */
  ringBytes: number;
}

interface Kept extends RingRecord {
  seq: number;
  at: number;
  room: RoomState;
  gone: boolean;
}

interface RoomState {
  name: string;
  seq: number;
  /** Last publish, ms since the epoch. */
  lastAt: number;
  list: Kept[];
  bytes: number;
}

/** The node budget when none is given (the server's default `retention-bytes`), bytes. */
export const DEFAULT_RETENTION_BYTES = 64 * 1024 * 1024;

/** Room seqs and retention in memory, bounded as the module comment says. */
export class RoomLog {
  private readonly rooms = new Map<string, RoomState>();
  private readonly ring: ByteRing<Kept>;
  private bytes = 0;
  private messages = 0;
  private evictedMessages = 0;
  private evictedBytes = 0;
  private forgottenRooms = 0;
  private readonly limits: Required<RetentionLimits>;

  /** @param limits messages per room (a number, for the count alone) or every budget. */
  constructor(limits: number | RetentionLimits, private readonly now: () => number = Date.now) {
    const l = typeof limits === 'number' ? { retention: limits } : limits;
    this.limits = { roomBytes: Infinity, totalBytes: DEFAULT_RETENTION_BYTES, maxAgeMs: Infinity, ...l };
    // Overwritten by a newer record: the node budget evicts the oldest message anywhere.
    this.ring = new ByteRing<Kept>(Math.max(1, this.limits.totalBytes), (k) => {
      if (k.gone) return;
      const list = k.room.list;
      const i = list[0] === k ? 0 : list.indexOf(k);
      if (i !== -1) list.splice(i, 1);
      this.forget(k, true);
    });
  }

  get retention(): number {
    return this.limits.retention;
  }

  private room(name: string): RoomState {
    let r = this.rooms.get(name);
    if (!r) this.rooms.set(name, (r = { name, seq: 0, lastAt: this.now(), list: [], bytes: 0 }));
    return r;
  }

  next(room: string): number {
    const r = this.room(room);
    r.lastAt = this.now();
    return ++r.seq;
  }

  last(room: string): number {
    return this.rooms.get(room)?.seq ?? 0;
  }

  append(room: string, entry: RetainedMessage): void {
    if (this.limits.retention <= 0) return;
    const r = this.room(room);
    const list = r.list;
    // Appends may arrive slightly out of seq order from different processes: insert in place.
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > entry.seq) i--;
    if (i > 0 && list[i - 1]!.seq === entry.seq) return;
    const len = Buffer.byteLength(entry.text);
    if (len > this.limits.roomBytes || len > this.limits.totalBytes) {
      this.evictedMessages++;
      this.evictedBytes += len;
      return;
    }
    const kept = this.ring.write(entry.text, len, (off) => ({ off, len, seq: entry.seq, at: this.now(), room: r, gone: false }));
    // The write may have overwritten older records of this very room: find the place again.
    i = list.length;
    while (i > 0 && list[i - 1]!.seq > entry.seq) i--;
    list.splice(i, 0, kept);
    r.bytes += len;
    this.bytes += len;
    this.messages++;
    // Trim in batches so a busy room does not shift its array on every append.
    const n = this.limits.retention;
    if (list.length > n + Math.max(16, n >> 3)) this.dropOldest(r, list.length - n, false);
    while (r.bytes > this.limits.roomBytes) this.dropOldest(r, 1, true);
  }

  history(room: string, afterSeq: number): HistoryResult {
    const r = this.rooms.get(room);
    const latest = r?.seq ?? 0;
    const list = r?.list;
    if (!list || list.length === 0) return { latest, entries: [] };
    const floor = Math.max(afterSeq, list[list.length - 1]!.seq - this.limits.retention, this.expiredBelow(list));
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > floor) i--;
    return { latest, entries: list.slice(i).map((k) => ({ seq: k.seq, text: this.ring.read(k) })) };
  }

  /**
   * Evict messages past the age limit and forget rooms with nothing retained, no publish
   * within the age limit and `active(room)` false. Call periodically (the buses do, once a second).
   */
  sweep(active: (room: string) => boolean = () => true): void {
    const cutoff = this.now() - this.limits.maxAgeMs;
    for (const r of this.rooms.values()) {
      let n = 0;
      while (n < r.list.length && r.list[n]!.at <= cutoff) n++;
      if (n > 0) this.dropOldest(r, n, true);
      if (r.list.length === 0 && r.lastAt <= cutoff && !active(r.name)) {
        this.rooms.delete(r.name);
        this.forgottenRooms++;
      }
    }
  }

  stats(): RetentionStats {
    return {
      messages: this.messages,
      bytes: this.bytes,
      rooms: this.rooms.size,
      evictedMessages: this.evictedMessages,
      evictedBytes: this.evictedBytes,
      forgottenRooms: this.forgottenRooms,
      ringBytes: this.ring.allocated,
    };
  }

  /** The seq below which entries are past the age limit (not yet swept). */
  private expiredBelow(list: Kept[]): number {
    if (this.limits.maxAgeMs === Infinity) return 0;
    const cutoff = this.now() - this.limits.maxAgeMs;
    let seq = 0;
    for (const k of list) {
      if (k.at > cutoff) break;
      seq = k.seq;
    }
    return seq;
  }

  private dropOldest(r: RoomState, count: number, counted: boolean): void {
    for (const k of r.list.splice(0, count)) this.forget(k, counted);
  }

  /** Take `k` out of the accounting (its bytes stay in the ring until overwritten). */
  private forget(k: Kept, counted: boolean): void {
    k.gone = true;
    k.room.bytes -= k.len;
    this.bytes -= k.len;
    this.messages--;
    if (counted) {
      this.evictedMessages++;
      this.evictedBytes += k.len;
    }
  }
}

/** The retention budgets of the server options (`retention`, `room-retention-bytes`, `retention-bytes`, `retention-age-ms`). */
export function retentionLimitsOf(o: { retention: number; roomRetentionBytes: number; retentionBytes: number; retentionAgeMs: number }): RetentionLimits {
  return { retention: o.retention, roomBytes: o.roomRetentionBytes, totalBytes: o.retentionBytes, maxAgeMs: o.retentionAgeMs };
}
