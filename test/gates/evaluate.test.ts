import { describe, expect, it } from 'vitest';
import { assertBaselineCompatible, baselineWarnings, checkBaselineCompatible, compareReports, evaluateGates, parseGate, validateGateMetrics, errorRate } from '../../src/gates/index.ts';
import { makeReport, metricOf, spread } from './report-fixture.ts';
import type { Report } from '../../src/report/schema.ts';

const gates = (...exprs: string[]) => exprs.map((e) => parseGate(e));

/** A 5 s measured window whose per-second p50/p99 of `metrics` hold steady: the run's own noise is small. */
const steadyRun = (...metrics: string[]): Partial<Report> => ({
  timeline: [
    { atMs: 0, kind: 'phase', name: 'steady' },
    { atMs: 5000, kind: 'phase', name: 'cooldown' },
  ],
  series: Object.fromEntries(metrics.flatMap((m) => [`${m}.p50`, `${m}.p99`].map((k) => [k, [1000, 1010, 990, 1000, 1005]]))),
});

describe('evaluateGates on one report', () => {
  const report = makeReport();

  it('judges latency, rate, ledger, counter and boolean gates', () => {
    const results = evaluateGates(
      gates(
        'fanout.p99 < 50ms',
        'fanout.p50 < 10ms',
        'connect.max <= 1ms',
        'fanout.count == 1000',
        'fanout.rate >= 100/s',
        'deliveries.rate >= 100000/s',
        'messages.rate > 2000',
        'ledger.lost == 0',
        'close.1008 == 0',
        'errors.timeout < 10',
        'errors.other == 0',
        'generator.saturated == false',
      ),
      [report],
    );
    expect(results.map((r) => [r.expr, r.passed])).toEqual([
      ['fanout.p99 < 50ms', true],
      ['fanout.p50 < 10ms', false],
      ['connect.max <= 1ms', true],
      ['fanout.count == 1000', true],
      ['fanout.rate >= 100/s', true],
      ['deliveries.rate >= 100000/s', true],
      ['messages.rate > 2000', false],
      ['ledger.lost == 0', true],
      ['close.1008 == 0', false],
      ['errors.timeout < 10', true],
      ['errors.other == 0', true],
      ['generator.saturated == false', true],
    ]);
    const p99 = results[0]!;
    // 1000 evenly spread samples from 1 ms to 40 ms: p99 is the 990th, ~39.6 ms.
    expect(p99.actual).toBeGreaterThanOrEqual(39_600);
    expect(p99.actual).toBeLessThanOrEqual(39_700);
    expect(p99.detail).toMatch(/^fanout.p99 = 39.\d ms; needs < 50 ms$/);
    expect(results[4]!.actual).toBe(100); // 1000 samples over 10 measured seconds
  });

  it('reads any percentile from the histogram', () => {
    const [r] = evaluateGates(gates('fanout.p75 < 31ms', 'fanout.p0 >= 1ms'), [report]);
    expect(r!.passed).toBe(true);
    expect(r!.actual as number).toBeGreaterThan(30_000);
  });

  it('errors.rate is every errors.* counter over messages.sent + connections.opened', () => {
    expect(errorRate(report)).toBeCloseTo(5 / 10_100, 12);
    const [ok, tight] = evaluateGates(gates('errors.rate < 0.1%', 'errors.rate < 0.01%'), [report]);
    expect(ok!.passed).toBe(true);
    expect(tight!.passed).toBe(false);
    expect(ok!.detail).toContain('0.0495%');
    expect(errorRate(makeReport({ counters: {} }))).toBe(0);
    expect(errorRate(makeReport({ counters: { 'errors.x': 1 } }))).toBe(1);
  });

  it('fails a gate whose metric has no samples, and a saturated run', () => {
    const sat = makeReport({ generator: { ...report.generator, saturated: true } });
    const [missing, s] = evaluateGates(gates('ack.p99 < 5ms', 'generator.saturated == false'), [sat]);
    expect(missing).toMatchObject({ passed: false, actual: null, detail: 'no samples of metric "ack"' });
    expect(s).toMatchObject({ passed: false, actual: true });
  });
});

describe('evaluateGates over several trials', () => {
  it('judges the median and shows the spread', () => {
    const trials = [30_000, 60_000, 45_000].map((hi) => makeReport({ metrics: { fanout: metricOf(spread(1000, hi)) } }));
    const [r] = evaluateGates(gates('fanout.max < 50ms'), trials);
    // Maxima ~30, ~45, ~60 ms: one trial over the objective, the median under it.
    expect(r!.passed).toBe(true);
    expect(r!.actual as number).toBeGreaterThanOrEqual(45_000);
    expect(r!.actual as number).toBeLessThan(45_100);
    expect(r!.detail).toMatch(/median of 3 trials, spread 30 ms\.\.60 ms/);
  });

  it('uses the mean of the middle two for an even count, and majority for booleans', () => {
    const trials = [1, 2, 3, 10].map((lost, i) => makeReport({ ledger: { expected: 10, delivered: 10, lost, duplicated: 0, reordered: 0 }, generator: { ...makeReport().generator, saturated: i === 0 } }));
    const [lost, sat] = evaluateGates(gates('ledger.lost <= 2.5', 'generator.saturated == false'), trials);
    expect(lost).toMatchObject({ passed: true, actual: 2.5 });
    expect(sat).toMatchObject({ passed: true, actual: false });
    expect(sat!.detail).toContain('true in 1 of 4 trials');
  });
});

describe('regress gates', () => {
  const base = makeReport({ ...steadyRun('fanout'), metrics: { fanout: metricOf(spread(1000, 20_000)) } });

  it('compares (new - base) / base against the threshold', () => {
    const slower = makeReport({ ...steadyRun('fanout'), metrics: { fanout: metricOf(spread(1000, 23_000)) } });
    const [r10, r20] = evaluateGates(gates('fanout.p99 regress < 10%', 'fanout.p99 regress < 20%'), [slower], base);
    expect(r10!.passed).toBe(false);
    expect(r20!.passed).toBe(true);
    expect(r10!.actual as number).toBeCloseTo(0.15, 2);
    expect(r10!.detail).toMatch(/^fanout.p99 changed \+1[45](\.\d)?%: 22.\d ms vs baseline 19.\d ms; needs < 10%$/);
  });

  it('passes a latency regression inside the noise, and cannot tell one without enough samples', () => {
    const jumpy = { ...steadyRun('fanout'), series: { 'fanout.p99': [10_000, 40_000, 15_000, 35_000, 20_000] } };
    const noisy = evaluateGates(gates('fanout.p99 regress < 10%'), [makeReport({ ...jumpy, metrics: { fanout: metricOf(spread(1000, 23_000)) } })], makeReport({ ...jumpy, metrics: base.metrics }))[0]!;
    expect(noisy.passed).toBe(true);
    expect(noisy.detail).toMatch(/changed \+1[45](\.\d)?%.*; within noise: the 95% intervals overlap/);
    const few = (hi: number) => makeReport({ ...steadyRun('fanout'), metrics: { fanout: metricOf(spread(1000, hi, 400)) } });
    const tail = evaluateGates(gates('fanout.p99 regress < 10%'), [few(30_000)], few(20_000))[0]!;
    expect(tail.passed).toBe(false);
    expect(tail.detail).toContain('cannot tell regression from noise: 400 samples cannot support p99 (needs 1000');
  });

  it('with several trials, regresses only when every trial lies beyond the noise', () => {
    const trial = (hi: number) => makeReport({ ...steadyRun('fanout'), metrics: { fanout: metricOf(spread(1000, hi, 5000)) } });
    const base5k = trial(20_000);
    expect(evaluateGates(gates('fanout.p50 regress < 10%'), [trial(30_000), trial(31_000), trial(32_000)], base5k)[0]!.passed).toBe(false);
    // One trial no slower than the baseline: the spread of the trials covers the change.
    const mixed = evaluateGates(gates('fanout.p50 regress < 10%'), [trial(30_000), trial(20_000), trial(32_000)], base5k)[0]!;
    expect(mixed.passed).toBe(true);
    expect(mixed.detail).toContain('within noise');
  });

  it('regress over trials uses the median', () => {
    const trials = [19_000, 21_000, 40_000].map((hi) => makeReport({ metrics: { fanout: metricOf(spread(1000, hi)) } }));
    const [r] = evaluateGates(gates('fanout.max regress < 10%'), trials, base);
    expect(r!.passed).toBe(true);
    expect(r!.actual as number).toBeCloseTo(0.05, 2);
  });

  it('throughput regressions read as negative changes', () => {
    const next = makeReport({ rates: { messagesSentPerSec: 1000, deliveriesPerSec: 90_000, connectsPerSec: 10 } });
    const [r] = evaluateGates(gates('deliveries.rate regress > -5%'), [next], makeReport());
    expect(r).toMatchObject({ passed: false, actual: -0.1 });
  });

  it('fails without a baseline, and handles a zero baseline', () => {
    expect(evaluateGates(gates('fanout.p99 regress < 10%'), [base])[0]).toMatchObject({ passed: false, actual: null, detail: expect.stringMatching(/needs a baseline/) });
    const zero = makeReport({ ledger: { ...base.ledger, lost: 0 } });
    const some = makeReport({ ledger: { ...base.ledger, lost: 3 } });
    expect(evaluateGates(gates('ledger.lost regress < 10%'), [some], zero)[0]).toMatchObject({ passed: false, actual: null });
    expect(evaluateGates(gates('ledger.lost regress < 10%'), [zero], zero)[0]).toMatchObject({ passed: true, actual: 0 });
  });
});

describe('validateGateMetrics', () => {
  it('names unknown metrics and counters, listing what the run has', () => {
    const errs = validateGateMetrics(gates('fanot.p99 < 5ms', 'fanout.p99 < 5ms', 'errors.never < 1', 'mesages.sent > 0', 'ledger.lost == 0'), makeReport());
    expect(errs).toHaveLength(2);
    expect(errs[0]!.code).toBe('WSB_ERR_GATE_METRIC');
    expect(errs[0]!.exitCode).toBe(2);
    expect(errs[0]!.message).toContain('unknown metric "fanot". Did you mean "fanout"? Metrics of this run: connect, fanout.');
    expect(errs[1]!.message).toMatch(/unknown counter "mesages.sent". Did you mean "messages.sent"\?/);
  });
});

describe('checkBaselineCompatible', () => {
  const report = makeReport();
  it('lists every reason a baseline cannot be compared', () => {
    expect(checkBaselineCompatible(makeReport(), report)).toEqual([]);
    expect(checkBaselineCompatible({ ...report, schema: 'wsbench.report/0', scenario: { name: 'joins', options: {} } }, report)).toEqual([
      'the baseline was written with schema "wsbench.report/0"; this wsbench reads "wsbench.report/1" (re-record the baseline with this version)',
      'the baseline is a run of scenario "joins", this run is "broadcast"; their numbers do not compare',
    ]);
    expect(checkBaselineCompatible([1, 2], report)[0]).toMatch(/not a wsbench report/);
    expect(checkBaselineCompatible(null, report)[0]).toMatch(/not a wsbench report/);
  });

  it('assertBaselineCompatible throws WSB_ERR_BASELINE (exit 2)', () => {
    expect(() => assertBaselineCompatible(makeReport(), report)).not.toThrow();
    let err: unknown;
    try {
      assertBaselineCompatible(makeReport({ scenario: { name: 'joins', options: {} } }), report);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'WSB_ERR_BASELINE', exitCode: 2, problems: [expect.stringMatching(/scenario "joins"/)] });
  });

  it('warns about differences that weaken the comparison', () => {
    expect(baselineWarnings(makeReport(), report)).toEqual([]);
    const other = makeReport({ scenario: { name: 'broadcast', options: { clients: 200 } }, tool: { name: 'wsbench', version: '0.0.9' } });
    const warnings = baselineWarnings(other, report);
    expect(warnings).toContain('scenario options differ from the baseline: clients');
    expect(warnings.some((w) => w.includes('0.0.9'))).toBe(true);
  });
});

describe('compareReports', () => {
  it('lists every metric stat, rate, error total and ledger fault with deltas and regression flags', () => {
    const base = makeReport(steadyRun('fanout', 'connect'));
    const next = makeReport({
      ...steadyRun('fanout', 'connect'),
      metrics: { fanout: metricOf(spread(1000, 60_000)), connect: base.metrics.connect!, ack: metricOf([500]) },
      rates: { messagesSentPerSec: 1000, deliveriesPerSec: 80_000, connectsPerSec: 10 },
      counters: { ...base.counters, 'errors.timeout': 5, 'errors.refused': 1 },
      ledger: { ...base.ledger, lost: 1 },
    });
    const rows = compareReports(base, next);
    const row = (name: string) => rows.find((r) => r.name === name)!;
    expect(row('fanout.p99')).toMatchObject({ metric: 'fanout', stat: 'p99', unit: 'us', better: 'lower', regression: true, regressed: true });
    expect(row('fanout.p99').deltaPct).toBeGreaterThan(40);
    expect(row('connect.p99')).toMatchObject({ deltaPct: 0, regression: false });
    expect(rows.some((r) => r.metric === 'ack')).toBe(false);
    expect(row('deliveries.rate')).toMatchObject({ unit: 'rate', better: 'higher', deltaPct: -20, regression: true });
    expect(row('messages.rate')).toMatchObject({ regression: false });
    expect(row('ledger.lost')).toMatchObject({ base: 0, next: 1, deltaPct: Number.POSITIVE_INFINITY, regression: true });
    expect(row('ledger.duplicated')).toMatchObject({ deltaPct: 0, regression: false });
    // 5 -> 6 errors is inside Poisson noise; a rise from 0 (ledger.lost above) never is.
    expect(row('errors')).toMatchObject({ unit: 'count', base: 5, next: 6, regression: false });
    expect(rows.filter((r) => r.metric === 'fanout').map((r) => r.stat)).toEqual(['p50', 'p90', 'p99', 'p999', 'max']);
    expect(compareReports(base, next, { thresholdPct: 30 }).find((r) => r.name === 'deliveries.rate')!.regression).toBe(false);
  });

  it('does not judge a percentile with fewer than 10/(1-q) samples, nor any maximum', () => {
    const base = makeReport({ ...steadyRun('ack'), metrics: { ack: metricOf(spread(1000, 2000, 400)) } });
    const next = makeReport({ ...steadyRun('ack'), metrics: { ack: metricOf(spread(1000, 9000, 400)) } });
    const rows = compareReports(base, next);
    const row = (name: string) => rows.find((r) => r.name === name)!;
    // 400 samples: p50 (needs 20) and p90 (needs 100) are judged; p99 (1000), p99.9 (10,000) and max are not.
    expect(row('ack.p90')).toMatchObject({ verdict: 'regressed', regression: true });
    for (const stat of ['p99', 'p999', 'max']) expect(row(`ack.${stat}`)).toMatchObject({ verdict: 'unjudged', regression: false });
    expect(row('ack.p99').why).toContain('400 samples cannot support p99 (needs 1000');
  });

  it('does not judge latencies without samples in the measured seconds (the ramp\'s connect and join)', () => {
    const ramp = makeReport();
    const rows = compareReports(ramp, makeReport({ metrics: { fanout: metricOf(spread(1000, 90_000)), connect: ramp.metrics.connect! } }));
    expect(rows.find((r) => r.name === 'fanout.p50')).toMatchObject({ verdict: 'unjudged', regression: false });
    expect(rows.find((r) => r.name === 'fanout.p50')!.why).toContain('no samples in the measured seconds');
  });

  it('calls a difference inside the per-second spread noise, the same difference in a steady run a regression', () => {
    const timeline = [
      { atMs: 0, kind: 'phase' as const, name: 'steady' },
      { atMs: 6000, kind: 'phase' as const, name: 'cooldown' },
    ];
    const steady = { 'fanout.p50': [20_000, 20_100, 19_900, 20_000, 20_050, 19_950], 'fanout.p99': [39_000, 39_500, 39_200, 39_400, 39_100, 39_300] };
    const jumpy = { 'fanout.p50': [5_000, 40_000, 8_000, 35_000, 12_000, 20_000], 'fanout.p99': [10_000, 80_000, 15_000, 70_000, 20_000, 39_000] };
    const base = (series: Record<string, number[]>) => makeReport({ timeline, series, metrics: { fanout: metricOf(spread(1000, 40_000, 5000)) } });
    const next = (series: Record<string, number[]>) => makeReport({ timeline, series, metrics: { fanout: metricOf(spread(1000, 46_000, 5000)) } });
    const p50 = (b: Report, n: Report) => compareReports(b, n).find((r) => r.name === 'fanout.p50')!;
    expect(p50(base(steady), next(steady))).toMatchObject({ verdict: 'regressed', regression: true });
    const noisy = p50(base(jumpy), next(jumpy));
    expect(noisy).toMatchObject({ verdict: 'noise', regression: false });
    expect(noisy.deltaPct).toBeGreaterThan(10);
    expect(noisy.baseInterval[1]).toBeGreaterThan(noisy.next);
  });
});
