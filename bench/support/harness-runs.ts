/**
 * Measurements of one harness process (bench/support/harness-child.ts roles), shared by
 * the raw-vs-ws section (bench/harness.bench.ts) and the Socket.IO section
 * (bench/socketio-client.bench.ts): memory per idle client with handshakes per second,
 * and deliveries per harness CPU-second.
 */
import { startChild, type Child } from './children.ts';

type Protocol = 'ws' | 'socketio';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
