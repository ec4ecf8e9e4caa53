import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRecorder, mergeEncoded, percentileOf, percentileSpectrum, summarize } from '../../src/metrics/index.ts';

/** Rank HdrHistogram uses for a percentile: ceil(p/100 * n), guarded against 1-ulp error, at least 1. */
function exactPercentile(sorted: number[], p: number): number {
  const fp = (p / 100) * sorted.length;
  const rank = Math.max(1, Math.ceil(fp - fp * 1e-12));
  return sorted[Math.min(rank, sorted.length) - 1] as number;
}

/** With 3 significant digits a reported value lies in [q, q + q/1000] (highest equivalent of q's bucket). */
function expectWithinPrecision(reported: number, exact: number): void {
  expect(reported).toBeGreaterThanOrEqual(exact);
  expect(reported).toBeLessThanOrEqual(exact + exact / 1000);
}

function encode(samples: number[]): string {
  const r = createRecorder();
  for (const v of samples) r.record('m', v);
  const h = r.snapshot().histograms.m ?? '';
  r.close();
  return h;
}

// Latency-like values: log-uniform from 1 us to ~1 min, so every bucket width is exercised.
const latency = fc.double({ min: 0, max: 17.9, noNaN: true }).map((x) => Math.max(1, Math.round(Math.exp(x))));

describe('mergeEncoded against exact quantiles', () => {
  it('merged percentiles, count, min and max match the raw samples within 3 significant digits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(latency, { minLength: 0, maxLength: 200 }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 100_000 }).map((x) => x / 1000), { minLength: 1, maxLength: 6 }),
        (groups, percentiles) => {
          const all = groups.flat().sort((a, b) => a - b);
          fc.pre(all.length > 0);
          const merged = mergeEncoded(groups.map(encode));
          const s = summarize(merged);
          expect(s.count).toBe(all.length);
          expect(s.min).toBeLessThanOrEqual(all[0] as number);
          expect(s.min).toBeGreaterThanOrEqual((all[0] as number) * (1 - 1 / 1000));
          expectWithinPrecision(s.max, all[all.length - 1] as number);
          expectWithinPrecision(s.p50, exactPercentile(all, 50));
          expectWithinPrecision(s.p99, exactPercentile(all, 99));
          expectWithinPrecision(s.p999, exactPercentile(all, 99.9));
          for (const p of percentiles) expectWithinPrecision(percentileOf(merged, p), exactPercentile(all, p));
          const exactMean = all.reduce((a, b) => a + b, 0) / all.length;
          expect(Math.abs(s.mean - exactMean)).toBeLessThanOrEqual(exactMean / 1000 + 1);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('merging is order-independent and equal to recording everything in one histogram', () => {
    fc.assert(
      fc.property(fc.array(fc.array(latency, { maxLength: 100 }), { minLength: 2, maxLength: 4 }), (groups) => {
        const parts = groups.map(encode).filter((h) => h !== '');
        const one = encode(groups.flat());
        const a = mergeEncoded(parts);
        const b = mergeEncoded([...parts].reverse());
        expect(a).toBe(b);
        if (one !== '') expect(a).toBe(mergeEncoded([one]));
      }),
      { numRuns: 40 },
    );
  });
});

describe('encode/decode round trip', () => {
  it('summaries survive re-encoding', () => {
    fc.assert(
      fc.property(fc.array(latency, { minLength: 1, maxLength: 300 }), (samples) => {
        const h = encode(samples);
        const again = mergeEncoded([h]);
        const { hdr: _a, ...s1 } = summarize(h);
        const { hdr: _b, ...s2 } = summarize(again);
        expect(s2).toEqual(s1);
        expect(mergeEncoded([again])).toBe(again);
      }),
      { numRuns: 40 },
    );
  });

  it('empty inputs give zero summaries', () => {
    const s = summarize(mergeEncoded([]));
    expect(s).toMatchObject({ unit: 'us', count: 0, min: 0, mean: 0, p50: 0, p99: 0, max: 0 });
    expect(summarize('').count).toBe(0);
    expect(percentileOf('', 99)).toBe(0);
    expect(percentileSpectrum('')).toEqual([]);
  });
});

describe('summarize', () => {
  it('fills every MetricSummary field in integer microseconds', () => {
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    const s = summarize(encode(samples));
    expect(s).toMatchObject({ unit: 'us', count: 1000, min: 1, mean: 501, p50: 500, p90: 900, p95: 950, p99: 990, p999: 999, max: 1000 });
    expect(typeof s.hdr).toBe('string');
    for (const k of ['count', 'min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) expect(Number.isInteger(s[k])).toBe(true);
  });
});

describe('percentileSpectrum', () => {
  it('halves the remaining distance up to 99.999, then the max, with non-decreasing values', () => {
    const samples = Array.from({ length: 5000 }, (_, i) => 10 + i * 3);
    const pts = percentileSpectrum(encode(samples));
    expect(pts.slice(0, 4).map((p) => p.percentile)).toEqual([0, 50, 75, 87.5]);
    expect(pts.at(-2)?.percentile).toBe(99.999);
    expect(pts.at(-1)).toMatchObject({ percentile: 100, count: 5000 });
    expectWithinPrecision(pts.at(-1)?.valueUs ?? 0, 10 + 4999 * 3);
    for (let i = 1; i < pts.length; i++) {
      expect(pts[i]!.percentile).toBeGreaterThan(pts[i - 1]!.percentile);
      expect(pts[i]!.valueUs).toBeGreaterThanOrEqual(pts[i - 1]!.valueUs);
    }
  });
});
