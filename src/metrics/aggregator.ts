/**
 * The coordinator's side: folds worker snapshots into one-second rows, per-second
 * series and run totals. Merges are exact (decode and add), so the totals are the
 * histogram one process would have recorded.
 */
import type { MetricSummary } from '../report/schema.ts';
import type { Aggregator, LiveDistribution, MetricsSnapshot, SecondRow } from './types.ts';
import { cumulativeCounts, decodeHistogram, newHistogram, TOTALS_KIND, type Histogram } from './hdr.ts';
import { summarizeHistogram } from './summary.ts';

function addCounters(into: Map<string, number>, from: Record<string, number>): void {
  for (const name in from) {
    const n = from[name];
    if (n === undefined || n === 0) continue;
    into.set(name, (into.get(name) ?? 0) + n);
  }
}

function histogramIn(map: Map<string, Histogram>, name: string): Histogram {
  let h = map.get(name);
  if (h === undefined) {
    h = newHistogram(TOTALS_KIND, true);
    map.set(name, h);
  }
  return h;
}

/**
 * A new aggregator. Counters and histograms from `add(..., { measured: false })`
 * (warm-up, cool-down) show in the per-second series and in `countersSoFar()` but not
 * in `totals()` nor `percentileSoFar()`. `measured` defaults to true.
 *
 * Series conventions: every array has one entry per `tick()`; a counter, gauge or
 * metric absent in a second reads 0 there (also for `<metric>.p50`/`.p99`, where 0
 * means "no samples that second", never a latency). A gauge sharing a counter's name
 * replaces it in `series()`.
 */
export function createAggregator(): Aggregator {
  const secondHistograms = new Map<string, Histogram>();
  const secondCounters = new Map<string, number>();
  let secondMeasured = false;

  const totalHistograms = new Map<string, Histogram>();
  const totalCounters = new Map<string, number>();
  const allCounters = new Map<string, number>();

  const series = new Map<string, number[]>();
  let seconds = 0;

  const pushSeries = (values: Map<string, number>): void => {
    for (const [name, v] of values) {
      let arr = series.get(name);
      if (arr === undefined) {
        arr = new Array<number>(seconds).fill(0);
        series.set(name, arr);
      }
      arr.push(v);
    }
    for (const arr of series.values()) if (arr.length === seconds) arr.push(0);
  };

  return {
    add(snapshot: MetricsSnapshot, opts: { measured?: boolean } = {}): void {
      const measured = opts.measured ?? true;
      if (measured) secondMeasured = true;
      for (const name in snapshot.histograms) {
        const encoded = snapshot.histograms[name];
        if (!encoded) continue;
        const h = decodeHistogram(encoded);
        histogramIn(secondHistograms, name).add(h);
        if (measured) histogramIn(totalHistograms, name).add(h);
      }
      addCounters(secondCounters, snapshot.counters);
      addCounters(allCounters, snapshot.counters);
      if (measured) addCounters(totalCounters, snapshot.counters);
    },

    tick(gauges: Record<string, number> = {}): SecondRow {
      const row: SecondRow = { second: seconds, counters: {}, p50: {}, p99: {}, gauges: { ...gauges }, measured: secondMeasured };
      const values = new Map<string, number>();
      for (const [name, n] of secondCounters) {
        row.counters[name] = n;
        values.set(name, n);
      }
      for (const [name, h] of secondHistograms) {
        if (h.totalCount === 0) continue;
        const p50 = h.getValueAtPercentile(50);
        const p99 = h.getValueAtPercentile(99);
        row.p50[name] = p50;
        row.p99[name] = p99;
        values.set(`${name}.p50`, p50);
        values.set(`${name}.p99`, p99);
        h.reset();
      }
      for (const name in gauges) values.set(name, gauges[name] as number);
      pushSeries(values);
      seconds += 1;
      secondCounters.clear();
      secondMeasured = false;
      return row;
    },

    percentileSoFar(name: string, percentile: number): number {
      const h = totalHistograms.get(name);
      if (h === undefined || h.totalCount === 0) return 0;
      return h.getValueAtPercentile(percentile);
    },

    countersSoFar(): Record<string, number> {
      return Object.fromEntries(allCounters);
    },

    distributionsSoFar(boundsUs: readonly number[]): Record<string, LiveDistribution> {
      const out: Record<string, LiveDistribution> = {};
      for (const [name, h] of totalHistograms) {
        if (h.totalCount === 0) continue;
        out[name] = {
          cumulative: cumulativeCounts(h, boundsUs),
          count: h.totalCount,
          sumUs: h.mean * h.totalCount,
          p50Us: h.getValueAtPercentile(50),
          p90Us: h.getValueAtPercentile(90),
          p99Us: h.getValueAtPercentile(99),
          p999Us: h.getValueAtPercentile(99.9),
          maxUs: h.maxValue,
        };
      }
      return out;
    },

    totals(): { metrics: Record<string, MetricSummary>; counters: Record<string, number> } {
      const metrics: Record<string, MetricSummary> = {};
      for (const [name, h] of totalHistograms) {
        if (h.totalCount > 0) metrics[name] = summarizeHistogram(h);
      }
      return { metrics, counters: Object.fromEntries(totalCounters) };
    },

    series(): Record<string, number[]> {
      const out: Record<string, number[]> = {};
      for (const [name, arr] of series) out[name] = arr.slice();
      return out;
    },
  };
}
