import { onTestFinished } from 'vitest';
import { findRedisServer, startRedisServer, type RedisServerHandle, type RedisServerOptions } from '../../src/topology/redis.ts';

/**
 * Why Redis-dependent tests should be skipped here, or undefined when they must
 * run. Under `CI` they always run, so a missing redis-server fails them loudly
 * instead of skipping silently. Use with `describe.skipIf(redisSkipReason())`.
 */
export function redisSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  return findRedisServer() === undefined ? 'redis-server is not installed (apt-get install redis-server / brew install redis)' : undefined;
}

/**
 * Start a private redis-server on an ephemeral loopback port for a test.
 * Called inside a test, it is stopped when the test finishes (pass or fail);
 * called elsewhere (beforeAll), the caller stops it.
 * A missing redis-server throws (WSB_ERR_REDIS_MISSING), so under CI the test fails.
 */
export async function startRedisForTest(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const redis = await startRedisServer(opts);
  try {
    onTestFinished(() => redis.stop());
  } catch {
    // not inside a test: the caller owns it
  }
  return redis;
}
