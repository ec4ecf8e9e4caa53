/**
 * `npm run bench -- metrics`: the cost of the metrics hot path. How many
 * `Recorder.record()` calls a second one thread sustains (and which histogram
 * implementation records fastest, which is how src/metrics/hdr.ts chose its
 * own), and what a once-a-second snapshot costs to encode and to merge.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createAggregator, createRecorder, mergeEncoded } from '../src/metrics/index.ts';
import { newHistogram, wasmAvailable, type HistogramKind } from '../src/metrics/hdr.ts';
import type { BenchContext } from './run.ts';
import { median } from './support/stats.ts';

const CANDIDATE_ENV = 'WSBENCH_BENCH_HDR_CANDIDATE';

type Ctx = BenchContext;

/** Latency-like values, log-uniform from 1 us to ~160 ms, fixed seed so runs compare. */
function latencies(n: number): Float64Array {
  const out = new Float64Array(n);
  let seed = 42;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    out[i] = Math.exp((seed / 2 ** 31) * 12) + 0.3;
  }
  return out;
}


const fmtRate = (perSec: number): string => `${(perSec / 1e6).toFixed(2)} M/s`;
const fmtUs = (us: number): string => (us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(0)} us`);

function timeNs(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t);
}

export default async function metricsBench(ctx: Ctx): Promise<string> {
  const runs = Math.max(1, ctx.runs);
  const values = latencies(1 << 16);
  const mask = values.length - 1;

  // 1. Recorder.record() through the public API: name lookup, clamp, record.
  const CALLS = 2_000_000;
  const recordRates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const rec = createRecorder();
    rec.record('fanout', 1);
    rec.record('ack', 1);
    const ns = timeNs(() => {
      for (let i = 0; i < CALLS; i++) rec.record('fanout', values[i & mask] as number);
    });
    recordRates.push((CALLS / ns) * 1e9);
    rec.close();
  }
  ctx.log(`record(): ${fmtRate(median(recordRates))}`);

  // 2. The candidates: raw recordValue per implementation, each in a fresh process so
  // one implementation's JIT feedback (a megamorphic call site) does not slow the next.
  const kinds: HistogramKind[] = [];
  for (const useWebAssembly of wasmAvailable() ? [false, true] : [false]) {
    for (const bitBucketSize of [16, 32, 64, 'packed'] as const) kinds.push({ bitBucketSize, useWebAssembly });
  }
  const candidateRows: string[] = [];
  for (const kind of kinds) {
    const label = `${kind.useWebAssembly ? 'wasm' : 'js'} ${kind.bitBucketSize}`;
    const child = spawnSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
      env: { ...process.env, [CANDIDATE_ENV]: JSON.stringify(kind) },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const perSec = Number(child.stdout.trim().split('\n').at(-1) || Number.NaN);
    const ok = Number.isFinite(perSec) && perSec > 0;
    candidateRows.push(`| ${label} | ${ok ? fmtRate(perSec) : 'failed'} |`);
    ctx.log(`candidate ${label}: ${ok ? fmtRate(perSec) : `failed: ${child.stderr.trim().split('\n')[0] ?? ''}`}`);
  }

  // Warm the encode/decode paths once so the first size measured is not paying for the JIT.
  {
    const rec = createRecorder();
    for (let i = 0; i < 10_000; i++) rec.record('w', values[i & mask] as number);
    const e = rec.snapshot().histograms.w!;
    mergeEncoded([e, e]);
    createAggregator().add({ histograms: { w: e }, counters: {} });
    rec.close();
  }

  // 3. One worker-second: snapshot (encode) of N samples, aggregator.add (decode + add twice), and mergeEncoded of 4 workers.
  const snapRows: string[] = [];
  for (const perSecond of [10_000, 200_000]) {
    const encodeUs: number[] = [];
    const addUs: number[] = [];
    const mergeUs: number[] = [];
    let size = 0;
    for (let r = 0; r < runs; r++) {
      const rec = createRecorder();
      const encoded: string[] = [];
      for (let w = 0; w < 4; w++) {
        for (let i = 0; i < perSecond; i++) rec.record('fanout', values[(i * 7 + w) & mask] as number);
        let snap: ReturnType<typeof rec.snapshot> | undefined;
        const ns = timeNs(() => {
          snap = rec.snapshot();
        });
        if (w === 0) encodeUs.push(ns / 1000);
        encoded.push(snap!.histograms.fanout!);
      }
      rec.close();
      size = encoded[0]!.length;
      const agg = createAggregator();
      // Steady state: the second's and the run's histograms already exist.
      agg.add({ histograms: { fanout: encoded[1]! }, counters: {} });
      addUs.push(timeNs(() => agg.add({ histograms: { fanout: encoded[0]! }, counters: { 'messages.received': perSecond } })) / 1000);
      mergeUs.push(timeNs(() => mergeEncoded(encoded)) / 1000);
    }
    snapRows.push(`| ${perSecond.toLocaleString('en-US')} | ${size.toLocaleString('en-US')} chars | ${fmtUs(median(encodeUs))} | ${fmtUs(median(addUs))} | ${fmtUs(median(mergeUs))} |`);
    ctx.log(`snapshot of ${perSecond}: encode ${fmtUs(median(encodeUs))}, add ${fmtUs(median(addUs))}, merge x4 ${fmtUs(median(mergeUs))}`);
  }

  return [
    '## Metrics hot path',
    '',
    `\`Recorder.record()\` (name lookup, clamp to integer us, HDR record; ${wasmAvailable() ? 'WebAssembly' : 'JS'} 32-bit buckets), one thread, median of ${runs} runs of ${(CALLS / 1e6).toFixed(0)} M calls: **${fmtRate(median(recordRates))}**.`,
    '',
    'Raw `recordValue` by histogram implementation (1 us .. 1 h, 3 digits; median of 3 runs). The recorder uses the fastest that needs no overflow care for a one-second interval:',
    '',
    '| implementation | recordValue |',
    '|---|---|',
    ...candidateRows,
    '',
    `Per snapshot (one metric, one worker-second, median of ${runs} runs): \`snapshot()\` encodes, \`Aggregator.add\` decodes and adds into the second and the run total, \`mergeEncoded\` merges four workers exactly.`,
    '',
    '| samples / s | encoded size | snapshot() | Aggregator.add | mergeEncoded x4 |',
    '|---|---|---|---|---|',
    ...snapRows,
  ].join('\n');
}

/** Child-process mode for the candidate table: median of 3 timed runs after a warm-up, printed as calls per second. */
async function candidateMain(kind: HistogramKind): Promise<void> {
  const values = latencies(1 << 16);
  const mask = values.length - 1;
  if (kind.useWebAssembly && !wasmAvailable()) throw new Error('WebAssembly histograms unavailable');
  const n = kind.bitBucketSize === 'packed' ? 200_000 : 1_000_000;
  const h = newHistogram(kind);
  const loop = (count: number): number =>
    timeNs(() => {
      for (let i = 0; i < count; i++) h.recordValue(Math.round(values[i & mask] as number));
    });
  loop(n / 4);
  const rates = [0, 1, 2].map(() => (n / loop(n)) * 1e9);
  h.destroy();
  process.stdout.write(`${median(rates)}\n`);
}

const candidate = process.env[CANDIDATE_ENV];
if (candidate) await candidateMain(JSON.parse(candidate) as HistogramKind);
