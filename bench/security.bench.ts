/**
 * `npm run bench -- security` (docs/SECURITY.md): the reference server as an
 * attacker's target, each flavour as its own process (servers/main.ts).
 *
 * 1. The seeded structural fuzzer of test/security at full size: 100,000 JSON
 *    frames (native) and 100,000 Socket.IO packets, plus 2,000 raw RFC 6455
 *    violations per flavour. Passes when the process is still serving, printed
 *    no stack trace and is still alive.
 * 2. The worst-case memory flood with the default budgets: 20 identities, each
 *    inside the rate limit (50 publishes/s), publishing 60 KB messages to rooms
 *    of their own for 12 s (720 MB offered to a 64 MiB retention budget); then
 *    private messages to users who never connect until the offline queue
 *    refuses. RSS is sampled every 200 ms; the node passes when its peak stays
 *    under its idle baseline plus its budgets (retention-bytes, inflight-bytes,
 *    traffic-bytes; socketio also offline-bytes and recovery-bytes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { io as sioConnect } from 'socket.io-client';
import { signToken, DEV_SECRET } from '../servers/core/jwt.ts';
import { fuzzNative, fuzzRawFrames, fuzzSocketIo } from '../test/security/fuzz-run.ts';
import type { BenchContext } from './run.ts';

const MAIN = fileURLToPath(new URL('../servers/main.ts', import.meta.url));
const FUZZ_INPUTS = 100_000;
const RAW_VIOLATIONS = 2_000;
const SEED = 2026;
const FLOOD_CLIENTS = 20;
const FLOOD_RATE = 50;
const FLOOD_MS = 12_000;
const FLOOD_BYTES = 60 * 1024;
const MIB = 1024 * 1024;
/** How long after the flood the node is measured again, ms. */
const AFTER_MS = 5000;

interface Proc {
  child: ChildProcess;
  url: string;
  port: number;
  stderr: string[];
}

async function startMain(args: string[], env: Record<string, string> = {}): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--heartbeat-ms', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const url = await new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start in 20 s')), 20_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(t);
      resolve(l.trim());
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${stderr.join('\n')}`)));
  });
  return { child, url, port: Number(new URL(url).port), stderr };
}

async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

const stats = async (p: Proc): Promise<Record<string, any>> => (await fetch(`http://127.0.0.1:${p.port}/stats`)).json() as Promise<Record<string, any>>;
const healthy = async (p: Proc) => p.child.exitCode === null && (await fetch(`http://127.0.0.1:${p.port}/healthz`).then((r) => r.status, () => 0)) === 200;
const stackLines = (p: Proc) => p.stderr.filter((l) => /^\s+at /.test(l)).length;
/** A flood client that cannot connect within this is counted and skipped (a loaded box can stall the server). */
const CONNECT_TIMEOUT_MS = 10_000;
let failedConnects = 0;

/** Whether a socket.io-client socket got `connected` within CONNECT_TIMEOUT_MS (else it is closed and counted). */
async function connectedWithin(s: { once(ev: string, fn: () => void): unknown; disconnect(): unknown }): Promise<boolean> {
  const ok = await new Promise<boolean>((r) => {
    const t = setTimeout(() => r(false), CONNECT_TIMEOUT_MS);
    s.once('connected', () => {
      clearTimeout(t);
      r(true);
    });
  });
  if (!ok) {
    failedConnects++;
    s.disconnect();
  }
  return ok;
}

const tok = (sub: string) => signToken({ sub }, DEV_SECRET, { expiresInSec: 3600 });
const mib = (b: number) => (b / MIB).toFixed(1);

async function fuzzSection(ctx: BenchContext): Promise<string[]> {
  const rows: string[] = [];
  for (const flavour of ['ws', 'socketio'] as const) {
    const p = await startMain(['--protocol', flavour, '--rate', '0', '--max-rooms-per-conn', '20']);
    try {
      const started = Date.now();
      const t = tok('fuzz');
      const json = flavour === 'ws' ? await fuzzNative(`${p.url}?token=${t}`, FUZZ_INPUTS, SEED) : await fuzzSocketIo(p.url, t, FUZZ_INPUTS, SEED);
      const raw = await fuzzRawFrames(p.port, flavour === 'ws' ? `/ws?token=${t}` : '/socket.io/?EIO=4&transport=websocket', RAW_VIOLATIONS, SEED, 300);
      const secs = (Date.now() - started) / 1000;
      const ok = await healthy(p);
      const st = await stats(p);
      ctx.log(`${flavour}: ${json.sent} inputs, ${raw.sent} violations in ${secs.toFixed(0)} s, healthy ${ok}, stack lines ${stackLines(p)}`);
      rows.push(`| ${flavour} | ${json.sent.toLocaleString('en')} | ${json.reconnects} | ${raw.sent.toLocaleString('en')} (${raw.closedByServer} closed by the server) | ${st.badRequests} | ${secs.toFixed(0)} s | ${ok && stackLines(p) === 0 ? 'yes' : '**no**'} |`);
    } finally {
      await stop(p);
    }
  }
  return rows;
}

/** Peak RSS and V8 heap in use while `during` runs, sampled every 200 ms. */
async function samplePeaks(p: Proc, during: Promise<unknown>): Promise<{ rss: number; heap: number }> {
  const peak = { rss: 0, heap: 0 };
  let done = false;
  void during.finally(() => (done = true));
  for (;;) {
    const st = await stats(p);
    peak.rss = Math.max(peak.rss, st.rssBytes as number);
    peak.heap = Math.max(peak.heap, st.heapUsedBytes as number);
    if (done) return peak;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** FLOOD_CLIENTS identities, each publishing FLOOD_BYTES messages at FLOOD_RATE/s to a room of its own for FLOOD_MS. */
async function publishFlood(url: string): Promise<number> {
  const payload = 'x'.repeat(FLOOD_BYTES);
  let acked = 0;
  await Promise.all(
    Array.from({ length: FLOOD_CLIENTS }, async (_, i) => {
      const ws = new WebSocket(`${url}?token=${tok(`flood-${i}`)}`);
      ws.on('error', () => {});
      const opened = await new Promise<boolean>((r) => {
        const t = setTimeout(() => r(false), CONNECT_TIMEOUT_MS);
        ws.once('open', () => {
          clearTimeout(t);
          r(true);
        });
      });
      if (!opened) {
        failedConnects++;
        ws.terminate();
        return;
      }
      ws.on('message', (d) => {
        if (d.toString().startsWith('{"type":"ack"')) acked++;
      });
      ws.send(JSON.stringify({ type: 'join', id: 'j', room: `flood-${i}` }));
      const end = Date.now() + FLOOD_MS;
      for (let n = 0; Date.now() < end; n++) {
        ws.send(`{"type":"publish","id":${n},"room":"flood-${i}","echo":false,"payload":"${payload}"}`);
        await new Promise((r) => setTimeout(r, 1000 / FLOOD_RATE));
      }
      ws.close();
    }),
  );
  return acked;
}

/** Private messages to users who never connect, from FLOOD_CLIENTS senders, until every send is refused. */
async function offlineFlood(url: string): Promise<{ queued: number; refused: number }> {
  const u = new URL(url);
  const content = 'y'.repeat(FLOOD_BYTES);
  let queued = 0;
  let refused = 0;
  await Promise.all(
    Array.from({ length: FLOOD_CLIENTS }, async (_, i) => {
      const s = sioConnect(`http://${u.host}`, { path: u.pathname, transports: ['websocket'], auth: { token: tok(`sender-${i}`) }, reconnection: false, forceNew: true });
      if (!(await connectedWithin(s))) return;
      const end = Date.now() + FLOOD_MS;
      for (let n = 0; Date.now() < end; n++) {
        const res = await s.timeout(5000).emitWithAck('private-message', { targetUserId: `ghost-${i}-${n % 500}`, content }).catch(() => ({}));
        if ((res as { queued?: boolean }).queued) queued++;
        else refused++;
        await new Promise((r) => setTimeout(r, 1000 / FLOOD_RATE));
      }
      s.disconnect();
    }),
  );
  return { queued, refused };
}

/** One flood row: a flavour, with the default budgets or with every budget at 0 (what the traffic alone costs). */
export interface FloodCase {
  flavour: 'ws' | 'socketio';
  label: string;
  args: string[];
  /** Extra environment of the server process. */
  env?: Record<string, string>;
  /** Runs (each a fresh server process); the row shows the median run and the worst. Default 1. */
  runs?: number;
}

/** Runs of each "default budgets" case: the done-when asks for every one of them under the line. */
export const FLOOD_RUNS = 3;

export const FLOOD_CASES: FloodCase[] = [
  { flavour: 'ws', label: 'ws, default budgets', args: [], runs: FLOOD_RUNS },
  { flavour: 'ws', label: 'ws, nothing retained (`--retention 0`)', args: ['--retention', '0'] },
  { flavour: 'socketio', label: 'socketio, default budgets', args: [], runs: FLOOD_RUNS },
  { flavour: 'socketio', label: 'socketio, nothing kept (`--retention 0 --offline-max-per-user 0 --recovery-bytes 0`)', args: ['--retention', '0', '--offline-max-per-user', '0', '--recovery-bytes', '0'] },
  { flavour: 'ws', label: 'ws, default budgets, memory guard off (`--inflight-bytes 0`)', args: ['--inflight-bytes', '0'] },
  { flavour: 'socketio', label: 'socketio, default budgets, memory guard off (`--inflight-bytes 0`)', args: ['--inflight-bytes', '0'] },
];

/** One flood against a fresh server process. */
interface FloodRun {
  idle: number;
  peak: { rss: number; heap: number };
  after: number;
  budget: number;
  kept: string;
  evicted: number;
  /** The memory guard's pauses (all, and the RSS backstop's) and time paused; undefined with the guard off. */
  guard?: { pauses: number; rssPauses: number; pausedMs: number };
  eldMaxMs: number;
  failedConnects: number;
  pass: boolean;
}

async function floodOnce(c: FloodCase, ctx: BenchContext): Promise<FloodRun> {
  const p = await startMain(['--protocol', c.flavour, ...c.args], c.env);
  try {
    await new Promise((r) => setTimeout(r, 1500));
    const idle = (await stats(p)).rssBytes as number;
    const l = (await stats(p)).limits;
    const budget = l.retention > 0 ? l.retentionBytes : 0;
    const sioBudget = (l.offlineMaxPerUser > 0 ? l.offlineBytes : 0) + l.recoveryBytes;
    // Traffic in flight and in motion are part of the budget, the sum of the caps the server enforces: the node stops
    // reading past `inflight-bytes`, and near idle + the stores' caps + `inflight-bytes` + `traffic-bytes`, by RSS.
    const total = budget + (c.flavour === 'socketio' ? sioBudget : 0) + (l.inflightBytes > 0 ? l.inflightBytes : DEFAULT_INFLIGHT_BYTES) + l.trafficBytes;
    failedConnects = 0;
    const work = c.flavour === 'ws' ? publishFlood(p.url) : Promise.all([offlineFlood(p.url), publishFloodSio(p.url)]);
    const peak = await samplePeaks(p, work);
    await new Promise((r) => setTimeout(r, AFTER_MS));
    const st = await stats(p);
    const g = st.memoryGuard;
    // The guard samples more often than this loop (every 256 KiB read): its peak counts too.
    peak.rss = Math.max(peak.rss, g?.rssPeak ?? 0);
    const pass = peak.rss <= idle + total && (await healthy(p));
    const guard = g ? { pauses: g.pauses as number, rssPauses: g.rssPauses as number, pausedMs: g.pausedMs as number } : undefined;
    ctx.log(`${c.label}: ${guard ? `read paused ${guard.pauses}x (${guard.rssPauses} by RSS), ${(guard.pausedMs / 1000).toFixed(1)} s; ` : ''}idle ${mib(idle)} MiB, peak ${mib(peak.rss)} MiB (heap ${mib(peak.heap)}), after ${mib(st.rssBytes)}, budget ${mib(total)} MiB, retained ${mib(st.retention?.bytes ?? 0)} MiB, offline ${mib(st.offline?.bytes ?? 0)} MiB, load ${loadavg()[0]!.toFixed(1)}`);
    const kept = [`retained ${mib(st.retention?.bytes ?? 0)}`, st.offline ? `offline ${mib(st.offline.bytes)} (${st.offline.refused} refused)` : '', st.recoveryBuffer ? `recovery ${mib(st.recoveryBuffer.bytes)} (${st.recoveryBuffer.evicted} evicted)` : ''].filter(Boolean).join(', ');
    return { idle, peak, after: st.rssBytes, budget: total, kept, evicted: st.retention?.evictedMessages ?? 0, guard, eldMaxMs: st.eventLoopDelayMaxMs as number, failedConnects, pass };
  } finally {
    await stop(p);
  }
}

/** The default `inflight-bytes` (servers/core/options.ts): with the guard off the row is judged against the same budget. */
const DEFAULT_INFLIGHT_BYTES = 16 * MIB;

export async function floodSection(ctx: BenchContext, cases: FloodCase[] = FLOOD_CASES): Promise<string[]> {
  const rows: string[] = [];
  for (const c of cases) {
    const runs: FloodRun[] = [];
    for (let i = 0; i < (c.runs ?? 1); i++) runs.push(await floodOnce(c, ctx));
    const over = (r: FloodRun) => r.peak.rss - r.idle;
    const sorted = [...runs].sort((a, b) => over(a) - over(b));
    const m = sorted[(sorted.length - 1) >> 1]!;
    const worst = sorted[sorted.length - 1]!;
    const passed = runs.filter((r) => r.pass).length;
    const failed = runs.reduce((n, r) => n + r.failedConnects, 0);
    const paused = m.guard ? `${m.guard.pauses} (${m.guard.rssPauses} by RSS), ${(m.guard.pausedMs / 1000).toFixed(1)} s` : 'guard off';
    rows.push(`| ${c.label} | ${runs.length} | ${mib(m.idle)} | ${mib(m.peak.rss)} | ${mib(m.peak.heap)} | ${mib(m.after)} | ${mib(m.budget)} | ${mib(m.idle + m.budget)} | ${mib(over(m))} / ${mib(over(worst))} | ${m.kept} | ${m.evicted} | ${paused} | ${m.eldMaxMs.toFixed(0)} ms${failed ? `, ${failed} clients did not connect` : ''} | ${passed === runs.length ? `yes, ${passed} of ${runs.length}` : `**${passed} of ${runs.length}**`} |`);
  }
  return rows;
}

/** The Socket.IO flavour's share of the retention flood: the same 60 KB messages as `message` events. */
async function publishFloodSio(url: string): Promise<void> {
  const u = new URL(url);
  const content = 'x'.repeat(FLOOD_BYTES);
  await Promise.all(
    Array.from({ length: FLOOD_CLIENTS }, async (_, i) => {
      const s = sioConnect(`http://${u.host}`, { path: u.pathname, transports: ['websocket'], auth: { token: tok(`pub-${i}`) }, reconnection: false, forceNew: true });
      if (!(await connectedWithin(s))) return;
      await s.timeout(5000).emitWithAck('join-room', `flood-${i}`).catch(() => {});
      const end = Date.now() + FLOOD_MS;
      while (Date.now() < end) {
        s.volatile.emit('message', { roomId: `flood-${i}`, content });
        await new Promise((r) => setTimeout(r, 1000 / FLOOD_RATE));
      }
      s.disconnect();
    }),
  );
}

export default async function security(ctx: BenchContext): Promise<string> {
  const fuzz = await fuzzSection(ctx);
  const loadBefore = loadavg()[0]!;
  const flood = await floodSection(ctx);
  const loadAfter = loadavg()[0]!;
  return [
    '## Security (`npm run bench -- security`, docs/SECURITY.md)',
    '',
    `### Fuzzer (seed ${SEED}, one server process per flavour, \`--rate 0\`)`,
    '',
    '| flavour | JSON inputs | sessions the server ended | RFC 6455 violations | bad_request answers | took | still serving, no stack trace |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...fuzz,
    '',
    `### Worst-case memory flood (default budgets; ${FLOOD_CLIENTS} identities x ${FLOOD_RATE} x ${FLOOD_BYTES / 1024} KB messages/s for ${FLOOD_MS / 1000} s, socketio also private messages to users who never connect)`,
    '',
    `MiB. Peak RSS: the highest of \`/stats\` sampled every 200 ms and the memory guard's own peak (\`memoryGuard.rssPeak\`, sampled on every 256 KiB read); "after" is ${AFTER_MS / 1000} s after the flood ended. A run passes when its peak RSS stays under its idle baseline (1.5 s after start, before any client) plus the budgets (\`--retention-bytes\`, \`--inflight-bytes\` and \`--traffic-bytes\`; for socketio also \`--offline-bytes\` and \`--recovery-bytes\`). Each row is one run, or the median of ${FLOOD_RUNS} (by peak over idle) with the worst run's peak over idle beside it; every run must pass. The rows with nothing kept measure what the same traffic costs by itself; the rows with the guard off (\`--inflight-bytes 0\`, judged against the same budget) show what the guard's RSS backstop holds back (docs/SECURITY.md "Limits").`,
    '',
    '| case | runs | idle RSS | peak RSS | peak heap used | RSS after | budget | idle + budget | peak over idle: median / worst | kept after | evicted messages | reading paused (times, total) | event-loop delay max | peak under idle + budget |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...flood,
    '',
    `1-minute load average (\`uptime\`) when the floods started: ${loadBefore.toFixed(1)}, when they ended: ${loadAfter.toFixed(1)} (2 cores).`,
  ].join('\n');
}
