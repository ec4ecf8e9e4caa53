/**
 * Baselines: may a saved report be compared with this run, and how do two
 * reports differ (`wsbench compare`).
 */
import { WsbenchError, EXIT } from '../errors.ts';
import { REPORT_SCHEMA, type MetricSummary, type Report } from '../report/schema.ts';
import { COUNTER, METRIC } from '../metrics/names.ts';
import type { CompareRow } from './types.ts';
import { sumErrorCounters } from '../metrics/names.ts';
import { estimatePercentile, estimateRate, judgeChange, type Estimate, type LatencyStat } from './noise.ts';

/** The error code of a baseline that cannot be compared (`WSB_ERR_BASELINE`, exit 2; see docs/ERRORS.md). */
export const BASELINE_CODE = 'WSB_ERR_BASELINE';

/**
 * Every reason `baseline` cannot be compared with `report` (empty when it can): not a
 * wsbench report, another schema, another scenario. Each reason says what to do.
 * See {@link assertBaselineCompatible} for the throwing form and
 * {@link baselineWarnings} for differences that only weaken the comparison.
 */
export function checkBaselineCompatible(baseline: unknown, report: Report): string[] {
  if (typeof baseline !== 'object' || baseline === null || Array.isArray(baseline) || !('schema' in baseline)) {
    return ['the baseline is not a wsbench report (no "schema" field); pass a JSON report written by `wsbench run`'];
  }
  const b = baseline as Partial<Report>;
  const problems: string[] = [];
  if (b.schema !== REPORT_SCHEMA) {
    problems.push(`the baseline was written with schema "${String(b.schema)}"; this wsbench reads "${REPORT_SCHEMA}" (re-record the baseline with this version)`);
  }
  if (b.scenario?.name !== report.scenario.name) {
    problems.push(`the baseline is a run of scenario "${String(b.scenario?.name)}", this run is "${report.scenario.name}"; their numbers do not compare`);
  }
  return problems;
}

/** Throw WSB_ERR_BASELINE (exit 2) listing every problem {@link checkBaselineCompatible} finds. */
export function assertBaselineCompatible(baseline: unknown, report: Report): asserts baseline is Report {
  const problems = checkBaselineCompatible(baseline, report);
  if (problems.length === 0) return;
  throw new WsbenchError(BASELINE_CODE, `The baseline cannot be compared with this run: ${problems.join('; ')}.`, {
    hint: 'Pass a baseline report recorded with the same scenario and the same wsbench report schema.',
    exitCode: EXIT.usage,
    problems,
  });
}

/**
 * Differences that make a comparison weaker but not meaningless: scenario options,
 * target, machine, tool version, a baseline that was saturated or did not complete.
 */
export function baselineWarnings(baseline: Report, report: Report): string[] {
  const b = baseline;
  const warnings: string[] = [];
  const opts = new Set([...Object.keys(b.scenario.options ?? {}), ...Object.keys(report.scenario.options ?? {})]);
  const changed = [...opts].filter((k) => JSON.stringify(b.scenario.options?.[k]) !== JSON.stringify(report.scenario.options?.[k])).sort();
  if (changed.length) warnings.push(`scenario options differ from the baseline: ${changed.join(', ')}`);
  if (b.target && (b.target.protocol !== report.target.protocol || b.target.nodes !== report.target.nodes || b.target.kind !== report.target.kind)) {
    warnings.push(`target differs: baseline ${b.target.kind}/${b.target.protocol} x${b.target.nodes}, this run ${report.target.kind}/${report.target.protocol} x${report.target.nodes}`);
  }
  if (b.machine && (b.machine.cpuModel !== report.machine.cpuModel || b.machine.cpus !== report.machine.cpus)) {
    warnings.push(`machine differs: baseline ${b.machine.cpus} x ${b.machine.cpuModel}, this run ${report.machine.cpus} x ${report.machine.cpuModel}`);
  }
  if (b.tool && b.tool.version !== report.tool.version) warnings.push(`baseline written by wsbench ${b.tool.version}, this is ${report.tool.version}`);
  if (b.status && b.status !== 'completed') warnings.push(`the baseline run did not complete (status ${b.status})`);
  if (b.generator?.saturated) warnings.push(`the baseline's generator was saturated${b.generator.reason ? ` (${b.generator.reason})` : ''}; its latencies are not trustworthy`);
  return warnings;
}

const LATENCY_STATS: readonly LatencyStat[] = ['p50', 'p90', 'p99', 'p999', 'max'];

/** Sum of the `errors` and `errors.*` counters. */
function errorTotal(report: Report): number {
  return sumErrorCounters(report.counters);
}

type RowKey = Pick<CompareRow, 'name' | 'metric' | 'stat' | 'unit' | 'better'>;

/** One compared row from two estimates; a fault count rising from 0 (`strictFromZero`) is always a regression. */
function rowOf(key: RowKey, b: Estimate, n: Estimate, threshold: number, strictFromZero = false): CompareRow {
  const deltaPct = b.value === 0 ? (n.value === 0 ? 0 : n.value > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : ((n.value - b.value) / b.value) * 100;
  let verdict = judgeChange(b, n, key.better, threshold);
  let why = b.why === n.why ? b.why : b.why ? `base: ${b.why}` : n.why ? `next: ${n.why}` : undefined;
  if (strictFromZero && b.value === 0) {
    verdict = n.value > 0 ? 'regressed' : 'ok';
    why = n.value > 0 ? 'rose from 0: a fault is never noise' : undefined;
  }
  const regression = verdict === 'regressed';
  return { ...key, base: b.value, next: n.value, deltaPct, verdict, baseInterval: [b.lo, b.hi], nextInterval: [n.lo, n.hi], ...(why ? { why } : {}), regression, regressed: regression };
}

/** Events behind a rate over the measured window. */
function eventsOf(report: Report, perSec: number): number {
  return perSec * ((report.measuredMs ?? report.durationMs) / 1000);
}

/**
 * Row by row differences between two reports: p50/p90/p99/p999/max of every metric
 * present in both, the run-wide rates, the error total and the ledger faults, each
 * with a 95% interval (src/gates/noise.ts). A row regressed when it is worse by more
 * than `thresholdPct` percent (default 10; higher for latencies, errors and ledger
 * faults, lower for rates) AND its interval lies wholly on the worse side of the
 * baseline's; worse by more than the threshold inside the noise is `noise`, a
 * percentile with too few samples (fewer than 10/(1-q); any max) is `unjudged`. An
 * error or ledger fault count rising from 0 is always a regression. Metrics with
 * samples in only one report are left out.
 */
export function compareReports(base: Report, next: Report, opts: { thresholdPct?: number } = {}): CompareRow[] {
  const t = (opts.thresholdPct ?? 10) / 100;
  const rows: CompareRow[] = [];
  const names = Object.keys(base.metrics).filter((m) => next.metrics[m] !== undefined).sort();
  for (const name of names) {
    const b = base.metrics[name]!;
    const n = next.metrics[name]!;
    if (b.count === 0 || n.count === 0) continue;
    for (const stat of LATENCY_STATS) {
      const key: RowKey = { name: `${name}.${stat}`, metric: name, stat, unit: 'us', better: 'lower' };
      // The generator's own lag is shown for context; it says how far to trust the other rows, not how the server did.
      const est = (r: Report, m: MetricSummary): Estimate =>
        name === METRIC.sendLag ? { value: m[stat], lo: m[stat], hi: m[stat], n: m.count, judged: false, why: "the generator's own lag, not the server's" } : estimatePercentile(r, name, m, stat);
      rows.push(rowOf(key, est(base, b), est(next, n), t));
    }
  }
  const rate = (stat: string, pick: (r: Report) => number | undefined, series?: string): void => {
    const bv = pick(base);
    const nv = pick(next);
    if (bv === undefined || nv === undefined) return;
    const est = (r: Report, v: number) => estimateRate(r, v, eventsOf(r, v), series);
    rows.push(rowOf({ name: `${stat}.rate`, metric: 'rates', stat, unit: 'rate', better: 'higher' }, est(base, bv), est(next, nv), t));
  };
  rate('deliveries', (r) => r.rates.deliveriesPerSec, 'messages.received');
  rate('messages', (r) => r.rates.messagesSentPerSec, 'messages.sent');
  // The connect rate is one ramp, timed once: no per-second batches tell its noise (on a shared machine it moves 2x between runs).
  const ramp = (r: Report): Estimate => ({ value: r.rates.connectsPerSec, lo: r.rates.connectsPerSec, hi: r.rates.connectsPerSec, n: r.counters[COUNTER.connectionsOpened] ?? 0, judged: false, why: 'one ramp per run: its noise is unknown (compare --repeat trials instead)' });
  rows.push(rowOf({ name: 'connects.rate', metric: 'rates', stat: 'connects', unit: 'rate', better: 'higher' }, ramp(base), ramp(next), t));
  rate('acks', (r) => r.rates.acksPerSec);
  rate('roundTrips', (r) => r.rates.roundTripsPerSec);
  const count = (metric: string, stat: string, name: string, pick: (r: Report) => number): void => {
    const est = (r: Report) => estimateRate(r, pick(r), pick(r));
    rows.push(rowOf({ name, metric, stat, unit: 'count', better: 'lower' }, est(base), est(next), t, true));
  };
  count('errors', 'total', 'errors', errorTotal);
  for (const f of ['lost', 'duplicated', 'reordered'] as const) count('ledger', f, `ledger.${f}`, (r) => r.ledger[f]);
  return rows;
}
