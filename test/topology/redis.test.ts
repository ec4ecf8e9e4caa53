import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isWsbenchError } from '../../src/errors.ts';
import { ping, startRedisServer, type RedisServerHandle } from '../../src/topology/redis.ts';
import { pidAlive, redisSkipReason, startRedisForTest, waitForPidGone } from '../helpers/index.ts';

describe.skipIf(redisSkipReason())('startRedisServer', () => {
  const started: RedisServerHandle[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((r) => r.stop()));
  });

  it('starts on an ephemeral loopback port, answers PING, and stop() leaves nothing', async () => {
    const redis = await startRedisServer();
    started.push(redis);
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    expect(redis.running).toBe(true);
    const pid = redis.pid!;
    expect(pidAlive(pid)).toBe(true);
    expect(await ping(redis.port, 1000)).toBe(true);

    await redis.stop();
    await redis.stop(); // idempotent
    expect(pidAlive(pid)).toBe(false);
    expect(redis.running).toBe(false);
    expect(await ping(redis.port, 500)).toBe(false);
  });

  it('restarts on the same port, after the asked downtime', async () => {
    const redis = await startRedisForTest();
    const { port } = redis;
    const oldPid = redis.pid!;
    const unexpected: unknown[] = [];
    redis.onUnexpectedExit((code, sig) => unexpected.push([code, sig]));

    const t0 = Date.now();
    const restarting = redis.restart(400);
    await waitForPidGone(oldPid, 6000);
    expect(await ping(port, 300)).toBe(false);
    await restarting;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(oldPid);
    expect(await ping(port, 1000)).toBe(true);
    expect(unexpected).toEqual([]);
  });

  it('pause() stops answering, resume() answers again', async () => {
    const redis = await startRedisForTest();
    redis.pause();
    try {
      expect(await ping(redis.port, 300)).toBe(false);
    } finally {
      redis.resume();
    }
    expect(await ping(redis.port, 1000)).toBe(true);
  });

  it('stop() of a paused server still ends it', async () => {
    const redis = await startRedisServer();
    started.push(redis);
    const pid = redis.pid!;
    redis.pause();
    await redis.stop();
    expect(pidAlive(pid)).toBe(false);
  });

  it('an exit nobody asked for fires onUnexpectedExit', async () => {
    const redis = await startRedisForTest();
    const seen = new Promise<[number | null, string | null]>((resolve) => redis.onUnexpectedExit((code, sig) => resolve([code, sig])));
    process.kill(redis.pid!, 'SIGKILL');
    expect(await seen).toEqual([null, 'SIGKILL']);
    expect(redis.running).toBe(false);
  });

  it('removes its temp dir on stop', async () => {
    const before = new Set(tmpRedisDirs());
    const redis = await startRedisServer();
    started.push(redis);
    const mine = tmpRedisDirs().filter((d) => !before.has(d));
    expect(mine.length).toBe(1);
    await redis.stop();
    expect(existsSync(mine[0]!)).toBe(false);
  });

  it('an explicit port that is taken fails with the command and redis output', async () => {
    const redis = await startRedisForTest();
    const e = await startRedisServer({ port: redis.port }).then(
      (r) => (started.push(r), undefined),
      (err: unknown) => err,
    );
    expect(isWsbenchError(e) && e.code).toBe('WSB_ERR_REDIS_START');
    expect((e as Error).message).toContain(`--port ${redis.port}`);
    expect((e as Error).message).toMatch(/address already in use/i);
  });
});

describe('startRedisServer without redis-server', () => {
  it('throws WSB_ERR_REDIS_MISSING with install instructions when redis-server is not on PATH', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'wsbench-empty-path-'));
    const savedPath = process.env.PATH;
    process.env.PATH = empty;
    try {
      const e = await startRedisServer().then(
        async (r) => {
          await r.stop();
          return undefined;
        },
        (err: unknown) => err,
      );
      expect(isWsbenchError(e)).toBe(true);
      if (!isWsbenchError(e)) return;
      expect(e.code).toBe('WSB_ERR_REDIS_MISSING');
      expect(e.exitCode).toBe(3);
      expect(e.message).toContain('apt-get install redis-server');
      expect(e.message).toContain('brew install redis');
      expect(e.message).toContain('--redis URL');
    } finally {
      process.env.PATH = savedPath;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

function tmpRedisDirs(): string[] {
  return readdirSync(os.tmpdir()).filter((n) => n.startsWith('wsbench-redis-')).map((n) => path.join(os.tmpdir(), n));
}
