/**
 * Delivery in seq order, for every place that receives a room's messages out of
 * order: the native server's rooms (bus arrivals), the Socket.IO nodes' rooms
 * (adapter relays, servers/socketio/order.ts) and a Socket.IO socket resuming a
 * room (replays and live packets, servers/socketio/resume.ts).
 *
 * An item waits until every lower seq was delivered or skipped. A hole that stays
 * open is the owner's to time; `fillHoles` then reads the missing seqs from the
 * retention and reports what it does not hold as a gap, never skipping silently.
 */
import type { RetainedMessage } from './bus.ts';

/**
 * Items delivered in seq order: one with the next seq goes out at once, later ones are held until the missing seqs come or are filled (see `fillHoles`).
 */
export class SeqOrder<T> {
  /** Items waiting for a lower seq, by seq. */
  readonly held = new Map<number, T>();

  /**
   * @param next the first seq to deliver; 0 holds everything (seqs start at 1)
   *   until `restart` says where the room stands.
   * @param out called with each item, in seq order.
   */
  constructor(
    public next: number,
    private readonly out: (item: T, seq: number) => void,
  ) {}

  /** Deliver `item` now if it is due, else hold it. False when its seq was delivered or skipped already, or is held. */
  offer(seq: number, item: T): boolean {
    if (seq < this.next || this.held.has(seq)) return false;
    this.held.set(seq, item);
    this.drain();
    return true;
  }

  /** Deliver every held item that is due. */
  drain(): void {
    for (let item = this.held.get(this.next); item !== undefined; item = this.held.get(this.next)) {
      this.held.delete(this.next);
      // Advanced before `out`, so an offer made from inside it sees where the order stands.
      this.next++;
      this.out(item, this.next - 1);
    }
  }

  /** The lowest held seq, Infinity when nothing is held. */
  lowestHeld(): number {
    let min = Infinity;
    for (const s of this.held.keys()) if (s < min) min = s;
    return min;
  }

  /** Seqs next..to will never come: report them and move past them. */
  skip(to: number, gap: (from: number, to: number) => void): void {
    if (to < this.next) return;
    gap(this.next, to);
    this.next = to + 1;
    this.drain();
  }

  /** Start again at `next` (no drain): held items below it are removed and returned in seq order. */
  restart(next: number): Array<[number, T]> {
    this.next = next;
    const below = [...this.held].filter(([s]) => s < next).sort((a, b) => a[0] - b[0]);
    for (const [s] of below) this.held.delete(s);
    return below;
  }
}

/** What `fillHoles` reads and tells while it fills missing seqs from the retention. */
export interface FillDeps<T> {
  /** Retained messages with seq > after, ascending. */
  read(after: number): Promise<RetainedMessage[]>;
  /** The item delivering a retained message. */
  item(e: RetainedMessage): T;
  /** Tell the receivers that seqs from..to are gone. */
  gap(from: number, to: number): void;
  /** False when the order was dropped while the retention was read (room gone, socket gone). */
  current(): boolean;
  /** A failed read: what is missing is then reported as gaps. */
  onReadError(err: Error): void;
}

/**
 * Holes up to `upTo` have waited long enough: deliver what the retention holds
 * of them and report the rest as gaps, so that afterwards next > upTo.
 */
export async function fillHoles<T>(o: SeqOrder<T>, upTo: number, d: FillDeps<T>): Promise<{ filled: number; gapped: number }> {
  let filled = 0;
  let gapped = 0;
  if (upTo < o.next) return { filled, gapped };
  let entries: RetainedMessage[] = [];
  try {
    entries = await d.read(o.next - 1);
  } catch (err) {
    d.onReadError(err as Error);
  }
  if (!d.current()) return { filled, gapped };
  for (const e of entries) if (e.seq <= upTo && o.offer(e.seq, d.item(e))) filled++;
  while (o.next <= upTo) {
    const first = Math.min(o.lowestHeld(), upTo + 1);
    gapped += first - o.next;
    o.skip(first - 1, d.gap);
  }
  return { filled, gapped };
}
