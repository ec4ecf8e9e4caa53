/**
 * Truth test (issues #14 and #21): wsbench's fan-out figures against a server that
 * delays deliveries by known amounts and a bare reference client (its own `ws`
 * sockets in a process of its own, timed from its actual send) on the same server at the
 * same time.
 *
 * Known delays: in each room, 19 of every 20 publishes are delivered after FAST_MS
 * and 1 after SLOW_MS (5%), so p50 and p90 lie in the FAST band and p99 in the SLOW
 * band, each far from a band edge. Once, mid-run, the server blocks its event loop
 * for STALL_MS: deliveries in flight come out up to STALL_MS late, above SLOW_MS only
 * for the ~(FAST_MS + STALL_MS - SLOW_MS) = 20 ms of publishes (0.5% of wsbench's 4 s
 * window, less of the reference's), so the stall lands in the top 1% (max, p99.9)
 * without moving p99 out of the SLOW band.
 *
 * Tolerance: wsbench's p50, p90 and p99 within max(100 us, 5%) of the reference's.
 * The delays are tens of ms so that this machine's scheduling noise (a few ms on a
 * loaded 2-core box, seen by both clients alike) stays inside 5% (1.5 ms at FAST_MS,
 * 4.5 ms at SLOW_MS). wsbench times from the scheduled send (coordinated omission)
 * and the reference from its actual send, so on the upside wsbench may also exceed
 * the reference by its own reported `send.lag` at the same percentile: under light
 * load that is tens of us (the strict check), on a starved machine it is what the
 * report shows the generator added. Unreported lag (the ~1 ms of millisecond timers
 * the issue found) still fails. On the downside likewise: wsbench may read below the
 * reference by the reference process's own event-loop delay at that percentile (it
 * read its deliveries that much late; seen at load 20: p50 2.5 ms below).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { killPid } from '../helpers/processes.ts';
import type { Report } from '../../src/report/schema.ts';
import { renderTable } from '../../src/output/index.ts';
import type { DelayServerOptions } from './delay-server.ts';

const FAST_MS = 30;
const SLOW_MS = 90;
const STALL_MS = 80;
const WARMUP_MS = 500;
const DURATION_MS = 4000;
const RATE = 100;

const SERVER = fileURLToPath(new URL('./delay-server.ts', import.meta.url));
const REFERENCE = fileURLToPath(new URL('./reference-client.ts', import.meta.url));
const started: ChildProcess[] = [];
let dir: string | undefined;

afterEach(() => {
  for (const c of started.splice(0)) killPid(c.pid);
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

async function startDelayServer(o: DelayServerOptions): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', SERVER, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /"port":(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`delay server exited ${code}`)));
  });
  return `ws://127.0.0.1:${port}/ws`;
}

/** The reference client in its own process (reference-client.ts); `stop()` returns its latencies in us, sorted. */
async function startReference(url: string, receivers: number, rate: number): Promise<{ stop(): Promise<{ latencies: number[]; loopDelayUs: RefLag }> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', REFERENCE, url, String(receivers), String(rate), String(SLOW_MS + 50)], { stdio: ['pipe', 'pipe', 'inherit'] });
  started.push(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (!out.includes('"ready"')) return;
      clearInterval(poll);
      resolve();
    }, 20);
    child.once('exit', (code) => {
      clearInterval(poll);
      reject(new Error(`reference client exited ${code}`));
    });
  });
  return {
    async stop() {
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.stdin!.write('stop\n');
      await done;
      const line = out.split('\n').find((l) => l.includes('latenciesUs'))!;
      const r = JSON.parse(line) as { latenciesUs: number[]; loopDelayUs: RefLag };
      return { latencies: r.latenciesUs.sort((x, y) => x - y), loopDelayUs: r.loopDelayUs };
    },
  };
}

/** Nearest-rank percentile, as HDR's getValueAtPercentile reads it. */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;

/** The reference process's event-loop delay percentiles, µs: how late it may have read a delivery. */
type RefLag = Record<'p50' | 'p90' | 'p99', number>;

interface Attempt {
  code: number | null;
  stderr: string;
  report: Report;
  ref: number[];
  refLag: RefLag;
  html: string;
}

/** One wsbench run beside the reference on a fresh delay server. */
async function attempt(): Promise<Attempt> {
  const url = await startDelayServer({ fastMs: FAST_MS, slowMs: SLOW_MS, slowEvery: 20, stallMs: STALL_MS, stallAfterMs: WARMUP_MS + DURATION_MS / 2, stallRoomPrefix: 'room-' });
  const reference = await startReference(url, 10, RATE);
  dir ??= mkdtempSync(join(tmpdir(), 'wsb-truth-'));
  const out = join(dir, `r-${Date.now()}.json`);
  const html = out.replace(/\.json$/, '.html');
  const res = await runCli(
    ['run', 'broadcast', '--target', url, '--clients', '10', '--rooms', '1', '--rate', String(RATE), '--warmup', `${WARMUP_MS}ms`, '--duration', `${DURATION_MS}ms`, '--cooldown', '500ms', '--out', out, '--html', html, '-q'],
    { timeoutMs: 40_000 },
  );
  const { latencies: ref, loopDelayUs: refLag } = await reference.stop();
  for (const c of started.splice(0)) killPid(c.pid);
  return { code: res.code, stderr: res.stderr, report: JSON.parse(readFileSync(out, 'utf8')) as Report, ref, refLag, html: readFileSync(html, 'utf8') };
}

const STATS = ['p50', 'p90', 'p99'] as const;
const tolerance = (refUs: number) => Math.max(100, 0.05 * refUs);
/**
 * How far wsbench and the reference disagree at `stat` beyond what each says it added:
 * above, less wsbench's own `send.lag`; below, less the reference's event-loop delay
 * (it read the delivery late). Both measured in the same run.
 */
function excessUs(a: Attempt, stat: (typeof STATS)[number]): number {
  const diff = a.report.metrics.fanout![stat] - percentile(a.ref, Number(stat.slice(1)));
  return diff > 0 ? Math.max(0, diff - (a.report.metrics['send.lag']?.[stat] ?? 0)) : Math.max(0, -diff - a.refLag[stat]);
}
const agrees = (a: Attempt) => STATS.every((stat) => excessUs(a, stat) <= tolerance(percentile(a.ref, Number(stat.slice(1)))));

describe('truth: fan-out against known server delays and a bare reference client', () => {
  it('matches the reference at p50, p90 and p99 within max(100 us, 5%) (plus the send lag wsbench reports above it, the loop delay of the reference below it), agrees with the known delays, and shows a server stall in the tail', async () => {
    let a = await attempt();
    // Two independent trials at most: wsbench fails only if it disagrees with the reference in both.
    // One trial can miss by noise on either side (seen in CI: p90 1.73 ms below the reference against a
    // 1.71 ms tolerance, the reference's own process being the slower one); a biased wsbench misses twice.
    if (!agrees(a)) a = await attempt();
    const { report, ref } = a;
    // A slow delivery is overtaken by the fast ones published after it: the ledger must say so (exit 1),
    // and nothing else may fail.
    expect(report.checks.filter((c) => !c.passed).map((c) => c.name), a.stderr).toEqual(['delivery.exactly-once-in-order']);
    expect(report.ledger).toMatchObject({ lost: 0, duplicated: 0 });
    expect(report.ledger.reordered).toBeGreaterThan(0);
    expect(a.code).toBe(1);
    const fanout = report.metrics.fanout!;
    expect(fanout.count).toBeGreaterThan(10 * RATE * (DURATION_MS / 1000) * 0.8);
    expect(ref.length).toBeGreaterThan(1000);

    const refP = { p50: percentile(ref, 50), p90: percentile(ref, 90), p99: percentile(ref, 99) };
    const detail = `wsbench p50/p90/p99 ${fanout.p50}/${fanout.p90}/${fanout.p99} us, reference ${refP.p50.toFixed(0)}/${refP.p90.toFixed(0)}/${refP.p99.toFixed(0)} us, max ${fanout.max}/${ref.at(-1)!.toFixed(0)} us, send.lag p50/p90/p99 ${report.metrics['send.lag']?.p50}/${report.metrics['send.lag']?.p90}/${report.metrics['send.lag']?.p99} us, reference loop delay p50/p90/p99 ${a.refLag.p50.toFixed(0)}/${a.refLag.p90.toFixed(0)}/${a.refLag.p99.toFixed(0)} us`;
    for (const stat of STATS) expect(excessUs(a, stat), `${stat}: ${detail}`).toBeLessThanOrEqual(tolerance(refP[stat]));
    // Consistent with the known delays (a server timer may fire up to 1 ms early; load adds, never subtracts):
    // p50 and p90 in the fast band (below the slow delay), p99 in the slow band (below slow + stall).
    for (const stat of ['p50', 'p90'] as const) {
      expect(fanout[stat], detail).toBeGreaterThanOrEqual((FAST_MS - 1) * 1000);
      expect(fanout[stat], detail).toBeLessThan((SLOW_MS - 1) * 1000);
    }
    expect(fanout.p99, detail).toBeGreaterThanOrEqual((SLOW_MS - 1) * 1000);
    expect(fanout.p99, detail).toBeLessThan((SLOW_MS + STALL_MS) * 1000);
    // The stall: beyond anything the known delays produce, in wsbench's tail as in the reference's.
    const stallFloorUs = (SLOW_MS + 10) * 1000;
    expect(fanout.max, detail).toBeGreaterThanOrEqual(stallFloorUs);
    expect(ref.at(-1)!, detail).toBeGreaterThanOrEqual(stallFloorUs);

    // Rates and generator figures of the same run (issue #14 item 5): every publish is acked.
    expect(report.rates.acksPerSec).toBeGreaterThan(RATE * 0.8);
    expect(report.rates.acksPerSec).toBeLessThan(RATE * 1.2);
    expect(report.rates.roundTripsPerSec).toBe(0);
    expect(report.generator.cpuSeconds).toBeGreaterThan(0);
    // One send.lag per acked publish; a publish sent in the last instant of the steady phase is acked
    // in the cool-down (or the other way round), so the two counts may differ by one at the edge.
    expect(Math.abs(report.metrics['send.lag']!.count - report.metrics.ack!.count)).toBeLessThanOrEqual(1);
    // send.lag is in every rendering: the console table and the HTML report, beside the JSON.
    expect(renderTable(report)).toMatch(/send\.lag\s+│\s+[\d,]+\s+│/);
    expect(a.html).toContain('<code>send.lag</code>');
  }, 60_000);
});
