/**
 * How much of a difference between two runs is noise. A percentile is judged only
 * when enough samples stand behind it, and every judged value carries a confidence
 * interval made of two parts (the wider wins on each side):
 *
 * - sampling noise: order-statistic bounds on the quantile, the values at ranks
 *   n*q -/+ z*sqrt(n*q*(1-q)) read from the run's HDR histogram;
 * - time-correlated noise (GC, the other tenants of the machine): batch means over
 *   the run's measured seconds, the per-second p50 or p99 series, half-width
 *   t(k-1) * sd / sqrt(k) for k seconds.
 *
 * Counts and rates get a Poisson interval (count +/- z*sqrt(count)) widened by the
 * batch means of their per-second series when the report has one. The method is
 * described for users in docs/CI.md.
 */
import { percentileOf } from '../metrics/index.ts';
import type { MetricSummary, Report } from '../report/schema.ts';
import { METRIC } from '../metrics/names.ts';

/** Two-sided 95% normal quantile: the z of every interval here (two 95% intervals that do not overlap differ at p < 0.01). */
export const Z_95 = 1.96;

/** Two-sided 95% Student t quantiles for 1..30 degrees of freedom (index = df - 1); z beyond. */
const T_95 = [12.71, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** Samples needed to judge quantile `q` (0..1): 10 / (1 - q), rounded up; a maximum (q = 1) is never judged. */
export function minSamplesFor(q: number): number {
  return q >= 1 ? Number.POSITIVE_INFINITY : Math.ceil(10 / (1 - q) - 1e-9);
}

/** A value with its confidence interval, or the reason it cannot be judged. */
export interface Estimate {
  value: number;
  /** Lower and upper bound of the 95% interval, in the value's unit. */
  lo: number;
  hi: number;
  /** Samples (or events) behind the value. */
  n: number;
  /** False when too few samples stand behind the value (see `why`). */
  judged: boolean;
  why?: string;
}

/** Order-statistic interval of quantile `q` from `n` samples of an HDR histogram, us. */
export function quantileInterval(hdr: string, n: number, q: number, z = Z_95): { lo: number; hi: number } {
  const half = z * Math.sqrt(n * q * (1 - q));
  const at = (rank: number) => percentileOf(hdr, Math.min(100, Math.max(0, (rank / n) * 100)));
  return { lo: at(Math.floor(n * q - half)), hi: at(Math.ceil(n * q + half)) };
}

/** Batch-means half-width over per-second values (t(k-1) x sd / sqrt(k)); 0 with fewer than 3 seconds. */
export function batchMeansHalfWidth(values: number[]): number {
  const k = values.length;
  if (k < 3) return 0;
  const mean = values.reduce((a, v) => a + v, 0) / k;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (k - 1));
  return (T_95[k - 2] ?? Z_95) * (sd / Math.sqrt(k));
}

/** Indexes of the series' seconds that lie wholly inside the measured (steady) phase; empty when unknown. */
export function measuredSeconds(report: Report): number[] {
  const at = (name: string) => report.timeline.find((e) => e.kind === 'phase' && e.name === name)?.atMs;
  const from = at('steady');
  const to = at('cooldown') ?? at('finish');
  if (from === undefined || to === undefined) return [];
  const out: number[] = [];
  for (let i = Math.ceil(from / 1000); (i + 1) * 1000 <= to; i++) out.push(i);
  return out;
}

/** Values of a per-second series over the measured seconds (missing seconds left out). */
function measuredValues(report: Report, key: string): number[] {
  const s = report.series[key];
  if (!s) return [];
  return measuredSeconds(report)
    .map((i) => s[i])
    .filter((v): v is number => typeof v === 'number');
}

/** The per-second series that tracks quantile `q` of a metric: p50 for the body, p99 for the tail. */
function trackingSeries(metric: string, q: number): string {
  return `${metric}.${q < 0.75 ? 'p50' : 'p99'}`;
}

/** Measured seconds with samples needed for the batch-means part of an interval (fewer: sampling noise only). */
export const MIN_SECONDS = 3;

/** Quantile (0..1) of each compared latency statistic. */
export const STAT_QUANTILE = { p50: 0.5, p90: 0.9, p99: 0.99, p999: 0.999, max: 1 } as const;
/** A latency statistic a comparison can judge: `p50`, `p90`, `p99`, `p999` or `max` (quantiles in STAT_QUANTILE). */
export type LatencyStat = keyof typeof STAT_QUANTILE;

/**
 * A latency percentile of `metric` with its interval. The batch-means part is scaled
 * from the tracking series (per-second p50 or p99) to the compared value, so p90 and
 * p99.9 borrow the relative noise of the nearest series the report keeps.
 */
export function estimatePercentile(report: Report, metric: string, m: MetricSummary, stat: LatencyStat): Estimate {
  return estimateQuantile(report, metric, m, STAT_QUANTILE[stat], m[stat]);
}

/** {@link estimatePercentile} for any quantile `q` (0..1] whose value (us) is `value`. */
export function estimateQuantile(report: Report, metric: string, m: MetricSummary, q: number, value: number): Estimate {
  const need = minSamplesFor(q);
  const stat = `p${Number((q * 100).toPrecision(4))}`;
  if (m.count < need) {
    const why = q >= 1 ? `the maximum of ${m.count} samples is one sample: never judged` : `${m.count} samples cannot support ${stat} (needs ${need} = 10/(1-q))`;
    return { value, lo: value, hi: value, n: m.count, judged: false, why };
  }
  const perSecond = measuredValues(report, trackingSeries(metric, q)).filter((v) => v > 0);
  if (perSecond.length === 0) {
    // Samples of the ramp (connect, join) or of one moment (reconnect): nothing tells how much the run itself wobbled.
    return { value, lo: value, hi: value, n: m.count, judged: false, why: 'no samples in the measured seconds: this run\'s noise is unknown (compare --repeat trials instead)' };
  }
  // The interval's offsets around the histogram's own quantile, applied to the summary's value (the same number
  // in a report wsbench wrote; a hand-edited summary keeps its width).
  let lo = value;
  let hi = value;
  if (m.hdr) {
    const around = quantileInterval(m.hdr, m.count, q);
    const at = percentileOf(m.hdr, q * 100);
    lo = value - (at - around.lo);
    hi = value + (around.hi - at);
  }
  // Batch means need 3 seconds; a shorter window keeps the sampling interval only (docs/CI.md).
  if (perSecond.length >= MIN_SECONDS) {
    const mean = perSecond.reduce((a, v) => a + v, 0) / perSecond.length;
    const relative = batchMeansHalfWidth(perSecond) / mean;
    lo = Math.min(lo, value * (1 - relative));
    hi = Math.max(hi, value * (1 + relative));
  }
  // Latencies are timed from the scheduled send: up to the generator's own lag at this percentile is the generator's.
  const lag = metric === METRIC.sendLag ? undefined : report.metrics[METRIC.sendLag];
  if (lag && lag.count >= need && lag.hdr) lo -= percentileOf(lag.hdr, q * 100);
  return { value, lo: Math.max(0, lo), hi, n: m.count, judged: true };
}

/**
 * A rate (per second) or a count with its interval: Poisson on the `events` behind
 * it, widened by batch means of `seriesKey` (per-second counts) when the report has it.
 */
export function estimateRate(report: Report, value: number, events: number, seriesKey?: string): Estimate {
  const poisson = events > 0 ? (Z_95 * Math.sqrt(events)) / events : 0;
  const perSecond = seriesKey ? measuredValues(report, seriesKey) : [];
  const mean = perSecond.length ? perSecond.reduce((a, v) => a + v, 0) / perSecond.length : 0;
  const relative = Math.max(poisson, mean > 0 ? batchMeansHalfWidth(perSecond) / mean : 0);
  return { value, lo: Math.max(0, value * (1 - relative)), hi: value * (1 + relative), n: events, judged: true };
}

/**
 * Is `next` worse than `base` beyond the noise? Only when both are judged, the
 * intervals do not overlap in the worse direction, and the change passes `threshold`
 * (a ratio, e.g. 0.1). `noise` when the change passes the threshold but the
 * intervals overlap; `unjudged` when either side has too few samples.
 */
export function judgeChange(base: Estimate, next: Estimate, better: 'lower' | 'higher', threshold: number): 'ok' | 'noise' | 'regressed' | 'unjudged' {
  if (!base.judged || !next.judged) return 'unjudged';
  const worseBeyondThreshold = better === 'lower' ? next.value > base.value * (1 + threshold) : next.value < base.value * (1 - threshold);
  if (!worseBeyondThreshold) return 'ok';
  const separated = better === 'lower' ? next.lo > base.hi : next.hi < base.lo;
  return separated ? 'regressed' : 'noise';
}
