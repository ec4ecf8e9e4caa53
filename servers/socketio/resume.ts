/**
 * `join-room` with `since` on the Socket.IO flavour (docs/SERVER.md, "Resuming
 * a room"): the member gets every retained message with since < seq <= S in
 * seq order, flagged `replay: true`, and live messages of that room only after
 * them, as on the native flavour (PROTOCOL.md section 1, `join`).
 *
 * Socket.IO's adapters write a room broadcast straight to each member's
 * connection (`client.writeToEngine`), on this node or relayed from another,
 * and offer no per-socket hook. So while a socket resumes a room, its client's
 * `writeToEngine` is wrapped: the room's `new-message` packets (live ones and
 * the replays) go through a small reorder buffer keyed by seq and leave in seq
 * order, each seq once. Everything else (acks, other rooms) passes untouched.
 * After the replay, live packets of the room with a seq the replay already
 * covered (published just before the join, still on their way through Redis)
 * are dropped for DUPLICATE_GRACE_MS; then the wrapper is removed. Sockets that
 * are not resuming never pay for any of this.
 *
 * A seq the retention should hold but that is missing when the join reads it
 * (its publisher allocated it and has not finished retaining it) is waited for
 * HOLE_WAIT_MS, live or from a second read; then the member gets a `gap`
 * event {roomId, from, to} for it, as for seqs older than the retention.
 */
import type { Socket } from 'socket.io';
import type { Bus, RetainedMessage } from '../core/bus.ts';
import { fillHoles, SeqOrder } from '../core/seq-order.ts';
import { binaryContent, messageOfRetained } from './binary.ts';

/** How long a missing seq is waited for before it is reported as a gap, in milliseconds. */
export const HOLE_WAIT_MS = 250;
/** How long after a replay live packets the replay already covered are dropped, in milliseconds. */
export const DUPLICATE_GRACE_MS = 2000;

type Write = (packets: unknown, opts: unknown) => void;
interface EngineClient {
  writeToEngine: Write;
}

interface RoomHold {
  /** Live packets and replays, each a write, in seq order; holds everything (next 0) until the join's reply is out. */
  order: SeqOrder<() => void>;
  /** The last seq the replay covers (the room's seq read after the join); Infinity until read. */
  end: number;
  /** The replay is out; for DUPLICATE_GRACE_MS more, live packets with seq <= end are duplicates. */
  released: boolean;
}

interface ClientState {
  socket: Socket;
  write: Write;
  holds: Map<string, RoomHold>;
}

/** What resuming joins did, for /stats (`resume`). */
export interface ResumeCounters {
  /** Joins with `since` that replayed (or reported gaps). */
  resumes: number;
  /** Messages sent as replays. */
  replayed: number;
  /** Live packets that waited for the replay to finish. */
  held: number;
  /** Seqs reported missing with `gap`. */
  gapped: number;
  /** Live packets dropped because the replay had already delivered their seq. */
  duplicatesDropped: number;
}

/**
 * What the resumer needs: the bus (retention), the retention size, the message event, counters and diagnostics.
 */
export interface ResumeDeps {
  bus: Bus;
  /** Messages retained per room (seqs older than latest - retention are gone without waiting). */
  retention: number;
  /** The `new-message` event name. */
  event: string;
  counters: ResumeCounters;
  log: (line: string) => void;
}

/** A Socket.IO EVENT packet of the main namespace (socket.io-protocol v5): type 2, then the JSON array. */
export function encodeEvent(name: string, payload: unknown): string {
  return `2${JSON.stringify([name, payload])}`;
}

/**
 * The resume logic of the module comment: per socket, replays after `since` first, live packets of the room held until they are done.
 */
export function createResumer(d: ResumeDeps) {
  const states = new WeakMap<object, ClientState>();
  const args = `[${JSON.stringify(d.event)},`;

  /**
   * The JSON array of a `new-message` packet as the adapter encoded it: `2[...]` alone, or
   * `5<n>-[...]` followed by its n binary attachments; else undefined.
   */
  const eventJson = (packets: unknown): string | undefined => {
    const p = Array.isArray(packets) ? packets[0] : packets;
    if (typeof p !== 'string') return undefined;
    if (p[0] === '2') return p.startsWith(args, 1) && (!Array.isArray(packets) || packets.length === 1) ? p.slice(1) : undefined;
    if (p[0] !== '5') return undefined;
    const dash = p.indexOf('-');
    return dash > 1 && dash < 12 && p.startsWith(args, dash + 1) ? p.slice(dash + 1) : undefined;
  };

  /** {room, seq} of a `new-message` packet as the adapter encoded it, else undefined. */
  const delivery = (packets: unknown): { room: string; seq: number } | undefined => {
    const json = eventJson(packets);
    if (json === undefined) return undefined;
    try {
      const m = (JSON.parse(json) as unknown[])[1] as { roomId?: unknown; seq?: unknown } | undefined;
      return typeof m?.roomId === 'string' && typeof m.seq === 'number' ? { room: m.roomId, seq: m.seq } : undefined;
    } catch {
      return undefined;
    }
  };

  const stateOf = (socket: Socket): ClientState => {
    const client = socket.client as unknown as EngineClient;
    let st = states.get(client);
    if (st) return st;
    const write = client.writeToEngine;
    const s: ClientState = { socket, write, holds: new Map() };
    states.set(client, s);
    client.writeToEngine = function (this: EngineClient, packets: unknown, opts: unknown) {
      const m = s.holds.size ? delivery(packets) : undefined;
      const h = m && s.holds.get(m.room);
      if (!h) return write.call(this, packets, opts);
      if (h.released) {
        if (m.seq <= h.end) d.counters.duplicatesDropped++;
        else write.call(this, packets, opts);
        return;
      }
      if (!h.order.offer(m.seq, () => write.call(this, packets, opts))) {
        d.counters.duplicatesDropped++;
        return;
      }
      if (h.order.held.has(m.seq)) d.counters.held++;
      settle(s, m.room, h);
    };
    return s;
  };

  /** Write an event to the socket past the hold: text, or a binary event and its attachments (the server's encoder). */
  const send = (s: ClientState, name: string, payload: Record<string, unknown>) => {
    const packets = binaryContent(payload) ? s.socket.nsp.server.encoder.encode({ type: 2, nsp: '/', data: [name, payload] }) : encodeEvent(name, payload);
    s.write.call(s.socket.client, packets, {});
  };

  /** Once the replay range is done: release the room (newer live packets that waited go out in seq order). */
  const settle = (s: ClientState, room: string, h: RoomHold) => {
    if (h.released || h.order.next <= h.end) return;
    for (const [, write] of h.order.restart(Infinity)) write();
    h.released = true;
    const t = setTimeout(() => {
      if (s.holds.get(room) !== h) return;
      s.holds.delete(room);
      if (s.holds.size === 0) unwrap(s);
    }, DUPLICATE_GRACE_MS);
    t.unref();
  };

  const unwrap = (s: ClientState) => {
    const client = s.socket.client as unknown as Record<string, unknown>;
    delete client.writeToEngine;
    states.delete(client);
  };

  const replayOf = (text: string) => {
    const m = messageOfRetained(text);
    m.replay = true;
    return m;
  };

  return {
    /**
     * Call before `socket.join(room)`: from now on the room's live packets to this
     * socket wait for the replay of (since, S].
     */
    hold(socket: Socket, room: string): void {
      stateOf(socket).holds.set(room, { order: new SeqOrder<() => void>(0, (write) => write()), end: Infinity, released: false });
    },

    /** Stop holding (the join failed or the socket left the room): what was held is dropped. */
    cancel(socket: Socket, room: string): void {
      const s = states.get(socket.client);
      if (!s) return;
      s.holds.delete(room);
      if (s.holds.size === 0) unwrap(s);
    },

    /**
     * After the join: read the retention once (seq S and the entries after `since`),
     * call `ack(S)` (it must write the join's reply), then replay. Resolves once
     * the replay is out (or the socket went away). Rejects when the bus fails; the
     * caller cancels and replies with an error.
     */
    async replay(socket: Socket, room: string, since: number, ack: (seq: number) => void): Promise<void> {
      const s = states.get(socket.client);
      const h = s?.holds.get(room);
      if (!s || !h) return;
      const { latest, entries } = await d.bus.history(room, since);
      if (s.holds.get(room) !== h || !socket.connected) return;
      const end = Math.max(latest, since);
      d.counters.resumes++;
      ack(end);
      h.end = end;
      // Live packets at or below `since` were held while the retention was read: the socket has them.
      h.order.restart(since + 1);
      h.order.drain();
      const replay = (e: RetainedMessage) => () => {
        d.counters.replayed++;
        send(s, d.event, replayOf(e.text));
      };
      const gap = (from: number, to: number) => {
        d.counters.gapped += to - from + 1;
        send(s, 'gap', { roomId: room, from, to });
      };
      for (const e of entries) if (e.seq <= end) h.order.offer(e.seq, replay(e));
      // Seqs the retention can no longer hold are gone: say so at once.
      const oldest = d.retention > 0 ? end - d.retention + 1 : end + 1;
      h.order.skip(Math.min(oldest, h.order.lowestHeld()) - 1, gap);
      settle(s, room, h);
      if (h.released) return;
      // Some retained seqs are still on their way (allocated, not yet retained): wait, read again, then give up.
      await new Promise((r) => setTimeout(r, HOLE_WAIT_MS));
      const current = () => s.holds.get(room) === h && socket.connected;
      if (h.released || !current()) return;
      await fillHoles(h.order, end, {
        read: async (after) => (await d.bus.history(room, after)).entries,
        item: replay,
        gap,
        current,
        onReadError: (err) => d.log(`wsbench server: re-reading the retention of room ${room} failed: ${err.message}`),
      });
      if (current()) settle(s, room, h);
    },
  };
}

/** What `createResumer` returns. */
export type Resumer = ReturnType<typeof createResumer>;
