/**
 * One `wsbench run broadcast ... --server workers=2` ramp as the accept bench runs it:
 * connections per second over the ramp phase, and what the bundled server and the harness
 * spent per connection during it (support/proc-tree.ts, CPU from /proc).
 */
import { execFileSync } from 'node:child_process';
import type { Report } from '../../src/report/schema.ts';
import { cpuBetween, sampleTree, type TreeSamples } from './proc-tree.ts';
import { runWsbench } from './wsbench-cli.ts';

/** The ramp asked for, connections per second: above what the machine reaches, so the server side sets the pace. */
export const ACCEPT_RAMP = 20_000;

/** The workload of the accept runs for `clients` clients (without its `--server` flags). */
export const ACCEPT_WORKLOAD = (clients: number): string[] => [
  'broadcast', '--clients', String(clients), '--rooms', '100', '--rate', '50', '--ramp', String(ACCEPT_RAMP), '--warmup', '1s', '--duration', '2s', '--cooldown', '2s',
];

/** The ramp phase of a report: from its start to the next phase's start, ms since the run started (NaN when absent). */
export function rampWindow(r: Report): { fromMs: number; toMs: number } {
  const phases = r.timeline.filter((e) => e.kind === 'phase');
  const i = phases.findIndex((e) => e.name === 'ramp');
  return i >= 0 && phases[i + 1] ? { fromMs: phases[i]!.atMs, toMs: phases[i + 1]!.atMs } : { fromMs: NaN, toMs: NaN };
}

export interface RampSample {
  connsPerSec: number;
  connectP50Ms: number;
  connectP99Ms: number;
  connected: number;
  /** Ledger exact: nothing lost, everything expected delivered. */
  exact: boolean;
  /** CPU of the bundled server's processes during the ramp, per client (us). */
  serverUsPerConn: number;
  /** CPU of every other process of the run (CLI, coordinator, generator workers) during the ramp, per client (us). */
  harnessUsPerConn: number;
}

/** Run the accept workload with `clients` clients (`bin`: another checkout's CLI; `server`: extra `--server` settings). */
export async function rampRun(clients: number, bin?: string, server: string[] = []): Promise<RampSample> {
  let sampler: ReturnType<typeof sampleTree> | undefined;
  let r: Report;
  let seen: TreeSamples = { samples: [], firstWorkerAtMs: NaN };
  try {
    r = await runWsbench([...ACCEPT_WORKLOAD(clients), '--server', 'workers=2', ...server.flatMap((s) => ['--server', s])], 240_000, {
      anyExit: true,
      bin,
      onSpawn: (pid) => (sampler = sampleTree(pid)),
    });
  } finally {
    if (sampler) seen = sampler.stop();
  }
  const w = rampWindow(r);
  // The timeline's origin is when the workers were forked: the first worker seen, within one sample.
  const t0 = seen.firstWorkerAtMs;
  const cpu = cpuBetween(seen.samples, t0 + w.fromMs, t0 + w.toMs);
  return {
    connsPerSec: (clients / (w.toMs - w.fromMs)) * 1000,
    connectP50Ms: (r.metrics.connect?.p50 ?? NaN) / 1000,
    connectP99Ms: (r.metrics.connect?.p99 ?? NaN) / 1000,
    connected: r.counters['connections.opened'] ?? clients,
    exact: r.ledger.lost === 0 && r.ledger.delivered === r.ledger.expected,
    serverUsPerConn: (cpu.serverMs * 1000) / clients,
    harnessUsPerConn: (cpu.harnessMs * 1000) / clients,
  };
}

/** The 1-minute load average, as `uptime` prints it. */
export function loadAverage(): string {
  try {
    return /load average:\s*([\d.]+)/.exec(execFileSync('uptime', { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}
