/**
 * The Bus: everything that crosses processes or nodes. Room sequences, the
 * retention buffer and fan-out to the other processes all go through it, so the
 * server is the same code whether it runs alone (createLocalBus), as one of
 * several cluster workers (the IPC bus in cluster.ts) or, later, as one of
 * several nodes sharing a Redis.
 *
 * The API is asynchronous and shaped after what Redis offers:
 *   nextSeq  -> INCR wsb:seq:{room}
 *   lastSeq  -> GET  wsb:seq:{room}
 *   append   -> Lua: ZADD wsb:ret:{room} seq text; trim to N; PUBLISH
 *   appendNext -> Lua: INCR + the above, so a seq never exists without its message
 *   history  -> GET + LRANGE (filtered by seq)
 *   publish  -> one PUBLISH per message (never one per recipient)
 *   subscribe-> SUBSCRIBE on a dedicated connection
 *
 * Ordering: the bus does not promise that messages of a room arrive in seq
 * order (two processes can allocate 5 and 6 and publish them the other way
 * round); the server re-orders by seq before delivering, and asks `history`
 * for a seq that does not show up in time.
 */

/** A retained message: its seq and the text of its `message` frame (without `replay`). */
export interface RetainedMessage {
  seq: number;
  text: string;
}

/** What crosses the bus. `origin` is the publishing process's bus id; it never gets its own messages back. */
export type BusMessage =
  | { kind: 'message'; room: string; seq: number; text: string; origin: string }
  | { kind: 'presence'; room: string; text: string; origin: string };

export interface HistoryResult {
  /** The room's latest allocated seq (0 when nothing was ever published). */
  latest: number;
  /** Retained messages with seq > the asked seq, ascending. */
  entries: RetainedMessage[];
}

export type BusHealth = { ok: true } | { ok: false; reason: string };

export interface Bus {
  /** Backend name for /stats and logs: `local`, `ipc`, `redis`. */
  readonly kind: string;
  /** This process's id on the bus (the `origin` of what it publishes). */
  readonly id: string;
  /** Allocate the room's next seq (1, 2, ...), global to the deployment. */
  nextSeq(room: string): Promise<number>;
  /** The room's latest allocated seq, 0 if none. */
  lastSeq(room: string): Promise<number>;
  /** Add a message to the room's retention buffer (the last `retention` messages are kept). */
  append(room: string, entry: RetainedMessage): Promise<void>;
  /**
   * Allocate the room's next seq and retain `prefix + seq + suffix` as one step, so a
   * seq never exists without its message (a bus whose dependency can fail between
   * two steps implements it; see allocateAndRetain). A bus that fans out also
   * publishes the message in that step: the caller must not `publish` it again.
   */
  appendNext?(room: string, prefix: string, suffix: string): Promise<number>;
  /** The retained messages of the room with seq > afterSeq, and the latest seq. */
  history(room: string, afterSeq: number): Promise<HistoryResult>;
  /** Send a message to every other process/node (fire and forget; failures are logged and counted by the bus). */
  publish(msg: BusMessage): void;
  /** Receive what the other processes/nodes publish. Returns an unsubscribe function. */
  subscribe(handler: (msg: BusMessage) => void): () => void;
  /** Whether the bus's dependencies are reachable (drives /healthz). */
  health(): BusHealth;
  /** Release the bus's resources (timers, connections). */
  close(): Promise<void>;
}

/** Per-room sequences and retention buffers in memory (the local bus and the cluster primary). */
export class RoomLog {
  private readonly seqs = new Map<string, number>();
  private readonly retained = new Map<string, RetainedMessage[]>();

  /** @param retention messages kept per room, 0 = none. */
  constructor(readonly retention: number) {}

  next(room: string): number {
    const s = (this.seqs.get(room) ?? 0) + 1;
    this.seqs.set(room, s);
    return s;
  }

  last(room: string): number {
    return this.seqs.get(room) ?? 0;
  }

  append(room: string, entry: RetainedMessage): void {
    if (this.retention <= 0) return;
    let list = this.retained.get(room);
    if (!list) this.retained.set(room, (list = []));
    // Appends may arrive slightly out of seq order from different processes: insert in place.
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > entry.seq) i--;
    if (i > 0 && list[i - 1]!.seq === entry.seq) return;
    list.splice(i, 0, entry);
    // Trim in batches so a busy room does not shift its array on every append.
    if (list.length > this.retention + Math.max(16, this.retention >> 3)) list.splice(0, list.length - this.retention);
  }

  history(room: string, afterSeq: number): HistoryResult {
    const latest = this.last(room);
    const list = this.retained.get(room);
    if (!list || list.length === 0) return { latest, entries: [] };
    const floor = Math.max(afterSeq, list[list.length - 1]!.seq - this.retention);
    let i = list.length;
    while (i > 0 && list[i - 1]!.seq > floor) i--;
    return { latest, entries: list.slice(i) };
  }
}

/**
 * The room's next seq with its message `prefix + seq + suffix` retained (when
 * `retain`), atomically where the bus can do it: either both happened or neither.
 */
export async function allocateAndRetain(bus: Bus, room: string, prefix: string, suffix: string, retain: boolean): Promise<number> {
  if (retain && bus.appendNext) return bus.appendNext(room, prefix, suffix);
  const seq = await bus.nextSeq(room);
  if (retain) await bus.append(room, { seq, text: prefix + seq + suffix });
  return seq;
}

let localCounter = 0;

/** A bus for a single process: sequences and retention in memory, nothing to fan out to. */
export function createLocalBus(opts: { retention: number }): Bus {
  const log = new RoomLog(opts.retention);
  const id = `local-${process.pid}-${++localCounter}`;
  return {
    kind: 'local',
    id,
    nextSeq: async (room) => log.next(room),
    lastSeq: async (room) => log.last(room),
    append: async (room, entry) => log.append(room, entry),
    history: async (room, afterSeq) => log.history(room, afterSeq),
    publish: () => {},
    subscribe: () => () => {},
    health: () => ({ ok: true }),
    close: async () => {},
  };
}
