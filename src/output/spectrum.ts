/**
 * Points of a latency percentile spectrum, for the classic HdrHistogram plot:
 * x = log10(1 / (1 - p)), so 90% sits at 1, 99% at 2, 99.9% at 3, ...
 */
import { percentileSpectrum } from '../metrics/index.ts';
import type { MetricSummary } from '../report/schema.ts';

/** One point of a latency spectrum: a percentile (0..100), its x position and its value in microseconds. */
export interface SpectrumPlotPoint {
  /** Percentile, 0..100. */
  percentile: number;
  /** log10(1 / (1 - percentile/100)); the max sits one step past the last finite percentile. */
  x: number;
  valueUs: number;
}

/** A latency metric's percentile spectrum for the HTML report's plot, with where its points came from. */
export interface Spectrum {
  points: SpectrumPlotPoint[];
  /** `hdr` when decoded from the histogram, `summary` when only p50..max were available. */
  source: 'hdr' | 'summary';
}

/** The x position of a percentile (0..100) below 100. */
export function percentileX(percentile: number): number {
  return Math.log10(1 / (1 - percentile / 100));
}

/**
 * Place 100% (the max), which is at infinity on this axis, where the last sample
 * would sit: at log10(count), and at least a quarter decade past the previous point.
 */
function maxX(prevX: number, count: number): number {
  return Math.max(prevX + 0.25, Math.log10(Math.max(count, 1)));
}

function fromSummary(m: MetricSummary): SpectrumPlotPoint[] {
  const pts: Array<[number, number]> = [
    [0, m.min],
    [50, m.p50],
    [90, m.p90],
    [95, m.p95],
    [99, m.p99],
    [99.9, m.p999],
  ];
  const resolvable = 100 * (1 - 1 / Math.max(1, m.count));
  const points = pts.filter(([p, v]) => Number.isFinite(v) && (p <= resolvable || p === 0)).map(([p, v]) => ({ percentile: p, x: percentileX(p), valueUs: v }));
  const last = points[points.length - 1]?.x ?? 0;
  points.push({ percentile: 100, x: maxX(last, m.count), valueUs: m.max });
  return points;
}

/**
 * The spectrum of one metric: from its HDR snapshot when it decodes, otherwise
 * (empty or undecodable `hdr`) from the summary's p50..max. Empty metrics give no points.
 */
export function spectrumOf(m: MetricSummary): Spectrum {
  if (m.count === 0) return { points: [], source: 'summary' };
  if (m.hdr) {
    try {
      const raw = percentileSpectrum(m.hdr);
      if (raw.length > 0) {
        const points: SpectrumPlotPoint[] = [];
        // Past 1 - 1/count every percentile is the max: the histogram holds no information there, so stop and plot the max once.
        const resolvable = 100 * (1 - 1 / Math.max(1, m.count));
        for (const p of raw) {
          if (p.percentile >= 100) {
            points.push({ percentile: 100, x: maxX(points[points.length - 1]?.x ?? 0, m.count), valueUs: p.valueUs });
          } else if (p.percentile <= resolvable) {
            points.push({ percentile: p.percentile, x: percentileX(p.percentile), valueUs: p.valueUs });
          }
        }
        return { points, source: 'hdr' };
      }
    } catch {
      // A corrupt or foreign snapshot must not stop the report: the summary still holds the key percentiles.
    }
  }
  return { points: fromSummary(m), source: 'summary' };
}

/** Label of a spectrum axis tick at x = k: `0%`, `90%`, `99%`, `99.9%`, ... */
export function spectrumTickLabel(k: number): string {
  if (k === 0) return '0%';
  return `${(100 - 100 / 10 ** k).toFixed(Math.max(0, k - 2))}%`;
}
