/**
 * `npm run bench -- server`: the reference server's broadcast cost and memory.
 *
 * 1. Deliveries per second from one server process: one room of 1,000 members,
 *    100-byte payloads, one publisher keeping a window of publishes in flight
 *    (echo:false), pre-framed broadcast vs plain `ws.send` per member, same run.
 * 2. Server RSS per idle connection at 10,000 connections (after GC).
 *
 * Receivers are as cheap as possible: raw TCP sockets in a child process that do
 * the WebSocket handshake by hand and only count frames. This file is also that
 * child (and the server child), selected by WSB_BENCH_ROLE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';
import { getHeapSpaceStatistics } from 'node:v8';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './run.ts';
import { median } from './support/stats.ts';

const SELF = fileURLToPath(import.meta.url);
const MEMBERS = 1000;
const IDLE_CONNECTIONS = 10_000;
const PAYLOAD_BYTES = 100;
const WINDOW = 64;
const WARMUP_MS = 1000;
const MEASURE_MS = 2500;

type Ctx = BenchContext;

// ---------------------------------------------------------------- raw client

const HANDSHAKE =
  'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/** A masked client text frame with an all-zero mask key (valid per RFC 6455, and the payload stays as is). */
function clientFrame(text: string): Buffer {
  const data = Buffer.from(text);
  const n = data.length;
  const head = n < 126 ? Buffer.from([0x81, 0x80 | n, 0, 0, 0, 0]) : Buffer.from([0x81, 0x80 | 126, n >> 8, n & 255, 0, 0, 0, 0]);
  return Buffer.concat([head, data]);
}

/** Counts server frames on a raw socket; parses only frame headers. */
class RawConn {
  frames = 0;
  private skip = 0;
  private stash: Buffer | null = null;
  private upgraded = false;
  private http = '';
  onFrames: ((n: number) => void) | null = null;
  readonly ready: Promise<void>;

  constructor(readonly sock: net.Socket) {
    let resolveReady!: () => void;
    this.ready = new Promise((r) => (resolveReady = r));
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('data', (chunk: Buffer) => {
      if (!this.upgraded) {
        this.http += chunk.toString('latin1');
        const end = this.http.indexOf('\r\n\r\n');
        if (end === -1) return;
        if (!this.http.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${this.http.split('\r\n')[0]}`);
        this.upgraded = true;
        chunk = Buffer.from(this.http.slice(end + 4), 'latin1');
        this.http = '';
        resolveReady();
      }
      this.parse(chunk);
    });
    sock.write(HANDSHAKE);
  }

  private parse(chunk: Buffer): void {
    if (this.stash) {
      chunk = Buffer.concat([this.stash, chunk]);
      this.stash = null;
    }
    let i = 0;
    let n = 0;
    const len = chunk.length;
    while (i < len) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, len - i);
        this.skip -= take;
        i += take;
        continue;
      }
      if (len - i < 2) break;
      const b1 = chunk[i + 1]! & 0x7f;
      const hl = b1 === 126 ? 4 : b1 === 127 ? 10 : 2;
      if (len - i < hl) break;
      this.skip = b1 === 126 ? chunk.readUInt16BE(i + 2) : b1 === 127 ? Number(chunk.readBigUInt64BE(i + 2)) : b1;
      i += hl;
      n++;
    }
    if (i < len && this.skip === 0) this.stash = chunk.subarray(i);
    this.frames += n;
    if (n && this.onFrames) this.onFrames(n);
  }
}

function connectRaw(port: number, localAddress?: string): Promise<RawConn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ port, host: '127.0.0.1', localAddress });
    sock.once('error', reject);
    sock.once('connect', () => {
      const c = new RawConn(sock);
      c.ready.then(() => resolve(c), reject);
    });
  });
}

async function connectMany(port: number, n: number, localAddrs: string[]): Promise<RawConn[]> {
  const out: RawConn[] = [];
  const BATCH = 200;
  for (let i = 0; i < n; i += BATCH) {
    const batch = await Promise.all(Array.from({ length: Math.min(BATCH, n - i) }, (_, k) => connectRaw(port, localAddrs[(i + k) % localAddrs.length])));
    out.push(...batch);
  }
  return out;
}

// ---------------------------------------------------------------- child roles

/** Longest wait for V8 to shrink an idle process's young generation (its memory reducer starts about 8 s after a full GC). */
const SETTLE_MAX_MS = 30_000;
/** Young generation size counted as handed back. */
const YOUNG_SETTLED_BYTES = 1 << 20;

/** Resolves once the new space holds at most YOUNG_SETTLED_BYTES of memory, or after SETTLE_MAX_MS. */
async function youngGenerationReturned(): Promise<void> {
  const deadline = Date.now() + SETTLE_MAX_MS;
  const young = () => getHeapSpaceStatistics().find((sp) => sp.space_name === 'new_space')?.physical_space_size ?? 0;
  while (young() > YOUNG_SETTLED_BYTES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
}

/** `name=MiB` of each V8 heap space's memory (for the log). */
function heapSpaces(): string {
  return getHeapSpaceStatistics()
    .filter((sp) => sp.physical_space_size > 0)
    .map((sp) => `${sp.space_name}=${(sp.physical_space_size / 2 ** 20).toFixed(1)}M`)
    .join(' ');
}

/** Server child: two servers in one process (pre-framed and plain send) plus an RSS probe on stdin. */
async function serverRole(): Promise<void> {
  // The memory figure is for the server as bundled nodes run it: compiled (dist/, built by prebench).
  const compiled = process.env.WSB_BENCH_SERVER === 'memory' && process.env.WSB_BENCH_SERVER_SOURCE !== '1';
  const { createReferenceServer } = (await import(compiled ? '../dist/servers/ws/server.js' : '../servers/ws/server.ts')) as typeof import('../servers/ws/server.ts');
  const base = { auth: false, rate: 0, heartbeatMs: 0, maxRoomsPerConn: 10 };
  const gc = (globalThis as { gc?: () => void }).gc;
  if (process.env.WSB_BENCH_SERVER === 'memory') {
    const s = await createReferenceServer(base);
    process.stdout.write(`${s.port}\n`);
  } else {
    const pre = await createReferenceServer(base, { broadcast: 'preframed' });
    const plain = await createReferenceServer(base, { broadcast: 'send' });
    process.stdout.write(`${pre.port} ${plain.port}\n`);
  }
  // `rss`: RSS 200 ms after full GCs. `rss-settled`: first wait (up to SETTLE_MAX_MS) until V8's
  // memory reducer has handed back the young generation an idle process no longer needs, then the same.
  createInterface({ input: process.stdin }).on('line', (l) => {
    if (l !== 'rss' && l !== 'rss-settled') return;
    void (l === 'rss-settled' ? youngGenerationReturned() : Promise.resolve()).then(() => {
      for (let i = 0; i < 3; i++) gc?.();
      setTimeout(() => {
        gc?.();
        process.stdout.write(`rss ${process.memoryUsage().rss} ${heapSpaces()}\n`);
      }, 200);
    });
  });
  process.stdin.on('end', () => process.exit(0));
}

/** Receivers child: MEMBERS raw sockets join one room; one publishes with a window; counts deliveries. */
async function receiversRole(): Promise<void> {
  const port = Number(process.env.WSB_BENCH_PORT);
  const conns = await connectMany(port, MEMBERS, ['127.0.0.1']);
  let joined = 0;
  const allJoined = new Promise<void>((r) => {
    for (const c of conns) {
      c.frames = 0;
      c.onFrames = () => {
        if (c.frames === 1 && ++joined === MEMBERS) r();
      };
      c.sock.write(clientFrame(JSON.stringify({ type: 'join', id: 1, room: 'bench' })));
    }
  });
  await allJoined;
  const [publisher, ...members] = conns as [RawConn, ...RawConn[]];
  for (const c of conns) c.onFrames = null;
  const payload = 'x'.repeat(PAYLOAD_BYTES - 2); // a JSON string of PAYLOAD_BYTES bytes with its quotes
  let id = 0;
  let inflight = 0;
  const publish = () => {
    while (inflight < WINDOW) {
      inflight++;
      publisher.sock.write(clientFrame(`{"type":"publish","id":${++id},"room":"bench","payload":"${payload}","echo":false}`));
    }
  };
  publisher.onFrames = (n) => {
    inflight -= n;
    publish();
  };
  publish();
  const count = () => members.reduce((a, c) => a + c.frames, 0);
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const c0 = count();
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  const c1 = count();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  publisher.onFrames = null;
  process.stdout.write(`${JSON.stringify({ deliveriesPerSec: (c1 - c0) / secs, publishes: id })}\n`);
  for (const c of conns) c.sock.destroy();
  process.exit(0);
}

/** Idle child: IDLE_CONNECTIONS raw sockets that only complete the handshake, spread over source addresses. */
async function idleRole(): Promise<void> {
  const port = Number(process.env.WSB_BENCH_PORT);
  const octet = 1 + Math.floor(Math.random() * 250);
  const addrs = Array.from({ length: 4 }, (_, i) => `127.${octet}.${i + 1}.1`);
  const conns = await connectMany(port, IDLE_CONNECTIONS, addrs);
  process.stdout.write(`connected ${conns.length}\n`);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

// ---------------------------------------------------------------- parent

function spawnRole(role: string, env: Record<string, string>, nodeArgs: string[] = []): { child: ChildProcess; line(): Promise<string> } {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', SELF], {
    env: { ...process.env, ...env, WSB_BENCH_ROLE: role },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const queue: string[] = [];
  const waiters: Array<(l: string) => void> = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  const line = () =>
    new Promise<string>((resolve, reject) => {
      const q = queue.shift();
      if (q !== undefined) return resolve(q);
      const t = setTimeout(() => reject(new Error(`${role} child: no output in 60 s`)), 60_000);
      waiters.push((l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
  return { child, line };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(t);
      r();
    });
    child.stdin?.end();
    child.kill('SIGTERM');
  });
}


async function measureDeliveries(mode: 'preframed' | 'send', port: number): Promise<number> {
  const r = spawnRole('receivers', { WSB_BENCH_PORT: String(port) });
  try {
    return (JSON.parse(await r.line()) as { deliveriesPerSec: number }).deliveriesPerSec;
  } finally {
    await stop(r.child);
    void mode;
  }
}

interface IdleMemory {
  /** RSS growth per connection, both sides read 200 ms after full GCs. */
  perConnBytes: number;
  /** The same once V8 has handed back the young generation, before and after (see youngGenerationReturned). */
  perConnSettledBytes: number;
  baseRss: number;
  loadedRss: number;
  baseSettledRss: number;
  loadedSettledRss: number;
}

async function measureIdleMemory(log: (l: string) => void): Promise<IdleMemory> {
  const server = spawnRole('server', { WSB_BENCH_SERVER: 'memory' }, ['--expose-gc']);
  const probe = async (cmd: 'rss' | 'rss-settled', what: string) => {
    server.child.stdin!.write(`${cmd}\n`);
    const line = await server.line();
    log(`  ${what}: ${line}`);
    return Number(line.split(' ')[1]);
  };
  try {
    const port = Number(await server.line());
    const baseRss = await probe('rss', 'empty');
    const baseSettledRss = await probe('rss-settled', 'empty, settled');
    const idle = spawnRole('idle', { WSB_BENCH_PORT: String(port) });
    try {
      await idle.line();
      await new Promise((r) => setTimeout(r, 500));
      const loadedRss = await probe('rss', 'loaded');
      const loadedSettledRss = await probe('rss-settled', 'loaded, settled');
      return {
        perConnBytes: (loadedRss - baseRss) / IDLE_CONNECTIONS,
        perConnSettledBytes: (loadedSettledRss - baseSettledRss) / IDLE_CONNECTIONS,
        baseRss,
        loadedRss,
        baseSettledRss,
        loadedSettledRss,
      };
    } finally {
      await stop(idle.child);
    }
  } finally {
    await stop(server.child);
  }
}

export default async function bench(ctx: Ctx): Promise<string> {
  const pre: number[] = [];
  const plain: number[] = [];
  const ratios: number[] = [];
  // WSB_BENCH_SERVER_PART=memory or deliveries: only that part (for working on it).
  const deliveryRuns = process.env.WSB_BENCH_SERVER_PART === 'memory' ? 0 : ctx.runs;
  for (let run = 0; run < deliveryRuns; run++) {
    const server = spawnRole('server', {});
    try {
      const [prePort, plainPort] = (await server.line()).split(' ').map(Number) as [number, number];
      // Alternate the order so a warming machine favours neither.
      const order: Array<'preframed' | 'send'> = run % 2 ? ['send', 'preframed'] : ['preframed', 'send'];
      const got: Record<string, number> = {};
      for (const mode of order) got[mode] = await measureDeliveries(mode, mode === 'preframed' ? prePort : plainPort);
      pre.push(got.preframed!);
      plain.push(got.send!);
      ratios.push(got.preframed! / got.send!);
      ctx.log(`run ${run + 1}: pre-framed ${Math.round(got.preframed!)}/s, ws.send ${Math.round(got.send!)}/s`);
    } finally {
      await stop(server.child);
    }
  }
  const memRuns = process.env.WSB_BENCH_SERVER_PART === 'deliveries' ? 0 : Math.min(ctx.runs, 3);
  const mem: number[] = [];
  const memSettled: number[] = [];
  let last: IdleMemory | undefined;
  for (let run = 0; run < memRuns; run++) {
    const m = await measureIdleMemory(ctx.log);
    mem.push(m.perConnBytes);
    memSettled.push(m.perConnSettledBytes);
    last = m;
    ctx.log(`memory run ${run + 1}: ${(m.perConnSettledBytes / 1024).toFixed(2)} KiB per idle connection settled, ${(m.perConnBytes / 1024).toFixed(2)} KiB right after the handshakes`);
  }
  const mib = (n: number | undefined) => ((n ?? NaN) / 2 ** 20).toFixed(1);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  return [
    '## Reference server (ws flavour)',
    '',
    `One server process; one room of ${MEMBERS.toLocaleString('en-US')} members (raw TCP receivers in a child process that only count frames); one publisher keeping ${WINDOW} publishes of ${PAYLOAD_BYTES}-byte payloads in flight (echo:false); ${MEASURE_MS / 1000} s measured after ${WARMUP_MS / 1000} s warm-up. Medians of ${ctx.runs} runs.`,
    '',
    '| metric | value | target |',
    '| --- | --- | --- |',
    `| deliveries/s, pre-framed broadcast | ${fmt(median(pre))} | >= 500,000 |`,
    `| deliveries/s, \`ws.send\` per member | ${fmt(median(plain))} | |`,
    `| pre-framed / send (median of per-run ratios) | ${median(ratios).toFixed(2)}x | |`,
    `| server RSS per idle connection at ${IDLE_CONNECTIONS.toLocaleString('en-US')} connections, settled (after GC, median of ${memRuns}) | ${(median(memSettled) / 1024).toFixed(2)} KiB | <= 4 KiB |`,
    `| the same read 0.5 s after the last handshake (young generation still grown) | ${(median(mem) / 1024).toFixed(2)} KiB | |`,
    '',
    `Memory: the compiled server (dist/servers/ws/server.js, as bundled nodes run it) in a process of its own, ${IDLE_CONNECTIONS.toLocaleString('en-US')} raw connections that only did the handshake; RSS after three full GCs (\`--expose-gc\`), empty and with the connections open. *Settled*: both read once V8's memory reducer has handed back the young generation (new space at most ${YOUNG_SETTLED_BYTES / 2 ** 20} MiB, waited for up to ${SETTLE_MAX_MS / 1000} s), which an idle server does by itself a few seconds after a burst; the 10,000 handshakes grow the young generation by about 20 MiB that is not per-connection state, and the second row still counts it.`,
    '',
    `1-minute load average at the end: ${loadavg()[0]!.toFixed(1)} (a shared machine).`,
    '',
    `Last memory run: RSS ${mib(last?.baseSettledRss)} MiB empty, ${mib(last?.loadedSettledRss)} MiB with the connections open (settled); ${mib(last?.baseRss)} -> ${mib(last?.loadedRss)} MiB right after.`,
  ].join('\n');
}

const role = process.env.WSB_BENCH_ROLE;
if (role === 'server') await serverRole();
else if (role === 'receivers') await receiversRole();
else if (role === 'idle') await idleRole();
