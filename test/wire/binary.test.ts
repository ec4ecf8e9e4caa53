/**
 * Binary frames of wsbench/1: the client's publish read by the server's parser, the
 * server's message read by the client's scan (the contract in docs/PROTOCOL.md), and
 * real runs: the bundled server relays a binary publish as a binary frame to a `ws`
 * client, and a reconnect storm with binary (and compressed) publishes keeps an exact
 * ledger through resumes (binary replays).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { binaryPublish, scanBinaryMessage } from '../../src/protocol/binary-frame.ts';
import { binaryMessageParts, parseBinaryPublish, replayOf, wireOf } from '../../servers/ws/binary.ts';
import { startServer, type StartedServer } from '../../servers/main.ts';
import { resolveServerOptions } from '../../servers/core/options.ts';
import { createRawTransport } from '../../src/protocol/raw-transport.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import { SessionCache, VERIFY_TLS } from '../../src/protocol/tls-client.ts';
import type { ClientConnection } from '../../src/protocol/types.ts';
import type { ScannedDelivery } from '../../src/protocol/native.ts';
import type { Report } from '../../src/report/schema.ts';
import { runCli } from '../support/cli.ts';
import { record } from './helpers.ts';
import { redisSkipReason } from '../helpers/index.ts';

const LIMITS = { maxRoomName: 128, maxDepth: 32 };
const scanned = (): ScannedDelivery => ({ roomStart: 0, roomEnd: 0, seq: 0, node: 0, pub: 0, counter: 0, sendUs: 0, replay: false });

describe('the binary frames', () => {
  it('a client publish is what the server parses: id, room, and the payload with the tag header', () => {
    const frame = binaryPublish('room-ü', 77, '3.4.5.6789', 'ab', 10);
    const parsed = parseBinaryPublish(frame, LIMITS);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.cmd.type !== 'publish') return;
    expect(parsed.cmd).toMatchObject({ id: 77, room: 'room-ü', echo: true });
    const payload = parsed.cmd.payload as Buffer;
    expect(payload[0]).toBe(10);
    expect(payload.toString('latin1', 1)).toBe('3.4.5.6789ababababab');
  });

  it('the server refuses a binary frame that is not a well-formed publish, naming why', () => {
    expect(parseBinaryPublish(Buffer.from([9, 0, 0, 0, 0, 1, 1, 65]), LIMITS)).toMatchObject({ ok: false, problem: { message: expect.stringMatching(/must be publishes/) } });
    expect(parseBinaryPublish(Buffer.from([1, 0, 0, 0, 0, 5, 40, 65]), LIMITS)).toMatchObject({ ok: false, problem: { id: 5, message: expect.stringMatching(/room length/) } });
    expect(parseBinaryPublish(Buffer.from([1, 0, 0, 0, 0, 5, 1, 0x40, 1]), LIMITS)).toMatchObject({ ok: false, problem: { id: 5 } }); // "@" is reserved
  });

  it('a server message (and its replay) is what the client scans: seq, room, tag', () => {
    const payload = binaryPublish('r', 1, '1.2.3.4', 'zz', 6).subarray(8);
    const { prefix, suffix } = binaryMessageParts('room-9', 'user-1', payload);
    const text = `${prefix}12345${suffix}`;
    const live = wireOf(text) as Buffer;
    expect(Buffer.isBuffer(live)).toBe(true);
    const out = scanned();
    expect(scanBinaryMessage(live, 0, live.length, out)).toBe(true);
    expect([live.toString('utf8', out.roomStart, out.roomEnd), out.seq, out.node, out.pub, out.counter, out.sendUs, out.replay]).toEqual(['room-9', 12345, 1, 2, 3, 4, false]);
    const again = wireOf(replayOf(text)) as Buffer;
    expect(scanBinaryMessage(again, 0, again.length, out)).toBe(true);
    expect(out.replay).toBe(true);
    expect(replayOf('{"type":"message","seq":1}')).toBe('{"type":"message","seq":1,"replay":true}');
    // Truncated anywhere: refused, never a wrong delivery.
    for (let cut = 1; cut < live.length - 6; cut++) expect(scanBinaryMessage(live, 0, cut, scanned())).toBe(false);
  });
});

let server: StartedServer;
const open: Array<{ terminate(): void }> = [];
beforeAll(async () => {
  server = await startServer(resolveServerOptions({ auth: false, heartbeatMs: 0, compression: true }), { signals: false, log: () => {} });
});
afterEach(() => {
  for (const c of open.splice(0)) c.terminate();
});
afterAll(() => server?.stop());

describe('the bundled server relays binary', () => {
  for (const compression of [false, true]) {
    it(`a binary publish reaches a ws client as a binary frame, and the publisher's raw client as a delivery${compression ? ' (permessage-deflate on)' : ''}`, async () => {
      const viewer = new WebSocket(server.url, { perMessageDeflate: compression });
      open.push(viewer);
      const got: Array<{ data: Buffer; isBinary: boolean }> = [];
      viewer.on('message', (data: Buffer, isBinary: boolean) => got.push({ data, isBinary }));
      await new Promise((r) => viewer.once('open', r));
      viewer.send(JSON.stringify({ type: 'join', id: 1, room: 'bin' }));
      const r = record();
      const c: ClientConnection = createRawTransport(nativeCodec, { tls: VERIFY_TLS, sessions: new SessionCache(), binary: true, deflate: compression ? { noContextTakeover: false, maxWindowBits: 15 } : undefined }).connect({ url: server.url, handshakeTimeoutMs: 5000 }, r.ev);
      open.push(c);
      await r.until(() => r.frames.includes('welcome'));
      c.join('bin', 1);
      await r.until(() => r.frames.includes('joined'));
      for (let k = 1; k <= 5; k++) c.publish('bin', 10 + k, `1.1.${k}.42`, 'p'.repeat(3000));
      await r.until(() => r.deliveries.length === 5 && r.frames.filter((f) => f === 'ack').length === 5);
      expect(r.deliveries.map((d) => d.counter)).toEqual([1, 2, 3, 4, 5]);
      expect(r.errors).toEqual([]);
      const deadline = Date.now() + 5000;
      while (got.filter((g) => g.isBinary).length < 5 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      const binaries = got.filter((g) => g.isBinary);
      expect(binaries).toHaveLength(5);
      expect(binaries.every((g) => g.data[0] === 0x02 && g.data.length > 3000)).toBe(true);
      if (compression) expect(r.wire[0]!.compression).toMatch(/^permessage-deflate/);
    });
  }

  it('a malformed binary frame is answered bad_request and the connection lives on', async () => {
    const ws = new WebSocket(server.url, { perMessageDeflate: false });
    open.push(ws);
    const texts: string[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => void (!isBinary && texts.push(d.toString())));
    await new Promise((r) => ws.once('open', r));
    ws.send(Buffer.from([7, 7, 7]));
    const deadline = Date.now() + 5000;
    while (!texts.some((t) => t.includes('bad_request')) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
    expect(texts.find((t) => t.includes('bad_request'))).toMatch(/binary frames must be publishes/);
    expect(ws.readyState).toBe(WebSocket.OPEN);
  });
});

describe('wsbench run with --set binary=on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-wire-binary-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reconnect-storm with binary, compressed publishes: everyone back, resumed through binary replays, exact ledger', async () => {
    const out = join(dir, 'storm.json');
    const r = await runCli(['run', 'reconnect-storm', '--quiet', '--clients', '40', '--rate', '30', '--payload-bytes', '2KiB', '--warmup', '300ms', '--duration', '3s', '--cooldown', '700ms', '--set', 'storm-at=800ms', '--set', 'backoff-base-ms=300', '--set', 'backoff-cap-ms=600', '--set', 'binary=on', '--set', 'compression=on', '--server', 'compression=on', '--out', out], { timeoutMs: 90_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.counters['reconnects']).toBe(40);
    expect(report.counters['messages.replayed']).toBeGreaterThan(0);
    expect(report.counters['errors.binary_frame']).toBeUndefined();
    expect(report.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(report.ledger.delivered).toBeGreaterThan(0);
  }, 90_000);

  it.skipIf(redisSkipReason())('redis-fanout with binary publishes: binary messages cross nodes through Redis, exact ledger', async () => {
    const out = join(dir, 'fanout.json');
    const r = await runCli(['run', 'redis-fanout', '--quiet', '--clients', '30', '--rate', '15', '--payload-bytes', '1KiB', '--warmup', '500ms', '--duration', '2s', '--cooldown', '800ms', '--set', 'binary=on', '--out', out], { timeoutMs: 90_000 });
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.metrics['fanout.remote']?.count).toBeGreaterThan(0);
    expect(report.ledger).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(report.counters['errors.binary_frame']).toBeUndefined();
  }, 90_000);

  it('is refused with Socket.IO on socket.io-client, naming why (the lean client speaks it: test/server-socketio/binary.test.ts)', async () => {
    const r = await runCli(['run', 'broadcast', '--protocol', 'socketio', '--clients', '2', '--duration', '1s', '--set', 'binary=on', '--set', 'client=socket.io-client'], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/binary=on with --protocol socketio is the lean client's/);
  }, 60_000);
});
