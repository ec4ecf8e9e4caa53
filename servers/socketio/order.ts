/**
 * Seq order across nodes for the Socket.IO flavour (docs/SERVER.md, "Ordering
 * across nodes"). Two nodes can allocate seqs 5 and 6 of a room and get them
 * through Redis the other way round; the adapters then deliver 6 before 5. The
 * native flavour re-orders per room before delivering; this does the same on
 * the node's adapter, per room, not per recipient:
 *
 * Every local delivery of a broadcast, whether published here or relayed from
 * another node, runs through the in-memory adapter's `broadcast`, which encodes
 * the packet (`_encode`) and then writes it to each member (`apply`). The
 * adapter instance gets both wrapped: `_encode` notes the packet, `apply` looks
 * at it, and a `new-message` to one room whose seq is not the room's next one
 * waits (the whole write to every member, one closure) until the missing seqs
 * come. A seq still missing after HOLE_WAIT_MS is read from the retention and
 * delivered locally, or reported to the members as a `gap`. A seq below the
 * room's next one has been delivered or reported already and is dropped. Other
 * packets pass through untouched; the cost is one Map lookup per broadcast.
 *
 * A room's order starts at the seq its first local member read when joining
 * (`noteJoin`); seqs at or below it are that member's past.
 */
import type { RetainedMessage } from '../core/bus.ts';

/** How long a missing seq is waited for before it is read from the retention, in milliseconds. */
export const ORDER_WAIT_MS = 250;
/** How often rooms without a local member are forgotten, in milliseconds. */
const SWEEP_MS = 10_000;

export interface OrderCounters {
  /** Deliveries that waited for an earlier seq. */
  held: number;
  /** Missing seqs delivered from the retention. */
  filled: number;
  /** Missing seqs reported to the members as `gap`. */
  gapped: number;
  /** Packets dropped because their seq had been delivered or reported already. */
  late: number;
}

interface RoomOrder {
  next: number;
  held: Map<number, () => void>;
  timer: NodeJS.Timeout | null;
}

interface AdapterInternals {
  rooms: Map<string, Set<string>>;
  _encode(packet: unknown, packetOpts: unknown): unknown;
  apply(opts: { rooms: Set<string> }, cb: (socket: unknown) => void): void;
}

export interface OrderDeps {
  /** `io.of('/').adapter`. */
  adapter: unknown;
  /** The event carrying room messages (`new-message`). */
  event: string;
  /** Retained messages of `room` with seq > after. */
  history(room: string, after: number): Promise<{ entries: RetainedMessage[] }>;
  /** Deliver a retained message to this node's members only (it passes through the order again). */
  deliverLocal(room: string, text: string): void;
  /** Tell this node's members of `room` that seqs from..to are gone. */
  gap(room: string, from: number, to: number): void;
  counters: OrderCounters;
  log: (line: string) => void;
}

export function orderRoomDeliveries(d: OrderDeps) {
  const a = d.adapter as AdapterInternals;
  const encode = a._encode;
  const apply = a.apply;
  if (typeof encode !== 'function' || typeof apply !== 'function') {
    throw new Error('socket.io-adapter changed: _encode/apply not found (servers/socketio/order.ts needs socket.io-adapter 2.5)');
  }
  const rooms = new Map<string, RoomOrder>();
  let current: { type?: unknown; data?: unknown } | undefined;

  const drain = (st: RoomOrder) => {
    for (let f = st.held.get(st.next); f; f = st.held.get(st.next)) {
      st.held.delete(st.next);
      st.next++;
      f();
    }
    if (st.held.size === 0 && st.timer) {
      clearTimeout(st.timer);
      st.timer = null;
    }
  };

  const firstHeld = (st: RoomOrder) => {
    let min = Infinity;
    for (const s of st.held.keys()) if (s < min) min = s;
    return min;
  };

  /** Waited long enough: read the missing seqs from the retention, deliver them, report the rest. */
  const fill = async (room: string, st: RoomOrder) => {
    st.timer = null;
    const upTo = firstHeld(st) - 1;
    if (upTo < st.next) return drain(st);
    let entries: RetainedMessage[] = [];
    try {
      entries = (await d.history(room, st.next - 1)).entries;
    } catch (err) {
      d.log(`wsbench server: reading missing seqs of room ${room} failed: ${(err as Error).message}`);
    }
    if (rooms.get(room) !== st) return;
    for (const e of entries) {
      if (e.seq < st.next) continue;
      if (e.seq > upTo) break;
      if (e.seq > st.next) {
        d.counters.gapped += e.seq - st.next;
        d.gap(room, st.next, e.seq - 1);
        st.next = e.seq;
      }
      d.counters.filled++;
      // Passes through apply again as the room's next seq, so it is delivered at once.
      d.deliverLocal(room, e.text);
    }
    const stop = Math.min(upTo, firstHeld(st) - 1);
    if (stop >= st.next) {
      d.counters.gapped += stop - st.next + 1;
      d.gap(room, st.next, stop);
      st.next = stop + 1;
    }
    drain(st);
    if (st.held.size && !st.timer) arm(room, st);
  };

  const arm = (room: string, st: RoomOrder) => {
    st.timer = setTimeout(() => void fill(room, st), ORDER_WAIT_MS);
    st.timer.unref();
  };

  const order = (room: string, seq: number, deliver: () => void) => {
    let st = rooms.get(room);
    if (!st) {
      // A member that got here without a join (a recovered session): start at this seq.
      rooms.set(room, (st = { next: seq, held: new Map(), timer: null }));
    }
    if (seq < st.next) {
      d.counters.late++;
      return;
    }
    if (seq > st.next) {
      d.counters.held++;
      st.held.set(seq, deliver);
      if (!st.timer) arm(room, st);
      return;
    }
    st.next++;
    deliver();
    if (st.held.size) drain(st);
  };

  a._encode = function (this: AdapterInternals, packet: unknown, packetOpts: unknown) {
    current = packet as typeof current;
    return encode.call(this, packet, packetOpts);
  };
  a.apply = function (this: AdapterInternals, opts: { rooms: Set<string> }, cb: (socket: unknown) => void) {
    const p = current;
    current = undefined;
    if (p && p.type === 2 && opts.rooms.size === 1 && Array.isArray(p.data) && p.data[0] === d.event) {
      const m = p.data[1] as { roomId?: unknown; seq?: unknown } | undefined;
      if (typeof m?.seq === 'number' && typeof m.roomId === 'string' && opts.rooms.has(m.roomId) && a.rooms.has(m.roomId)) {
        return order(m.roomId, m.seq, () => apply.call(this, opts, cb));
      }
    }
    return apply.call(this, opts, cb);
  };

  const sweep = setInterval(() => {
    for (const [room, st] of rooms) {
      if (a.rooms.has(room)) continue;
      if (st.timer) clearTimeout(st.timer);
      rooms.delete(room);
    }
  }, SWEEP_MS);
  sweep.unref();

  return {
    /** A local member joined `room` and read its latest seq: the room's order starts after it, if not started. */
    noteJoin(room: string, seq: number): void {
      const st = rooms.get(room);
      if (!st) {
        rooms.set(room, { next: seq + 1, held: new Map(), timer: null });
        return;
      }
      // The joiner is the only local member: nobody here is owed the seqs up to its join.
      if ((a.rooms.get(room)?.size ?? 0) <= 1 && st.next <= seq) {
        for (const s of [...st.held.keys()]) if (s <= seq) st.held.delete(s);
        st.next = seq + 1;
        drain(st);
      }
    },
    close(): void {
      clearInterval(sweep);
      for (const st of rooms.values()) if (st.timer) clearTimeout(st.timer);
      rooms.clear();
    },
  };
}
