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

import { randomUUID } from 'node:crypto';
import { RoomLog, type RetentionLimits, type RetentionStats } from './room-log.ts';

/** A retained message: its seq and the text of its `message` frame (without `replay`). */
export interface RetainedMessage {
  seq: number;
  text: string;
}

/** What crosses the bus. `origin` is the publishing process's bus id; it never gets its own messages back. */
export type BusMessage =
  | { kind: 'message'; room: string; seq: number; text: string; origin: string }
  | { kind: 'presence'; room: string; text: string; origin: string };

/** A room's retained messages after a seq, and its latest seq. */
export interface HistoryResult {
  /** The room's latest allocated seq (0 when nothing was ever published). */
  latest: number;
  /** Retained messages with seq > the asked seq, ascending. */
  entries: RetainedMessage[];
}

/** Whether the bus can serve now, and why not (for /healthz). */
export type BusHealth = { ok: true } | { ok: false; reason: string };

/** Room seqs, retention and cross-process fan-out (see the module comment): local, IPC or Redis. */
export interface Bus {
  /** Backend name for /stats and logs: `local`, `ipc`, `redis`. */
  readonly kind: string;
  /** This process's id on the bus (the `origin` of what it publishes). */
  readonly id: string;
  /**
   * The sequence epoch of the rooms' seqs (PROTOCOL.md `epoch`): it changes exactly when
   * seqs may begin again at 1 (a new in-memory bus). Undefined when the bus cannot tell.
   */
  readonly epoch?: string;
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
  /**
   * Tell an in-memory bus which rooms still have members here, so an idle room is only
   * forgotten when nobody is in it (buses that keep nothing in this process omit it).
   */
  setActiveRooms?(active: (room: string) => boolean): void;
  /** The in-process retention's size and evictions, for /stats and /metrics (omitted when it lives elsewhere). */
  retentionStats?(): RetentionStats;
}

/** The `epoch` field of a join reply or publish ack: the bus's sequence epoch, when it has one (PROTOCOL.md). */
export function epochField(bus: Pick<Bus, 'epoch'>): { epoch?: string } {
  return bus.epoch === undefined ? {} : { epoch: bus.epoch };
}

/**
 * Where a resume starts: `since` when the client's `epoch` is this bus's (or either is
 * unknown); 0 when the client's seqs come from another epoch (a sequence that is gone), so
 * the member is replayed the current epoch from its start (PROTOCOL.md `epoch`).
 */
export function resumeFrom(bus: Pick<Bus, 'epoch'>, since: number | undefined, epoch: string | undefined): number | undefined {
  return since !== undefined && epoch !== undefined && bus.epoch !== undefined && epoch !== bus.epoch ? 0 : since;
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

export { RoomLog } from './room-log.ts';
export type { RetentionLimits, RetentionStats } from './room-log.ts';

let localCounter = 0;

/** How often an in-memory retention is swept for age and idle rooms, ms. */
export const RETENTION_SWEEP_MS = 1000;

/**
 * A bus for a single process: sequences and retention in memory (bounded by
 * `limits`, swept every RETENTION_SWEEP_MS), nothing to fan out to.
 */
export function createLocalBus(limits: RetentionLimits): Bus {
  const log = new RoomLog(limits);
  const id = `local-${process.pid}-${++localCounter}`;
  let active: (room: string) => boolean = () => true;
  const sweep = setInterval(() => log.sweep(active), RETENTION_SWEEP_MS);
  sweep.unref();
  return {
    kind: 'local',
    id,
    // Rooms live in this process: a new bus (a restarted process) starts every seq again.
    epoch: randomUUID(),
    nextSeq: async (room) => log.next(room),
    lastSeq: async (room) => log.last(room),
    append: async (room, entry) => log.append(room, entry),
    history: async (room, afterSeq) => log.history(room, afterSeq),
    publish: () => {},
    subscribe: () => () => {},
    health: () => ({ ok: true }),
    close: async () => clearInterval(sweep),
    setActiveRooms: (fn) => (active = fn),
    retentionStats: () => log.stats(),
  };
}
