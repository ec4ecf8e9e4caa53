/**
 * The per-worker sample sink. `record` runs once per received message (hundreds
 * of thousands of times a second), so it does one Map lookup, clamps to integer
 * microseconds and records: no allocation per call.
 */
import type { MetricsSnapshot, Recorder } from './types.ts';
import { HIGHEST_US, encodeSnapshotHistogram, newHistogram, recorderKind, type Histogram } from './hdr.ts';

/** Round to integer microseconds and clamp to [1, HIGHEST_US]; NaN counts as 1. */
export function clampUs(valueUs: number): number {
  if (!(valueUs >= 1)) return 1;
  if (valueUs >= HIGHEST_US) return HIGHEST_US;
  return Math.round(valueUs);
}

/**
 * A new recorder. Histograms are 1 us .. 1 h, 3 significant digits, WebAssembly
 * 32-bit buckets when available (the fastest to record, see src/metrics/hdr.ts),
 * created on first use of a name and reused across snapshots.
 */
export function createRecorder(): Recorder & { close(): void } {
  const kind = recorderKind();
  const histograms = new Map<string, Histogram>();
  const counters = new Map<string, number>();

  const histogramFor = (name: string): Histogram => {
    let h = histograms.get(name);
    if (h === undefined) {
      h = newHistogram(kind, false);
      histograms.set(name, h);
    }
    return h;
  };

  return {
    record(name: string, valueUs: number): void {
      let h = histograms.get(name);
      if (h === undefined) h = histogramFor(name);
      h.recordValue(clampUs(valueUs));
    },
    count(name: string, n = 1): void {
      counters.set(name, (counters.get(name) ?? 0) + n);
    },
    snapshot(): MetricsSnapshot {
      const snap: MetricsSnapshot = { histograms: {}, counters: {} };
      for (const [name, h] of histograms) {
        if (h.totalCount === 0) continue;
        snap.histograms[name] = encodeSnapshotHistogram(h);
        h.reset();
      }
      // Keys stay in the map (set to 0) so the next interval's count() does not re-insert them.
      for (const [name, n] of counters) {
        if (n === 0) continue;
        snap.counters[name] = n;
        counters.set(name, 0);
      }
      return snap;
    },
    /** Free the WebAssembly memory of every histogram; the recorder is unusable afterwards. */
    close(): void {
      for (const h of histograms.values()) h.destroy();
      histograms.clear();
      counters.clear();
    },
  };
}
