/**
 * The delivery ledger. Every room has one sequence (PROTOCOL.md), so a receiver that
 * joined a room at seq J must see every seq in (J, S] exactly once and in order,
 * where S is the room's last seq at the end of the run. Each receiver keeps O(1)
 * state per room; workers fold their receivers into per-room tallies; the
 * coordinator learns S as the largest seq anyone saw or was acked, and derives
 * expected = sum over receivers of (S - J) without needing the server's help.
 *
 * A receiver that left (or lost its connection for good) stops expecting at the
 * last seq it saw. A seq lower than the last one seen counts as reordered (and as
 * delivered: it fills a hole); an equal one as duplicated. Frames without a seq
 * (custom dialects that have none) are counted but cannot be verified: the ledger
 * then says `exact: false`.
 */
import type { Ledger, RoomLedger } from '../report/schema.ts';
import { onTagDelivery, openTagWindow, type TagVerdict, type TagWindow } from './tag-ledger.ts';

/**
 * One receiver's O(1) state in one room: seqs seen (join, last; -1 until known) and counts of deliveries, duplicates, reorders.
 */
export interface ReceiverRoom {
  room: string;
  /** The room's seq when this receiver joined (from the join reply). -1 until joined. */
  joinSeq: number;
  lastSeq: number;
  delivered: number;
  duplicated: number;
  reordered: number;
  /** Deliveries without a seq. */
  unsequenced: number;
  /** Still a member (joined and not left, connection alive or resuming). */
  active: boolean;
  /** Deliveries owed by earlier, finished membership windows (left, then joined afresh). */
  expectedClosed: number;
  /** Global client index of the receiver (for the tag ledger's evidence). */
  receiver: number;
  /** Membership windows for the tag ledger (src/checks/tag-ledger.ts), the last one possibly open. */
  windows: TagWindow[];
  /**
   * A fresh join was sent and its reply has not come: the previous window (if any) is
   * still the one deliveries belong to (the server delivers it until it handles the join).
   */
  rejoining: boolean;
}

/**
 * A receiver not yet joined to `room` (joinSeq and lastSeq -1); `receiver` is the global client index (default -1: unknown).
 */
export function createReceiverRoom(room: string, receiver = -1): ReceiverRoom {
  return { room, joinSeq: -1, lastSeq: -1, delivered: 0, duplicated: 0, reordered: 0, unsequenced: 0, active: false, expectedClosed: 0, receiver, windows: [], rejoining: false };
}

/** A join was sent: the tag ledger's previous window (if open) ends and a new one starts. */
export function tagJoinSent(r: ReceiverRoom, atUs: number): void {
  endTagWindow(r, atUs);
  r.windows.push(openTagWindow(r.room, r.receiver, atUs));
}

/** The join reply arrived: membership is certain from now on. */
export function tagJoinAcked(r: ReceiverRoom, atUs: number): void {
  const w = r.windows.at(-1);
  if (w && w.endUs < 0 && w.joinAckUs < 0) w.joinAckUs = atUs;
}

/** The receiver left the room or lost its connection: its open window ends. */
export function endTagWindow(r: ReceiverRoom, atUs: number): void {
  const w = r.windows.at(-1);
  if (w && w.endUs < 0) w.endUs = atUs;
}

/** A delivery without a seq: counted as unsequenced (so the seq ledger steps aside) and judged by its tag. */
export function onUnsequencedDelivery(r: ReceiverRoom, pub: number, counter: number, sendUs: number): TagVerdict | 'outside' {
  r.unsequenced++;
  r.delivered++;
  const w = r.windows.at(-1);
  return w && w.endUs < 0 ? onTagDelivery(w, pub, counter, sendUs) : 'outside';
}

/**
 * A fresh (not resuming) join was sent: the previous membership window, if any, ends at
 * the join reply, not now. Deliveries still in flight to it (a client joining a room it
 * is in, or one whose leave was not answered) extend it like the deliveries after a
 * leave; counted in the new window instead, they made `delivered` exceed `expected`,
 * which hid as many losses of the room.
 */
export function closeWindow(r: ReceiverRoom): void {
  r.rejoining = true;
  r.active = false;
}

/** Record the join reply: a fresh join closes the previous window and opens one at `seq`; a rejoin (resume) keeps the original window. */
export function onJoined(r: ReceiverRoom, seq: number | undefined): void {
  if (r.rejoining) {
    r.rejoining = false;
    if (r.joinSeq >= 0) r.expectedClosed += r.lastSeq - r.joinSeq;
    r.joinSeq = -1;
    r.lastSeq = -1;
  }
  if (r.joinSeq < 0) {
    r.joinSeq = seq ?? 0;
    r.lastSeq = r.joinSeq;
  }
  r.active = true;
}

/** Record one delivery. Returns 'ok' | 'dup' | 'reorder' | 'early' (before the join window). */
export function onDelivery(r: ReceiverRoom, seq: number): 'ok' | 'dup' | 'reorder' | 'early' | 'unsequenced' {
  if (seq < 0) {
    r.unsequenced++;
    r.delivered++;
    return 'unsequenced';
  }
  if (r.joinSeq >= 0 && seq <= r.joinSeq) return 'early';
  if (seq > r.lastSeq) {
    r.delivered++;
    r.lastSeq = seq;
    return 'ok';
  }
  if (seq === r.lastSeq) {
    r.duplicated++;
    return 'dup';
  }
  r.reordered++;
  r.delivered++;
  return 'reorder';
}

/** Per-room sums a worker sends at the end of the run. */
export interface RoomTally {
  room: string;
  activeReceivers: number;
  /** Sum of joinSeq over active receivers. */
  sumJoinSeqActive: number;
  /** Sum of (lastSeq - joinSeq) over receivers that are no longer members. */
  expectedInactive: number;
  delivered: number;
  duplicated: number;
  reordered: number;
  unsequenced: number;
  /** Largest seq this worker saw delivered or acked in the room. */
  maxSeq: number;
}

/** A tally of `room` with every sum at zero. */
export function emptyTally(room: string): RoomTally {
  return { room, activeReceivers: 0, sumJoinSeqActive: 0, expectedInactive: 0, delivered: 0, duplicated: 0, reordered: 0, unsequenced: 0, maxSeq: 0 };
}

/**
 * Fold one receiver into its room's tally (a receiver that never joined adds only its closed windows' dues).
 */
export function addReceiver(t: RoomTally, r: ReceiverRoom): void {
  t.expectedInactive += r.expectedClosed;
  if (r.joinSeq < 0) return;
  if (r.active) {
    t.activeReceivers++;
    t.sumJoinSeqActive += r.joinSeq;
  } else {
    t.expectedInactive += r.lastSeq - r.joinSeq;
  }
  t.delivered += r.delivered;
  t.duplicated += r.duplicated;
  t.reordered += r.reordered;
  t.unsequenced += r.unsequenced;
  if (r.lastSeq > t.maxSeq) t.maxSeq = r.lastSeq;
}

/** Add `tallies` (one worker's) into `into`, room by room; `maxSeq` takes the larger. */
export function mergeTallies(into: Map<string, RoomTally>, tallies: RoomTally[]): void {
  for (const t of tallies) {
    const cur = into.get(t.room);
    if (!cur) {
      into.set(t.room, { ...t });
      continue;
    }
    cur.activeReceivers += t.activeReceivers;
    cur.sumJoinSeqActive += t.sumJoinSeqActive;
    cur.expectedInactive += t.expectedInactive;
    cur.delivered += t.delivered;
    cur.duplicated += t.duplicated;
    cur.reordered += t.reordered;
    cur.unsequenced += t.unsequenced;
    cur.maxSeq = Math.max(cur.maxSeq, t.maxSeq);
  }
}

/** The seq books closed: totals and per-room lines. */
export interface LedgerResult {
  total: Ledger;
  rooms: RoomLedger[];
  /** False when some deliveries carried no seq, so loss could not be proven either way. */
  exact: boolean;
}

/** Close the books: expected per room from the room's final seq. */
export function closeLedger(tallies: Iterable<RoomTally>): LedgerResult {
  const rooms: RoomLedger[] = [];
  const total: Ledger = { expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 };
  let exact = true;
  for (const t of tallies) {
    if (t.unsequenced > 0) exact = false;
    const expected = t.unsequenced > 0 ? t.delivered : t.activeReceivers * t.maxSeq - t.sumJoinSeqActive + t.expectedInactive;
    const lost = Math.max(0, expected - t.delivered);
    const row: RoomLedger = { room: t.room, expected, delivered: t.delivered, lost, duplicated: t.duplicated, reordered: t.reordered };
    rooms.push(row);
    total.expected += expected;
    total.delivered += t.delivered;
    total.lost += lost;
    total.duplicated += t.duplicated;
    total.reordered += t.reordered;
  }
  rooms.sort((a, b) => b.lost + b.duplicated + b.reordered - (a.lost + a.duplicated + a.reordered) || a.room.localeCompare(b.room));
  return { total, rooms, exact };
}
