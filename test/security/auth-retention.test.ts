/**
 * The auth matrix (both flavours), the JWT rules added by #13 (canonical
 * signatures, nbf), the RoomLog's budgets and idle-room forgetting with a fake
 * clock, and the Redis keys' TTLs.
 */
import { describe, it, expect, afterEach } from 'vitest';
import { cleanup, startTestServer, upgradeStatus } from '../server-ws/helpers.ts';
import { Client as SioClient, cleanup as cleanupSio, startSio } from '../server-socketio/helpers.ts';
import { signToken, verifyToken, DEV_SECRET } from '../../servers/core/jwt.ts';
import { RoomLog } from '../../servers/core/room-log.ts';
import { createRedisBus } from '../../servers/core/redis-bus.ts';
import { createMemoryQueue } from '../../servers/socketio/offline-queue.ts';
import { redisSkipReason, startRedisForTest } from '../helpers/redis.ts';
import { redisClient } from '../server-redis/helpers.ts';

afterEach(async () => {
  await cleanupSio();
  await cleanup();
});

const now = () => Math.floor(Date.now() / 1000);
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** The same signature with the unused low bits of its last character set: decodes to the same bytes. */
function nonCanonical(token: string): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet.indexOf(s[s.length - 1]!);
  // 32 bytes = 43 characters; the last carries 4 data bits and 2 unused ones.
  const tweaked = alphabet[last | 1]!;
  return `${h}.${p}.${s.slice(0, -1)}${tweaked === s[s.length - 1] ? alphabet[last | 2] : tweaked}`;
}

const matrix: Array<[string, () => string]> = [
  ['garbage', () => 'garbage'],
  ['two parts', () => 'a.b'],
  ['wrong secret', () => signToken({ sub: 'u' }, 'wrong')],
  ['expired', () => signToken({ sub: 'u', exp: now() - 5 }, DEV_SECRET)],
  ['nbf in the future', () => signToken({ sub: 'u', nbf: now() + 3600 }, DEV_SECRET)],
  ['non-canonical signature', () => nonCanonical(signToken({ sub: 'u' }, DEV_SECRET))],
  ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'u', exp: now() + 60 })}.`],
  ['no sub', () => signToken({ sub: '' }, DEV_SECRET)],
  ['rooms not strings', () => signToken({ sub: 'u', rooms: [1] as unknown as string[] }, DEV_SECRET)],
];

describe('auth matrix', () => {
  it('verifyToken refuses each case, and accepts the canonical token and an nbf in the past', () => {
    for (const [name, make] of matrix) expect(verifyToken(make(), DEV_SECRET).ok, name).toBe(false);
    const good = signToken({ sub: 'u', nbf: now() - 10 }, DEV_SECRET);
    expect(verifyToken(good, DEV_SECRET).ok).toBe(true);
    expect(verifyToken(nonCanonical(good), DEV_SECRET)).toEqual({ ok: false, reason: 'malformed token: non-canonical signature encoding' });
  });

  it('native answers 401 and socketio connect_error unauthorized for every case', async () => {
    const s = await startTestServer();
    const io = await startSio();
    for (const [name, make] of matrix) {
      expect(await upgradeStatus(`${s.url}?token=${encodeURIComponent(make())}`), name).toBe(401);
      const c = SioClient.create(io.url, { token: make() });
      const [, data] = await c.next('connect_error');
      expect(data, name).toMatchObject({ code: 'unauthorized' });
    }
    expect(s.stats().connectionsOpened).toBe(0);
  });
});

describe('RoomLog budgets', () => {
  it('keeps the node and room byte budgets, evicts by age, and forgets idle rooms with no member', () => {
    let t = 1_000_000;
    const log = new RoomLog({ retention: 100, roomBytes: 2000, totalBytes: 5000, maxAgeMs: 60_000 }, () => t);
    const text = 'x'.repeat(400);
    for (let r = 0; r < 5; r++) for (let i = 0; i < 10; i++) log.append(`r${r}`, { seq: log.next(`r${r}`), text });
    const st = log.stats();
    expect(st.bytes).toBeLessThanOrEqual(5000);
    expect(st.evictedMessages).toBe(50 - st.messages);
    // Oldest first across rooms: r0 lost everything before r4 lost anything.
    expect(log.history('r0', 0).entries).toEqual([]);
    expect(log.history('r4', 0).entries.length).toBeGreaterThan(0);
    expect(log.history('r0', 0).latest).toBe(10);
    t += 61_000;
    expect(log.history('r4', 0).entries).toEqual([]); // past the age limit, even before a sweep
    log.sweep((room) => room === 'r1');
    expect(log.stats()).toMatchObject({ messages: 0, bytes: 0, rooms: 1, forgottenRooms: 4 });
    expect(log.last('r1')).toBe(10); // a room with a member keeps its seq
    expect(log.last('r2')).toBe(0);
  });

  it('the offline queue expires entries after its TTL and frees their bytes', async () => {
    let t = 0;
    const q = createMemoryQueue({ maxPerUser: 10, maxBytes: 10_000, ttlMs: 1000 }, () => t);
    await q.push('u', 'a');
    t = 500;
    await q.push('u', 'b');
    t = 1200;
    expect(await q.take('u')).toEqual(['b']);
    expect(q.stats()).toMatchObject({ messages: 0, bytes: 0, expired: 1 });
    await q.close();
  });
});

describe.skipIf(redisSkipReason())('Redis keys', () => {
  it('a room seq key and retention key carry TTLs (redis-ttl-s, retention-age-ms)', async () => {
    const redis = await startRedisForTest();
    const bus = createRedisBus({ url: redis.url, retention: 10, nodeId: 'n0', prefix: 'ttl:', retentionAgeMs: 120_000, keyTtlS: 3600, log: () => {} });
    const raw = redisClient(redis.url);
    try {
      await bus.ready(5000);
      await bus.appendNext!('r', '{"seq":', '}');
      await bus.nextSeq('s');
      expect(await raw.ttl('ttl:seq:{r}')).toBeGreaterThan(3500);
      expect(await raw.pttl('ttl:ret:{r}')).toBeGreaterThan(100_000);
      expect(await raw.ttl('ttl:seq:{s}')).toBeGreaterThan(3500);
    } finally {
      raw.disconnect();
      await bus.close();
    }
  });
});

describe('ByteRing', () => {
  it('every record not yet overwritten reads back its text; the ring never outgrows its capacity; overwrites go oldest first', async () => {
    const { ByteRing } = await import('../../servers/core/byte-ring.ts');
    const { rng } = await import('./fuzz-inputs.ts');
    const r = rng(7);
    type Rec = { off: number; len: number; text: string; dead: boolean; n: number };
    const overwritten: number[] = [];
    const ring = new ByteRing<Rec>(10_000, (rec) => {
      rec.dead = true;
      overwritten.push(rec.n);
    });
    const all: Rec[] = [];
    for (let n = 0; n < 3000; n++) {
      const text = `${n}:${'é漢x'.repeat(Math.floor(r() * 300))}`;
      const len = Buffer.byteLength(text);
      all.push(ring.write(text, len, (off) => ({ off, len, text, dead: false, n })));
      expect(ring.allocated).toBeLessThanOrEqual(10_000);
      if (n % 97 === 0) for (const rec of all) if (!rec.dead) expect(ring.read(rec)).toBe(rec.text);
    }
    expect(overwritten).toEqual([...overwritten].sort((a, b) => a - b));
    expect(all.filter((x) => !x.dead).length).toBeGreaterThan(3);
  });
});
