/**
 * The CPU and memory of a whole node: a bundled node with cluster workers reports on
 * /metrics the CPU of its primary and every worker (`wsbench_node_*`), and the run's
 * report shows that total, per process, checked against what /proc says of each process.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { Report } from '../../src/report/schema.ts';
import { parseSamples } from '../../src/observe/scrape.ts';
import { runCli } from '../support/cli.ts';
import { childPids, killPid, waitForPidGone } from '../helpers/processes.ts';
import { waitUntil } from '../helpers/timeout.ts';

const MAIN = fileURLToPath(new URL('../../dist/servers/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wsbench-node-cpu-'));
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const c of started) killPid(c.pid);
  for (const c of started) if (c.pid) await waitForPidGone(c.pid).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

const TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of `pid` from /proc/<pid>/stat (fields 14 and 15), or undefined when it is gone. */
function procCpu(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** `pid` and all its descendants. */
function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length && i < 100; i++) out.push(...(childPids(out[i]) ?? []));
  return out;
}

const metricsOf = async (base: string) => parseSamples(await (await fetch(`${base}/metrics`)).text());
const value = (s: ReturnType<typeof parseSamples>, name: string) => s.filter((x) => x.name === name);

describe('/metrics of a cluster node: the whole node', () => {
  it('wsbench_node_cpu_seconds_total covers the primary and every worker (at least what /proc says), never drops when a worker dies; process_cpu_seconds_total stays the answering process', async () => {
    const child = spawn(process.execPath, [MAIN, '--port', '0', '--workers', '2', '--auth', 'off', '--heartbeat-ms', '0', '--rate', '100000', '--burst', '100000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.push(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await waitUntil(() => out.includes('\ntoken:'), 30_000, 'the cluster node to print its URL');
    const url = out.split('\n')[0]!;
    const base = url.replace(/^ws:/, 'http:').replace(/\/ws$/, '');
    const primary = child.pid!;
    const workers = childPids(primary)!;
    expect(workers).toHaveLength(2);

    // A small load: two members of one room, one publishing 300 messages, so the workers work.
    const members = await Promise.all(
      [0, 1].map(
        () =>
          new Promise<WebSocket>((resolve, reject) => {
            const ws = new WebSocket(url);
            ws.once('error', reject);
            ws.on('message', (d) => {
              const m = JSON.parse(String(d)) as { type: string };
              if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'join', id: 1, room: 'r' }));
              if (m.type === 'joined') resolve(ws);
            });
          }),
      ),
    );
    let got = 0;
    members[1]!.on('message', () => got++);
    for (let i = 0; i < 300; i++) members[0]!.send(JSON.stringify({ type: 'publish', id: 10 + i, room: 'r', payload: { i, pad: 'x'.repeat(200) } }));
    await waitUntil(() => got >= 300, 20_000, 'the 300 deliveries');
    for (const ws of members) ws.close();

    const before = [primary, ...workers].map((p) => procCpu(p)!);
    const s = await metricsOf(base);
    const after = [primary, ...workers].map((p) => procCpu(p)!);
    const total = value(s, 'wsbench_node_cpu_seconds_total');
    expect(total).toHaveLength(1);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    // One clock tick per process of rounding in /proc.
    const slack = 3 / TICKS;
    expect(total[0]!.value).toBeGreaterThanOrEqual(sum(before) - slack);
    // Not counted twice either (getrusage, which the node reads, runs some tens of ms ahead of /proc's ticks).
    expect(total[0]!.value).toBeLessThanOrEqual(sum(after) + 0.15);
    expect(total[0]!.value).toBeGreaterThan(before[0]! + sum(before.slice(1)) * 0.9);
    const per = value(s, 'wsbench_node_process_cpu_seconds_total');
    expect(per.map((x) => [x.labels.role, Number(x.labels.pid)])).toEqual([['primary', primary], ...[...workers].sort((a, b) => a - b).map((p) => ['worker', p])]);
    for (const x of per) {
      const i = [primary, ...workers].indexOf(Number(x.labels.pid));
      expect(x.value).toBeGreaterThanOrEqual(before[i]! - 1 / TICKS);
      expect(x.value).toBeLessThanOrEqual(after[i]! + 0.05);
    }
    expect(value(s, 'wsbench_node_processes')[0]!.value).toBe(3);
    const rss = value(s, 'wsbench_node_resident_memory_bytes')[0]!.value;
    const perRss = value(s, 'wsbench_node_process_resident_memory_bytes');
    expect(perRss).toHaveLength(3);
    expect(rss).toBe(sum(perRss.map((x) => x.value)));
    // Prometheus convention: the default process metrics describe the one process that answered (a worker).
    const own = value(s, 'process_cpu_seconds_total')[0]!.value;
    expect(own).toBeLessThan(total[0]!.value - before[0]! + slack);

    // A worker that dies takes its CPU along with it; the node's counter keeps it.
    const lastTotal = total[0]!.value;
    killPid(workers[0]!);
    await waitForPidGone(workers[0]!);
    await waitUntil(async () => (await metricsOf(base).catch(() => [])).some((x) => x.name === 'wsbench_node_processes' && x.value === 2), 10_000, 'the node to count 2 processes');
    const later = await metricsOf(base);
    expect(value(later, 'wsbench_node_cpu_seconds_total')[0]!.value).toBeGreaterThanOrEqual(lastTotal);
  }, 60_000);
});

describe('the report of a bundled cluster node', () => {
  it('shows the CPU of the primary and both workers (each checked against /proc), in JSON, table and HTML', async () => {
    const out = join(dir, 'cluster.json');
    const html = join(dir, 'cluster.html');
    // /proc of the CLI's process tree every 100 ms while it runs: [time, pid -> CPU seconds].
    const samples: Array<[number, Map<number, number>]> = [];
    let cli: number | undefined;
    const poll = setInterval(() => {
      if (cli === undefined) return;
      const m = new Map<number, number>();
      for (const p of tree(cli)) {
        const c = procCpu(p);
        if (c !== undefined) m.set(p, c);
      }
      samples.push([Date.now(), m]);
    }, 100);
    let r;
    try {
      r = await runCli(
        ['run', 'broadcast', '--clients', '120', '--rooms', '2', '--rate', '200', '--warmup', '500ms', '--duration', '4s', '--cooldown', '300ms', '--server', 'workers=2', '--out', out, '--html', html],
        { timeoutMs: 90_000, onSpawn: (pid) => (cli = pid) },
      );
    } finally {
      clearInterval(poll);
    }
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as Report;
    const s = report.server!;
    expect(s.failures).toBe(0);
    expect(s.cpuCoverage).toBe('node');
    const procs = s.processes!;
    expect(procs.map((p) => p.role).sort()).toEqual(['primary', 'worker', 'worker']);
    const primary = procs.find((p) => p.role === 'primary')!.pid;
    // The processes are the node the CLI started (its child) and that node's children.
    expect(samples.some(([, m]) => m.has(primary))).toBe(true);
    const { fromMs, toMs } = s.cpuWindow!;
    // The /proc span inside the scrapes' window: the node's CPU over it cannot exceed the reported one.
    const inside = samples.filter(([t]) => t >= fromMs && t <= toMs);
    expect(inside.length).toBeGreaterThan(10);
    const a = inside[0]![1];
    const b = inside.at(-1)![1];
    const delta = (pid: number) => (b.get(pid) ?? 0) - (a.get(pid) ?? 0);
    const slack = 0.1;
    const procSum = procs.reduce((x, p) => x + delta(p.pid), 0);
    expect(s.cpuSeconds!).toBeGreaterThanOrEqual(procSum - slack);
    expect(s.cpuSeconds!).toBeCloseTo(procs.reduce((x, p) => x + p.cpuSeconds, 0), 2);
    for (const p of procs) expect(p.cpuSeconds).toBeGreaterThanOrEqual(delta(p.pid) - slack);
    // Clearly more than the primary alone: the workers carry the fan-out.
    const primaryCpu = procs.find((p) => p.role === 'primary')!.cpuSeconds;
    expect(s.cpuSeconds!).toBeGreaterThan(primaryCpu * 1.5);
    expect(s.cpuSeconds!).toBeGreaterThan(delta(primary) + 0.1);
    expect(r.stdout).toMatch(/CPU .*whole node: primary [\d.]+ s \+ 2 workers [\d.]+ s/);
    expect(readFileSync(html, 'utf8')).toMatch(/whole node: primary [\d.]+ s \+ 2 workers [\d.]+ s/);
  }, 120_000);
});
