/**
 * `npm run bench -- harness`: what the load generator itself costs, raw client
 * (default) against the `ws`-package client (`--set client=ws`), same runs.
 *
 * 1. Memory per idle client: one harness process (a WorkerRuntime as a worker runs
 *    it, after GC), 5,000 then 10,000 clients connected and joined.
 * 2. Handshakes per second: the same ramps (connect + welcome + join), and the
 *    harness CPU per connection.
 * 3. Receive path: the reference server's pre-framed broadcast to 1,000 harness
 *    clients in one room, pushed by raw-socket publishers (no harness on the send
 *    side); deliveries divided by the harness process's CPU seconds.
 * 4. Added latency: application ping RTT through the harness vs a bare socket in
 *    the same process, alternating, at low load.
 * 5. Scale: `wsbench run` holding 20,000 clients, then a bounded attempt further.
 *
 * WSB_HARNESS_PARTS=memory,recv,rtt,scale selects parts (default all).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from './support/children.ts';
import { fmt, kib, memoryRun, recvRun, withChild, withServerChild, type MemoryRun, type RecvRun } from './support/harness-runs.ts';
import { median, percentile } from './support/stats.ts';
import type { BenchContext } from './run.ts';

type Ctx = BenchContext;

type ClientKind = 'raw' | 'ws';
const KINDS: ClientKind[] = ['raw', 'ws'];
const BIN = fileURLToPath(new URL('../bin/wsbench.js', import.meta.url));

/** One reference server for a whole part (its own memory and CPU are not what is measured). */
const withServer = <T>(fn: (url: string) => Promise<T>): Promise<T> => withServerChild('server', (port) => `ws://127.0.0.1:${port}/ws`, fn);

// ------------------------------------------------------------------ 1 + 2

// ------------------------------------------------------------------ 3 + 4

const RECEIVERS = 1000;

interface RttRun {
  harnessP50: number;
  bareP50: number;
  harnessP99: number;
  bareP99: number;
}

async function rttRun(kind: ClientKind, url: string): Promise<RttRun> {
  return withChild(startChild('harness'), async (h) => {
    await h.ask({ cmd: 'ramp', client: kind, clients: 10, url, rate: 100_000 });
    await h.ask({ cmd: 'rtt', url, n: 50 }); // warm-up: JIT on both paths
    const r = await h.ask({ cmd: 'rtt', url, n: 400 });
    const harness = r.harness as number[];
    const bare = r.bare as number[];
    return { harnessP50: percentile(harness, 50), bareP50: percentile(bare, 50), harnessP99: percentile(harness, 99), bareP99: percentile(bare, 99) };
  });
}

// ------------------------------------------------------------------ 5

interface ScaleRun {
  clients: number;
  opened: number;
  failed: number;
  workers: number;
  rssPeakPerClient: number;
  rampSec: number;
  wallSec: number;
  firstError?: string;
  notes: string[];
  exit: number | null;
}

/** One `wsbench run broadcast` holding `clients`, light traffic, bounded in time. */
async function scaleRun(clients: number, serverWorkers: number, ramp: number, limitMs: number): Promise<ScaleRun> {
  const dir = mkdtempSync(join(tmpdir(), 'wsb-harness-'));
  const out = join(dir, 'report.json');
  const args = [BIN, 'run', 'broadcast', '--clients', String(clients), '--rooms', String(Math.ceil(clients / 100)), '--rate', '20', '--ramp', String(ramp), '--warmup', '1s', '--duration', '5s', '--cooldown', '1s', '--server', `workers=${serverWorkers}`, '--server', 'heartbeat-ms=0', '--out', out, '--quiet'];
  const t0 = Date.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const timer = setTimeout(() => child.kill('SIGINT'), limitMs);
  const killTimer = setTimeout(() => child.kill('SIGKILL'), limitMs + 20_000);
  const exit = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  clearTimeout(timer);
  clearTimeout(killTimer);
  const wallSec = (Date.now() - t0) / 1000;
  try {
    const rep = JSON.parse(readFileSync(out, 'utf8'));
    const opened = rep.counters?.['connections.opened'] ?? 0;
    const at = (name: string) => (rep.timeline ?? []).find((e: { name?: string }) => e.name === name)?.atMs as number | undefined;
    const rampStart = at('ramp');
    const rampEnd = at('ramp-done');
    return {
      clients,
      opened,
      failed: rep.counters?.['connections.failed'] ?? 0,
      workers: rep.generator?.processes ?? 0,
      rssPeakPerClient: (rep.generator?.workers ?? []).reduce((a: number, w: { rssBytesPeak: number }) => a + w.rssBytesPeak, 0) / Math.max(1, opened),
      rampSec: rampStart !== undefined && rampEnd !== undefined ? (rampEnd - rampStart) / 1000 : NaN,
      wallSec,
      notes: (rep.notes ?? []).map(String),
      exit,
      firstError: Object.entries(rep.counters ?? {})
        .filter(([k]) => k.startsWith('errors.'))
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    };
  } catch {
    return { clients, opened: 0, failed: clients, workers: 0, rssPeakPerClient: 0, rampSec: NaN, wallSec, notes: [stderr.trim().split('\n').slice(-3).join(' / ')], exit };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ section

export default async function harnessBench(ctx: Ctx): Promise<string> {
  const parts = new Set((process.env.WSB_HARNESS_PARTS ?? 'memory,recv,rtt,scale').split(','));
  const lines: string[] = ['## Harness: the load generator\'s own cost (raw client vs `ws` client)', ''];
  // At most 3 rounds per part: the scale runs alone take ~3.5 minutes of the ~8 allowed.
  const runs = Math.max(1, Math.min(3, ctx.runs));

  if (parts.has('memory')) {
    const memRuns = runs;
    const res: Record<ClientKind, MemoryRun[]> = { raw: [], ws: [] };
    await withServer(async (url) => {
      for (let i = 0; i < memRuns; i++) {
        for (const k of KINDS) {
          const r = await memoryRun(k, url);
          ctx.log(`memory ${k}: marginal ${kib(r.marginal)} KiB, at 10k ${kib(r.perClientAt10k)} KiB, heap ${kib(r.heapMarginal)} KiB, ${fmt(r.handshakesPerSec)} handshakes/s`);
          res[k].push(r);
        }
      }
    });
    const m = (k: ClientKind, f: keyof MemoryRun) => median(res[k].map((r) => r[f]));
    lines.push(
      `### Memory per idle client and handshakes (one harness process, median of ${memRuns})`,
      '',
      'A WorkerRuntime as in a worker process, 5,000 clients connected and joined, then 5,000 more; RSS after GC (`--expose-gc`). *Marginal* is the RSS growth from 5,000 to 10,000 clients divided by 5,000 (what one more client costs); *at 10,000* divides the growth from the empty process by 10,000 (it includes the young generation and code the ramp brings in). Handshakes: connect + upgrade + welcome + join, at most 256 in flight, against one reference server process on the same 2 cores (so the server bounds it too).',
      '',
      '| measure | raw | ws | target |',
      '| --- | ---: | ---: | --- |',
      `| RSS per idle client, marginal (KiB) | ${kib(m('raw', 'marginal'))} | ${kib(m('ws', 'marginal'))} | <= 4 KiB |`,
      `| RSS per idle client, at 10,000 (KiB) | ${kib(m('raw', 'perClientAt10k'))} | ${kib(m('ws', 'perClientAt10k'))} | |`,
      `| JS heap per idle client, marginal (KiB) | ${kib(m('raw', 'heapMarginal'))} | ${kib(m('ws', 'heapMarginal'))} | |`,
      `| handshakes/s opened by one harness process | ${fmt(m('raw', 'handshakesPerSec'))} | ${fmt(m('ws', 'handshakesPerSec'))} | |`,
      `| harness CPU per handshake (us) | ${fmt(m('raw', 'cpuUsPerConnection'))} | ${fmt(m('ws', 'cpuUsPerConnection'))} | |`,
      '',
    );
  }

  if (parts.has('recv')) {
    const res: Record<ClientKind, RecvRun[]> = { raw: [], ws: [] };
    await withServer(async (url) => {
      for (let i = 0; i < runs; i++) {
        for (const k of KINDS) {
          const r = await recvRun(k, url, RECEIVERS, 'publisher');
          ctx.log(`recv ${k}: ${fmt(r.deliveriesPerSec)}/s, harness CPU ${fmt(r.harnessCpuPercent)}%, ${fmt(r.deliveriesPerCpuSec)} per CPU-second`);
          res[k].push(r);
        }
      }
    });
    const m = (k: ClientKind, f: keyof RecvRun) => median(res[k].map((r) => r[f]));
    lines.push(
      `### Receive path (median of ${runs})`,
      '',
      `${fmt(RECEIVERS)} harness clients in one room of the reference server (pre-framed broadcast); two raw-socket publishers (not the harness) keep 32 publishes each in flight, 100-byte padding, tagged as the harness tags them, so every delivery takes the fast path and goes through the ledger and the \`fanout\` histogram. 3 s measured after 1 s. Everything shares 2 cores, so deliveries/s is what the box gave; deliveries per harness CPU-second is the figure that carries over.`,
      '',
      '| measure | raw | ws | target |',
      '| --- | ---: | ---: | --- |',
      `| deliveries per harness CPU-second | ${fmt(m('raw', 'deliveriesPerCpuSec'))} | ${fmt(m('ws', 'deliveriesPerCpuSec'))} | >= 250,000 |`,
      `| deliveries/s absorbed | ${fmt(m('raw', 'deliveriesPerSec'))} | ${fmt(m('ws', 'deliveriesPerSec'))} | |`,
      `| harness CPU (% of one core) | ${fmt(m('raw', 'harnessCpuPercent'))} | ${fmt(m('ws', 'harnessCpuPercent'))} | |`,
      '',
    );
  }

  if (parts.has('rtt')) {
    const res: Record<ClientKind, RttRun[]> = { raw: [], ws: [] };
    await withServer(async (url) => {
      for (let i = 0; i < runs; i++) {
        for (const k of KINDS) {
          const r = await rttRun(k, url);
          ctx.log(`rtt ${k}: harness p50 ${r.harnessP50} us, bare p50 ${r.bareP50} us`);
          res[k].push(r);
        }
      }
    });
    const m = (k: ClientKind, f: keyof RttRun) => median(res[k].map((r) => r[f]));
    const added = (k: ClientKind) => median(res[k].map((r) => r.harnessP50 - r.bareP50));
    lines.push(
      `### Added latency (median of ${runs})`,
      '',
      'Application ping (`{"type":"ping"}` -> `pong`) through the harness (`VirtualClient.ping()`: request id, pending map, transport, decode, histogram) alternating with the same ping from a bare socket in the same process that only looks for `"pong"` in the bytes; 400 pings each, 1 ms apart, after 50 of warm-up; 10 idle clients connected.',
      '',
      '| measure (us) | raw | ws | target |',
      '| --- | ---: | ---: | --- |',
      `| ping RTT p50 through the harness | ${fmt(m('raw', 'harnessP50'))} | ${fmt(m('ws', 'harnessP50'))} | |`,
      `| ping RTT p50, bare socket | ${fmt(m('raw', 'bareP50'))} | ${fmt(m('ws', 'bareP50'))} | |`,
      `| added by the harness at p50 | ${fmt(added('raw'))} | ${fmt(added('ws'))} | <= 50 us |`,
      `| p99 harness / bare | ${fmt(m('raw', 'harnessP99'))} / ${fmt(m('raw', 'bareP99'))} | ${fmt(m('ws', 'harnessP99'))} / ${fmt(m('ws', 'bareP99'))} | |`,
      '',
    );
  }

  if (parts.has('scale')) {
    // [clients, server workers, ramp/s, time limit ms]. The engine gives up on a ramp that takes
    // over twice its estimate (+40 s), and this box opens ~900-1,500 connections/s at these
    // sizes, so the 100,000 run asks for 1,500/s.
    const tries: Array<[number, number, number, number]> = [
      [20_000, 2, 5000, 120_000],
      [100_000, 8, 1500, 330_000],
    ];
    const rows: ScaleRun[] = [];
    for (const [n, w, ramp, limit] of tries) {
      const r = await scaleRun(n, w, ramp, limit);
      ctx.log(`scale ${n}: opened ${r.opened}, failed ${r.failed}, ${r.workers} workers, ramp ${fmt(r.rampSec, 1)} s, ${fmt(r.wallSec)} s, exit ${r.exit} ${r.firstError ?? ''} ${r.notes.join(' ')}`);
      rows.push(r);
      if (r.opened < n) break;
    }
    lines.push(
      '### Concurrent clients held (one run each, not a median)',
      '',
      '`wsbench run broadcast` with the raw client: 100 clients per room, 20 publishes/s, 5 s steady, bundled server with heartbeat off and `workers=N` (cluster) so that no server process passes the descriptor limit; the engine picks the generator processes (three quarters of 20,000 descriptors each) and, past 20,000 clients per target, spreads them over source addresses. Generator RSS peak per client includes each process\'s fixed ~100 MiB.',
      '',
      '| clients | server workers | ramp asked | generator processes | opened | failed | ramp took | opened/s | generator RSS peak per client | run wall time | errors |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
      ...rows.map((r) => {
        const t = tries.find((x) => x[0] === r.clients)!;
        return `| ${fmt(r.clients)} | ${t[1]} | ${fmt(t[2])}/s | ${r.workers} | ${fmt(r.opened)} | ${fmt(r.failed)} | ${fmt(r.rampSec, 1)} s | ${fmt(r.opened / r.rampSec)} | ${kib(r.rssPeakPerClient)} KiB | ${fmt(r.wallSec)} s | ${r.firstError || 'none'} |`;
      }),
      '',
      'What bounds it here is CPU and time, not descriptors, ports or memory: two cores run the server processes, the cluster primary that hands every accepted socket to a worker, and the generator, so connections open at the rates above, a few times slower than one generator process opens them against one server process (first table). 20,000 clients come from the single source address 127.0.0.1 (the engine spreads over source addresses only past 20,000 clients per target), where the kernel\'s ephemeral-port search slows as the range fills (LOOPBACK.md); 100,000 come from 25 addresses. Descriptors and ports are planned around (7 generator processes under 15,000 each, 8 server processes under 12,500 each, ~4,000 clients per source address); memory is far from a limit (24 GiB: the generator needs ~3 KiB per client plus ~100 MiB per process). Past 100,000 the next limits would be time (the ramp alone is over 1.5 minutes) and the ephemeral ports of the server\'s own address range only if source addresses were not spread.',
      '',
    );
  }
  return lines.join('\n');
}
