import { describe, expect, it } from 'vitest';
import { batchMeansHalfWidth, judgeChange, measuredSeconds, minSamplesFor, quantileInterval } from '../../src/gates/noise.ts';
import { makeReport, metricOf, spread } from './report-fixture.ts';

describe('noise of a percentile', () => {
  it('needs 10/(1-q) samples and never judges a maximum', () => {
    expect([0.5, 0.9, 0.99, 0.999].map(minSamplesFor)).toEqual([20, 100, 1000, 10_000]);
    expect(minSamplesFor(1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('reads order-statistic bounds at ranks nq -/+ 1.96 sqrt(nq(1-q)) from the histogram', () => {
    // 10,000 samples 1..10,000 us: the median's ranks are 5000 -/+ 98, so its values are ~4902 and ~5098 us.
    const m = metricOf(spread(1, 10_000, 10_000));
    const { lo, hi } = quantileInterval(m.hdr, m.count, 0.5);
    expect(lo).toBeGreaterThanOrEqual(4890);
    expect(lo).toBeLessThanOrEqual(4910);
    expect(hi).toBeGreaterThanOrEqual(5090);
    expect(hi).toBeLessThanOrEqual(5110);
    // The tail is wider in rank terms per sample but narrower in absolute ranks: p99 -/+ 19.5 ranks.
    const p99 = quantileInterval(m.hdr, m.count, 0.99);
    expect(p99.hi - p99.lo).toBeGreaterThan(30);
    expect(p99.hi - p99.lo).toBeLessThan(50);
  });

  it('takes batch means over the measured seconds with Student t', () => {
    expect(batchMeansHalfWidth([5, 5, 5, 5])).toBe(0);
    expect(batchMeansHalfWidth([1, 2])).toBe(0);
    // sd 1 over 3 seconds: t(2) = 4.303, / sqrt(3).
    expect(batchMeansHalfWidth([1, 2, 3])).toBeCloseTo(4.303 / Math.sqrt(3), 3);
    const r = makeReport({ timeline: [{ atMs: 2500, kind: 'phase', name: 'steady' }, { atMs: 7000, kind: 'phase', name: 'cooldown' }] });
    expect(measuredSeconds(r)).toEqual([3, 4, 5, 6]);
  });

  it('regresses only beyond both the threshold and the intervals', () => {
    const e = (value: number, lo: number, hi: number) => ({ value, lo, hi, n: 1000, judged: true });
    expect(judgeChange(e(10, 9, 11), e(10.5, 9.5, 11.5), 'lower', 0.1)).toBe('ok');
    expect(judgeChange(e(10, 9, 11), e(12, 10.5, 13.5), 'lower', 0.1)).toBe('noise');
    expect(judgeChange(e(10, 9, 11), e(12, 11.2, 12.8), 'lower', 0.1)).toBe('regressed');
    expect(judgeChange(e(100, 95, 105), e(80, 76, 84), 'higher', 0.1)).toBe('regressed');
    expect(judgeChange({ ...e(10, 10, 10), judged: false }, e(99, 98, 100), 'lower', 0.1)).toBe('unjudged');
  });
});
