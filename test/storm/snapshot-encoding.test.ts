/**
 * The recorder's once-a-second snapshots travel uncompressed (no zlib stream per histogram):
 * the coordinator's merged results must be identical to those of the compressed encoding.
 */
import { describe, expect, it } from 'vitest';
import { createRecorder } from '../../src/metrics/recorder.ts';
import { createAggregator } from '../../src/metrics/aggregator.ts';
import { RAW_SNAPSHOT_PREFIX, decodeHistogram, encodeHistogram, encodeSnapshotHistogram, newHistogram, recorderKind, wasmAvailable } from '../../src/metrics/hdr.ts';
import { createRng } from '../../src/executor/random.ts';
import type { MetricsSnapshot } from '../../src/metrics/types.ts';

/** Three workers' snapshots over four seconds, with latencies from 1 us to well past an hour (clamped). */
function snapshots(): MetricsSnapshot[][] {
  const rng = createRng(11);
  const recorders = [createRecorder(), createRecorder(), createRecorder()];
  const seconds: MetricsSnapshot[][] = [];
  for (let s = 0; s < 4; s++) {
    for (const [w, rec] of recorders.entries()) {
      const n = s === 2 && w === 1 ? 0 : 500 + 300 * w;
      for (let i = 0; i < n; i++) rec.record('fanout', 1 + rng() ** 4 * 5e9);
      if (s !== 3) for (let i = 0; i < 50; i++) rec.record('connect', 100 + rng() * 1e6);
      rec.count('messages.received', n);
    }
    seconds.push(recorders.map((r) => r.snapshot()));
  }
  for (const r of recorders) r.close();
  return seconds;
}

/** The same snapshots with every histogram re-encoded the old way (compressed base64). */
function compressed(snap: MetricsSnapshot): MetricsSnapshot {
  const histograms: Record<string, string> = {};
  for (const [name, enc] of Object.entries(snap.histograms)) histograms[name] = encodeHistogram(decodeHistogram(enc));
  return { histograms, counters: snap.counters };
}

function merge(seconds: MetricsSnapshot[][], map: (s: MetricsSnapshot) => MetricsSnapshot) {
  const agg = createAggregator();
  const rows = seconds.map((workers) => {
    for (const s of workers) agg.add(map(s));
    return agg.tick();
  });
  return { rows, totals: agg.totals(), series: agg.series() };
}

describe('snapshot encoding between worker and coordinator', () => {
  it('uses the raw form for the recorder histograms (WebAssembly) and skips empty ones', () => {
    const seconds = snapshots();
    if (wasmAvailable()) expect(seconds[0]![0]!.histograms.fanout!.startsWith(RAW_SNAPSHOT_PREFIX)).toBe(true);
    // Worker 1 recorded nothing in second 2: no histogram is sent for it.
    expect(seconds[2]![1]!.histograms.fanout).toBeUndefined();
    expect(seconds[3]![0]!.histograms.connect).toBeUndefined();
  });

  it('merges to exactly the same rows, series and totals as the compressed encoding', () => {
    const seconds = snapshots();
    const raw = merge(seconds, (s) => s);
    const old = merge(seconds, compressed);
    expect(raw.totals).toEqual(old.totals);
    expect(raw.rows).toEqual(old.rows);
    expect(raw.series).toEqual(old.series);
    expect(raw.totals.metrics.fanout!.count).toBe(3 * 4 * 800 - 800);
  });

  it('round-trips every count of a histogram, and a JS histogram falls back to the compressed form', () => {
    const h = newHistogram(recorderKind(), false);
    const rng = createRng(5);
    for (let i = 0; i < 2000; i++) h.recordValue(Math.round(1 + rng() * 3.6e9));
    const back = decodeHistogram(encodeSnapshotHistogram(h));
    const ref = decodeHistogram(encodeHistogram(h));
    expect(back.totalCount).toBe(2000);
    for (const p of [0, 1, 50, 90, 99, 99.9, 100]) expect(back.getValueAtPercentile(p)).toBe(ref.getValueAtPercentile(p));
    expect(back.maxValue).toBe(ref.maxValue);
    expect(back.minNonZeroValue).toBe(ref.minNonZeroValue);
    if (recorderKind().useWebAssembly) h.destroy();
    const js = newHistogram({ bitBucketSize: 32, useWebAssembly: false }, false);
    js.recordValue(42);
    const enc = encodeSnapshotHistogram(js);
    expect(enc.startsWith(RAW_SNAPSHOT_PREFIX)).toBe(false);
    expect(decodeHistogram(enc).getValueAtPercentile(50)).toBe(42);
  });
});
