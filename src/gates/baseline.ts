/**
 * Baselines: may a saved report be compared with this run, and how do two
 * reports differ (`wsbench compare`).
 */
import { WsbenchError, EXIT } from '../errors.ts';
import { REPORT_SCHEMA, type Report } from '../report/schema.ts';
import type { CompareRow } from './types.ts';
import { sumErrorCounters } from '../metrics/names.ts';

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

const LATENCY_STATS = ['p50', 'p90', 'p99', 'p999', 'max'] as const;

/** Sum of the `errors` and `errors.*` counters. */
function errorTotal(report: Report): number {
  return sumErrorCounters(report.counters);
}

/**
 * Row by row differences between two reports: p50/p90/p99/p999/max of every metric
 * present in both, the three run-wide rates, the error total and the ledger faults.
 * A row is a regression when it is worse by more than `thresholdPct` percent
 * (default 10): higher for latencies, errors and ledger faults, lower for rates;
 * an error or ledger fault count rising from 0 is always a regression. Metrics with
 * samples in only one report are left out.
 */
export function compareReports(base: Report, next: Report, opts: { thresholdPct?: number } = {}): CompareRow[] {
  const t = (opts.thresholdPct ?? 10) / 100;
  const rows: CompareRow[] = [];
  const push = (metric: string, stat: string, name: string, unit: CompareRow['unit'], better: CompareRow['better'], b: number, n: number, strictFromZero = false): void => {
    const deltaPct = b === 0 ? (n === 0 ? 0 : n > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : ((n - b) / b) * 100;
    const regression = better === 'lower' ? (b === 0 ? strictFromZero && n > 0 : n > b * (1 + t)) : n < b * (1 - t);
    rows.push({ name, metric, stat, unit, base: b, next: n, deltaPct, better, regression, regressed: regression });
  };

  const names = Object.keys(base.metrics).filter((m) => next.metrics[m] !== undefined).sort();
  for (const name of names) {
    const b = base.metrics[name]!;
    const n = next.metrics[name]!;
    if (b.count === 0 || n.count === 0) continue;
    for (const stat of LATENCY_STATS) push(name, stat, `${name}.${stat}`, 'us', 'lower', b[stat], n[stat]);
  }
  push('rates', 'deliveries', 'deliveries.rate', 'rate', 'higher', base.rates.deliveriesPerSec, next.rates.deliveriesPerSec);
  push('rates', 'messages', 'messages.rate', 'rate', 'higher', base.rates.messagesSentPerSec, next.rates.messagesSentPerSec);
  push('rates', 'connects', 'connects.rate', 'rate', 'higher', base.rates.connectsPerSec, next.rates.connectsPerSec);
  push('errors', 'total', 'errors', 'count', 'lower', errorTotal(base), errorTotal(next), true);
  for (const f of ['lost', 'duplicated', 'reordered'] as const) push('ledger', f, `ledger.${f}`, 'count', 'lower', base.ledger[f], next.ledger[f], true);
  return rows;
}
