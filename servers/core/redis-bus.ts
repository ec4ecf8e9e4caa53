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
 * Two connections: commands (offline queue off, so a command while Redis is
 * away fails at once instead of waiting) and the subscriber. ioredis reconnects
 * both by itself.
 *
 * A message's seq is allocated, the message retained and published by one Lua
 * script (appendNext: INCR, ZADD, trim, PUBLISH; with --delay-ms the INCR comes
 * first and append does the rest),
 * so a message is on the channel if and only if it is in the retention, and
 * every subscriber sees messages in the order they entered the retention.
 */
import { Redis } from 'ioredis';
import type { Bus, BusHealth, BusMessage, HistoryResult, RetainedMessage } from './bus.ts';
import { redactIn, redactUrl } from './redact.ts';

/** Default key prefix (per-deployment namespace). */
export const DEFAULT_REDIS_PREFIX = 'wsb:';
/** How long a hole in a room's seqs may stay open before the bus reads it from the retention, in milliseconds. */
export const HOLE_WAIT_MS = 250;
/**
 * After Redis lost its data, nodes refuse publishes for this long (milliseconds)
 * from the moment the new epoch was set, so every reconnecting node has raised
 * the room sequences to what it knows before anyone allocates again. Longer
 * than the reconnect back-off cap (RETRY_CAP_MS).
 */
export const RESTORE_SETTLE_MS = 1500;
/** Reconnect back-off cap in milliseconds (ioredis retries 50, 100, ... up to this). */
export const RETRY_CAP_MS = 500;
/** Rooms whose seqs the bus tracks (holes, catch-up, restore); the oldest are forgotten beyond this. */
export const MAX_TRACKED_ROOMS = 100_000;
/** Seqs per room the hole tracker remembers as missing at once; a larger jump is left to the server's gap report. */
const MAX_MISSING_PER_ROOM = 1000;
const BATCH = 500;

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

export interface RedisBus extends Bus {
  readonly kind: 'redis';
  /** Resolves once both connections are ready and room seqs restored; rejects after `timeoutMs`. */
  ready(timeoutMs: number): Promise<void>;
  stats(): RedisBusStats;
}

/** Thrown (as a rejection) by bus operations while Redis is unavailable; the server answers `unavailable`. */
export class BusUnavailableError extends Error {
  readonly code = 'unavailable';
  constructor(reason: string) {
    super(reason);
    this.name = 'BusUnavailableError';
  }
}

// KEYS[1] ret zset, KEYS[2] seq; ARGV: retention, seq, text, channel, wire, ret ttl ms, seq ttl s
const APPEND_PUBLISH = `
local n = tonumber(ARGV[1])
if n > 0 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  local c = redis.call('ZCARD', KEYS[1])
  if c > n then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, c - n - 1) end
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
redis.call('EXPIRE', KEYS[2], ARGV[7])
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1`;

// KEYS[1] seq, KEYS[2] ret zset; ARGV: retention, text prefix, text suffix, channel ('' = none),
// the wire header after the seq (see encode), ret ttl ms, seq ttl s. Returns the seq.
const NEXT_APPEND = `
local seq = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[7])
local text = ARGV[2] .. seq .. ARGV[3]
local n = tonumber(ARGV[1])
if n > 0 then
  redis.call('ZADD', KEYS[2], seq, text)
  local c = redis.call('ZCARD', KEYS[2])
  if c > n then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, c - n - 1) end
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], 'm' .. seq .. ARGV[5] .. text) end
return seq`;

// KEYS[1] epoch; ARGV[1] candidate value suffix. Returns {epoch value, now ms}.
const EPOCH = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local e = redis.call('GET', KEYS[1])
if not e then
  e = tostring(now) .. ':' .. ARGV[1]
  redis.call('SET', KEYS[1], e)
end
return {e, tostring(now)}`;

// KEYS seq keys; ARGV floors: raise each seq to at least its floor.
const FLOORS = `
for i = 1, #KEYS do
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  local f = tonumber(ARGV[i])
  if f > cur then redis.call('SET', KEYS[i], f) end
end
return 1`;

interface Track {
  /** Highest seq seen (published by anyone, allocated by us, or read from Redis). */
  max: number;
  /** Whether `max` is a real starting point (a read or an earlier seq), so a jump above it is a hole. */
  known: boolean;
  /** Seqs below max not yet seen. */
  missing: Set<number> | null;
  timer: NodeJS.Timeout | null;
}

type State = 'connecting' | 'restoring' | 'settling' | 'ready' | 'closed';

let busCounter = 0;

/** Wire format on the channel: `KIND SEQ ORIGIN ROOMLEN ROOM` + frame text (room by length: it may hold any character). */
function encode(msg: BusMessage): string {
  const seq = msg.kind === 'message' ? msg.seq : 0;
  return `${msg.kind === 'message' ? 'm' : 'p'}${seq} ${msg.origin} ${msg.room.length} ${msg.room}${msg.text}`;
}

function decode(s: string): BusMessage | null {
  const a = s.indexOf(' ');
  const b = s.indexOf(' ', a + 1);
  const c = s.indexOf(' ', b + 1);
  if (a < 2 || b < 0 || c < 0) return null;
  const seq = Number(s.slice(1, a));
  const origin = s.slice(a + 1, b);
  const len = Number(s.slice(b + 1, c));
  const room = s.slice(c + 1, c + 1 + len);
  const text = s.slice(c + 1 + len);
  if (s[0] === 'm') return Number.isSafeInteger(seq) ? { kind: 'message', room, seq, text, origin } : null;
  if (s[0] === 'p') return { kind: 'presence', room, text, origin };
  return null;
}

/**
 * Create a Redis bus and start connecting (resolve `ready()` before serving).
 * Every node of a deployment must use the same `prefix` and `retention`.
 */
export function createRedisBus(opts: RedisBusOptions): RedisBus {
  const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const id = `redis-${opts.nodeId}-${process.pid.toString(36)}-${++busCounter}`;
  const channel = `${prefix}bus`;
  const epochKey = `${prefix}epoch`;
  const seqKey = (room: string) => `${prefix}seq:{${room}}`;
  const retKey = (room: string) => `${prefix}ret:{${room}}`;
  const retTtlMs = opts.retentionAgeMs ?? 3_600_000;
  const seqTtlS = opts.keyTtlS ?? 604_800;
  /** The URL as it may be printed (health reasons, logs): password redacted. */
  const shownUrl = redactUrl(opts.url);

  const retryStrategy = (times: number) => Math.min(times * 50, RETRY_CAP_MS);
  const cmd = new Redis(opts.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    // Fail commands in flight when the connection drops instead of resending them
    // later: a resent INCR would allocate a seq nobody is waiting for.
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    retryStrategy,
    connectionName: `${id}-cmd`,
  });
  const sub = new Redis(opts.url, {
    lazyConnect: true,
    autoResubscribe: false,
    maxRetriesPerRequest: 0,
    retryStrategy,
    connectionName: `${id}-sub`,
  });
  cmd.defineCommand('wsbAppend', { numberOfKeys: 2, lua: APPEND_PUBLISH });
  cmd.defineCommand('wsbEpoch', { numberOfKeys: 1, lua: EPOCH });
  cmd.defineCommand('wsbNextAppend', { numberOfKeys: 2, lua: NEXT_APPEND });
  const floorsScript = { lua: FLOORS };
  type Scripted = Redis & {
    wsbAppend(key: string, seqKey: string, retention: number, seq: number, text: string, channel: string, wire: string, retTtlMs: number, seqTtlS: number): Promise<number>;
    wsbEpoch(key: string, suffix: string): Promise<[string, string]>;
    wsbNextAppend(seqKey: string, retKey: string, retention: number, prefix: string, suffix: string, channel: string, header: string, retTtlMs: number, seqTtlS: number): Promise<number>;
  };
  const scripted = cmd as Scripted;

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
  const tracks = new Map<string, Track>();
  let state: State = 'connecting';
  let subReady = false;
  let everSubReady = false;
  let everCmdReady = false;
  let lastError = '';
  let epoch: string | undefined;
  let settleTimer: NodeJS.Timeout | null = null;
  let restoreTimer: NodeJS.Timeout | null = null;
  /** Set by append(), read by the publish() the server makes right after it: that PUBLISH already happened in the script. */
  let appendedNow: string | null = null;
  const readyWaiters = new Set<() => void>();

  const isUp = () => state === 'ready' && subReady;
  const notifyReady = () => {
    if (isUp()) for (const w of [...readyWaiters]) w();
  };

  // ---- seq tracking (holes, catch-up, restore) ------------------------------

  const track = (room: string): Track => {
    let t = tracks.get(room);
    if (!t) {
      if (tracks.size >= MAX_TRACKED_ROOMS) {
        const oldest = tracks.keys().next().value as string;
        const o = tracks.get(oldest)!;
        if (o.timer) clearTimeout(o.timer);
        tracks.delete(oldest);
      }
      tracks.set(room, (t = { max: 0, known: false, missing: null, timer: null }));
    }
    return t;
  };

  /** Record that `seq` of `room` exists here (arrived, allocated by us, or read); open holes below it. */
  const seen = (room: string, seq: number, fromChannel: boolean) => {
    const t = track(room);
    if (seq > t.max) {
      // The first seq ever seen of a room says nothing about earlier ones (the server's join handles those).
      if (t.known && seq > t.max + 1) {
        t.missing ??= new Set();
        const from = Math.max(t.max + 1, seq - MAX_MISSING_PER_ROOM);
        for (let s = from; s < seq; s++) t.missing.add(s);
        if (!t.timer) {
          t.timer = setTimeout(() => void fillHoles(room, t), HOLE_WAIT_MS);
          t.timer.unref();
        }
      }
      t.max = seq;
      t.known = true;
    } else if (t.missing?.delete(seq)) {
      if (fromChannel) counters.outOfOrder++;
    }
  };

  /** A read told us the room's latest seq: later arrivals above it that skip a seq open a hole. */
  const known = (room: string, latest: number) => {
    const t = track(room);
    if (latest > t.max) t.max = latest;
    t.known = true;
  };

  const emit = (m: BusMessage) => {
    for (const s of subscribers) s(m);
  };

  const fillHoles = async (room: string, t: Track) => {
    t.timer = null;
    if (tracks.get(room) !== t || !t.missing || t.missing.size === 0 || state === 'closed') return;
    const want = [...t.missing].sort((a, b) => a - b);
    t.missing = null;
    let found = 0;
    try {
      const raw = await cmd.zrangebyscore(retKey(room), want[0]!, want[want.length - 1]!, 'WITHSCORES');
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

  /** After the subscriber (re)connects: whatever was published meanwhile is read back from the retention. */
  const catchUp = async () => {
    const rooms = [...tracks].filter(([, t]) => t.known);
    for (let i = 0; i < rooms.length; i += BATCH) {
      const batch = rooms.slice(i, i + BATCH);
      const p = cmd.pipeline();
      for (const [room, t] of batch) p.zrangebyscore(retKey(room), `(${t.max}`, '+inf', 'WITHSCORES');
      const res = (await p.exec()) ?? [];
      batch.forEach(([room], j) => {
        const [err, raw] = res[j] ?? [null, []];
        if (err) return;
        const list = raw as string[];
        for (let k = 0; k < list.length; k += 2) {
          const seq = Number(list[k + 1]);
          counters.caughtUp++;
          seen(room, seq, false);
          emit({ kind: 'message', room, seq, text: list[k]!, origin: 'retention' });
        }
      });
    }
  };

  // ---- connection lifecycle -------------------------------------------------

  const onMessage = (_ch: string, raw: string) => {
    const m = decode(raw);
    if (!m || m.origin === id) return;
    if (m.kind === 'message') {
      counters.received++;
      seen(m.room, m.seq, true);
    }
    emit(m);
  };
  sub.on('message', onMessage);

  /** Raise every room seq this bus knows to at least what it knows (Redis may have restarted empty). */
  const restore = async () => {
    const [value, nowStr] = await scripted.wsbEpoch(epochKey, id);
    const changed = epoch !== undefined && value !== epoch;
    epoch = value;
    const rooms = [...tracks].filter(([, t]) => t.max > 0);
    for (let i = 0; i < rooms.length; i += BATCH) {
      const batch = rooms.slice(i, i + BATCH);
      await cmd.eval(floorsScript.lua, batch.length, ...batch.map(([r]) => seqKey(r)), ...batch.map(([, t]) => t.max));
    }
    if (!changed) return 0;
    counters.restores++;
    log(`wsbench redis bus: Redis lost its data (new epoch); restored ${rooms.length} room seqs, publishes resume after ${RESTORE_SETTLE_MS} ms`);
    const created = Number(value.slice(0, value.indexOf(':')));
    return Math.max(0, created + RESTORE_SETTLE_MS - Number(nowStr));
  };

  const runRestore = () => {
    if (state === 'closed' || cmd.status !== 'ready') return;
    state = 'restoring';
    restore().then(
      (settleMs) => {
        if (state !== 'restoring') return;
        if (settleMs > 0) {
          state = 'settling';
          settleTimer = setTimeout(() => {
            settleTimer = null;
            if (state === 'settling') {
              state = 'ready';
              notifyReady();
            }
          }, settleMs);
          settleTimer.unref();
        } else {
          state = 'ready';
          notifyReady();
        }
      },
      (err) => {
        lastError = (err as Error).message;
        log(`wsbench redis bus: restoring room seqs failed: ${lastError}; retrying`);
        if (state === 'restoring') state = 'connecting';
        restoreTimer = setTimeout(runRestore, RETRY_CAP_MS);
        restoreTimer.unref();
      },
    );
  };

  cmd.on('ready', () => {
    if (everCmdReady) {
      counters.reconnects++;
      log('wsbench redis bus: command connection to Redis is back');
    }
    everCmdReady = true;
    runRestore();
  });
  sub.on('ready', () => {
    const again = everSubReady;
    if (again) counters.reconnects++;
    everSubReady = true;
    sub.subscribe(channel).then(
      async () => {
        subReady = true;
        notifyReady();
        if (again) {
          log('wsbench redis bus: subscriber connection to Redis is back; catching up');
          await catchUp().catch((err) => log(`wsbench redis bus: catch-up failed: ${(err as Error).message}`));
        }
      },
      (err) => {
        lastError = (err as Error).message;
        log(`wsbench redis bus: SUBSCRIBE failed: ${lastError}`);
        sub.disconnect(true);
      },
    );
  });
  const onDown = (which: 'cmd' | 'sub') => () => {
    if (which === 'sub') {
      if (subReady) log('wsbench redis bus: subscriber connection to Redis lost; reconnecting');
      subReady = false;
    } else if (state !== 'closed') {
      if (state !== 'connecting') log('wsbench redis bus: command connection to Redis lost; reconnecting');
      state = 'connecting';
      if (settleTimer) clearTimeout(settleTimer);
      settleTimer = null;
    }
  };
  cmd.on('close', onDown('cmd'));
  sub.on('close', onDown('sub'));
  const onError = (err: Error) => {
    lastError = redactIn(err.message, opts.url);
  };
  cmd.on('error', onError);
  sub.on('error', onError);
  cmd.connect().catch(() => {});
  sub.connect().catch(() => {});

  const healthReason = (): string | undefined => {
    if (state === 'closed') return 'redis bus closed';
    const why = lastError ? `: ${lastError}` : '';
    if (state === 'connecting') return `redis unreachable at ${shownUrl} (${cmd.status})${why}`;
    if (state === 'restoring') return 'redis reconnected; restoring room sequences';
    if (state === 'settling') return 'redis lost its data; waiting for every node to restore room sequences';
    if (!subReady) return `redis subscription down at ${shownUrl} (${sub.status})${why}`;
    return undefined;
  };

  /** Reject with BusUnavailableError while Redis cannot take the operation. */
  const guard = (): void => {
    if (state !== 'ready') {
      counters.refused++;
      throw new BusUnavailableError(healthReason() ?? 'redis unavailable');
    }
  };
  const unavailable = (err: unknown): never => {
    if (err instanceof BusUnavailableError) throw err;
    const msg = (err as Error).message ?? String(err);
    // Connection-level failures are Redis being away, not a bug: report them as unavailable.
    if (cmd.status !== 'ready' || /Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|EPIPE/.test(msg)) {
      counters.refused++;
      throw new BusUnavailableError(`redis unavailable: ${msg}`);
    }
    throw err;
  };

  const bus: RedisBus = {
    kind: 'redis',
    id,
    async nextSeq(room) {
      guard();
      const res = await cmd.multi().incr(seqKey(room)).expire(seqKey(room), seqTtlS).exec().catch(unavailable);
      const [err, value] = res?.[0] ?? [new BusUnavailableError('redis transaction aborted'), 0];
      if (err) unavailable(err);
      const seq = Number(value);
      seen(room, seq, false);
      return seq;
    },
    async lastSeq(room) {
      guard();
      const v = await cmd.get(seqKey(room)).catch(unavailable);
      const seq = v === null ? 0 : Number(v);
      known(room, seq);
      return seq;
    },
    async append(room, entry: RetainedMessage) {
      const key = `${entry.seq}\u0000${room}`;
      appendedNow = key;
      if (state !== 'ready') {
        counters.publishFailed++;
        guard();
      }
      const fanout = opts.fanout !== false;
      const wire = fanout ? encode({ kind: 'message', room, seq: entry.seq, text: entry.text, origin: id }) : '';
      try {
        await scripted.wsbAppend(retKey(room), seqKey(room), Math.max(0, opts.retention), entry.seq, entry.text, fanout ? channel : '', wire, retTtlMs, seqTtlS);
        counters.published++;
      } catch (err) {
        counters.publishFailed++;
        unavailable(err);
      }
    },
    async appendNext(room, prefix, suffix) {
      guard();
      const fanout = opts.fanout !== false;
      const header = fanout ? ` ${id} ${room.length} ${room}` : '';
      const seq = Number(
        await scripted.wsbNextAppend(seqKey(room), retKey(room), Math.max(0, opts.retention), prefix, suffix, fanout ? channel : '', header, retTtlMs, seqTtlS).catch((err) => {
          if (fanout) counters.publishFailed++;
          return unavailable(err);
        }),
      );
      if (fanout) counters.published++;
      seen(room, seq, false);
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
      known(room, latest);
      return { latest, entries };
    },
    publish(msg) {
      if (msg.kind === 'message') {
        // The append script published it already, atomically with retaining it.
        if (appendedNow === `${msg.seq}\u0000${msg.room}`) {
          appendedNow = null;
          return;
        }
      }
      if (state !== 'ready') {
        counters.publishFailed++;
        return;
      }
      cmd.publish(channel, encode(msg)).then(
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
      const reason = healthReason();
      return reason === undefined ? { ok: true } : { ok: false, reason };
    },
    ready(timeoutMs) {
      if (isUp()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          readyWaiters.delete(done);
          resolve();
        };
        const timer = setTimeout(() => {
          readyWaiters.delete(done);
          reject(new Error(`Redis at ${shownUrl} not reachable within ${timeoutMs} ms${lastError ? `: ${lastError}` : ''}`));
        }, timeoutMs);
        readyWaiters.add(done);
      });
    },
    stats() {
      return { ...counters, redisStatus: cmd.status, subscriberStatus: sub.status };
    },
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      if (settleTimer) clearTimeout(settleTimer);
      if (restoreTimer) clearTimeout(restoreTimer);
      for (const t of tracks.values()) if (t.timer) clearTimeout(t.timer);
      tracks.clear();
      subscribers.clear();
      sub.off('message', onMessage);
      const quit = (r: Redis) => (r.status === 'ready' ? r.quit().then(() => {}, () => r.disconnect()) : Promise.resolve(r.disconnect()));
      await Promise.all([quit(cmd), quit(sub)]);
    },
  };
  return bus;
}
