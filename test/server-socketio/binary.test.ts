/**
 * Binary messages on the Socket.IO flavour (servers/socketio/binary.ts, PROTOCOL.md "Binary
 * frames"): a `message` whose content is a Buffer reaches the members as a Buffer, live, in a
 * replay from the retention (`join-room` with since), and across two nodes over Redis.
 */
import { describe, it, expect, afterEach, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Decoder } from 'socket.io-parser';
import { redisSkipReason, startRedisForTest } from '../helpers/index.ts';
import { Client, cleanup, startSio, until, spawnMain } from './helpers.ts';
import { binaryDeliveryOf, binaryPublishPacket, readTaggedBytes, taggedBytes } from '../../src/protocol/socketio-binary.ts';
import { DEFAULT_SOCKETIO_NAMES } from '../../src/protocol/socketio-names.ts';
import { runCli } from '../support/cli.ts';
import type { Report } from '../../src/report/schema.ts';

afterEach(cleanup);

/** Bytes that are not valid UTF-8 and include every byte value, so any text detour would show. */
const BYTES = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));

describe('socket.io flavour: binary messages', () => {
  it('relays a Buffer content as bytes, live and replayed from the retention, beside text messages in one seq', async () => {
    const s = await startSio({ rate: 0 });
    const a = await Client.open(s.url, { user: 'alice' });
    const b = await Client.open(s.url, { user: 'bob' });
    await a.join('r');
    await b.join('r');
    expect(await a.ack('message', { roomId: 'r', content: 'text first' })).toMatchObject({ success: true, seq: 1 });
    expect(await a.ack('message', { roomId: 'r', content: BYTES, type: 'blob' })).toMatchObject({ success: true, seq: 2 });
    await until(() => b.all('new-message').length === 2, 3000, 'two messages');
    const [text, bin] = b.all('new-message').map(([m]) => m);
    expect(text).toMatchObject({ seq: 1, content: 'text first' });
    expect(bin).toMatchObject({ seq: 2, roomId: 'r', userId: 'alice', type: 'blob' });
    expect(Buffer.isBuffer(bin.content)).toBe(true);
    expect(Buffer.compare(bin.content, BYTES)).toBe(0);
    expect(bin).not.toHaveProperty('binary');
    // A late member resumes from 0: both come back from the retention, the binary one still bytes.
    const late = await Client.open(s.url, { user: 'late' });
    expect(await late.ack('join-room', 'r', { since: 0 })).toMatchObject({ success: true, seq: 2 });
    await until(() => late.all('new-message').length === 2, 3000, 'two replays');
    const replays = late.all('new-message').map(([m]) => m);
    expect(replays.map((m) => [m.seq, m.replay])).toEqual([[1, true], [2, true]]);
    expect(Buffer.isBuffer(replays[1].content) && Buffer.compare(replays[1].content, BYTES)).toBe(0);
    // A live binary message after the replay passes the resume hold in order.
    await a.ack('message', { roomId: 'r', content: BYTES.subarray(0, 10) });
    await until(() => late.all('new-message').length === 3, 3000, 'the live one');
    expect(late.all('new-message')[2]![0]).toMatchObject({ seq: 3 });
    expect(Buffer.compare(late.all('new-message')[2]![0].content, BYTES.subarray(0, 10))).toBe(0);
  });

  it.skipIf(redisSkipReason())('two nodes over Redis (pub/sub and streams adapters): the other node’s members get the bytes', async () => {
    const redis = await startRedisForTest();
    for (const adapter of ['redis', 'redis-streams']) {
      const nodes = await Promise.all(
        ['a', 'b'].map(async (id) => {
          const m = spawnMain(['--protocol', 'socketio', '--redis', redis.url, '--adapter', adapter, '--node-id', `${adapter}-${id}`, '--rate', '0']);
          const [url] = await m.firstLines(2);
          return { m, url: url! };
        }),
      );
      const room = `bin-${adapter}`;
      const x = await Client.open(nodes[0]!.url, { user: 'x' });
      const y = await Client.open(nodes[1]!.url, { user: 'y' });
      await x.join(room);
      await y.join(room);
      await new Promise((r) => setTimeout(r, 100));
      for (let i = 0; i < 3; i++) await x.ack('message', { roomId: room, content: BYTES });
      await until(() => y.all('new-message').length === 3, 5000, `3 messages over ${adapter}`);
      for (const [m] of y.all('new-message')) expect(Buffer.isBuffer(m.content) && Buffer.compare(m.content, BYTES)).toBe(0);
      expect(y.all('new-message').map(([m]) => m.seq)).toEqual([1, 2, 3]);
      for (const n of nodes) n.m.child.kill('SIGTERM');
      for (const n of nodes) expect((await n.m.exited).code).toBe(0);
    }
  }, 40_000);
});

describe('the lean client’s binary publish (src/protocol/socketio-binary.ts)', () => {
  it('is what socket.io-parser decodes: a message with a Buffer content carrying the tag header', () => {
    const text = binaryPublishPacket(4 * 7 + 2, '"message"', '"roomId"', 'r"1', '"content"');
    const bytes = taggedBytes('3.14.15.9265', 'pppp');
    const decoded: unknown[] = [];
    const d = new Decoder();
    d.on('decoded', (p) => {
      decoded.push(p);
    });
    // The Engine.IO `4` is the transport's; the parser gets the Socket.IO packet and then the attachment.
    d.add(text.slice(1));
    d.add(bytes);
    expect(decoded).toHaveLength(1);
    const p = decoded[0] as { data: [string, { roomId: string; content: Buffer }]; id: number };
    expect(p.id).toBe(30);
    expect(p.data[0]).toBe('message');
    expect(p.data[1].roomId).toBe('r"1');
    expect(Buffer.isBuffer(p.data[1].content)).toBe(true);
    const out = { roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false };
    expect(readTaggedBytes(p.data[1].content, 0, p.data[1].content.length, out)).toBe(true);
    expect(out).toMatchObject({ node: 3, pub: 14, counter: 15, sendUs: 9265 });
    expect(p.data[1].content.subarray(-4).toString()).toBe('pppp');
    // Not a tag: refused.
    expect(readTaggedBytes(Buffer.from([5, 49, 50]), 0, 3, out)).toBe(false);
  });

  it('recognises a server message announced with a placeholder, and nothing else', () => {
    const n = DEFAULT_SOCKETIO_NAMES;
    const ph = { _placeholder: true, num: 0 };
    expect(binaryDeliveryOf(['new-message', { roomId: 'r', seq: 4, content: ph, replay: true }], n)).toEqual({ room: 'r', seq: 4, replay: true });
    expect(binaryDeliveryOf(['new-message', { roomId: 'r', content: ph }], n)).toEqual({ room: 'r', seq: -1, replay: false });
    expect(binaryDeliveryOf(['new-message', { roomId: 'r', seq: 4, content: 'text' }], n)).toBeUndefined();
    expect(binaryDeliveryOf(['typing', { roomId: 'r', content: ph }], n)).toBeUndefined();
  });
});

describe('wsbench run --protocol socketio --set binary=on (the lean client against the bundled Socket.IO server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-sio-binary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const report = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Report;

  it('reconnect-storm: every message arrives once and in order through live binary events, session recovery and replays', async () => {
    const r = await runCli(['run', 'reconnect-storm', '--protocol', 'socketio', '--quiet', '--clients', '30', '--rate', '30', '--payload-bytes', '2KiB', '--warmup', '300ms', '--duration', '3s', '--cooldown', '700ms', '--set', 'storm-at=800ms', '--set', 'backoff-base-ms=300', '--set', 'backoff-cap-ms=600', '--set', 'binary=on', '--out', join(dir, 'storm.json')], { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    const rep = report('storm.json');
    expect(rep.counters['reconnects']).toBe(30);
    expect(rep.counters['errors.bad_frame']).toBeUndefined();
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    // Text content would carry no tag the binary reader finds: deliveries prove the bytes came back.
    expect(rep.ledger.delivered).toBeGreaterThan(100);
  }, 90_000);

  it.skipIf(redisSkipReason())('redis-fanout: binary messages cross Socket.IO nodes through the Redis adapter, exact ledger', async () => {
    const r = await runCli(['run', 'redis-fanout', '--protocol', 'socketio', '--quiet', '--clients', '30', '--rate', '15', '--payload-bytes', '1KiB', '--warmup', '500ms', '--duration', '2s', '--cooldown', '800ms', '--set', 'binary=on', '--out', join(dir, 'fanout.json')], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    const rep = report('fanout.json');
    expect(rep.metrics['fanout.remote']?.count).toBeGreaterThan(0);
    expect(rep.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
  }, 90_000);
});
