/**
 * `npm run bench -- accept`: how fast the whole machine opens connections
 * against one bundled node with two cluster workers, the shared port (the
 * cluster primary accepts every connection and hands it to a worker) against
 * per-worker ports (each worker accepts on its own port; the harness spreads
 * clients over them), alternating within each round: connections per second over
 * the ramp and the connect p50/p99; the cluster primary's CPU time per
 * accepted connection (support/accept-cpu.ts), which does not depend on the load;
 * the server's and the harness's CPU per connection during each ramp
 * (support/ramp-run.ts); and one server process's CPU per connection against bare
 * clients (support/server-cpu.ts).
 */
import type { BenchContext } from './run.ts';
import { median } from './support/stats.ts';
import { primaryCpuPerConnection } from './support/accept-cpu.ts';
import { ACCEPT_RAMP, ACCEPT_WORKLOAD, loadAverage, rampRun, type RampSample } from './support/ramp-run.ts';
import { serverCpuPerConnection } from './support/server-cpu.ts';

/** Clients of one run (BENCH_ACCEPT_CLIENTS overrides, for a quick look). */
const CLIENTS = Number(process.env.BENCH_ACCEPT_CLIENTS ?? 20_000);
const RAMP = ACCEPT_RAMP;
const WORKLOAD = ACCEPT_WORKLOAD(CLIENTS);
/** Connections opened for the primary's CPU figure. */
const CPU_CONNS = 3000;
/** Connections opened for one server process's CPU figure (bare clients, support/server-cpu.ts). */
const SERVER_CPU_CONNS = 5000;
/** Rounds at most (each runs both modes), so the section stays under about 5 minutes. */
const MAX_ROUNDS = 3;

const MODES = [
  { label: 'shared port (primary accepts, round robin)', ports: 'shared' },
  { label: 'per-worker ports', ports: 'per-worker' },
] as const;

type Sample = RampSample;

export default async function acceptBench(ctx: BenchContext): Promise<string> {
  const rounds = Math.max(1, Math.min(ctx.runs, MAX_ROUNDS));
  const got: Sample[][] = MODES.map(() => []);
  const cpu: number[][] = MODES.map(() => []);
  const serverCpu: number[] = [];
  const loads: string[] = [];
  for (let i = 0; i < rounds; i++) {
    serverCpu.push((await serverCpuPerConnection(SERVER_CPU_CONNS)).usPerConn);
    for (let j = 0; j < MODES.length; j++) {
      const k = (i + j) % MODES.length;
      cpu[k]!.push(await primaryCpuPerConnection(MODES[k]!.ports, CPU_CONNS));
      loads.push(loadAverage());
      const s = await rampRun(CLIENTS, undefined, [`ports=${MODES[k]!.ports}`]);
      got[k]!.push(s);
      ctx.log(
        `round ${i + 1} ${MODES[k]!.label}: ${Math.round(s.connsPerSec)} conn/s, connect p50/p99 ${s.connectP50Ms.toFixed(0)}/${s.connectP99Ms.toFixed(0)} ms, ` +
          `server ${s.serverUsPerConn.toFixed(0)} + harness ${s.harnessUsPerConn.toFixed(0)} us CPU per connection, ledger ${s.exact ? 'exact' : 'NOT exact'} (load ${loads.at(-1)})`,
      );
    }
  }
  const m = (k: number, f: 'connsPerSec' | 'connectP50Ms' | 'connectP99Ms' | 'serverUsPerConn' | 'harnessUsPerConn') => median(got[k]!.map((s) => s[f]));
  const rows = MODES.map(
    (mode, k) =>
      `| ${mode.label} | ${Math.round(m(k, 'connsPerSec'))} | ${m(k, 'connectP50Ms').toFixed(0)} | ${m(k, 'connectP99Ms').toFixed(0)} | ${median(cpu[k]!).toFixed(0)} | ${m(k, 'serverUsPerConn').toFixed(0)} | ${m(k, 'harnessUsPerConn').toFixed(0)} |`,
  );
  return [
    '## Accept path: shared port vs per-worker ports (same run)',
    '',
    `\`wsbench run ${WORKLOAD.join(' ')} --server workers=2 --server ports=shared|per-worker\`: ${CLIENTS} clients against one bundled node with two cluster workers, the ramp asked at ${RAMP}/s so that the accepting side sets the pace. ` +
      `Connections per second = clients / ramp phase (from the report's timeline); medians of ${rounds} rounds, modes alternating. 1-minute load average before each run: ${loads.join(', ')}.`,
    '',
    `The last column: CPU time of the cluster primary per connection while one process opens ${CPU_CONNS} connections (100 at a time, \`--auth off\`) to \`node dist/servers/main.js --workers 2 --ports ...\`, from /proc/PID/stat (10 ms ticks); CPU time, so the machine's load changes it little. ` +
      'At that cost one core of accepting-and-handing-over caps the shared port near 1e6 / (primary µs) connections per second, and the primary is one process whatever the number of workers.',
    '',
    'The last two columns: CPU time during the ramp phase of each run, per client, of the bundled server (primary and workers) and of the harness (CLI, coordinator, generator workers), from /proc every 100 ms (support/proc-tree.ts).',
    '',
    '| accept path | connections/s | connect p50 (ms) | connect p99 (ms) | primary CPU per connection (µs) | server CPU per connection in the ramp (µs) | harness CPU per connection in the ramp (µs) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `One server process alone (\`node dist/servers/main.js --workers 1\`, auth on) against ${SERVER_CPU_CONNS} bare clients (raw sockets: upgrade with a token, welcome, one join; support/server-cpu.ts): ${median(serverCpu).toFixed(0)} µs of server CPU per connection (median of ${rounds}: ${serverCpu.map((x) => x.toFixed(0)).join(', ')}).`,
    '',
    `Per-worker / shared: ${(m(1, 'connsPerSec') / m(0, 'connsPerSec')).toFixed(2)}x. Ledger exact in every run: ${got.flat().every((s) => s.exact) ? 'yes' : 'no'}.`,
  ].join('\n');
}
