import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createRecorder, summarize, HIGHEST_US } from '../../src/metrics/index.ts';
import { lowestEquivalentUs } from '../../src/metrics/hdr.ts';

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
