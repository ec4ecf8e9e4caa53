/**
 * Measurements of one harness process (bench/support/harness-child.ts roles), shared by
 * the raw-vs-ws section (bench/harness.bench.ts) and the Socket.IO section
 * (bench/socketio-client.bench.ts): memory per idle client with handshakes per second,
 * and deliveries per harness CPU-second.
 */
import { startChild, type Child } from './children.ts';

type Protocol = 'ws' | 'socketio';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A number with thousands separators and `d` decimals. */
export const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
/** Bytes as KiB with 2 decimals. */
export const kib = (bytes: number): string => fmt(bytes / 1024, 2);
/** `a / b` as `1.23x`. */
export const ratio = (a: number, b: number): string => `${fmt(a / b, 2)}x`;

/**
 * One server child (`server`: the reference ws server; `sio-server`: the bundled Socket.IO
 * server) for a whole part, `fn` given its URL (`url(port)`); stopped whatever happens.
 * The server's own cost is not what the harness sections measure.
 */
export async function withServerChild<T>(role: 'server' | 'sio-server', url: (port: number) => string, fn: (url: string) => Promise<T>): Promise<T> {
  const server = startChild(role);
  try {
    const { port } = await server.first;
    return await fn(url(Number(port)));
  } finally {
    await server.stop();
  }
}

/** Run `fn` with child `c`, then close and stop it whatever happens. */
export async function withChild<T>(c: Child, fn: (c: Child) => Promise<T>): Promise<T> {
  try {
    return await fn(c);
  } finally {
    await c.ask({ cmd: 'close' }).catch(() => {});
    await c.stop();
  }
}

export interface MemoryRun {
  /** RSS growth from the empty process to 10,000 clients, per client (bytes). */
  perClientAt10k: number;
  /** RSS growth from 5,000 to 10,000 clients, per client (bytes). */
  marginal: number;
  /** JS heap growth from 5,000 to 10,000 clients, per client (bytes). */
  heapMarginal: number;
  handshakesPerSec: number;
  /** Harness CPU per connection opened and joined (us). */
  cpuUsPerConnection: number;
}

/** One harness process (after GC): 5,000 clients connected and joined to `url`, then 5,000 more. */
export async function memoryRun(client: string, url: string, protocol: Protocol = 'ws'): Promise<MemoryRun> {
  return withChild(startChild('harness', true), async (h) => {
    const base = await h.ask({ cmd: 'baseline', client, protocol });
    const ramp = { cmd: 'ramp', client, protocol, clients: 5000, url, rate: 100_000, measure: true };
    const a = await h.ask(ramp, 240_000);
    const b = await h.ask(ramp, 240_000);
    if (a.connected !== 5000 || b.connected !== 5000) throw new Error(`${client}: connected ${a.connected} + ${b.connected} of 10000 (${a.firstError ?? b.firstError})`);
    return {
      perClientAt10k: (b.rss - base.rss) / 10_000,
      marginal: (b.rss - a.rss) / 5000,
      heapMarginal: (b.heapUsed - a.heapUsed) / 5000,
      handshakesPerSec: (5000 / a.ms + 5000 / b.ms) * 500,
      cpuUsPerConnection: ((a.cpuMs + b.cpuMs) * 1000) / 10_000,
    };
  });
}

export interface RecvRun {
  deliveriesPerCpuSec: number;
  deliveriesPerSec: number;
  harnessCpuPercent: number;
}

/**
 * `receivers` harness clients in room-0 of `url`; a publisher process (`publisher` role:
 * raw wsbench/1 sockets or socket.io-client) keeps 2 x 32 tagged publishes in flight;
 * 3 s measured after 1 s.
 */
export async function recvRun(client: string, url: string, receivers: number, publisher: 'publisher' | 'sio-publisher', protocol: Protocol = 'ws'): Promise<RecvRun> {
  return withChild(startChild('harness'), async (h) => {
    const r = await h.ask({ cmd: 'ramp', client, protocol, clients: receivers, url, rate: 100_000 });
    if (r.connected !== receivers) throw new Error(`${client}: ${r.connected} of ${receivers} connected (${r.firstError})`);
    const pub = startChild(publisher);
    try {
      await pub.ask({ cmd: 'start', url, room: 'room-0', conns: 2, window: 32, pad: 100 });
      await sleep(1000);
      const m = await h.ask({ cmd: 'recv', ms: 3000 });
      await pub.ask({ cmd: 'stop' });
      return { deliveriesPerCpuSec: m.deliveries / (m.cpuMs / 1000), deliveriesPerSec: m.deliveries / (m.ms / 1000), harnessCpuPercent: (100 * m.cpuMs) / m.ms };
    } finally {
      await pub.stop();
    }
  });
}

export interface LoopRun {
  /** Round trips completed per harness CPU-second. */
  tripsPerCpuSec: number;
  tripsPerSec: number;
  harnessCpuPercent: number;
  /** Share of the harness CPU spent in the kernel (socket writes and reads on loopback). */
  sysShare: number;
}

/**
 * `clients` harness clients (each in its own room) run a scenario loop `await vu.ping()`
 * (or `vu.publish(room)`, acked) then `await vu.sleep(sleepMs)`; `ms` measured after 1 s.
 * `child` starts the harness process (default: this checkout's).
 */
export async function loopRun(url: string, kind: 'ping' | 'publish', clients: number, sleepMs: number, ms: number, child: () => Child = () => startChild('harness')): Promise<LoopRun> {
  return withChild(child(), async (h) => {
    const r = await h.ask({ cmd: 'ramp', client: 'raw', clients, rooms: clients, url, rate: 100_000, loop: kind, sleepMs });
    if (r.connected !== clients) throw new Error(`loop: ${r.connected} of ${clients} connected (${r.firstError})`);
    const m = await h.ask({ cmd: 'loop', ms, warmupMs: 1000 });
    return { tripsPerCpuSec: m.trips / (m.cpuMs / 1000), tripsPerSec: m.trips / (m.ms / 1000), harnessCpuPercent: (100 * m.cpuMs) / m.ms, sysShare: m.sysMs / m.cpuMs };
  });
}

/** The floor for `loopRun`: the same loop on bare sockets (no harness), in a harness process. */
export async function bareLoopRun(url: string, clients: number, sleepMs: number, ms: number, batch = false): Promise<LoopRun> {
  return withChild(startChild('harness'), async (h) => {
    const m = await h.ask({ cmd: 'bare-loop', clients, url, sleepMs, ms, warmupMs: 1000, batch });
    return { tripsPerCpuSec: m.trips / (m.cpuMs / 1000), tripsPerSec: m.trips / (m.ms / 1000), harnessCpuPercent: (100 * m.cpuMs) / m.ms, sysShare: m.sysMs / m.cpuMs };
  });
}

export interface HandshakeRun {
  /** Harness CPU (user + system) per connection opened, welcomed and joined (us). */
  cpuUsPerConnection: number;
  /** Share of that CPU spent in the kernel. */
  sysShare: number;
  /** Connections opened per second by the one harness process. */
  perSec: number;
}

/** One harness process: 5,000 clients connected, welcomed and joined to `url`, then 5,000 more. */
export async function handshakeRun(url: string, child: () => Child = () => startChild('harness', true)): Promise<HandshakeRun> {
  return withChild(child(), async (h) => {
    await h.ask({ cmd: 'baseline', client: 'raw', protocol: 'ws' });
    const ramp = { cmd: 'ramp', client: 'raw', protocol: 'ws', clients: 5000, url, rate: 100_000 };
    const a = await h.ask(ramp, 240_000);
    const b = await h.ask(ramp, 240_000);
    if (a.connected !== 5000 || b.connected !== 5000) throw new Error(`handshakes: connected ${a.connected} + ${b.connected} of 10000 (${a.firstError ?? b.firstError})`);
    const cpuMs = a.cpuMs + b.cpuMs;
    return { cpuUsPerConnection: (cpuMs * 1000) / 10_000, sysShare: (a.sysMs + b.sysMs) / cpuMs, perSec: 10_000 / ((a.ms + b.ms) / 1000) };
  });
}

/** The floor for `handshakeRun`: the same 2 x 5,000 handshakes and joins on bare sockets (no harness). */
export async function bareHandshakeRun(url: string): Promise<HandshakeRun> {
  return withChild(startChild('harness', true), async (h) => {
    const cmd = { cmd: 'bare-handshake', clients: 5000, url, inflight: 256 };
    const a = await h.ask(cmd, 240_000);
    const b = await h.ask(cmd, 240_000);
    const cpuMs = a.cpuMs + b.cpuMs;
    return { cpuUsPerConnection: (cpuMs * 1000) / 10_000, sysShare: (a.sysMs + b.sysMs) / cpuMs, perSec: 10_000 / ((a.ms + b.ms) / 1000) };
  });
}
