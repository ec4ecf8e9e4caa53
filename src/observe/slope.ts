/**
 * Memory slope over a run, for leak checks (`soak`). Robust by design: one step in
 * memory (a heap that grows once and stays) must not read as a leak, a steady climb
 * must. Theil-Sen (the median of the pairwise slopes) shrugs off a step; the floors of
 * the run's eighths (memory at each block's lowest GC point) show whether the climb
 * went on through the whole window.
 */

/** Theil-Sen slope of y over x (median of pairwise slopes); undefined for fewer than 2 points. O(n^2): for per-second series up to a few thousand points. */
export function theilSenSlope(xs: readonly number[], ys: readonly number[]): number | undefined {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return undefined;
  // Subsample long series to at most 600 points so hours of seconds stay cheap.
  const step = Math.max(1, Math.ceil(n / 600));
  const idx: number[] = [];
  for (let i = 0; i < n; i += step) idx.push(i);
  const slopes: number[] = [];
  for (let a = 0; a < idx.length; a++) {
    for (let b = a + 1; b < idx.length; b++) {
      const dx = xs[idx[b]!]! - xs[idx[a]!]!;
      if (dx !== 0) slopes.push((ys[idx[b]!]! - ys[idx[a]!]!) / dx);
    }
  }
  if (!slopes.length) return undefined;
  slopes.sort((p, q) => p - q);
  const m = slopes.length >> 1;
  return slopes.length % 2 ? slopes[m]! : (slopes[m - 1]! + slopes[m]!) / 2;
}

/** The lowest value in each of `parts` equal consecutive blocks of the series. */
export function blockFloors(ys: readonly number[], parts = 4): number[] {
  const out: number[] = [];
  for (let k = 0; k < parts; k++) {
    const block = ys.slice(Math.floor((ys.length * k) / parts), Math.floor((ys.length * (k + 1)) / parts));
    if (block.length) out.push(Math.min(...block));
  }
  return out;
}

/** A memory trend over one window: slope in bytes per hour and the floors of its eighths. */
export interface MemoryTrend {
  /** Theil-Sen slope, bytes per hour. */
  slopeBytesPerHour: number;
  /** Lowest memory of each eighth of the window, bytes (what survives the GCs of that stretch). */
  floorsBytes: number[];
  /** The last floor above the first and the floors' own Theil-Sen slope positive: growth that lasted. */
  floorsRising: boolean;
  points: number;
  windowSec: number;
}

/** The trend of `bytes` sampled at `atMs` (wall clock); undefined for fewer than 8 points. */
export function memoryTrend(atMs: readonly number[], bytes: readonly number[]): MemoryTrend | undefined {
  if (bytes.length < 8) return undefined;
  const hours = atMs.map((t) => (t - atMs[0]!) / 3_600_000);
  const slope = theilSenSlope(hours, bytes);
  if (slope === undefined) return undefined;
  const floorsBytes = blockFloors(bytes, 8);
  const floorSlope = theilSenSlope(
    floorsBytes.map((_, i) => i),
    floorsBytes,
  );
  const floorsRising = floorsBytes.at(-1)! > floorsBytes[0]! && (floorSlope ?? 0) > 0;
  return { slopeBytesPerHour: Math.round(slope), floorsBytes, floorsRising, points: bytes.length, windowSec: Math.round((atMs.at(-1)! - atMs[0]!) / 100) / 10 };
}
