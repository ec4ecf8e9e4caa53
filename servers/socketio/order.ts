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
 * waits (the whole write to every member, one closure, in the shared SeqOrder of
 * servers/core/seq-order.ts) until the missing seqs come. A seq still missing after HOLE_WAIT_MS is read from the retention and
 * delivered locally, or reported to the members as a `gap`. A seq below the
 * room's next one has been delivered or reported already and is dropped. Other
 * packets pass through untouched; the cost is one Map lookup per broadcast.
 *
 * A room's order starts at the seq its first local member read when joining
 * (`noteJoin`); seqs at or below it are that member's past.
 */
import type { RetainedMessage } from '../core/bus.ts';
import { fillHoles, SeqOrder } from '../core/seq-order.ts';

/** How long a missing seq is waited for before it is read from the retention, in milliseconds. */
export const ORDER_WAIT_MS = 250;
/** How often rooms without a local member are forgotten, in milliseconds. */
const SWEEP_MS = 10_000;

/** Counts of the cross-node seq order, for /stats (`order`). */
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
  /** Each item writes one broadcast to this node's members of the room. */
  order: SeqOrder<() => void>;
  timer: NodeJS.Timeout | null;
}

interface AdapterInternals {
  rooms: Map<string, Set<string>>;
  _encode(packet: unknown, packetOpts: unknown): unknown;
  apply(opts: { rooms: Set<string> }, cb: (socket: unknown) => void): void;
}

/** What the cross-node order needs: the adapter to hook, the message event and the retention. */
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

/**
 * Hook the adapter so that room messages reach this node's members in seq order (held, filled from the retention or reported as `gap`); throws when socket.io-adapter's internals are not the expected ones.
 */
export function orderRoomDeliveries(d: OrderDeps) {
  const a = d.adapter as AdapterInternals;
  const encode = a._encode;
  const apply = a.apply;
  if (typeof encode !== 'function' || typeof apply !== 'function') {
    throw new Error('socket.io-adapter changed: _encode/apply not found (servers/socketio/order.ts needs socket.io-adapter 2.5)');
  }
  const rooms = new Map<string, RoomOrder>();
  let current: { type?: unknown; data?: unknown } | undefined;
  /** Set while a retained message is delivered: it is already in its place and skips the order. */
  let direct = false;

  const run = (write: () => void) => write();
  const create = (room: string, next: number): RoomOrder => {
    const st: RoomOrder = { order: new SeqOrder<() => void>(next, run), timer: null };
    rooms.set(room, st);
    return st;
  };

  /** A room still holding broadcasts waits ORDER_WAIT_MS for the missing seqs, then fills or reports them. */
  const arm = (room: string, st: RoomOrder) => {
    if (st.order.held.size === 0) {
      if (st.timer) clearTimeout(st.timer);
      st.timer = null;
    } else if (!st.timer) {
      st.timer = setTimeout(() => void fill(room, st), ORDER_WAIT_MS);
      st.timer.unref();
    }
  };

  const fill = async (room: string, st: RoomOrder) => {
    st.timer = null;
    const { filled, gapped } = await fillHoles(st.order, st.order.lowestHeld() - 1, {
      read: async (after) => (await d.history(room, after)).entries,
      item: (e) => () => {
        direct = true;
        try {
          d.deliverLocal(room, e.text);
        } finally {
          direct = false;
        }
      },
      gap: (from, to) => d.gap(room, from, to),
      current: () => rooms.get(room) === st,
      onReadError: (err) => d.log(`wsbench server: reading missing seqs of room ${room} failed: ${err.message}`),
    });
    d.counters.filled += filled;
    d.counters.gapped += gapped;
    if (rooms.get(room) === st) arm(room, st);
  };

  const order = (room: string, seq: number, deliver: () => void) => {
    // A member that got here without a join (a recovered session): start at this seq.
    const st = rooms.get(room) ?? create(room, seq);
    if (!st.order.offer(seq, deliver)) {
      d.counters.late++;
      return;
    }
    if (st.order.held.has(seq)) d.counters.held++;
    arm(room, st);
  };

  a._encode = function (this: AdapterInternals, packet: unknown, packetOpts: unknown) {
    current = packet as typeof current;
    return encode.call(this, packet, packetOpts);
  };
  a.apply = function (this: AdapterInternals, opts: { rooms: Set<string> }, cb: (socket: unknown) => void) {
    const p = current;
    current = undefined;
    if (!direct && p && p.type === 2 && opts.rooms.size === 1 && Array.isArray(p.data) && p.data[0] === d.event) {
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
        create(room, seq + 1);
        return;
      }
      // The joiner is the only local member: nobody here is owed the seqs up to its join.
      if ((a.rooms.get(room)?.size ?? 0) <= 1 && st.order.next <= seq) {
        st.order.restart(seq + 1);
        st.order.drain();
        arm(room, st);
      }
    },
    close(): void {
      clearInterval(sweep);
      for (const st of rooms.values()) if (st.timer) clearTimeout(st.timer);
      rooms.clear();
    },
  };
}
