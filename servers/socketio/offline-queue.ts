/**
 * Private messages for users with no connection: kept until the user's next
 * connect, then handed over once. In memory for a single node; in Redis (one
 * list per user, taken with an atomic LRANGE + DEL) when several nodes share one,
 * so a message queued on one node is delivered by whichever node the user
 * reconnects to.
 */
import type { Redis } from 'ioredis';

export interface OfflineQueue {
  readonly kind: 'memory' | 'redis';
  /** Keep `text` (a JSON document) for `user`. */
  push(user: string, text: string): Promise<void>;
  /** Every queued message of `user`, oldest first; the queue is emptied. */
  take(user: string): Promise<string[]>;
  close(): Promise<void>;
}

/** Longest queue per user; older entries are dropped first. */
export const OFFLINE_QUEUE_MAX = 1000;
/** Redis keys expire after this many seconds without a new message (7 days). */
const REDIS_TTL_SEC = 7 * 24 * 3600;

export function createMemoryQueue(max = OFFLINE_QUEUE_MAX): OfflineQueue {
  const queues = new Map<string, string[]>();
  return {
    kind: 'memory',
    async push(user, text) {
      let q = queues.get(user);
      if (!q) queues.set(user, (q = []));
      q.push(text);
      if (q.length > max) q.splice(0, q.length - max);
    },
    async take(user) {
      const q = queues.get(user);
      if (!q) return [];
      queues.delete(user);
      return q;
    },
    async close() {
      queues.clear();
    },
  };
}

export function createRedisQueue(redis: Redis, max = OFFLINE_QUEUE_MAX): OfflineQueue {
  const key = (user: string) => `wsb:pmq:{${user}}`;
  return {
    kind: 'redis',
    async push(user, text) {
      await redis.multi().rpush(key(user), text).ltrim(key(user), -max, -1).expire(key(user), REDIS_TTL_SEC).exec();
    },
    async take(user) {
      const res = await redis.multi().lrange(key(user), 0, -1).del(key(user)).exec();
      const first = res?.[0];
      if (!first || first[0]) throw first?.[0] ?? new Error('offline queue: no reply from Redis');
      return first[1] as string[];
    },
    async close() {},
  };
}
