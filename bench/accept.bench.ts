/**
 * `npm run bench -- accept`: how fast the whole machine opens connections
 * against one bundled node with two cluster workers, the shared port (the
 * cluster primary accepts every connection and hands it to a worker) against
 * per-worker ports (each worker accepts on its own port; the harness spreads
 * clients over them), alternating within each round: connections per second over
 * the ramp and the connect p50/p99; and the cluster primary's CPU time per
 * accepted connection (support/accept-cpu.ts), which does not depend on the load.
 */
import { execFileSync } from 'node:child_process';
import type { Report } from '../src/report/schema.ts';
import type { BenchContext } from './run.ts';
import { median } from './support/stats.ts';
import { runWsbench } from './support/wsbench-cli.ts';
import { primaryCpuPerConnection } from './support/accept-cpu.ts';

/** Clients of one run (BENCH_ACCEPT_CLIENTS overrides, for a quick look). */
const CLIENTS = Number(process.env.BENCH_ACCEPT_CLIENTS ?? 20_000);
/** The ramp asked for, connections per second: above what either mode reaches, so the server side sets the pace. */
const RAMP = 20_000;
const WORKLOAD = ['broadcast', '--clients', String(CLIENTS), '--rooms', '100', '--rate', '50', '--ramp', String(RAMP), '--warmup', '1s', '--duration', '2s', '--cooldown', '2s'];
/** Connections opened for the primary's CPU figure. */
const CPU_CONNS = 3000;
/** Rounds at most (each runs both modes), so the section stays under about 5 minutes. */
const MAX_ROUNDS = 3;

const MODES = [
  { label: 'shared port (primary accepts, round robin)', ports: 'shared' },
  { label: 'per-worker ports', ports: 'per-worker' },
] as const;

interface Sample {
  connsPerSec: number;
  connectP50Ms: number;
  connectP99Ms: number;
  connected: number;
  exact: boolean;
}

/** Milliseconds of the ramp phase: from its start to the next phase's start, by the report's timeline. */
export function rampMs(r: Report): number {
  const phases = r.timeline.filter((e) => e.kind === 'phase');
  const i = phases.findIndex((e) => e.name === 'ramp');
  return i >= 0 && phases[i + 1] ? phases[i + 1]!.atMs - phases[i]!.atMs : NaN;
}

async function runOnce(ports: string): Promise<Sample> {
  const r = await runWsbench([...WORKLOAD, '--server', 'workers=2', '--server', `ports=${ports}`], 240_000, { anyExit: true });
  const connected = r.counters['connections.opened'] ?? CLIENTS;
  return {
    connsPerSec: (CLIENTS / rampMs(r)) * 1000,
    connectP50Ms: (r.metrics.connect?.p50 ?? NaN) / 1000,
    connectP99Ms: (r.metrics.connect?.p99 ?? NaN) / 1000,
    connected,
    exact: r.ledger.lost === 0 && r.ledger.delivered === r.ledger.expected,
  };
}

export default async function acceptBench(ctx: BenchContext): Promise<string> {
  const rounds = Math.max(1, Math.min(ctx.runs, MAX_ROUNDS));
  const got: Sample[][] = MODES.map(() => []);
  const cpu: number[][] = MODES.map(() => []);
  const loads: string[] = [];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < MODES.length; j++) {
      const k = (i + j) % MODES.length;
      cpu[k]!.push(await primaryCpuPerConnection(MODES[k]!.ports, CPU_CONNS));
      loads.push(loadAverage());
      const s = await runOnce(MODES[k]!.ports);
      got[k]!.push(s);
      ctx.log(`round ${i + 1} ${MODES[k]!.label}: ${Math.round(s.connsPerSec)} conn/s, connect p50/p99 ${s.connectP50Ms.toFixed(0)}/${s.connectP99Ms.toFixed(0)} ms, ledger ${s.exact ? 'exact' : 'NOT exact'} (load ${loads.at(-1)})`);
    }
  }
  const m = (k: number, f: 'connsPerSec' | 'connectP50Ms' | 'connectP99Ms') => median(got[k]!.map((s) => s[f]));
  const rows = MODES.map((mode, k) => `| ${mode.label} | ${Math.round(m(k, 'connsPerSec'))} | ${m(k, 'connectP50Ms').toFixed(0)} | ${m(k, 'connectP99Ms').toFixed(0)} | ${median(cpu[k]!).toFixed(0)} |`);
  return [
    '## Accept path: shared port vs per-worker ports (same run)',
    '',
    `\`wsbench run ${WORKLOAD.join(' ')} --server workers=2 --server ports=shared|per-worker\`: ${CLIENTS} clients against one bundled node with two cluster workers, the ramp asked at ${RAMP}/s so that the accepting side sets the pace. ` +
      `Connections per second = clients / ramp phase (from the report's timeline); medians of ${rounds} rounds, modes alternating. 1-minute load average before each run: ${loads.join(', ')}.`,
    '',
    `The last column: CPU time of the cluster primary per connection while one process opens ${CPU_CONNS} connections (100 at a time, \`--auth off\`) to \`node dist/servers/main.js --workers 2 --ports ...\`, from /proc/PID/stat (10 ms ticks); CPU time, so the machine's load changes it little. ` +
      'At that cost one core of accepting-and-handing-over caps the shared port near 1e6 / (primary µs) connections per second, and the primary is one process whatever the number of workers.',
    '',
    '| accept path | connections/s | connect p50 (ms) | connect p99 (ms) | primary CPU per connection (µs) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Per-worker / shared: ${(m(1, 'connsPerSec') / m(0, 'connsPerSec')).toFixed(2)}x. Ledger exact in every run: ${got.flat().every((s) => s.exact) ? 'yes' : 'no'}.`,
  ].join('\n');
}

/** The 1-minute load average, as `uptime` prints it. */
function loadAverage(): string {
  try {
    return /load average:\s*([\d.]+)/.exec(execFileSync('uptime', { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return '?';
  }
}
