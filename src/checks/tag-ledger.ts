/**
 * The delivery ledger from the harness's own tags, for servers that give no per-room
 * seq. Every publish carries `<node>.<publisher>.<counter>.<sendUs>`; the counter is the
 * publisher's own sequence in that room, `sendUs` its scheduled send time on the
 * monotonic clock every process of the machine shares.
 *
 * Every accepted publish is expected exactly once by every client that was certainly a
 * member of the room when it was published, in that publisher's order:
 *
 * - A membership window opens when the client sends its join (`joinSentUs`) and becomes
 *   certain when the join reply arrives (`joinAckUs`). A publish scheduled at or after
 *   `joinAckUs` reached the server after the join was done, so it is expected. One
 *   scheduled in `[joinSentUs, joinAckUs)` raced the join: it is `unjudged` (neither
 *   expected nor lost; delivered ones are not counted either). Earlier ones are not
 *   expected.
 * - A window that is still open when the books close (the end of the run, after the
 *   cool-down drained the last publishes) expects every later publish of the room.
 * - A window that ended mid-run (leave sent, or the connection closed) expects each
 *   publisher's publishes up to the last one this client received from it: the server
 *   was still delivering that stream, so a gap before it is a loss. The publishes after
 *   it and before the window end raced the leave or the close: `unjudged`.
 * - A publish the server refused (an error frame answering it, or a server close while
 *   its ack was pending) that nobody received is `refused`: expected by nobody. One that
 *   somebody received was not refused after all and is expected like the rest.
 * - A server that never delivers a client's own publishes back to it (no echo) is
 *   detected (others received publishes, but no publisher received any of its own) and
 *   the publisher is then not expected to receive its own. With no delivery at all,
 *   wsbench/1's default stands: the sender gets its own copy.
 *
 * Per receiver and window the fast path keeps a small map publisher -> stream, with the
 * counters skipped so far as ranges (a late arrival fills one: reordered) and those below
 * the first counter that arrived late. The books close on the coordinator, across worker
 * processes, by joining each publisher's log (scheduled times, refusals) with every
 * receiver's windows.
 */
import type { Ledger, RoomLedger } from '../report/schema.ts';

/** One publisher's stream as one receiver saw it inside one window. */
export interface TagStream {
  /** First counter that arrived. */
  first: number;
  /** Highest counter that arrived, plus one. */
  next: number;
  /** Counters in [first, next) not (yet) arrived, as flat [from, to) pairs, ascending. */
  holes: number[];
  /** Counters below `first` that arrived late, or null. */
  below: number[] | null;
  /** Distinct counters that arrived (judged part of the window only). */
  delivered: number;
  duplicated: number;
  reordered: number;
  /** First duplicated and first reordered counter, as evidence (-1 = none). */
  dupExample: number;
  reorderExample: number;
}

/** One membership window of one receiver in one room. */
export interface TagWindow {
  room: string;
  /** Global client index of the receiver. */
  receiver: number;
  /** Monotonic microseconds (nowUs) when the join was sent / its reply arrived (-1: never) / the window ended (-1: open). */
  joinSentUs: number;
  joinAckUs: number;
  endUs: number;
  streams: Map<number, TagStream>;
}

/** What one publisher published in one room: the scheduled time of each counter and the counters the server refused. */
export interface PublisherLog {
  publisher: number;
  room: string;
  /** sendUs of counter i at index i; only the first `count` entries are used. */
  sendUs: Float64Array;
  count: number;
  refused: number[];
}

/** An empty log of `publisher`'s publishes to `room` (room for 64 counters, grown by doubling). */
export function createPublisherLog(publisher: number, room: string): PublisherLog {
  return { publisher, room, sendUs: new Float64Array(64), count: 0, refused: [] };
}

/** Record the next publish; returns its counter. */
export function logPublish(log: PublisherLog, sendUs: number): number {
  if (log.count === log.sendUs.length) {
    const grown = new Float64Array(log.sendUs.length * 2);
    grown.set(log.sendUs);
    log.sendUs = grown;
  }
  log.sendUs[log.count] = sendUs;
  return log.count++;
}

/**
 * The server refused this counter (error frame, or closed the connection while its ack was
 * pending). Each publish is refused at most once (its pending request is taken), so no
 * lookup on this path; the books de-duplicate anyway.
 */
export function logRefused(log: PublisherLog, counter: number): void {
  log.refused.push(counter);
}

/** The log as sent to the coordinator: the used part of the array only. */
export function trimLog(log: PublisherLog): PublisherLog {
  return { ...log, sendUs: log.sendUs.slice(0, log.count), refused: [...log.refused] };
}

/**
 * A membership window of `receiver` in `room` opened by a join sent at `joinSentUs` (monotonic us); reply and end still unknown (-1).
 */
export function openTagWindow(room: string, receiver: number, joinSentUs: number): TagWindow {
  return { room, receiver, joinSentUs, joinAckUs: -1, endUs: -1, streams: new Map() };
}

/** What one delivery was, for the counters of the fast path. */
export type TagVerdict = 'ok' | 'dup' | 'reorder' | 'unjudged';

/**
 * One tagged delivery inside window `w` (the receiver's open window of that room).
 * Deliveries published before the join was certain are not judged.
 */
export function onTagDelivery(w: TagWindow, pub: number, counter: number, sendUs: number): TagVerdict {
  if (w.joinAckUs < 0 || sendUs < w.joinAckUs) return 'unjudged';
  const s = w.streams.get(pub);
  if (s === undefined) {
    w.streams.set(pub, { first: counter, next: counter + 1, holes: [], below: null, delivered: 1, duplicated: 0, reordered: 0, dupExample: -1, reorderExample: -1 });
    return 'ok';
  }
  if (counter >= s.next) {
    if (counter > s.next) s.holes.push(s.next, counter);
    s.next = counter + 1;
    s.delivered++;
    return 'ok';
  }
  let late: boolean;
  if (counter >= s.first) late = takeHole(s.holes, counter);
  else if (s.below?.includes(counter)) late = false;
  else {
    (s.below ??= []).push(counter);
    late = true;
  }
  if (late) {
    s.delivered++;
    s.reordered++;
    if (s.reorderExample < 0) s.reorderExample = counter;
    return 'reorder';
  }
  s.duplicated++;
  if (s.dupExample < 0) s.dupExample = counter;
  return 'dup';
}

/** Remove `c` from the hole ranges; false when it was not missing. Recent holes are the likely ones, so scan from the end. */
function takeHole(holes: number[], c: number): boolean {
  for (let i = holes.length - 2; i >= 0; i -= 2) {
    const from = holes[i]!;
    const to = holes[i + 1]!;
    if (c >= to) return false;
    if (c < from) continue;
    const parts: number[] = [];
    if (c > from) parts.push(from, c);
    if (c + 1 < to) parts.push(c + 1, to);
    holes.splice(i, 2, ...parts);
    return true;
  }
  return false;
}

/** Whether counter `c` reached this stream. */
export function streamHas(s: TagStream, c: number): boolean {
  if (c < s.first) return s.below !== null && s.below.includes(c);
  if (c >= s.next) return false;
  for (let i = 0; i < s.holes.length; i += 2) if (c >= s.holes[i]! && c < s.holes[i + 1]!) return false;
  return true;
}

/** One receiver's judgement in one room (summed over its windows). */
export interface ReceiverLedger {
  client: number;
  room: string;
  expected: number;
  delivered: number;
  lost: number;
  duplicated: number;
  reordered: number;
}

/** A (receiver, publisher, counter) that went wrong, as evidence. */
export interface TagExample {
  kind: 'lost' | 'duplicated' | 'reordered';
  room: string;
  receiver: number;
  publisher: number;
  counter: number;
}

/** The tag books closed (src/checks/tag-ledger.ts): totals, per-room lines and the worst receivers. */
export interface TagLedgerResult {
  total: Ledger;
  rooms: RoomLedger[];
  /** Receivers with a problem, worst first (at most 20). */
  receivers: ReceiverLedger[];
  /** A few examples of each kind of problem. */
  examples: TagExample[];
  /** False when the server delivered no client's own publishes back to it (so publishers expect only others'). */
  selfEcho: boolean;
  /** Deliveries from publishers whose log is not here (another shard): counted as delivered, not judged. */
  unknownPublisherDeliveries: number;
}

/** First index whose value is >= x in the sorted prefix arr[0, n). */
function lowerBound(arr: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Refused counters in [from, to]. */
function countIn(list: number[], from: number, to: number): number {
  let n = 0;
  for (const c of list) if (c >= from && c <= to) n++;
  return n;
}

/** The first counter in [from, to] that neither arrived nor was refused (a lost example), or -1. */
function firstMissing(s: TagStream | undefined, refused: Set<number>, from: number, to: number): number {
  for (let c = from; c <= to; c++) if (!refused.has(c) && !(s && streamHas(s, c))) return c;
  return -1;
}

const MAX_EXAMPLES = 5;

/** Close the books: every window of every receiver against every publisher's log of that room. */
export function closeTagLedger(windows: Iterable<TagWindow>, logs: Iterable<PublisherLog>): TagLedgerResult {
  const ws = [...windows];
  const byRoom = new Map<string, Map<number, PublisherLog>>();
  for (const l of logs) {
    let m = byRoom.get(l.room);
    if (!m) byRoom.set(l.room, (m = new Map()));
    m.set(l.publisher, l);
  }
  // A server that never echoes: others got publishes, but no publisher got any of its own
  // back. With no delivery at all there is no evidence either way: wsbench/1's default
  // (the sender gets its own copy) stands.
  let selfDelivered = 0;
  let othersDelivered = 0;
  for (const w of ws) {
    for (const [pub, s] of w.streams) {
      if (pub === w.receiver) selfDelivered += s.delivered;
      else othersDelivered += s.delivered;
    }
  }
  const selfEcho = selfDelivered > 0 || othersDelivered === 0;
  // Refused only when nobody received it: otherwise the server did accept it.
  const refusedBy = new Map<PublisherLog, Set<number>>();
  for (const [room, pubs] of byRoom) {
    for (const log of pubs.values()) {
      const eff = new Set([...new Set(log.refused)].filter((c) => !ws.some((w) => w.room === room && w.streams.has(log.publisher) && streamHas(w.streams.get(log.publisher)!, c))));
      refusedBy.set(log, eff);
    }
  }
  const roomRows = new Map<string, RoomLedger>();
  const receiverRows = new Map<string, ReceiverLedger>();
  const examples: TagExample[] = [];
  const exampleCount = { lost: 0, duplicated: 0, reordered: 0 };
  const addExample = (e: TagExample) => {
    if (exampleCount[e.kind]++ < MAX_EXAMPLES) examples.push(e);
  };
  let unjudged = 0;
  let unknownPublisherDeliveries = 0;
  for (const w of ws) {
    const pubs = byRoom.get(w.room) ?? new Map<number, PublisherLog>();
    const row = roomRows.get(w.room) ?? roomRows.set(w.room, { room: w.room, expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 }).get(w.room)!;
    const rkey = `${w.receiver}|${w.room}`;
    const rrow = receiverRows.get(rkey) ?? receiverRows.set(rkey, { client: w.receiver, room: w.room, expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0 }).get(rkey)!;
    for (const [pub, s] of w.streams) {
      if (pubs.has(pub)) continue;
      unknownPublisherDeliveries += s.delivered;
      row.delivered += s.delivered;
      rrow.delivered += s.delivered;
    }
    for (const log of pubs.values()) {
      if (log.publisher === w.receiver && !selfEcho) continue;
      const refused = refusedBy.get(log)!;
      const refusedList = [...refused];
      const s = w.streams.get(log.publisher);
      const sentFrom = lowerBound(log.sendUs, log.count, w.joinSentUs);
      if (w.joinAckUs < 0) {
        // The join never completed: never certainly a member.
        const end = w.endUs < 0 ? log.count : lowerBound(log.sendUs, log.count, w.endUs);
        unjudged += Math.max(0, end - sentFrom) - countIn(refusedList, sentFrom, end - 1);
        continue;
      }
      const lo = lowerBound(log.sendUs, log.count, w.joinAckUs);
      unjudged += lo - sentFrom - countIn(refusedList, sentFrom, lo - 1);
      let hi = log.count - 1;
      if (w.endUs >= 0) {
        hi = s ? s.next - 1 : lo - 1;
        const end = lowerBound(log.sendUs, log.count, w.endUs);
        if (end - 1 > hi) unjudged += end - 1 - hi - countIn(refusedList, hi + 1, end - 1);
      }
      const expected = Math.max(0, hi - lo + 1 - countIn(refusedList, lo, hi));
      const delivered = s?.delivered ?? 0;
      const lost = Math.max(0, expected - delivered);
      const duplicated = s?.duplicated ?? 0;
      const reordered = s?.reordered ?? 0;
      for (const r of [row, rrow]) {
        r.expected += expected;
        r.delivered += delivered;
        r.lost += lost;
        r.duplicated += duplicated;
        r.reordered += reordered;
      }
      const ex = { room: w.room, receiver: w.receiver, publisher: log.publisher };
      if (lost > 0 && exampleCount.lost < MAX_EXAMPLES) addExample({ kind: 'lost', ...ex, counter: firstMissing(s, refused, lo, hi) });
      if (s && s.dupExample >= 0) addExample({ kind: 'duplicated', ...ex, counter: s.dupExample });
      if (s && s.reorderExample >= 0) addExample({ kind: 'reordered', ...ex, counter: s.reorderExample });
    }
  }
  const total: Ledger = { expected: 0, delivered: 0, lost: 0, duplicated: 0, reordered: 0, mode: 'tag', refused: 0, unjudged };
  for (const set of refusedBy.values()) total.refused! += set.size;
  const rooms = [...roomRows.values()];
  for (const r of rooms) {
    total.expected += r.expected;
    total.delivered += r.delivered;
    total.lost += r.lost;
    total.duplicated += r.duplicated;
    total.reordered += r.reordered;
  }
  const badness = (r: Ledger) => r.lost + r.duplicated + r.reordered;
  rooms.sort((a, b) => badness(b) - badness(a) || a.room.localeCompare(b.room));
  const receivers = [...receiverRows.values()].filter((r) => badness(r) > 0).sort((a, b) => badness(b) - badness(a) || a.client - b.client).slice(0, 20);
  return { total, rooms, receivers, examples, selfEcho, unknownPublisherDeliveries };
}
