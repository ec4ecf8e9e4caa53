/**
 * Reading encoded histograms: summaries for the report, exact merges, single
 * percentiles for gates, and the percentile spectrum for the HTML report.
 */
import type { MetricSummary } from '../report/schema.ts';
import { decodeHistogram, encodeHistogram, newHistogram, TOTALS_KIND, type Histogram } from './hdr.ts';

/** The summary of an empty histogram: every field 0. */
function emptySummary(hdr: string): MetricSummary {
  return { unit: 'us', count: 0, min: 0, mean: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, max: 0, hdr };
}

/**
 * Summary of a histogram, every value in integer microseconds (mean rounded).
 * Percentiles and max are the highest value equivalent to the bucket they fall in
 * (within 0.1%), as HdrHistogram reports them. `hdr` defaults to encoding `h`.
 */
export function summarizeHistogram(h: Histogram, hdr?: string): MetricSummary {
  const encoded = hdr ?? encodeHistogram(h);
  if (h.totalCount === 0) return emptySummary(encoded);
  return {
    unit: 'us',
    count: h.totalCount,
    min: h.minNonZeroValue,
    mean: Math.round(h.mean),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p95: h.getValueAtPercentile(95),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
    hdr: encoded,
  };
}

// Gates and the HTML report ask several questions of the same few strings.
const decodeCache = new Map<string, Histogram>();
const DECODE_CACHE_SIZE = 16;

/** Decode, with a small cache; callers must not mutate the result. */
function decodeCached(hdr: string): Histogram {
  const hit = decodeCache.get(hdr);
  if (hit !== undefined) return hit;
  const h = decodeHistogram(hdr);
  if (decodeCache.size >= DECODE_CACHE_SIZE) {
    const oldest = decodeCache.keys().next().value as string;
    decodeCache.delete(oldest);
  }
  decodeCache.set(hdr, h);
  return h;
}

/** Summary of one encoded histogram (see {@link summarizeHistogram}); `''` means empty. */
export function summarize(hdr: string): MetricSummary {
  if (hdr === '') return emptySummary(mergeEncoded([]));
  return summarizeHistogram(decodeCached(hdr), hdr);
}

/**
 * Exact merge: decode each histogram and add their counts. Empty strings are
 * skipped; no input gives an empty histogram. Returns the merged histogram encoded.
 */
export function mergeEncoded(hdrs: string[]): string {
  const total = newHistogram(TOTALS_KIND, true);
  for (const s of hdrs) {
    if (s === '') continue;
    total.add(decodeCached(s));
  }
  return encodeHistogram(total);
}

/** Value at `percentile` (0..100) of an encoded histogram, in microseconds; 0 when empty. */
export function percentileOf(hdr: string, percentile: number): number {
  if (hdr === '') return 0;
  const h = decodeCached(hdr);
  if (h.totalCount === 0) return 0;
  return percentile >= 100 ? h.maxValue : h.getValueAtPercentile(Math.max(0, percentile));
}

/**
 * The densest stretch of a histogram: the most samples whose values fall within any
 * window of `windowUs` (windows start every windowUs/4), as a rate per second. When
 * the samples are times since one common event (every client dropped at once), this
 * is the peak arrival rate of the herd that followed.
 */
export function peakRatePerSec(hdr: string, windowUs: number): number {
  if (hdr === '' || windowUs <= 0) return 0;
  const h = decodeCached(hdr);
  const total = h.totalCount;
  if (total === 0) return 0;
  // The quantile function at 1000 (or `total`) evenly spaced ranks, then the largest
  // number of ranks inside any window of values (two pointers over sorted values).
  const points = Math.min(1000, total);
  const values: number[] = [];
  for (let i = 0; i < points; i++) values.push(h.getValueAtPercentile(((i + 0.5) / points) * 100));
  let best = 0;
  for (let lo = 0, hi = 0; lo < points; lo++) {
    while (hi < points && values[hi]! - values[lo]! < windowUs) hi++;
    if (hi - lo > best) best = hi - lo;
  }
  return Math.round(((best / points) * total * 1e6) / windowUs);
}

/** One point of a percentile spectrum. */
export interface SpectrumPoint {
  /** 0..100. */
  percentile: number;
  /** Latency at that percentile, microseconds. */
  valueUs: number;
  /** Samples at or below `valueUs`'s rank: round(percentile / 100 * total), at least 1. */
  count: number;
}

/**
 * Points for a log-scale percentile spectrum plot (x = 1 / (1 - percentile/100)), as
 * HdrHistogram draws it: 0, 50, 75, 87.5, ... (halving the remaining distance each
 * step) while below 99.999, then 99.999 and 100 (the max). The same x positions for
 * every histogram, so runs plot against each other. Empty histogram: no points.
 */
export function percentileSpectrum(hdr: string): SpectrumPoint[] {
  if (hdr === '') return [];
  const h = decodeCached(hdr);
  const total = h.totalCount;
  if (total === 0) return [];
  const percentiles: number[] = [];
  for (let k = 0; ; k++) {
    const p = 100 * (1 - 2 ** -k);
    if (p >= 99.999) break;
    percentiles.push(p);
  }
  percentiles.push(99.999, 100);
  return percentiles.map((percentile) => ({
    percentile,
    valueUs: percentile >= 100 ? h.maxValue : h.getValueAtPercentile(percentile),
    count: Math.max(1, Math.round((percentile / 100) * total)),
  }));
}
