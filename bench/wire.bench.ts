/**
 * `npm run bench -- wire`: what realistic traffic costs the raw client (issue #17).
 *
 * 1. Deliveries per CPU-second of the raw client's receive path with permessage-deflate
 *    off, on (context takeover) and no-takeover: a `ws` server in a child process (its
 *    CPU is not counted) broadcasts tagged deliveries of 100 B and 4 KiB to 20 raw
 *    clients; this process's CPU from the first send to the last delivery.
 * 2. TLS handshake cost: 200 connections to the bundled server (`servers/main.ts --tls`,
 *    child process) with a full handshake each, with the session resumed, and plain
 *    `ws:`: client CPU per connection, server CPU per connection (its /metrics), and the
 *    median `connect.tls` / whole handshake.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import http from 'node:http';
import os from 'node:os';
import { createRawTransport } from '../src/protocol/raw-transport.ts';
import { nativeCodec } from '../src/protocol/native.ts';
import { SessionCache } from '../src/protocol/tls-client.ts';
import type { DeflateOffer } from '../src/protocol/deflate.ts';
import type { ClientConnection, ConnectionEvents, WireInfo } from '../src/protocol/types.ts';
import { median } from './support/stats.ts';
import type { BenchContext } from './run.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLIENTS = 20;
const MESSAGES = 1000;

/** A ws server that broadcasts `n size` deliveries on request (one stdin line each), printing "sent" when done. */
const BROADCASTER = `
const { WebSocketServer } = require('ws');
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: process.argv[1] === 'on' ? { threshold: 0 } : false });
wss.on('listening', () => console.log(wss.address().port));
const words = ['alpha','bravo','charlie','delta','echo','foxtrot','golf','hotel','india','juliet','kilo','lima','mike','november','oscar','papa'];
let seed = 7;
const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % words.length;
const padOf = (size) => { let s = ''; while (s.length < size) s += words[rnd()] + ' '; return s.slice(0, size); };
require('readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const [n, size] = line.split(' ').map(Number);
  let seq = 0;
  const batch = () => {
    for (let k = 0; k < 50 && seq < n; k++) {
      seq++;
      const msg = '{"type":"message","room":"r","seq":' + seq + ',"from":"u","payload":{"wsb":"1.1.' + seq + '.0","pad":"' + padOf(size) + '"}}';
      for (const c of wss.clients) c.send(msg);
    }
    if (seq < n) setImmediate(batch); else console.log('sent');
  };
  batch();
});
`;

interface Proc {
  proc: ChildProcess;
  lines: AsyncIterator<string>;
}

function spawnNode(args: string[]): Proc {
  const proc = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  process.once('exit', () => proc.kill('SIGKILL'));
  return { proc, lines: createInterface({ input: proc.stdout! })[Symbol.asyncIterator]() };
}

async function nextLine(p: Proc): Promise<string> {
  const r = await p.lines.next();
  if (r.done) throw new Error('child exited');
  return r.value;
}

function stop(p: Proc): Promise<void> {
  return new Promise((resolve) => {
    if (p.proc.exitCode !== null) return resolve();
    p.proc.once('exit', () => resolve());
    p.proc.kill('SIGTERM');
  });
}

/** Events that count deliveries and keep the handshake's phases. */
function events(onDelivery: () => void, onOpen: (w: WireInfo | undefined) => void): ConnectionEvents {
  let wire: WireInfo | undefined;
  return {
    onWire: (w) => (wire = w),
    onOpen: () => onOpen(wire),
    onHeartbeat: () => {},
    onFrame: () => {},
    onDelivery: onDelivery,
    onError: (code, message) => {
      throw new Error(`${code}: ${message}`);
    },
    onClose: () => {},
  };
}

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Deliveries per CPU-second of `CLIENTS` raw clients receiving `MESSAGES` broadcasts of `size` bytes. */
async function receiveRate(port: number, server: Proc, size: number, offer: DeflateOffer | undefined): Promise<{ perCpuSec: number; agreed: string }> {
  const transport = createRawTransport(nativeCodec, { tls: { insecure: false }, sessions: new SessionCache(), deflate: offer });
  let delivered = 0;
  let opened = 0;
  let agreed = 'off';
  let allIn!: () => void;
  const done = new Promise<void>((r) => (allIn = r));
  let allOpen!: () => void;
  const open = new Promise<void>((r) => (allOpen = r));
  const conns: ClientConnection[] = [];
  for (let k = 0; k < CLIENTS; k++) {
    const ev = events(
      () => {
        if (++delivered === CLIENTS * MESSAGES) allIn();
      },
      (w) => {
        agreed = w?.compression ?? 'off';
        if (++opened === CLIENTS) allOpen();
      },
    );
    conns.push(transport.connect({ url: `ws://127.0.0.1:${port}/`, handshakeTimeoutMs: 10_000 }, ev));
  }
  await open;
  const c0 = cpuUs();
  server.proc.stdin!.write(`${MESSAGES} ${size}\n`);
  await done;
  const used = cpuUs() - c0;
  await nextLine(server); // "sent"
  for (const c of conns) c.terminate();
  return { perCpuSec: delivered / (used / 1e6), agreed };
}

async function deflateSection(ctx: BenchContext): Promise<string> {
  const rows: string[] = [];
  const modes: Array<[string, string, DeflateOffer | undefined]> = [
    ['off', 'off', undefined],
    ['on (context takeover)', 'on', { noContextTakeover: false, maxWindowBits: 15 }],
    ['no-takeover', 'on', { noContextTakeover: true, maxWindowBits: 15 }],
  ];
  for (const size of [100, 4096]) {
    let base = 0;
    for (const [label, serverMode, offer] of modes) {
      const server = spawnNode(['-e', BROADCASTER, serverMode]);
      const port = Number(await nextLine(server));
      const rates: number[] = [];
      let agreed = '';
      for (let r = 0; r < ctx.runs; r++) {
        const x = await receiveRate(port, server, size, offer);
        rates.push(x.perCpuSec);
        agreed = x.agreed;
      }
      await stop(server);
      const m = median(rates);
      if (!offer) base = m;
      ctx.log(`${size} B, ${label}: ${Math.round(m)} deliveries per CPU-second (${agreed})`);
      rows.push(`| ${size} B | ${label} | ${Math.round(m).toLocaleString('en-US')} | ${(m / base).toFixed(2)} | ${Math.round(Math.min(...rates)).toLocaleString('en-US')}..${Math.round(Math.max(...rates)).toLocaleString('en-US')} |`);
    }
  }
  return [
    `Raw client receive path: ${CLIENTS} clients, ${MESSAGES} deliveries each per run (a \`ws\` server in a child process broadcasting text that compresses about 3:1; its CPU is not counted), this process's CPU from the first send to the last delivery. Median over ${ctx.runs} runs; "x off" is the ratio to compression off of the same size, in the same run of the bench.`,
    '',
    '| payload | compression | deliveries per CPU-second | x off | range |',
    '| --- | --- | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

/** process_cpu_seconds_total of the bundled server, read from its /metrics. */
function serverCpuSeconds(url: string): Promise<number> {
  const u = new URL(url);
  const get = u.protocol === 'wss:' ? https.get : http.get;
  return new Promise((resolve, reject) => {
    get({ host: u.hostname, port: u.port, path: '/metrics', rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const m = /^process_cpu_seconds_total(?:\{[^}]*\})? ([\d.e+-]+)$/m.exec(body);
        if (m) resolve(Number(m[1]));
        else reject(new Error('no process_cpu_seconds_total in /metrics'));
      });
    }).on('error', reject);
  });
}

const HANDSHAKES = 200;
const IN_FLIGHT = 20;

/** Open HANDSHAKES connections (IN_FLIGHT at a time) and close them; client and server CPU per connection, median phases. */
async function handshakes(url: string, sessions: () => SessionCache): Promise<{ clientUs: number; serverUs: number; tlsUs: number; totalUs: number; resumed: number }> {
  const wires: WireInfo[] = [];
  const s0 = await serverCpuSeconds(url);
  const c0 = cpuUs();
  for (let done = 0; done < HANDSHAKES; done += IN_FLIGHT) {
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, () => {
        const transport = createRawTransport(nativeCodec, { tls: { insecure: true }, sessions: sessions() });
        return new Promise<void>((resolve) => {
          const c = transport.connect(
            { url, handshakeTimeoutMs: 10_000 },
            events(
              () => {},
              (w) => {
                wires.push(w!);
                c.terminate();
                resolve();
              },
            ),
          );
        });
      }),
    );
  }
  const clientUs = (cpuUs() - c0) / HANDSHAKES;
  await new Promise((r) => setTimeout(r, 1200)); // the server's CPU counter is sampled, not exact to the microsecond
  const serverUs = ((await serverCpuSeconds(url)) - s0) * 1e6 / HANDSHAKES;
  return {
    clientUs,
    serverUs,
    tlsUs: median(wires.map((w) => Math.max(0, w.tlsUs))),
    totalUs: median(wires.map((w) => w.tcpUs + Math.max(0, w.tlsUs) + w.upgradeUs)),
    resumed: wires.filter((w) => w.tlsResumed).length,
  };
}

async function startBundled(tls: boolean): Promise<{ p: Proc; url: string }> {
  const p = spawnNode(['--import', 'tsx', 'servers/main.ts', '--port', '0', '--auth', 'off', '--heartbeat-ms', '0', '--rate', '0', '--max-conns-per-user', '100000', ...(tls ? ['--tls'] : [])]);
  return { p, url: await nextLine(p) };
}

async function tlsSection(ctx: BenchContext): Promise<string> {
  const tls = await startBundled(true);
  const plain = await startBundled(false);
  const shared = new SessionCache();
  const cases: Array<[string, string, () => SessionCache]> = [
    ['wss:, full handshake each time', tls.url, () => new SessionCache()],
    ['wss:, session resumed', tls.url, () => shared],
    ['ws: (no TLS)', plain.url, () => shared],
  ];
  // Warm both servers and the shared session.
  await handshakes(tls.url, () => shared);
  await handshakes(plain.url, () => shared);
  const rows: string[] = [];
  for (const [label, url, sessions] of cases) {
    const runs: Array<Awaited<ReturnType<typeof handshakes>>> = [];
    for (let r = 0; r < ctx.runs; r++) runs.push(await handshakes(url, sessions));
    const m = (f: (x: (typeof runs)[number]) => number) => median(runs.map(f));
    ctx.log(`${label}: client ${m((x) => x.clientUs).toFixed(0)} us, server ${m((x) => x.serverUs).toFixed(0)} us CPU per connection; resumed ${m((x) => x.resumed)}/${HANDSHAKES}`);
    rows.push(`| ${label} | ${m((x) => x.clientUs).toFixed(0)} | ${m((x) => x.serverUs).toFixed(0)} | ${url.startsWith('wss') ? (m((x) => x.tlsUs) / 1000).toFixed(2) : '-'} | ${(m((x) => x.totalUs) / 1000).toFixed(2)} | ${m((x) => x.resumed)} of ${HANDSHAKES} |`);
  }
  await stop(tls.p);
  await stop(plain.p);
  return [
    `Handshake cost: ${HANDSHAKES} connections per run, ${IN_FLIGHT} at a time, to the bundled server (\`servers/main.ts --tls\`, self-signed P-256 certificate, TLS 1.3; a child process), each closed once open. CPU per connection: this process (client) and the server's \`process_cpu_seconds_total\`. Medians over ${ctx.runs} runs.`,
    '',
    '| case | client CPU us/conn | server CPU us/conn | connect.tls p50 ms | whole handshake p50 ms | resumed |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
}

export default async function wire(ctx: BenchContext): Promise<string> {
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const deflate = await deflateSection(ctx);
  const tls = await tlsSection(ctx);
  const notes = [
    'Reading: the raw client inflates every message synchronously, in order on the receive path, with a fresh zlib stream (src/protocol/deflate.ts), and with context takeover the connection\'s window (up to 32 KiB) as that stream\'s preset dictionary; the stream setup is a fixed cost per message, which is most of the gap to compression off for small messages (`ws` keeps one asynchronous stream per connection instead).',
    'TLS 1.3 resumption still runs an ECDHE key exchange: it saves the server\'s certificate signature and the client\'s certificate parsing, not the key exchange, so the client\'s CPU per connection hardly moves.',
  ].join(' ');
  return `### permessage-deflate and TLS in the raw client (issue #17)\n\nLoad average at the start (1, 5, 15 min): ${load}.\n\n${deflate}\n\n${tls}\n\n${notes}`;
}
