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
 *
 * Epochs: a server that may start a room's seqs again at 1 (a bundled node that keeps
 * its rooms in memory, restarted) names the sequence in its join reply (`epoch`,
 * PROTOCOL.md). When a receiver's room comes back in another epoch, the old epoch's
 * books close as they stand (a receiver still a member expects every seq up to the old
 * epoch's last one, so what the server lost with it is lost) and a new sequence opens at
 * the join reply's seq; every (room, epoch) has its own tally. Servers that give no epoch
 * are judged as one sequence per room.
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
  /** The sequence epoch the server named for this room (undefined: the server names none). */
  epoch: string | undefined;
  /** The books of earlier epochs of this room, closed when the server's sequence began again. */
  pastEpochs: RoomTally[];
}

/**
 * A receiver not yet joined to `room` (joinSeq and lastSeq -1); `receiver` is the global client index (default -1: unknown).
 */
export function createReceiverRoom(room: string, receiver = -1): ReceiverRoom {
  return { room, joinSeq: -1, lastSeq: -1, delivered: 0, duplicated: 0, reordered: 0, unsequenced: 0, active: false, expectedClosed: 0, receiver, windows: [], rejoining: false, epoch: undefined, pastEpochs: [] };
}

/** Separates the room from the epoch in a tally key (a control character no room name or epoch carries). */
const EPOCH_SEP = '\u001f';

/** The key of a room's sequence: the room alone without an epoch, else room and epoch. */
export function seqKey(room: string, epoch: string | undefined): string {
  return epoch === undefined ? room : room + EPOCH_SEP + epoch;
}

/** The room and epoch of a `seqKey`. */
export function parseSeqKey(key: string): { room: string; epoch: string | undefined } {
  const i = key.indexOf(EPOCH_SEP);
  return i < 0 ? { room: key, epoch: undefined } : { room: key.slice(0, i), epoch: key.slice(i + 1) };
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

/**
 * Record the join reply: a fresh join closes the previous window and opens one at `seq`;
 * a rejoin (resume) keeps the original window, unless the reply names another `epoch`
 * than the room had: then the old epoch's books close and a new sequence opens at `seq`.
 */
export function onJoined(r: ReceiverRoom, seq: number | undefined, epoch?: string): void {
  if (epoch !== undefined && r.epoch !== undefined && epoch !== r.epoch && r.joinSeq >= 0) {
    const resumed = !r.rejoining;
    closeEpoch(r);
    // A member resuming into a new epoch is owed it from its start (the server replays it).
    if (resumed) r.joinSeq = r.lastSeq = 0;
  }
  if (epoch !== undefined) r.epoch = epoch;
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

/**
 * The server's sequence of this room began again: the receiver's books of the old epoch
 * become a closed tally. A receiver still a member (resuming) expects every seq up to the
 * old epoch's last one (active); one that was joining afresh stops at its last delivery.
 */
function closeEpoch(r: ReceiverRoom): void {
  const t = emptyTally(r.room, r.epoch);
  const wasMember = !r.rejoining;
  addReceiver(t, { ...r, active: wasMember, pastEpochs: [] });
  r.pastEpochs.push(t);
  r.joinSeq = -1;
  r.lastSeq = -1;
  r.delivered = r.duplicated = r.reordered = r.expectedClosed = 0;
  r.rejoining = false;
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
  /** The sequence epoch the server named (undefined: none); each (room, epoch) is its own sequence. */
  epoch?: string;
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

/** A tally of `room` (in sequence `epoch`, when the server names one) with every sum at zero. */
export function emptyTally(room: string, epoch?: string): RoomTally {
  return { room, ...(epoch === undefined ? {} : { epoch }), activeReceivers: 0, sumJoinSeqActive: 0, expectedInactive: 0, delivered: 0, duplicated: 0, reordered: 0, unsequenced: 0, maxSeq: 0 };
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

/** Add receiver `r`'s books, past epochs included, to `byKey` (tallies by `seqKey`). */
export function addReceiverEpochs(byKey: Map<string, RoomTally>, r: ReceiverRoom): void {
  mergeTallies(byKey, r.pastEpochs);
  const key = seqKey(r.room, r.epoch);
  let t = byKey.get(key);
  if (!t) byKey.set(key, (t = emptyTally(r.room, r.epoch)));
  addReceiver(t, r);
}

/** Add `tallies` (one worker's) into `into`, keyed by `seqKey` (one tally per room and epoch); `maxSeq` takes the larger. */
export function mergeTallies(into: Map<string, RoomTally>, tallies: RoomTally[]): void {
  for (const t of tallies) {
    const key = seqKey(t.room, t.epoch);
    const cur = into.get(key);
    if (!cur) {
      into.set(key, { ...t });
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

/**
 * Close the books: expected per sequence (room and epoch) from its final seq; the rows of
 * one room's epochs add up to the room's row.
 */
export function closeLedger(tallies: Iterable<RoomTally>): LedgerResult {
  const byRoom = new Map<string, RoomLedger>();
  const total: Ledger = { expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 };
  let exact = true;
  const sequences = new Map<string, number>();
  for (const t of tallies) {
    sequences.set(t.room, (sequences.get(t.room) ?? 0) + 1);
    if (t.unsequenced > 0) exact = false;
    const expected = t.unsequenced > 0 ? t.delivered : t.activeReceivers * t.maxSeq - t.sumJoinSeqActive + t.expectedInactive;
    const lost = Math.max(0, expected - t.delivered);
    const row = byRoom.get(t.room) ?? byRoom.set(t.room, { room: t.room, expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 }).get(t.room)!;
    row.expected += expected;
    row.delivered += t.delivered;
    row.lost += lost;
    row.duplicated += t.duplicated;
    row.reordered += t.reordered;
    total.expected += expected;
    total.delivered += t.delivered;
    total.lost += lost;
    total.duplicated += t.duplicated;
    total.reordered += t.reordered;
  }
  const rooms = [...byRoom.values()];
  for (const row of rooms) {
    const again = sequences.get(row.room)! - 1;
    if (again > 0) row.epochs = again;
  }
  const epochs = rooms.reduce((a, r) => a + (r.epochs ?? 0), 0);
  if (epochs > 0) total.epochs = epochs;
  rooms.sort((a, b) => b.lost + b.duplicated + b.reordered - (a.lost + a.duplicated + a.reordered) || a.room.localeCompare(b.room));
  return { total, rooms, exact };
}
