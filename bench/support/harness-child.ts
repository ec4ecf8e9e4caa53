/**
 * Child processes of bench/harness.bench.ts, selected by WSB_BENCH_ROLE. Each reads
 * JSON commands on stdin, one a line, and answers with one JSON line on stdout.
 *
 * - `server`: the reference server (ws flavour, pre-framed broadcast), auth and heartbeat off.
 * - `harness`: one WorkerRuntime (the engine's per-worker client runtime, as a worker
 *   process runs it) with a real recorder, plus a minimal raw-socket ping probe.
 * - `publisher`: raw sockets that publish tagged payloads to one room as fast as a
 *   window of acks allows: a sender that does not use the harness.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';
import { createRecorder } from '../../src/metrics/index.ts';
import { createTransport } from '../../src/protocol/index.ts';
import { resolveOptions } from '../../src/scenario/options.ts';
import type { ScenarioDefinition } from '../../src/scenario/types.ts';
import { WorkerRuntime, type RuntimeConfig } from '../../src/workers/runtime.ts';
import { clientFrame, OP_TEXT } from '../../src/protocol/raw-frame.ts';

type Cmd = Record<string, unknown> & { cmd: string };
const gc = (globalThis as { gc?: () => void }).gc;
const reply = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function settledRss(): Promise<{ rss: number; heapUsed: number; external: number }> {
  for (let i = 0; i < 4; i++) {
    gc?.();
    await sleep(100);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external + m.arrayBuffers };
}

function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** Start the V8 CPU profiler; the returned function stops it and writes the profile to `file`. */
async function startProfile(file: string): Promise<() => Promise<void>> {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string) => new Promise<any>((res, rej) => session.post(method, (e, r) => (e ? rej(e) : res(r))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = await post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

// ------------------------------------------------------------------ raw probe

const HANDSHAKE = (path: string) =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** A minimal WebSocket client: handshake, then calls `onBytes` with everything read. */
function rawSocket(url: string, onBytes: (b: Buffer) => void): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname, port: Number(u.port), noDelay: true });
    let upgraded = false;
    let head = Buffer.alloc(0);
    sock.once('error', reject);
    sock.on('data', (d: Buffer) => {
      if (upgraded) return onBytes(d);
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!head.toString('latin1', 0, 12).includes('101')) return reject(new Error(head.toString('latin1', 0, end)));
      upgraded = true;
      resolve(sock);
      if (end + 4 < head.length) onBytes(head.subarray(end + 4));
    });
    sock.write(HANDSHAKE(`${u.pathname}${u.search}`));
  });
}

// ------------------------------------------------------------------ harness role

async function harnessRole(): Promise<void> {
  // Each `ramp` adds a runtime with the next slice of client indices (so memory can be
  // measured at 5,000 then 10,000 clients in one process).
  const rts: WorkerRuntime[] = [];
  let total = 0;
  let received = 0;
  const inner = createRecorder();
  const recorder = {
    record: inner.record.bind(inner),
    count(name: string, n = 1) {
      if (name === 'messages.received') received += n;
      inner.count(name, n);
    },
    snapshot: inner.snapshot.bind(inner),
  };
  // Drain the snapshots as a worker does once a second, so histograms do not grow unbounded.
  setInterval(() => inner.snapshot(), 1000).unref();
  const scenario: ScenarioDefinition = { name: 'harness-bench', description: 'bench', publish: false };
  // Round trips completed by scenario loops (`loop` ramps), for the `loop` command.
  let trips = 0;
  const bareSockets: net.Socket[] = [];
  const loopScenario = (kind: string, sleepMs: number): ScenarioDefinition => ({
    ...scenario,
    loop:
      kind === 'publish'
        ? async (vu) => {
            if ((await vu.publish(vu.rooms[0]!)) !== null) trips++;
            await vu.sleep(sleepMs);
          }
        : async (vu) => {
            if ((await vu.ping()) !== null) trips++;
            await vu.sleep(sleepMs);
          },
  });
  const handle = async (m: Cmd): Promise<unknown> => {
    switch (m.cmd) {
      case 'baseline': {
        // Load what the run will load, then measure the process before any client exists.
        const { options } = resolveOptions(scenario, {}, [`client=${m.client}`]);
        await createTransport((m.protocol as 'ws' | 'socketio' | undefined) ?? 'ws', scenario, options);
        return settledRss();
      }
      case 'ramp': {
        const sets = [`client=${m.client}`, `clients=${m.clients}`, `rooms=${m.rooms ?? 1}`, 'publishers=0', `ramp=${m.rate ?? 100000}`, `max-inflight=${m.inflight ?? 256}`, 'request-timeout-ms=20000'];
        const { options, problems } = resolveOptions(scenario, {}, sets);
        if (problems.length) throw new Error(problems.join('; '));
        const scen = m.loop ? loopScenario(String(m.loop), Number(m.sleepMs ?? 20)) : scenario;
        const transport = await createTransport((m.protocol as 'ws' | 'socketio' | undefined) ?? 'ws', scen, options);
        const cfg = {
          workerId: 0,
          options,
          scenario: scen,
          transport,
          fromClient: total,
          toClient: total + Number(m.clients),
          urls: [String(m.url)],
          tokens: { mode: 'none' },
          sourceAddresses: (m.sourceAddresses as string[] | undefined) ?? [],
          spread: [],
          nodeIdentity: false,
          splitNodes: false,
          recorder,
        } as unknown as RuntimeConfig;
        const rt = new WorkerRuntime(cfg);
        total += Number(m.clients);
        rts.push(rt);
        rt.phase = 'ramp';
        const stopProfile = process.env.WSB_BENCH_RAMP_PROFILE ? await startProfile(process.env.WSB_BENCH_RAMP_PROFILE) : undefined;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        const r = await rt.runRamp(options.ramp);
        const ms = performance.now() - t0;
        const u = process.cpuUsage(u0);
        await stopProfile?.();
        rt.phase = 'steady';
        return { ...r, ms, cpuMs: (u.user + u.system) / 1000, sysMs: u.system / 1000, ...(m.measure ? await settledRss() : {}) };
      }
      case 'recv': {
        const r0 = received;
        const c0 = cpuMs();
        const t0 = performance.now();
        await sleep(Number(m.ms));
        return { deliveries: received - r0, cpuMs: cpuMs() - c0, ms: performance.now() - t0 };
      }
      case 'loop': {
        // Every runtime's scenario loop runs for `ms`; round trips completed per harness CPU-second.
        for (const rt of rts) rt.startLoops();
        await sleep(Number(m.warmupMs ?? 1000));
        // WSB_BENCH_LOOP_PROFILE=<file>: a CPU profile of the measured window only.
        const stopProfile = process.env.WSB_BENCH_LOOP_PROFILE ? await startProfile(process.env.WSB_BENCH_LOOP_PROFILE) : undefined;
        const n0 = trips;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        await sleep(Number(m.ms));
        const u = process.cpuUsage(u0);
        await stopProfile?.();
        const out = { trips: trips - n0, cpuMs: (u.user + u.system) / 1000, sysMs: u.system / 1000, ms: performance.now() - t0 };
        for (const rt of rts) rt.stopLoops();
        await sleep(100);
        return out;
      }
      case 'bare-handshake': {
        // The floor for `ramp`: bare sockets (net.connect, the upgrade by hand with a fixed key,
        // a pre-built join frame, replies only looked for in the bytes), at most `inflight`
        // handshakes in flight; kept open until `close`.
        const n = Number(m.clients);
        const inflight = Number(m.inflight ?? 256);
        const join = clientFrame(OP_TEXT, '{"type":"join","id":1,"room":"room-0"}', null);
        let started = 0;
        let done = 0;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        await new Promise<void>((resolve, reject) => {
          const next = (): void => {
            if (started >= n) return;
            started++;
            let joined = false;
            rawSocket(String(m.url), (b) => {
              if (joined || !b.includes('"joined"')) return;
              joined = true;
              if (++done === n) resolve();
              else next();
            }).then((s) => {
              bareSockets.push(s);
              s.write(join);
            }, reject);
          };
          for (let k = 0; k < Math.min(inflight, n); k++) next();
        });
        const u = process.cpuUsage(u0);
        return { connected: done, ms: performance.now() - t0, cpuMs: (u.user + u.system) / 1000, sysMs: u.system / 1000 };
      }
      case 'bare-loop': {
        // The floor: `clients` bare sockets (handshake by hand, one pre-built ping frame, a
        // timer each) doing what the `loop` command's scenario does, with no harness at all.
        const n = Number(m.clients);
        const sleepMs = Number(m.sleepMs ?? 20);
        const frame = clientFrame(OP_TEXT, '{"type":"ping","id":1}', null);
        let done = 0;
        let running = true;
        const batch: Array<[number, () => unknown]> = [];
        const tick = m.batch ? setInterval(() => {
          const now = performance.now();
          let k = 0;
          while (k < batch.length && batch[k]![0] <= now) batch[k++]![1]();
          batch.splice(0, k);
        }, 1) : undefined;
        const socks = await Promise.all(
          Array.from({ length: n }, () => {
            let sock: net.Socket;
            const again = () => running && sock.write(frame);
            return rawSocket(String(m.url), () => {
              done++;
              if (m.batch) batch.push([performance.now() + sleepMs, again]);
              else setTimeout(again, sleepMs);
            }).then((s) => (sock = s));
          }),
        );
        for (const s of socks) s.write(frame);
        await sleep(Number(m.warmupMs ?? 1000));
        const n0 = done;
        const u0 = process.cpuUsage();
        const t0 = performance.now();
        await sleep(Number(m.ms));
        const u = process.cpuUsage(u0);
        const out = { trips: done - n0, cpuMs: (u.user + u.system) / 1000, sysMs: u.system / 1000, ms: performance.now() - t0 };
        running = false;
        clearInterval(tick);
        await sleep(100);
        for (const s of socks) s.destroy();
        return out;
      }
      case 'rtt': {
        // Application pings through the harness (Client.ping: request, transport, decode, pending map)
        // alternating with the same ping from a bare socket that only scans for the reply.
        const c = rts[0]!.clients[0]!;
        let wake: (() => void) | null = null;
        let seen = 0;
        const probe = await rawSocket(String(m.url), (b) => {
          if (b.includes('"pong"')) {
            seen++;
            wake?.();
          }
        });
        const frame = clientFrame(OP_TEXT, '{"type":"ping","id":1}', null);
        const harness: number[] = [];
        const bare: number[] = [];
        for (let i = 0; i < Number(m.n); i++) {
          const h = await c.ping();
          if (h !== null) harness.push(h);
          const want = seen + 1;
          const t = nowUs();
          await new Promise<void>((res) => {
            wake = () => {
              if (seen >= want) res();
            };
            probe.write(frame);
          });
          bare.push(nowUs() - t);
          await sleep(1);
        }
        probe.destroy();
        return { harness, bare };
      }
      case 'close':
        for (const sock of bareSockets.splice(0)) sock.destroy();
        await Promise.all(rts.map((rt) => rt.closeAll(3000)));
        return { ok: true };
    }
    throw new Error(`unknown command ${m.cmd}`);
  };
  serve(handle);
}

// ------------------------------------------------------------------ server role

async function serverRole(): Promise<void> {
  const { createReferenceServer } = await import('../../servers/ws/server.ts');
  const s = await createReferenceServer({ auth: false, rate: 0, heartbeatMs: 0, maxRoomsPerConn: 10 }, { log: () => {} });
  reply({ port: s.port });
  serve(async () => ({ ok: true }));
}

// ------------------------------------------------------------------ publisher role

/** `conns` raw sockets join `room` and publish tagged payloads, each with `window` publishes in flight. */
async function publisherRole(): Promise<void> {
  let running = false;
  let published = 0;
  const socks: net.Socket[] = [];
  const handle = async (m: Cmd): Promise<unknown> => {
    if (m.cmd === 'start') {
      const pad = 'x'.repeat(Number(m.pad ?? 100));
      const room = String(m.room);
      running = true;
      for (let k = 0; k < Number(m.conns ?? 2); k++) {
        let inflight = 0;
        let counter = 0;
        let joined = false;
        // eslint-disable-next-line prefer-const
        let sock: net.Socket;
        const pump = () => {
          while (running && inflight < Number(m.window ?? 64)) {
            inflight++;
            published++;
            sock.write(clientFrame(OP_TEXT, `{"type":"publish","id":${counter},"room":"${room}","payload":{"wsb":"1.${k}.${counter++}.${nowUs()}","pad":"${pad}"},"echo":false}`, null));
          }
        };
        sock = await rawSocket(String(m.url), (b) => {
          // Replies are small unfragmented frames: one ack per "ack".
          let n = 0;
          for (let i = b.indexOf('"ack"'); i >= 0; i = b.indexOf('"ack"', i + 1)) n++;
          if (!joined && b.includes('"joined"')) {
            joined = true;
            pump();
          }
          inflight -= n;
          if (n) pump();
        });
        sock.write(clientFrame(OP_TEXT, `{"type":"join","id":0,"room":"${room}"}`, null));
        socks.push(sock);
      }
      return { ok: true };
    }
    if (m.cmd === 'stop') {
      running = false;
      for (const s of socks) s.destroy();
      return { published };
    }
    throw new Error(`unknown command ${m.cmd}`);
  };
  serve(handle);
}

function serve(handle: (m: Cmd) => Promise<unknown>): void {
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    handle(JSON.parse(line) as Cmd).then(reply, (e: Error) => reply({ error: e.message }));
  });
  process.stdin.on('end', () => process.exit(0));
}

const role = process.env.WSB_BENCH_ROLE;
if (role === 'harness') void harnessRole();
else if (role === 'sio-server' || role === 'sio-publisher') void import('./sio-roles.ts').then((r) => (role === 'sio-server' ? r.sioServerRole(serve, reply) : r.sioPublisherRole(serve)));
else if (role === 'server') void serverRole();
else if (role === 'publisher') void publisherRole();
else {
  process.stderr.write(`unknown WSB_BENCH_ROLE ${role}\n`);
  process.exit(2);
}
