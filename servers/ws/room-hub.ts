/**
 * The native flavour's rooms in one process: membership (join with replay,
 * leave, presence), and delivery of room messages in seq order (held until the
 * missing seqs come, filled from the bus's history or reported as a gap).
 */
import { resumeFrom, type Bus, type BusMessage, type RetainedMessage } from '../core/bus.ts';
import type { ServerCounters } from '../core/metrics.ts';
import { failureCode } from '../core/errors.ts';
import { fillHoles } from '../core/seq-order.ts';
import type { Conn } from './conn.ts';
import type { Id } from './client-frame.ts';
import { gapFrame, replayFrames, Room, type Held, type PendingJoin } from './room.ts';
import type { Fanout } from './broadcast.ts';

/** How long a room waits for a missing seq before asking the bus's history and reporting a gap. */
export const REORDER_WAIT_MS = 1000;

/** The replay of a join without `since`: always empty, never written to. */
const NO_REPLAY: ReadonlyMap<number, string> = new Map();

/**
 * The `joined` frame (PROTOCOL.md), written out: the same JSON, key for key, as
 * `JSON.stringify({ type: 'joined', id, room, members, seq, epoch })` without the object.
 */
export function joinedFrame(id: Id, room: string, members: number, seq: number, epoch: string | undefined): string {
  return `{"type":"joined","id":${JSON.stringify(id)},"room":${JSON.stringify(room)},"members":${members},"seq":${seq}${epoch === undefined ? '' : `,"epoch":${JSON.stringify(epoch)}`}}`;
}

/** How the hub talks to a connection (servers/ws/server.ts). */
export interface HubOutput {
  sendText(c: Conn, text: string): void;
  send(c: Conn, obj: object): void;
  sendError(c: Conn, id: Id | undefined, code: string, message: string): void;
}

/** What the room hub needs: the bus, presence on or off, counters, the output and the fan-out. */
export interface RoomHubDeps {
  bus: Bus;
  /** Send presence frames on join and leave. */
  presence: boolean;
  counters: ServerCounters;
  out: HubOutput;
  /** Writes one room message to the live members (servers/ws/broadcast.ts). */
  fanout: Fanout<Conn>;
  log(line: string): void;
}

/** The native flavour's rooms of one process (see the module comment). */
export interface RoomHub {
  /** Rooms with a member (live or joining) in this process. */
  readonly size: number;
  has(room: string): boolean;
  /** Join `name` (replaying after `since` when given, from the epoch's start when `epoch` is another); answers `joined` or an error. */
  join(c: Conn, id: Id, name: string, since: number | undefined, epoch?: string): Promise<void> | undefined;
  /** Leave `name`; presence `leave` to the others when it was a live member. */
  leave(c: Conn, name: string): void;
  /** A room message with its seq: delivered in seq order to the room's members here (`except` skipped). */
  deliver(room: string, seq: number, text: string, except: Conn | null): void;
  /** Stop listening to the bus and every timer; forget every room. */
  close(): void;
}

/** An empty room hub over `d`. */
export function createRoomHub(d: RoomHubDeps): RoomHub {
  const { bus, counters, out, log } = d;
  const rooms = new Map<string, Room<Conn>>();

  const fanoutHeld = (room: Room<Conn>, h: Held<Conn>) => {
    const n = d.fanout(room.members, h.text, h.except);
    for (const [m, p] of room.pending) if (m !== h.except) p.buffer.push(h);
    counters.deliveries += n;
    counters.framesOut += n;
  };

  /** Deliver what is due; a room still holding messages waits REORDER_WAIT_MS for the missing ones, then fills or reports them. */
  const drain = (room: Room<Conn>) => {
    room.order.drain();
    // A room not started yet (no member has joined) only holds.
    if (room.order.held.size === 0 || room.order.next === 0) room.stopTimer();
    else if (!room.gapTimer) {
      room.gapTimer = setTimeout(() => void fillGap(room), REORDER_WAIT_MS);
      room.gapTimer.unref();
    }
  };

  /** Seqs have not arrived in time: take them from the retention buffer, or report them as a gap to the members. */
  const fillGap = async (room: Room<Conn>) => {
    room.gapTimer = null;
    if (rooms.get(room.name) !== room || room.order.held.size === 0) return;
    await fillHoles(room.order, room.order.lowestHeld() - 1, {
      read: async (after) => (await bus.history(room.name, after)).entries,
      item: (e) => ({ seq: e.seq, text: e.text, except: null }),
      gap: (from, to) => {
        const gap = gapFrame(room.name, from, to);
        for (const m of room.members) out.sendText(m, gap);
      },
      current: () => rooms.get(room.name) === room,
      onReadError: (err) => log(`wsbench server: history of room ${room.name} failed: ${err.message}`),
    });
    if (rooms.get(room.name) === room) drain(room);
  };

  const deliver = (roomName: string, seq: number, text: string, except: Conn | null) => {
    const room = rooms.get(roomName);
    if (!room) return;
    room.order.offer(seq, { seq, text, except });
    drain(room);
  };

  const unsubscribe = bus.subscribe((msg: BusMessage) => {
    if (msg.origin === bus.id) return;
    if (msg.kind === 'message') deliver(msg.room, msg.seq, msg.text, null);
    else {
      const room = rooms.get(msg.room);
      if (room) for (const m of room.members) out.sendText(m, msg.text);
    }
  });

  const presence = (room: Room<Conn>, subject: Conn, state: 'join' | 'leave') => {
    if (!d.presence) return;
    const text = JSON.stringify({ type: 'presence', room: room.name, user: subject.user, state });
    for (const m of room.members) if (m !== subject) out.sendText(m, text);
    bus.publish({ kind: 'presence', room: room.name, text, origin: bus.id });
  };

  const leave = (c: Conn, name: string) => {
    const room = rooms.get(name);
    c.rooms?.delete(name);
    if (!room) return;
    const wasLive = room.members.delete(c);
    room.pending.delete(c);
    if (room.size() === 0) {
      room.stopTimer();
      rooms.delete(name);
    } else if (wasLive) presence(room, c, 'leave');
  };

  /** Where the joining member starts (`seq`) and what it may be replayed (seq -> text) when it asked with `since`. */
  const startPoint = (room: Room<Conn>, pend: PendingJoin<Conn>, since: number | undefined, latest: number, entries: RetainedMessage[]): { seq: number; replay: ReadonlyMap<number, string> } => {
    const replay = since === undefined ? undefined : new Map<number, string>();
    if (replay) for (const e of entries) replay.set(e.seq, e.text);
    if (room.order.next === 0) {
      // First member of this room in this process: start the local order at the bus's latest seq.
      for (const [s, h] of room.order.restart(latest + 1)) replay?.set(s, h.text);
      return { seq: latest, replay: replay ?? NO_REPLAY };
    }
    // The local delivered point: everything up to it reached this process, either
    // before the join started (so it is in the bus history) or since (so it is in the buffer).
    const seq = room.order.next - 1;
    if (replay) for (const h of pend.buffer) if (h.seq <= seq) replay.set(h.seq, h.text);
    return { seq, replay: replay ?? NO_REPLAY };
  };

  const join = (c: Conn, id: Id, name: string, asked: number | undefined, epoch?: string): Promise<void> | undefined => {
    const since = resumeFrom(bus, asked, epoch);
    let room = rooms.get(name);
    if (!room) rooms.set(name, (room = new Room<Conn>(name, fanoutHeld)));
    const already = c.rooms?.has(name) ?? false;
    if (!already) (c.rooms ??= new Set()).add(name);
    room.members.delete(c);
    // A plain join to a room that already runs in this process starts at the local delivered
    // point, whatever the bus's latest seq is (startPoint): no round trip to the bus (the
    // cluster primary, Redis), no promise; the join completes now.
    if (since === undefined && room.order.next !== 0) {
      joined(c, id, room, { buffer: [] }, since, 0, [], already);
      return undefined;
    }
    return joinFromBus(c, id, room, since, already);
  };

  /** A join that needs the bus: the room's latest seq (first member here), or its history (`since`). */
  const joinFromBus = async (c: Conn, id: Id, room: Room<Conn>, since: number | undefined, already: boolean) => {
    const name = room.name;
    const pend: PendingJoin<Conn> = { buffer: [] };
    room.pending.set(c, pend);
    let latest: number;
    let entries: RetainedMessage[] = [];
    try {
      if (since === undefined) latest = await bus.lastSeq(name);
      else ({ latest, entries } = await bus.history(name, since));
    } catch (err) {
      if (room.pending.get(c) === pend) leave(c, name);
      out.sendError(c, id, failureCode(err), `join failed: ${(err as Error).message}`);
      return;
    }
    // Left, re-joined or disconnected while we waited: that later action wins.
    if (rooms.get(name) !== room || room.pending.get(c) !== pend || c.ws.readyState !== 1) return;
    room.pending.delete(c);
    joined(c, id, room, pend, since, latest, entries, already);
  };

  /** The member is in: `joined`, its replay, what arrived meanwhile, presence. */
  const joined = (c: Conn, id: Id, room: Room<Conn>, pend: PendingJoin<Conn>, since: number | undefined, latest: number, entries: RetainedMessage[], already: boolean) => {
    const name = room.name;
    const { seq, replay } = startPoint(room, pend, since, latest, entries);
    room.members.add(c);
    out.sendText(c, joinedFrame(id, name, room.size(), seq, bus.epoch));
    if (since !== undefined) for (const f of replayFrames(name, since, seq, replay)) out.sendText(c, f);
    // Live messages delivered while the join was in progress and newer than its seq.
    for (const h of pend.buffer) if (h.seq > seq) out.sendText(c, h.text);
    if (!already) presence(room, c, 'join');
    if (room.order.held.size) drain(room);
  };

  return {
    get size() {
      return rooms.size;
    },
    has: (room) => rooms.has(room),
    join,
    leave,
    deliver,
    close() {
      for (const r of rooms.values()) r.stopTimer();
      rooms.clear();
      unsubscribe();
    },
  };
}
