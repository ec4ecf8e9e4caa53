/**
 * Read pacing on real loopback sockets: a stalled reader's backpressure reaches the
 * server, a rate-paced reader reads about its rate, and a stalled lean WebSocket client
 * learns that the server cut it (its probes draw a reset).
 */
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ReadPacer, PROBE_MS } from '../../src/protocol/read-pace.ts';
import { createRawTransport } from '../../src/protocol/raw-transport.ts';
import { nativeCodec } from '../../src/protocol/native.ts';
import type { ConnectionEvents } from '../../src/protocol/types.ts';

const cleanup: Array<() => void> = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

const CHUNK = Buffer.alloc(64 * 1024, 120);

/**
 * A server that writes as fast as its peer takes (at most `limit` bytes: a loopback burst of
 * 50 ms can read over 100 MiB, so a GiB by default); `conns` are its sockets.
 */
async function firehose(limit = 1024 * 1024 * 1024): Promise<{ port: number; conns: net.Socket[] }> {
  const conns: net.Socket[] = [];
  const srv = net.createServer((s) => {
    conns.push(s);
    let sent = 0;
    const pump = () => {
      while (sent < limit && s.write(CHUNK)) sent += CHUNK.length;
    };
    s.on('drain', pump);
    s.on('error', () => {});
    pump();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  cleanup.push(() => {
    for (const s of conns) s.destroy();
    srv.close();
  });
  return { port: (srv.address() as AddressInfo).port, conns };
}

/** A client reading through a pacer set once it connected; `read()` is the byte count so far. */
async function pacedClient(port: number, make: (sock: net.Socket) => ReadPacer): Promise<{ read(): number; pacer: ReadPacer }> {
  let read = 0;
  let pacer: ReadPacer | undefined;
  const sock = net.connect({ port, host: '127.0.0.1', onread: { buffer: Buffer.alloc(64 * 1024), callback: (n: number) => ((read += n), pacer?.consumed(n), true) } });
  cleanup.push(() => {
    pacer?.stop();
    sock.destroy();
  });
  await new Promise<void>((r) => sock.once('connect', () => r()));
  pacer = make(sock);
  return { read: () => read, pacer };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('ReadPacer', () => {
  it('stalled: the client reads nothing more, the server queues megabytes, the probe fires every PROBE_MS', async () => {
    const { port, conns } = await firehose();
    let probes = 0;
    const c = await pacedClient(port, (s) => new ReadPacer(s, { kind: 'stalled' }, () => probes++));
    await sleep(300);
    const before = c.read();
    await sleep(1000);
    expect(c.read()).toBe(before);
    // Backpressure reached the server: its own queue holds what the kernels could not.
    expect(conns[0]!.writableLength).toBeGreaterThan(0);
    expect(probes).toBeGreaterThanOrEqual(Math.floor(1300 / PROBE_MS) - 2);
    c.pacer.stop();
    await sleep(300);
    expect(c.read()).toBeGreaterThan(before);
  });

  it('rate: about the stated bytes per second over two seconds (one read of slack)', async () => {
    const { port } = await firehose();
    const rate = 512 * 1024;
    const c = await pacedClient(port, (s) => new ReadPacer(s, { kind: 'rate', bytesPerSec: rate }, () => {}));
    await sleep(200);
    const from = c.read();
    await sleep(2000);
    const got = c.read() - from;
    // A loaded machine reads late, never early: at most the rate plus one 64 KiB read.
    expect(got).toBeLessThanOrEqual(rate * 2.2 + 64 * 1024);
    expect(got).toBeGreaterThan(rate * 0.5);
  });

  it('burst: reads during the bursts only', async () => {
    const { port } = await firehose();
    const c = await pacedClient(port, (s) => new ReadPacer(s, { kind: 'burst', onMs: 50, offMs: 1500 }, () => {}));
    await sleep(400);
    const paused = c.read();
    await sleep(600);
    // 400..1000 ms lies in the first pause (50..1550 ms; timers may fire late on a loaded machine).
    expect(c.read()).toBe(paused);
    await sleep(1000);
    expect(c.read()).toBeGreaterThan(paused);
  });
});

describe('a stalled lean WebSocket client', () => {
  it('learns soon that the server cut it, although it reads nothing', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => wss.once('listening', () => r()));
    cleanup.push(() => wss.close());
    const big = 'x'.repeat(64 * 1024);
    wss.on('connection', (ws) => {
      ws.send(JSON.stringify({ type: 'welcome' }));
      const t = setInterval(() => {
        for (let i = 0; i < 16; i++) ws.send(big);
        // The server's cut: like the bundled one, it terminates a member whose queue grew past a limit.
        if (ws.bufferedAmount > 2 * 1024 * 1024) ws.terminate();
      }, 20);
      ws.on('close', () => clearInterval(t));
    });
    let closedAt = 0;
    let closeCode: number | string = 0;
    let opened = false;
    const ev: ConnectionEvents = {
      onOpen: () => (opened = true),
      onHeartbeat: () => {},
      onFrame: () => {},
      onDelivery: () => {},
      onError: () => {},
      onClose: (code) => ((closedAt = performance.now()), (closeCode = code)),
    };
    const conn = createRawTransport(nativeCodec).connect({ url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`, handshakeTimeoutMs: 5000 }, ev);
    cleanup.push(() => conn.terminate());
    for (let i = 0; i < 50 && !opened; i++) await sleep(20);
    expect(opened).toBe(true);
    conn.readPace!({ kind: 'stalled' });
    let cutAt = 0;
    wss.clients.forEach((ws) => ws.once('close', () => (cutAt = performance.now())));
    for (let i = 0; i < 150 && !closedAt; i++) await sleep(50);
    expect(cutAt).toBeGreaterThan(0);
    expect(closedAt).toBeGreaterThan(0);
    expect(closeCode).toBe(1006);
    // About two probes after the cut (slack for a loaded machine).
    expect(closedAt - cutAt).toBeLessThan(2 * PROBE_MS + 1500);
  });
});
