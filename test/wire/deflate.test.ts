/**
 * permessage-deflate in the raw client: the answer check (RFC 7692), the compressor and
 * decompressor with and without context takeover, and real servers: a `ws` server with
 * perMessageDeflate (deliveries still on the fast path after inflating, publishes
 * compressed and read back by `ws`), and the bundled server's `--compression on` in a
 * CLI run whose ledger is exact.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { acceptAnswer, DeflateSession, deflateOfferOf, offerHeader, type DeflateOffer } from '../../src/protocol/deflate.ts';
import { createRawTransport } from '../../src/protocol/raw-transport.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import { SessionCache, VERIFY_TLS } from '../../src/protocol/tls-client.ts';
import type { ClientConnection } from '../../src/protocol/types.ts';
import type { Report } from '../../src/report/schema.ts';
import { runCli, QUICK } from '../support/cli.ts';
import { record } from './helpers.ts';

const TAKEOVER: DeflateOffer = { noContextTakeover: false, maxWindowBits: 15 };
const NO_TAKEOVER: DeflateOffer = { noContextTakeover: true, maxWindowBits: 15 };

describe('the offer and the answer', () => {
  it('offers what the options say', () => {
    expect(deflateOfferOf({ compression: 'off' })).toBeUndefined();
    expect(offerHeader(deflateOfferOf({ compression: 'on' })!)).toBe('permessage-deflate; client_max_window_bits');
    expect(offerHeader(deflateOfferOf({ compression: 'no-takeover', compressionBits: 10 })!)).toBe(
      'permessage-deflate; client_max_window_bits=10; server_max_window_bits=10; client_no_context_takeover; server_no_context_takeover',
    );
  });

  it('accepts a well-formed answer and reads its parameters', () => {
    expect(acceptAnswer('permessage-deflate; server_no_context_takeover; client_max_window_bits=12', TAKEOVER)).toEqual({
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 12,
    });
  });

  it('refuses answers RFC 7692 does not allow', () => {
    expect(acceptAnswer('x-webkit-deflate-frame', TAKEOVER)).toMatch(/not offered/);
    expect(acceptAnswer('permessage-deflate, permessage-deflate', TAKEOVER)).toMatch(/2 extensions/);
    expect(acceptAnswer('permessage-deflate; foo', TAKEOVER)).toMatch(/unknown/);
    expect(acceptAnswer('permessage-deflate; server_max_window_bits=16', TAKEOVER)).toMatch(/8\.\.15/);
    expect(acceptAnswer('permessage-deflate; server_max_window_bits=12', { noContextTakeover: false, maxWindowBits: 10 })).toMatch(/above the 10 offered/);
    expect(acceptAnswer('permessage-deflate', NO_TAKEOVER)).toMatch(/server_no_context_takeover was asked/);
    expect(acceptAnswer('permessage-deflate; client_max_window_bits=8', TAKEOVER)).toMatch(/window of 8/);
    expect(acceptAnswer('permessage-deflate; server_no_context_takeover; server_no_context_takeover', TAKEOVER)).toMatch(/twice/);
  });
});

describe('a connection compressor and decompressor', () => {
  const agreed = (takeover: boolean) => acceptAnswer(takeover ? 'permessage-deflate' : 'permessage-deflate; server_no_context_takeover; client_no_context_takeover', takeover ? TAKEOVER : NO_TAKEOVER);
  const msg = (k: number) => Buffer.from(`{"type":"message","room":"r","seq":${k},"payload":{"wsb":"1.1.${k}.5","pad":"${'abc'.repeat(50)}"}}`);

  it('with takeover, later messages compress against the earlier ones and still inflate exactly', () => {
    const a = new DeflateSession(agreed(true) as never, 1 << 20);
    const b = new DeflateSession(agreed(true) as never, 1 << 20);
    const sizes: number[] = [];
    for (let k = 0; k < 5; k++) {
      const wire = a.deflate(msg(k));
      sizes.push(wire.length);
      expect(b.inflate(wire, 0, wire.length).equals(msg(k))).toBe(true);
    }
    expect(sizes[4]!).toBeLessThan(sizes[0]! / 2);
  });

  it('without takeover every message stands alone (zlib alone inflates it)', () => {
    const a = new DeflateSession(agreed(false) as never, 1 << 20);
    for (let k = 0; k < 3; k++) {
      const wire = a.deflate(msg(k));
      const alone = zlib.inflateRawSync(Buffer.concat([wire, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      expect(alone.equals(msg(k))).toBe(true);
    }
  });

  it('refuses a message that inflates past the size limit', () => {
    const a = new DeflateSession(agreed(false) as never, 1 << 20);
    const b = new DeflateSession(agreed(false) as never, 1000);
    const wire = a.deflate(Buffer.alloc(5000, 0x61));
    expect(() => b.inflate(wire, 0, wire.length)).toThrow();
  });
});

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function wsServer(perMessageDeflate: ServerOptions['perMessageDeflate']): Promise<{ url: string; conns: WebSocket[]; offers: string[] }> {
  const offers: string[] = [];
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate, verifyClient: (info: { req: { headers: Record<string, unknown> } }) => (offers.push(String(info.req.headers['sec-websocket-extensions'] ?? '')), true) });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const conns: WebSocket[] = [];
  wss.on('connection', (ws) => conns.push(ws));
  cleanups.push(() => new Promise<void>((r) => {
    for (const c of wss.clients) c.terminate();
    wss.close(() => r());
  }));
  return { url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}/ws`, conns, offers };
}

function connect(url: string, offer: DeflateOffer | undefined) {
  const r = record();
  const c: ClientConnection = createRawTransport(nativeCodec, { tls: VERIFY_TLS, sessions: new SessionCache(), deflate: offer }).connect({ url, handshakeTimeoutMs: 5000 }, r.ev);
  cleanups.push(() => c.terminate());
  return { r, c };
}

const DELIVERY = (seq: number) => `{"type":"message","room":"room-z","seq":${seq},"from":"u","payload":{"wsb":"2.4.${seq}.99","pad":"${'p'.repeat(2000)}"}}`;

describe('against a ws server with perMessageDeflate', () => {
  for (const [name, offer, serverOpts, expected] of [
    ['context takeover', TAKEOVER, { threshold: 0 }, 'permessage-deflate; server_max_window_bits=15; client_max_window_bits=15'],
    ['no context takeover both ways', NO_TAKEOVER, { threshold: 0 }, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=15'],
    ['a server that limits its window', { noContextTakeover: false, maxWindowBits: 15 }, { threshold: 0, serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=10; client_max_window_bits=15'],
  ] as const) {
    it(`${name}: deliveries inflate onto the fast path in order, publishes arrive compressed and intact`, async () => {
      const { url, conns, offers } = await wsServer(serverOpts);
      const { r, c } = connect(url, offer);
      await r.opened;
      expect(offers[0]).toBe(offerHeader(offer));
      expect(r.wire[0]!.compression).toBe(expected);
      const got: string[] = [];
      conns[0]!.on('message', (d) => got.push(d.toString()));
      for (let s = 1; s <= 40; s++) conns[0]!.send(DELIVERY(s));
      await r.until(() => r.deliveries.length === 40);
      expect(r.deliveries.map((d) => d.seq)).toEqual(Array.from({ length: 40 }, (_, k) => k + 1));
      expect(r.deliveries.every((d) => d.room === 'room-z' && d.counter === d.seq)).toBe(true);
      expect(r.errors).toEqual([]);
      for (let k = 0; k < 20; k++) c.publish('room-z', k, `1.1.${k}.5`, 'q'.repeat(500 + k));
      await r.until(() => got.length === 20);
      expect(got.map((g) => JSON.parse(g).payload.pad.length)).toEqual(Array.from({ length: 20 }, (_, k) => 500 + k));
      // The server read compressed frames: the bytes it received are far fewer than the text.
      expect((conns[0] as unknown as { _socket: net.Socket })._socket.bytesRead).toBeLessThan(20 * 500);
    });
  }

  it('a server without the extension declines: no compression, nothing else changes', async () => {
    const { url, conns } = await wsServer(false);
    const { r } = connect(url, TAKEOVER);
    await r.opened;
    expect(r.wire[0]!.compression).toBeNull();
    conns[0]!.send(DELIVERY(1));
    await r.until(() => r.deliveries.length === 1);
  });

  it('a compressed frame without an agreement is a protocol error (RSV1 not allowed)', async () => {
    const { url, conns } = await wsServer({ threshold: 0 });
    const { r } = connect(url, undefined);
    await r.opened;
    // The server agreed to nothing, so this raw frame with RSV1 set breaks the protocol.
    (conns[0] as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0xc1, 0x02, 0x61, 0x62]));
    await r.closed;
    expect(r.errors[0]?.[0]).toBe('protocol');
    expect(r.errors[0]?.[1]).toMatch(/reserved bits/);
  });
});

// Independent CLI runs with their own bundled servers, side by side (exact ledgers and counts, no latency bound).
describe.concurrent('the bundled server with --compression on', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wsbench-wire-deflate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a broadcast run with --set compression=on negotiates on every connection and keeps an exact ledger', async () => {
    const out = join(dir, 'on.json');
    const r = await runCli(['run', 'broadcast', '--quiet', ...QUICK, '--clients', '40', '--rooms', '4', '--rate', '40', '--payload-bytes', '4KiB', '--server', 'compression=on', '--set', 'compression=on', '--out', out], { timeoutMs: 60_000 });
    expect(r.stderr).not.toMatch(/wsbench failed/);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.counters['compression.negotiated']).toBe(report.counters['connections.opened']);
    expect(report.counters['compression.server_max_window_bits_15']).toBe(report.counters['connections.opened']);
    expect(report.notes.join('\n')).toMatch(/permessage-deflate: agreed on \d+ of \d+ connections \(server_max_window_bits=15; client_max_window_bits=15\)/);
    expect(report.ledger.lost).toBe(0);
    expect(report.ledger.duplicated).toBe(0);
    expect(report.ledger.delivered).toBeGreaterThan(0);
  }, 90_000);

  it('no-takeover against the server without compression: declined, counted', async () => {
    const out = join(dir, 'declined.json');
    const r = await runCli(['run', 'broadcast', '--quiet', ...QUICK, '--clients', '10', '--rate', '10', '--set', 'compression=no-takeover', '--set', 'compression-bits=12', '--out', out], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    expect(report.counters['compression.declined']).toBe(report.counters['connections.opened']);
    expect(report.counters['compression.negotiated']).toBeUndefined();
  }, 90_000);
});

describe('the sliding window', () => {
  it('always holds the last `size` bytes of everything pushed', async () => {
    const { SlidingWindow } = await import('../../src/protocol/deflate.ts');
    const w = new SlidingWindow(16);
    expect(w.view()).toBeUndefined();
    let all = '';
    for (const piece of ['abc', 'defghij', 'klmnopqrstu', 'v', 'wxyz0123456789ABCDEFG', 'H', 'IJKLMNOPQRSTUV']) {
      w.push(Buffer.from(piece));
      all += piece;
      expect(w.view()!.toString()).toBe(all.slice(-16));
    }
  });
});

describe('the report notes what was negotiated', () => {
  it('names the agreed parameters, the declines and the TLS resumptions', async () => {
    const { wireNotes } = await import('../../src/run/wire-notes.ts');
    expect(wireNotes({ 'connections.opened': 5 })).toEqual([]);
    expect(
      wireNotes({ 'compression.negotiated': 4, 'compression.declined': 1, 'compression.server_no_context_takeover': 4, 'compression.server_max_window_bits_15': 4, 'compression.client_max_window_bits_12': 3, 'tls.full': 2, 'tls.resumed': 3 }),
    ).toEqual([
      'permessage-deflate: agreed on 4 of 5 connections (server_no_context_takeover; server_max_window_bits=15; client_max_window_bits=12 (3)); the server declined it on 1, which ran uncompressed',
      'TLS: 5 handshakes, 3 of them resumed a session (connect.tls times each one)',
    ]);
  });
});

describe('compression with a library client', () => {
  it('is refused before the run, naming the client that cannot offer it', async () => {
    const { clientProblem } = await import('../../src/protocol/index.ts');
    expect(clientProblem('ws', 'ws', 'off', 'on')).toMatch(/compression=on is the raw client's/);
    expect(clientProblem('socketio', 'socket.io-client', 'off', 'no-takeover')).toMatch(/client=socket.io-client does not offer/);
    expect(clientProblem('ws', 'raw', 'off', 'on')).toBeUndefined();
    // Binary goes with the lean clients of both protocols, not with the library clients.
    expect(clientProblem('socketio', 'raw', 'on', 'off')).toBeUndefined();
    expect(clientProblem('ws', 'ws', 'on', 'off')).toMatch(/binary=on is wsbench\/1/);
    expect(clientProblem('socketio', 'socket.io-client', 'on', 'off')).toMatch(/not client=socket.io-client/);
  });
});
