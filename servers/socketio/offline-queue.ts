/**
 * Private messages for users with no connection: kept until the user's next
 * connect, then handed over once. In memory for a single node; in Redis (one
 * list per user, taken with an atomic LRANGE + DEL) when several nodes share one,
 * so a message queued on one node is delivered by whichever node the user
 * reconnects to.
 *
 * Bounded (docs/SECURITY.md "Limits"): at most `maxPerUser` entries per
 * user and, in memory, `maxBytes` for the node; a push past either is refused
 * (`full`, the sender gets `queue_full`). Entries expire after `ttlMs`.
 */
import type { Redis } from 'ioredis';
import type { OfflineStats } from '../core/metrics.ts';
import { binaryContent, messageOfRetained } from './binary.ts';

export type { OfflineStats } from '../core/metrics.ts';

/** Caps of an offline queue (the `offline-*` server options). */
export interface OfflineLimits {
  /** Entries per user; 0 = the queue is off (every push refused). */
  maxPerUser: number;
  /** Bytes of every user's entries together (memory queue; Redis keeps its own memory). */
  maxBytes: number;
  /** Age after which an entry is dropped, ms. */
  ttlMs: number;
}

/**
 * The queued text of a private message: its JSON, with a binary `content` (a Buffer from
 * Socket.IO's binary attachment) in base64 and `"binary":true`, as room messages are
 * retained (binary.ts), so that it is handed over as bytes again, as a live one arrives.
 */
export function queuedText(msg: { content: unknown } & Record<string, unknown>): string {
  const bytes = binaryContent(msg);
  return JSON.stringify(bytes ? { ...msg, content: bytes.toString('base64'), binary: true } : msg);
}

/** A queued private message as it is handed over: a binary one gets its content back as a Buffer. */
export function messageOfQueued(text: string): Record<string, unknown> {
  return messageOfRetained(text);
}

/** Whether a private message was queued, or refused by a cap (`queue_full`). */
export type PushResult = 'queued' | 'full';

/** Private messages kept for offline users (see the module comment). */
export interface OfflineQueue {
  readonly kind: 'memory' | 'redis';
  /** Keep `text` (a JSON document) for `user`; `full` when a cap refuses it. */
  push(user: string, text: string): Promise<PushResult>;
  /** Every queued, unexpired message of `user`, oldest first; the queue is emptied. */
  take(user: string): Promise<string[]>;
  stats(): OfflineStats;
  close(): Promise<void>;
}

/** The defaults of the server options. */
export const DEFAULT_OFFLINE_LIMITS: OfflineLimits = { maxPerUser: 100, maxBytes: 16 * 1024 * 1024, ttlMs: 24 * 3600 * 1000 };
/** How often the memory queue drops expired entries, ms. */
const SWEEP_MS = 5000;
/** Per-entry overhead counted on top of the text, bytes. */
const ENTRY_OVERHEAD = 64;

interface Entry {
  /** The text as UTF-8, off the V8 heap (a 60 KB string per entry would be promoted, then die, and churn the old generation). */
  data: Buffer;
  at: number;
  bytes: number;
}

/**
 * The single-node offline queue, in memory, bounded by `limits` (per user, bytes per node, TTL ms); `now` is the clock (ms).
 */
export function createMemoryQueue(limits: OfflineLimits = DEFAULT_OFFLINE_LIMITS, now: () => number = Date.now): OfflineQueue {
  const queues = new Map<string, Entry[]>();
  const counts = { bytes: 0, messages: 0, expired: 0, refused: 0 };
  const dropExpired = (user: string, q: Entry[]) => {
    const cutoff = now() - limits.ttlMs;
    let n = 0;
    while (n < q.length && q[n]!.at <= cutoff) n++;
    for (const e of q.splice(0, n)) {
      counts.bytes -= e.bytes;
      counts.messages--;
      counts.expired++;
    }
    if (q.length === 0) queues.delete(user);
  };
  const sweep = setInterval(() => {
    for (const [user, q] of queues) dropExpired(user, q);
  }, SWEEP_MS);
  sweep.unref();
  return {
    kind: 'memory',
    async push(user, text) {
      const q = queues.get(user);
      if (q) dropExpired(user, q);
      const bytes = Buffer.byteLength(text) + user.length + ENTRY_OVERHEAD;
      if ((queues.get(user)?.length ?? 0) >= limits.maxPerUser || counts.bytes + bytes > limits.maxBytes) {
        counts.refused++;
        return 'full';
      }
      let list = queues.get(user);
      if (!list) queues.set(user, (list = []));
      // Not from the shared pool: a pooled slice would keep its whole 8 KiB slab alive.
      const data = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
      data.write(text, 0, 'utf8');
      list.push({ data, at: now(), bytes });
      counts.bytes += bytes;
      counts.messages++;
      return 'queued';
    },
    async take(user) {
      const q = queues.get(user);
      if (!q) return [];
      dropExpired(user, q);
      queues.delete(user);
      for (const e of q) {
        counts.bytes -= e.bytes;
        counts.messages--;
      }
      return q.map((e) => e.data.toString('utf8'));
    },
    stats: () => ({ users: queues.size, messages: counts.messages, bytes: counts.bytes, expired: counts.expired, refused: counts.refused }),
    async close() {
      clearInterval(sweep);
      queues.clear();
    },
  };
}

// KEYS[1] the user's list; ARGV: max entries, entry, ttl ms. Returns 1 queued, 0 full.
const PUSH_CAPPED = `
if redis.call('LLEN', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

/**
 * The queue in Redis, under `prefix` (the server's `redis-prefix`). Each entry is
 * `<ms since the epoch>|<text>`, so take() drops the expired ones; the whole list
 * expires `ttlMs` after its last push. The node's byte cap does not apply (the
 * entries are in Redis's memory, bounded by the per-user cap and the TTL).
 */
export function createRedisQueue(redis: Redis, limits: OfflineLimits = DEFAULT_OFFLINE_LIMITS, prefix = 'wsb:'): OfflineQueue {
  const key = (user: string) => `${prefix}pmq:{${user}}`;
  const counts = { expired: 0, refused: 0 };
  return {
    kind: 'redis',
    async push(user, text) {
      const ok = await redis.eval(PUSH_CAPPED, 1, key(user), limits.maxPerUser, `${Date.now()}|${text}`, limits.ttlMs);
      if (Number(ok) === 1) return 'queued';
      counts.refused++;
      return 'full';
    },
    async take(user) {
      const res = await redis.multi().lrange(key(user), 0, -1).del(key(user)).exec();
      const first = res?.[0];
      if (!first || first[0]) throw first?.[0] ?? new Error('offline queue: no reply from Redis');
      const cutoff = Date.now() - limits.ttlMs;
      const out: string[] = [];
      for (const raw of first[1] as string[]) {
        const bar = raw.indexOf('|');
        if (Number(raw.slice(0, bar)) <= cutoff) counts.expired++;
        else out.push(raw.slice(bar + 1));
      }
      return out;
    },
    stats: () => ({ users: 0, messages: 0, bytes: 0, ...counts }),
    async close() {},
  };
}
