import { describe, expect, it } from 'vitest';
import { createAggregator, createRecorder, summarize } from '../../src/metrics/index.ts';

function worker() {
  return createRecorder();
}

describe('createAggregator', () => {
  it('builds equal-length per-second series and keeps warm-up out of the totals', () => {
    const a = createAggregator();
    const w1 = worker();
    const w2 = worker();

    // Second 0: warm-up, slow.
    w1.record('fanout', 1000);
    w1.count('messages.sent', 10);
    w2.count('errors.timeout');
    a.add(w1.snapshot(), { measured: false });
    a.add(w2.snapshot(), { measured: false });
    const row0 = a.tick({ connections: 2 });
    expect(row0).toMatchObject({ second: 0, measured: false, counters: { 'messages.sent': 10, 'errors.timeout': 1 }, p50: { fanout: 1000 }, gauges: { connections: 2 } });

    // Second 1: measured, both workers.
    for (let i = 1; i <= 100; i++) w1.record('fanout', i);
    for (let i = 101; i <= 200; i++) w2.record('fanout', i);
    w1.count('messages.sent', 5);
    w2.count('messages.sent', 5);
    a.add(w1.snapshot());
    a.add(w2.snapshot());
    expect(a.percentileSoFar('fanout', 50)).toBe(100);
    const row1 = a.tick({ connections: 4 });
    expect(row1).toMatchObject({ second: 1, measured: true, p50: { fanout: 100 }, p99: { fanout: 198 } });

    // Second 2: measured, a new metric appears, fanout is silent.
    w1.record('ack', 42);
    a.add(w1.snapshot());
    a.tick({ connections: 4 });

    const series = a.series();
    expect(series).toEqual({
      'messages.sent': [10, 10, 0],
      'errors.timeout': [1, 0, 0],
      'fanout.p50': [1000, 100, 0],
      'fanout.p99': [1000, 198, 0],
      'ack.p50': [0, 0, 42],
      'ack.p99': [0, 0, 42],
      connections: [2, 4, 4],
    });

    const totals = a.totals();
    expect(totals.counters).toEqual({ 'messages.sent': 10 });
    expect(Object.keys(totals.metrics).sort()).toEqual(['ack', 'fanout']);
    expect(totals.metrics.fanout).toMatchObject({ count: 200, min: 1, max: 200, p50: 100 });
    // The totals' hdr field is itself an exact, mergeable histogram.
    expect(summarize(totals.metrics.fanout!.hdr)).toEqual(totals.metrics.fanout);
    expect(a.countersSoFar()).toEqual({ 'messages.sent': 20, 'errors.timeout': 1 });
    expect(a.percentileSoFar('missing', 99)).toBe(0);
    w1.close();
    w2.close();
  });

  it('series returns copies and empty ticks still advance every series', () => {
    const a = createAggregator();
    const r = worker();
    r.count('x', 3);
    a.add(r.snapshot());
    a.tick();
    a.tick();
    const s = a.series();
    expect(s).toEqual({ x: [3, 0] });
    s.x!.push(99);
    expect(a.series().x).toEqual([3, 0]);
    r.close();
  });
});
