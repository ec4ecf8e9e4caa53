import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRecorder, summarize, HIGHEST_US } from '../../src/metrics/index.ts';
import { recordWithExpectedInterval } from '../../src/metrics/recorder.ts';
import { encodeHistogram, lowestEquivalentUs, newHistogram, TOTALS_KIND } from '../../src/metrics/hdr.ts';

describe('createRecorder', () => {
  it('rounds to integer microseconds and clamps to [1, 1 h]', () => {
    const r = createRecorder();
    for (const v of [0, -5, Number.NaN, 0.4]) r.record('low', v);
    r.record('high', 1e12);
    r.record('high', Number.POSITIVE_INFINITY);
    r.record('frac', 1.6);
    const snap = r.snapshot();
    expect(summarize(snap.histograms.low!)).toMatchObject({ count: 4, min: 1, max: 1 });
    const high = summarize(snap.histograms.high!);
    expect(high.count).toBe(2);
    expect(high.max).toBeGreaterThanOrEqual(HIGHEST_US);
    expect(high.max).toBeLessThanOrEqual(HIGHEST_US * 1.001);
    expect(summarize(snap.histograms.frac!)).toMatchObject({ min: 2, max: 2 });
    r.close();
  });

  it('snapshot leaves out empty histograms and zero counters, and starts a new interval', () => {
    const r = createRecorder();
    r.record('fanout', 100);
    r.count('messages.received');
    r.count('messages.received', 4);
    r.count('errors.timeout', 0);
    const first = r.snapshot();
    expect(Object.keys(first.histograms)).toEqual(['fanout']);
    expect(first.counters).toEqual({ 'messages.received': 5 });
    expect(r.snapshot()).toEqual({ histograms: {}, counters: {} });
    r.record('fanout', 7);
    r.count('messages.received', 2);
    const third = r.snapshot();
    expect(summarize(third.histograms.fanout!)).toMatchObject({ count: 1, min: 7 });
    expect(third.counters).toEqual({ 'messages.received': 2 });
    r.close();
  });
});

describe('coordinated-omission correction', () => {
  it('adds the samples a stalled loop would have taken', () => {
    const r = createRecorder();
    r.recordCorrected('ack', 1000, 100);
    r.recordCorrected('ack', 50, 100);
    r.recordCorrected('plain', 1000, 0);
    const snap = r.snapshot();
    // 1000, 900, ..., 100 (10 samples) plus 50 (no correction below the interval).
    expect(summarize(snap.histograms.ack!)).toMatchObject({ count: 11, min: 50, max: 1000, p50: 500 });
    expect(summarize(snap.histograms.plain!).count).toBe(1);
    r.close();
  });

  it('the bucket-by-bucket path equals the value-by-value definition', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3_000_000 }), fc.integer({ min: 1, max: 5000 }), (valueUs, intervalUs) => {
        fc.pre(valueUs / intervalUs < 400_000);
        const fast = newHistogram(TOTALS_KIND);
        recordWithExpectedInterval(fast, valueUs, intervalUs);
        const slow = newHistogram(TOTALS_KIND);
        slow.recordValue(valueUs);
        for (let v = valueUs - intervalUs; v >= intervalUs; v -= intervalUs) slow.recordValue(v);
        expect(fast.totalCount).toBe(slow.totalCount);
        expect(fast.minNonZeroValue).toBe(slow.minNonZeroValue);
        expect(fast.maxValue).toBe(slow.maxValue);
        expect(encodeHistogram(fast)).toBe(encodeHistogram(slow));
      }),
      { numRuns: 40 },
    );
  });

  it('a one-hour stall at a 1 us interval stays cheap', () => {
    const r = createRecorder();
    const started = performance.now();
    r.recordCorrected('x', HIGHEST_US, 1);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(summarize(r.snapshot().histograms.x!).count).toBe(HIGHEST_US);
    r.close();
  });
});

describe('lowestEquivalentUs', () => {
  it('is exact below 2048 and keeps 3 significant digits above', () => {
    expect(lowestEquivalentUs(2047)).toBe(2047);
    expect(lowestEquivalentUs(2049)).toBe(2048);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: HIGHEST_US }), (v) => {
        const lo = lowestEquivalentUs(v);
        expect(lo).toBeLessThanOrEqual(v);
        expect(v - lo).toBeLessThanOrEqual(v / 1000);
      }),
    );
  });
});
