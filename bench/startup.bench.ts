/**
 * `npm run bench -- startup`: what a process costs before it does any work, the
 * compiled JavaScript in dist/ (what `wsbench` runs) against the TypeScript sources
 * loaded through tsx at run time (what it ran before the build step), alternating
 * within each round:
 * - a bundled server node alone (`node dist/servers/main.js` / `node --import tsx
 *   servers/main.ts`): time from spawn to its URL on stdout, RSS 1 s later;
 * - a whole `wsbench run broadcast` with one client: the generator worker's RSS
 *   peak and the server node's RSS, both from the report, and the run's wall time.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchContext } from './run.ts';
import type { Report } from '../src/report/schema.ts';
import { median } from './support/stats.ts';
import { tsxLoaderUrl } from '../src/package-paths.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;
const ROUNDS_MAX = 3;
const RUN_ARGS = ['broadcast', '--clients', '1', '--rooms', '1', '--rate', '1', '--warmup', '300ms', '--duration', '2s', '--cooldown', '500ms'];
const SERVER_ARGS = ['--port', '0', '--host', '127.0.0.1', '--heartbeat-ms', '0', '--die-with-parent'];

const FLAVOURS = {
  compiled: { server: [join(ROOT, 'dist/servers/main.js')], cli: [join(ROOT, 'bin/wsbench.js')] },
  'tsx (sources)': {
    server: ['--import', tsxLoaderUrl(), join(ROOT, 'servers/main.ts')],
    cli: ['--import', tsxLoaderUrl(), join(ROOT, 'bench/support/cli-from-source.ts')],
  },
} as const;
type Flavour = keyof typeof FLAVOURS;

interface Sample {
  serverStartMs: number;
  serverIdleRss: number;
  workerRssPeak: number;
  nodeRss: number;
  runWallMs: number;
}

/** VmRSS of `pid` in bytes (Linux /proc). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** Start a server node, time its URL, read its RSS a second later, stop it. */
function idleServer(args: readonly string[]): Promise<{ startMs: number; rss: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [...args, ...SERVER_ARGS], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('exit', () => clearTimeout(kill));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      if (out.includes('\n')) return;
      out += d;
      if (!out.includes('\n')) return;
      const startMs = performance.now() - t0;
      setTimeout(() => {
        const rss = rssOf(child.pid!);
        child.once('exit', () => resolve({ startMs, rss }));
        child.kill('SIGTERM');
      }, 1000);
    });
    child.once('error', reject);
  });
}

/** One `wsbench run` with a single client; its report. */
function oneClientRun(args: readonly string[]): Promise<{ report: Report; wallMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'wsb-startup-'));
  const out = join(dir, 'r.json');
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, 'run', ...RUN_ARGS, '--out', out, '-q'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`wsbench run exited ${code}: ${stderr.slice(-500)}`);
        resolve({ report: JSON.parse(readFileSync(out, 'utf8')) as Report, wallMs: performance.now() - t0 });
      } catch (e) {
        reject(e);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

async function sample(f: Flavour): Promise<Sample> {
  const server = await idleServer(FLAVOURS[f].server);
  const run = await oneClientRun(FLAVOURS[f].cli);
  const node = run.report.nodes?.[0]?.stats as { rssBytes?: number } | undefined;
  return {
    serverStartMs: server.startMs,
    serverIdleRss: server.rss,
    workerRssPeak: run.report.generator.rssBytesPeak,
    nodeRss: node?.rssBytes ?? NaN,
    runWallMs: run.wallMs,
  };
}

export default async function startupBench(ctx: BenchContext): Promise<string> {
  const rounds = Math.max(1, Math.min(ctx.runs, ROUNDS_MAX));
  const names = Object.keys(FLAVOURS) as Flavour[];
  const got: Record<Flavour, Sample[]> = { compiled: [], 'tsx (sources)': [] };
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < names.length; j++) {
      const f = names[(i + j) % names.length]!;
      const s = await sample(f);
      got[f].push(s);
      ctx.log(`${f}: server start ${s.serverStartMs.toFixed(0)} ms, idle ${(s.serverIdleRss / MiB).toFixed(1)} MiB; worker peak ${(s.workerRssPeak / MiB).toFixed(1)} MiB, node ${(s.nodeRss / MiB).toFixed(1)} MiB; run ${s.runWallMs.toFixed(0)} ms`);
    }
  }
  const med = (f: Flavour, k: keyof Sample) => median(got[f].map((s) => s[k]));
  const rows: Array<[string, keyof Sample, number, number]> = [
    ['server node alone: spawn to URL (ms)', 'serverStartMs', 1, 0],
    ['server node alone: RSS 1 s after its URL (MiB)', 'serverIdleRss', MiB, 1],
    ['`wsbench run` with 1 client: generator worker RSS peak (MiB)', 'workerRssPeak', MiB, 1],
    ['`wsbench run` with 1 client: server node RSS (MiB)', 'nodeRss', MiB, 1],
    ['`wsbench run` with 1 client: wall time (ms)', 'runWallMs', 1, 0],
  ];
  const lines = rows.map(([label, k, div, digits]) => {
    const c = med('compiled', k);
    const t = med('tsx (sources)', k);
    return `| ${label} | ${(c / div).toFixed(digits)} | ${(t / div).toFixed(digits)} | ${(c / t).toFixed(2)} |`;
  });
  return [
    '## Process start-up: compiled JavaScript vs tsx at run time',
    '',
    `What each process costs before any load. *Compiled* is what \`wsbench\` runs (dist/, built by \`npm run build\` at install); *tsx* is the TypeScript sources loaded through tsx at run time, as every process did before (\`node --import tsx ...\`). A server node started alone (\`--heartbeat-ms 0\`), then a whole \`wsbench run ${RUN_ARGS.join(' ')}\` (RSS from its report). Medians of ${rounds} rounds, flavours alternating.`,
    '',
    '| per process | compiled | tsx (sources) | compiled / tsx |',
    '|---|---|---|---|',
    ...lines,
    '',
    `1-minute load average at the end: ${loadavg()[0]!.toFixed(1)} (a shared machine: start-up times move with it; RSS hardly does).`,
  ].join('\n');
}
