/**
 * The Redis bus: several nodes (or cluster workers) share one Redis for room
 * sequences, the retention buffer and fan-out (docs/SERVER.md, "Redis bus").
 *
 * Keys, all under a per-deployment prefix (`--redis-prefix`, default `wsb:`):
 *   PREFIX seq:{ROOM}  string  the room's latest allocated seq (INCR)
 *   PREFIX ret:{ROOM}  zset    the last `retention` message frames, scored by seq
 *   PREFIX bus         channel every node's fan-out (one PUBLISH per message)
 *   PREFIX epoch       string  set once per Redis lifetime; a changed value means Redis lost its data
 *
 * The connections and their state machine are servers/core/redis-link.ts; the
 * wire format and scripts servers/core/redis-wire.ts; the per-room seq tracking
 * (holes) servers/core/hole-tracker.ts.
 *
 * A message's seq is allocated, the message retained and published by one Lua
 * script (appendNext: INCR, ZADD, trim, PUBLISH; with --delay-ms the INCR comes
 * first and append does the rest),
 * so a message is on the channel if and only if it is in the retention, and
 * every subscriber sees messages in the order they entered the retention.
 */
import type { Bus, BusHealth, BusMessage, HistoryResult, RetainedMessage } from './bus.ts';
import { decodeBusMessage, encodeBusMessage, wireHeader } from './redis-wire.ts';
import { HoleTracker } from './hole-tracker.ts';
import { BusUnavailableError, createRedisLink } from './redis-link.ts';

export { HOLE_WAIT_MS, MAX_TRACKED_ROOMS } from './hole-tracker.ts';
export { BusUnavailableError, RESTORE_SETTLE_MS, RETRY_CAP_MS } from './redis-link.ts';

/** Default key prefix (per-deployment namespace). */
export const DEFAULT_REDIS_PREFIX = 'wsb:';
const BATCH = 500;

/** How to reach Redis and what to keep there (retention in messages per room). */
export interface RedisBusOptions {
  /** `redis://HOST:PORT[/DB]`. */
  url: string;
  /** Key prefix, default `wsb:`. */
  prefix?: string;
  /** Messages retained per room, 0 = none. */
  retention: number;
  /** A room's retention key expires this long after its last publish, ms (default 1 h). */
  retentionAgeMs?: number;
  /** A room's seq key expires this long after its last publish, s (default 7 days). */
  keyTtlS?: number;
  /** Node id, part of the bus id. */
  nodeId: string;
  /** Diagnostics (default stderr). */
  log?: (line: string) => void;
  /**
   * Whether appends also PUBLISH to the other nodes (default true). False when the
   * server fans out by other means (the Socket.IO flavour's adapter) and uses the
   * bus only for seqs and the retention.
   */
  fanout?: boolean;
}

/** Counters of one Redis bus (part of /stats as `busStats`). */
export interface RedisBusStats {
  /** Messages and presence frames this bus published (one PUBLISH each). */
  published: number;
  /** Publishes that failed (Redis away or the script failed); the publisher got an error. */
  publishFailed: number;
  /** Messages received from the channel (other nodes' only). */
  received: number;
  /** Arrivals with a seq lower than one already seen for the room (the server's reorder buffer held the higher one). */
  outOfOrder: number;
  /** Missing seqs recovered from the retention after HOLE_WAIT_MS. */
  holesFilled: number;
  /** Missing seqs the retention did not hold either (the server reports them to members as `gap`). */
  holesMissing: number;
  /** Messages recovered from the retention after the subscriber reconnected. */
  caughtUp: number;
  /** Operations refused because Redis was unavailable (error code `unavailable`). */
  refused: number;
  /** Times a connection to Redis was (re)established after being lost. */
  reconnects: number;
  /** Times the bus found Redis had lost its data (a new epoch) and restored room seqs. */
  restores: number;
  /** Command connection status (ioredis: ready, connecting, reconnecting, end ...). */
  redisStatus: string;
  /** Subscriber connection status. */
  subscriberStatus: string;
}

/** The Redis bus (see the module comment). */
export interface RedisBus extends Bus {
  readonly kind: 'redis';
  /** Resolves once both connections are ready and room seqs restored; rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  stats(): RedisBusStats;
}

let busCounter = 0;

/**
 * Create a Redis bus and start connecting (resolve `ready()` before serving).
 * Every node of a deployment must use the same `prefix` and `retention`.
 */
export function createRedisBus(opts: RedisBusOptions): RedisBus {
  const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const id = `redis-${opts.nodeId}-${process.pid.toString(36)}-${++busCounter}`;
  const channel = `${prefix}bus`;
  const seqKey = (room: string) => `${prefix}seq:{${room}}`;
  const retKey = (room: string) => `${prefix}ret:{${room}}`;
  const retTtlMs = opts.retentionAgeMs ?? 3_600_000;
  const seqTtlS = opts.keyTtlS ?? 604_800;
  const retention = Math.max(0, opts.retention);
  const fanout = opts.fanout !== false;

  const counters = {
    published: 0,
    publishFailed: 0,
    received: 0,
    outOfOrder: 0,
    holesFilled: 0,
    holesMissing: 0,
    caughtUp: 0,
    refused: 0,
    reconnects: 0,
    restores: 0,
  };
  const subscribers = new Set<(m: BusMessage) => void>();
  /** Set by append(), read by the publish() the server makes right after it: that PUBLISH already happened in the script. */
  let appendedNow: string | null = null;

  const emit = (m: BusMessage) => {
    for (const s of subscribers) s(m);
  };

  /** Missing seqs of `room` stayed missing HOLE_WAIT_MS: read them from the retention. */
  const fillHoles = async (room: string, want: number[]) => {
    if (link.state() === 'closed') return;
    let found = 0;
    try {
      const raw = await link.cmd.zrangebyscore(retKey(room), want[0]!, want[want.length - 1]!, 'WITHSCORES');
      const need = new Set(want);
      for (let i = 0; i < raw.length; i += 2) {
        const seq = Number(raw[i + 1]);
        if (!need.has(seq)) continue;
        found++;
        emit({ kind: 'message', room, seq, text: raw[i]!, origin: 'retention' });
      }
    } catch (err) {
      log(`wsbench redis bus: reading holes of room ${room} failed: ${(err as Error).message}`);
    }
    counters.holesFilled += found;
    counters.holesMissing += want.length - found;
  };
  const holes = new HoleTracker({ fill: (room, want) => void fillHoles(room, want), outOfOrder: () => counters.outOfOrder++ });

  /** After the subscriber (re)connects: whatever was published meanwhile is read back from the retention. */
  const catchUp = async () => {
    const rooms = holes.knownPoints();
    for (let i = 0; i < rooms.length; i += BATCH) {
      const batch = rooms.slice(i, i + BATCH);
      const p = link.cmd.pipeline();
      for (const [room, max] of batch) p.zrangebyscore(retKey(room), `(${max}`, '+inf', 'WITHSCORES');
      const res = (await p.exec()) ?? [];
      batch.forEach(([room], j) => {
        const [err, raw] = res[j] ?? [null, []];
        if (err) return;
        const list = raw as string[];
        for (let k = 0; k < list.length; k += 2) {
          const seq = Number(list[k + 1]);
          counters.caughtUp++;
          holes.seen(room, seq, false);
          emit({ kind: 'message', room, seq, text: list[k]!, origin: 'retention' });
        }
      });
    }
  };

  const onMessage = (raw: string) => {
    const m = decodeBusMessage(raw);
    if (!m || m.origin === id) return;
    if (m.kind === 'message') {
      counters.received++;
      holes.seen(m.room, m.seq, true);
    }
    emit(m);
  };

  const link = createRedisLink({
    url: opts.url,
    id,
    channel,
    epochKey: `${prefix}epoch`,
    seqKey,
    floors: () => holes.floors(),
    catchUp,
    onMessage,
    counters,
    log,
  });
  const { cmd, guard, unavailable } = link;

  return {
    kind: 'redis',
    id,
    async nextSeq(room) {
      guard();
      const res = await cmd.multi().incr(seqKey(room)).expire(seqKey(room), seqTtlS).exec().catch(unavailable);
      const [err, value] = res?.[0] ?? [new BusUnavailableError('redis transaction aborted'), 0];
      if (err) unavailable(err);
      const seq = Number(value);
      holes.seen(room, seq, false);
      return seq;
    },
    async lastSeq(room) {
      guard();
      const v = await cmd.get(seqKey(room)).catch(unavailable);
      const seq = v === null ? 0 : Number(v);
      holes.known(room, seq);
      return seq;
    },
    async append(room, entry: RetainedMessage) {
      appendedNow = `${entry.seq}\u0000${room}`;
      if (link.state() !== 'ready') {
        counters.publishFailed++;
        guard();
      }
      const wire = fanout ? encodeBusMessage({ kind: 'message', room, seq: entry.seq, text: entry.text, origin: id }) : '';
      try {
        await cmd.wsbAppend(retKey(room), seqKey(room), retention, entry.seq, entry.text, fanout ? channel : '', wire, retTtlMs, seqTtlS);
        counters.published++;
      } catch (err) {
        counters.publishFailed++;
        unavailable(err);
      }
    },
    async appendNext(room, textPrefix, textSuffix) {
      guard();
      const header = fanout ? wireHeader(id, room) : '';
      const seq = Number(
        await cmd.wsbNextAppend(seqKey(room), retKey(room), retention, textPrefix, textSuffix, fanout ? channel : '', header, retTtlMs, seqTtlS).catch((err) => {
          if (fanout) counters.publishFailed++;
          return unavailable(err);
        }),
      );
      if (fanout) counters.published++;
      holes.seen(room, seq, false);
      return seq;
    },
    async history(room, afterSeq): Promise<HistoryResult> {
      guard();
      const res = await cmd
        .multi()
        .get(seqKey(room))
        .zrangebyscore(retKey(room), `(${afterSeq}`, '+inf', 'WITHSCORES')
        .exec()
        .catch(unavailable);
      if (!res) throw new BusUnavailableError('redis transaction aborted');
      const [[e1, latestRaw], [e2, raw]] = res as [[Error | null, string | null], [Error | null, string[]]];
      if (e1 || e2) throw (e1 ?? e2)!;
      const latest = latestRaw === null ? 0 : Number(latestRaw);
      const entries: RetainedMessage[] = [];
      for (let i = 0; i < raw.length; i += 2) entries.push({ seq: Number(raw[i + 1]), text: raw[i]! });
      holes.known(room, latest);
      return { latest, entries };
    },
    publish(msg) {
      // The append script published it already, atomically with retaining it.
      if (msg.kind === 'message' && appendedNow === `${msg.seq}\u0000${msg.room}`) {
        appendedNow = null;
        return;
      }
      if (link.state() !== 'ready') {
        counters.publishFailed++;
        return;
      }
      cmd.publish(channel, encodeBusMessage(msg)).then(
        () => counters.published++,
        (err) => {
          counters.publishFailed++;
          log(`wsbench redis bus: PUBLISH failed: ${(err as Error).message}`);
        },
      );
    },
    subscribe(handler) {
      subscribers.add(handler);
      return () => subscribers.delete(handler);
    },
    health(): BusHealth {
      const reason = link.healthReason();
      return reason === undefined ? { ok: true } : { ok: false, reason };
    },
    ready: (timeoutMs) => link.ready(timeoutMs),
    stats() {
      return { ...counters, redisStatus: cmd.status, subscriberStatus: link.sub.status };
    },
    async close() {
      if (link.state() === 'closed') return;
      holes.clear();
      subscribers.clear();
      await link.close();
    },
  };
}
