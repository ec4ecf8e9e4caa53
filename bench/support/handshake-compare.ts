/**
 * Handshake cost, before (commit REF) against after (this checkout), alternating within
 * each round, medians over the rounds (issue #15, items 2 and 3). By hand:
 *
 *   node scripts/build.mjs && npx tsx bench/support/handshake-compare.ts REF [rounds] [clients]
 *
 * Per round and side: the server's CPU per connection (one server process, bare clients,
 * support/server-cpu.ts); the harness's CPU per connection (one harness process against
 * that side's server, support/harness-runs.ts handshakeRun); and a whole
 * `wsbench run broadcast ... --server workers=2` (support/ramp-run.ts): connections per
 * second over the ramp and the server's and harness's CPU per connection in it.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { baselineBin, baselineChildScript, baselineServerScript } from './baseline.ts';
import { startChild } from './children.ts';
import { handshakeRun } from './harness-runs.ts';
import { rampRun, ACCEPT_WORKLOAD, loadAverage, type RampSample } from './ramp-run.ts';
import { serverCpuPerConnection } from './server-cpu.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Side {
  label: string;
  serverScript: string;
  childScript: string | undefined;
  bin: string | undefined;
}

function must<T>(v: T | Error): T {
  if (v instanceof Error) throw v;
  return v;
}

/** The harness's CPU per connection: one harness child (`childScript`) against one server child of the same checkout. */
async function harnessUs(childScript: string | undefined): Promise<number> {
  const server = startChild('server', false, childScript);
  try {
    const { port } = await server.first;
    const r = await handshakeRun(`ws://127.0.0.1:${port}/ws`, () => startChild('harness', true, childScript));
    return r.cpuUsPerConnection;
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
  const ref = process.argv[2];
  if (!ref) throw new Error('usage: handshake-compare.ts REF [rounds] [clients]: REF is the commit to compare against (e.g. main)');
  const rounds = Number(process.argv[3] ?? 3);
  const clients = Number(process.argv[4] ?? 20_000);
  execFileSync(process.execPath, [`${ROOT}/scripts/build.mjs`, '--quiet'], { cwd: ROOT, stdio: 'inherit' });
  const sides: Side[] = [
    { label: `before (${ref})`, serverScript: must(baselineServerScript(ref)), childScript: must(baselineChildScript(ref)), bin: must(baselineBin(ref)) },
    { label: 'after', serverScript: `${ROOT}/dist/servers/main.js`, childScript: undefined, bin: undefined },
  ];
  const got = sides.map(() => ({ server: [] as number[], harness: [] as number[], ramp: [] as RampSample[] }));
  const loads: string[] = [];
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < sides.length; j++) {
      const k = (i + j) % sides.length;
      const side = sides[k]!;
      loads.push(loadAverage());
      const s = await serverCpuPerConnection(5000, { script: side.serverScript });
      got[k]!.server.push(s.usPerConn);
      const h = await harnessUs(side.childScript);
      got[k]!.harness.push(h);
      const r = await rampRun(clients, side.bin);
      got[k]!.ramp.push(r);
      process.stderr.write(
        `round ${i + 1} ${side.label}: server ${s.usPerConn.toFixed(0)} us/conn, harness ${h.toFixed(0)} us/conn; run: ${Math.round(r.connsPerSec)} conn/s, ` +
          `server ${r.serverUsPerConn.toFixed(0)} + harness ${r.harnessUsPerConn.toFixed(0)} us/conn in the ramp, connected ${r.connected} (load ${loads.at(-1)})\n`,
      );
    }
  }
  const m = (k: number, f: (x: (typeof got)[number]) => number[]) => median(f(got[k]!));
  const row = (name: string, f: (x: (typeof got)[number]) => number[], d = 0) =>
    `| ${name} | ${m(0, f).toFixed(d)} | ${m(1, f).toFixed(d)} | ${(m(1, f) / m(0, f)).toFixed(2)}x |`;
  const lines = [
    `| measure (median of ${rounds}) | ${sides[0]!.label} | ${sides[1]!.label} | after / before |`,
    '| --- | ---: | ---: | ---: |',
    row('server CPU per connection, one process, bare clients (us)', (x) => x.server),
    row('harness CPU per connection, one harness process (us)', (x) => x.harness),
    row(`\`wsbench run ${ACCEPT_WORKLOAD(clients).join(' ')} --server workers=2\`: connections/s over the ramp`, (x) => x.ramp.map((r) => r.connsPerSec)),
    row('  in that ramp: server CPU per connection, primary + workers (us)', (x) => x.ramp.map((r) => r.serverUsPerConn)),
    row('  in that ramp: harness CPU per connection, CLI + generator workers (us)', (x) => x.ramp.map((r) => r.harnessUsPerConn)),
    row('  connect p50 (ms)', (x) => x.ramp.map((r) => r.connectP50Ms)),
    row('  connect p99 (ms)', (x) => x.ramp.map((r) => r.connectP99Ms)),
    '',
    `1-minute load average before each side's measurements: ${loads.join(', ')}.`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
