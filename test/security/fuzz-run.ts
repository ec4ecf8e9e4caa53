/**
 * Drives the fuzzer's inputs (fuzz-inputs.ts) at a running server: JSON frames
 * over a real WebSocket (native) or Engine.IO websocket (Socket.IO), and raw RFC
 * 6455 violations over TCP. Used by test/security/fuzz.test.ts (a few thousand
 * inputs) and bench/security.bench.ts (100,000+). Bounded: every wait has a timeout.
 */
import net from 'node:net';
import WebSocket from 'ws';
import { nativeFrame, rawViolation, rng, socketIoPacket } from './fuzz-inputs.ts';

export interface FuzzResult {
  /** Inputs written. */
  sent: number;
  /** Connections the server closed (protocol errors) and that were reopened. */
  reconnects: number;
}

const SYNC_EVERY = 250;
/** The rooms fuzz-inputs.ts mostly names; every fuzz connection joins them first. */
const FUZZ_ROOMS = ['a', 'b', 'c'];
const SYNC_TIMEOUT_MS = 10_000;

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
}

/** Resolve with the first message `pred` accepts, or reject after `timeoutMs` or on close. */
function waitFor(ws: WebSocket, pred: (text: string) => boolean, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error, text?: string) => {
      clearTimeout(timer);
      ws.off('message', onMsg);
      ws.off('close', onClose);
      if (err) reject(err);
      else resolve(text!);
    };
    const onMsg = (d: WebSocket.RawData) => {
      const t = d.toString();
      if (pred(t)) done(undefined, t);
    };
    const onClose = () => done(new Error('closed'));
    const timer = setTimeout(() => done(new Error(`no answer in ${timeoutMs} ms`)), timeoutMs);
    ws.on('message', onMsg);
    ws.on('close', onClose);
  });
}

/** `count` fuzzed wsbench/1 frames from `seed` on one connection (reopened when the server closes it). */
export async function fuzzNative(url: string, count: number, seed: number): Promise<FuzzResult> {
  const r = rng(seed);
  const openJoined = async () => {
    const ws = await open(url);
    ws.on('error', () => {});
    for (const room of FUZZ_ROOMS) ws.send(JSON.stringify({ type: 'join', id: `fuzz-join-${room}`, room }));
    return ws;
  };
  let ws = await openJoined();
  let reconnects = 0;
  for (let i = 0; i < count; i++) {
    if (ws.readyState !== WebSocket.OPEN) {
      ws = await openJoined();
      reconnects++;
    }
    ws.send(nativeFrame(r));
    if (i % SYNC_EVERY === SYNC_EVERY - 1) {
      const id = `sync-${i}`;
      ws.send(JSON.stringify({ type: 'ping', id }));
      await waitFor(ws, (t) => t.includes(`"${id}"`), SYNC_TIMEOUT_MS).catch(() => {});
    }
  }
  ws.terminate();
  return { sent: count, reconnects };
}

/** Open a Socket.IO session by hand over Engine.IO's websocket transport (the packets are written raw). */
export async function openSocketIo(base: string, token: string | undefined): Promise<WebSocket> {
  const u = new URL(base);
  const ws = new WebSocket(`ws://${u.host}${u.pathname}/?EIO=4&transport=websocket`);
  ws.on('error', () => {});
  // Listening before the upgrade completes: the open packet can come in the same read as the 101.
  await waitFor(ws, (t) => t.startsWith('0'), 5000);
  const connected = waitFor(ws, (t) => t.startsWith('40'), 5000);
  ws.send(`40${token ? JSON.stringify({ token }) : ''}`);
  await connected;
  // Engine.IO pings: answer so the session stays (the servers under fuzz run without heartbeat anyway).
  ws.on('message', (d) => {
    if (d.toString() === '2') ws.send('3');
  });
  // Members of the rooms the fuzzer names, so its packets reach the handlers past the membership checks.
  for (const room of FUZZ_ROOMS) ws.send(`42["join-room","${room}"]`);
  return ws;
}

/** `count` fuzzed Socket.IO packets from `seed`, on sessions reopened whenever the server ends one. */
export async function fuzzSocketIo(url: string, token: string | undefined, count: number, seed: number): Promise<FuzzResult> {
  const r = rng(seed);
  let ws = await openSocketIo(url, token);
  let reconnects = 0;
  for (let i = 0; i < count; i++) {
    if (ws.readyState !== WebSocket.OPEN) {
      ws = await openSocketIo(url, token);
      reconnects++;
    }
    ws.send(`4${socketIoPacket(r)}`);
    if (i % SYNC_EVERY === SYNC_EVERY - 1) {
      const ack = 2_000_000_000 + i;
      ws.send(`42${ack}["leave-room","sync"]`);
      await waitFor(ws, (t) => t.startsWith(`43${ack}`), SYNC_TIMEOUT_MS).catch(() => {});
    }
  }
  ws.terminate();
  return { sent: count, reconnects };
}

/** Upgrade by hand on a TCP socket; resolves once the 101 arrived (rejects on anything else). */
function rawUpgrade(port: number, path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1', () => {
      sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    let head = '';
    const onData = (d: Buffer) => {
      head += d.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      sock.off('data', onData);
      clearTimeout(timer);
      if (head.startsWith('HTTP/1.1 101')) resolve(sock);
      else {
        sock.destroy();
        reject(new Error(head.split('\r\n')[0]));
      }
    };
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error('no upgrade answer'));
    }, 5000);
    sock.on('data', onData);
    sock.on('error', () => {});
  });
}

/**
 * `count` RFC 6455 violations from `seed`, each on its own upgraded connection at `path`
 * (the native `/ws?token=...`, or Socket.IO's `/socket.io/?EIO=4&transport=websocket`).
 * Resolves with how many connections the server closed by itself within `closeWaitMs`.
 */
export async function fuzzRawFrames(port: number, path: string, count: number, seed: number, closeWaitMs = 1000): Promise<{ sent: number; closedByServer: number }> {
  const r = rng(seed);
  let closedByServer = 0;
  const one = async () => {
    const v = rawViolation(r);
    const sock = await rawUpgrade(port, path);
    const closed = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), closeWaitMs);
      sock.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    sock.write(v.bytes);
    if (await closed) closedByServer++;
    sock.destroy();
  };
  // A few at a time: enough to keep the server busy, bounded in descriptors.
  const PARALLEL = 16;
  for (let i = 0; i < count; i += PARALLEL) await Promise.all(Array.from({ length: Math.min(PARALLEL, count - i) }, one));
  return { sent: count, closedByServer };
}
