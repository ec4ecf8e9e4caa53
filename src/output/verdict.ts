/**
 * The verdict every renderer shows on its first line, derived from a report the
 * same way everywhere, plus the formatting of gate values.
 */
import type { GateResult, Report } from '../report/schema.ts';
import { countOutcomes } from '../checks/outcome.ts';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate } from './format.ts';
import { ENGINE_METRICS, ERROR_COUNTER_PREFIX } from '../metrics/names.ts';

/** The outcome of a run in one place (passed, counts of failed and unverified checks and failed gates, saturation) and a short sentence for people. */
export interface Verdict {
  /** Completed, every check and every gate passed. A saturated generator does not fail the verdict by itself. */
  passed: boolean;
  failedChecks: number;
  /** Checks the run could not verify: not failures, never passes (see `--strict`). */
  unverifiedChecks: number;
  failedGates: number;
  saturated: boolean;
  status: Report['status'];
  /** One short sentence: `passed`, `passed, 1 check UNVERIFIED`, `failed: 1 check failed, 2 gates failed`, `interrupted`, ... */
  summary: string;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Work out whether a run passed and why not. */
export function verdictOf(report: Report): Verdict {
  const { failed: failedChecks, unverified: unverifiedChecks } = countOutcomes(report.checks);
  const failedGates = report.gates.filter((g) => !g.passed).length;
  const saturated = report.generator.saturated;
  const passed = report.status === 'completed' && failedChecks === 0 && failedGates === 0;
  const reasons: string[] = [];
  if (report.status !== 'completed') reasons.push(`run ${report.status}`);
  if (failedChecks > 0) reasons.push(`${plural(failedChecks, 'check')} failed`);
  if (failedGates > 0) reasons.push(`${plural(failedGates, 'gate')} failed`);
  const unverified = `${plural(unverifiedChecks, 'check')} UNVERIFIED`;
  const summary = passed ? (unverifiedChecks ? `passed, ${unverified}` : 'passed') : `failed: ${[...reasons, ...(unverifiedChecks ? [unverified] : [])].join(', ')}`;
  return { passed, failedChecks, unverifiedChecks, failedGates, saturated, status: report.status, summary };
}

/** The loud note for unverified checks (exit 0 unless --strict), or undefined when every check could be verified. */
export function unverifiedNote(report: Report): string | undefined {
  const unverified = report.checks.filter((c) => c.status === 'unverified');
  if (!unverified.length) return undefined;
  const list = unverified.map((c) => `${c.name} (${c.reason ?? 'no reason given'})`).join('; ');
  return `!! ${plural(unverified.length, 'check')} could not be verified and did NOT pass: ${list}. The exit code is 0 unless --strict; nothing was proven either way.`;
}

/**
 * A gate's measured value in the unit its expression reads in: `%` gates hold a
 * ratio (0..1), `/s` gates a rate, percentile/min/max/mean gates microseconds.
 */
export function formatGateActual(gate: GateResult): string {
  const { actual, expr } = gate;
  if (actual === null || actual === undefined) return 'n/a';
  if (typeof actual === 'boolean') return actual ? 'true' : 'false';
  if (/%/.test(expr)) return formatPercent(actual * 100);
  if (/^\s*server\.(rss|heap)\.slope\b/.test(expr)) return `${formatBytes(actual)}/h`;
  if (/^\s*server\./.test(expr)) return formatBytes(actual);
  if (/\/s\b|\.rate\b/.test(expr) && !/errors\.rate/.test(expr)) return formatRate(actual);
  if (/\.(p\d+(\.\d+)?|min|max|mean|avg)\b|\d\s*(us|µs|ms|s|m)\b/.test(expr)) return formatDuration(actual);
  return formatCount(actual);
}

/** Sum of every `errors.<code>` counter. */
export function totalErrors(counters: Record<string, number>): number {
  let sum = 0;
  for (const [name, value] of Object.entries(counters)) if (name.startsWith(ERROR_COUNTER_PREFIX)) sum += value;
  return sum;
}

/** Counters whose name starts with `prefix`, prefix removed, largest first. */
export function countersByPrefix(counters: Record<string, number>, prefix: string): Array<[string, number]> {
  return Object.entries(counters)
    .filter(([name]) => name.startsWith(prefix))
    .map(([name, value]): [string, number] => [name.slice(prefix.length), value])
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Metric names in a stable, meaningful order: the documented ones first, then the rest alphabetically. */
export function orderedMetricNames(metrics: Record<string, unknown>): string[] {
  const known: readonly string[] = ENGINE_METRICS;
  const names = Object.keys(metrics);
  const rank = (n: string) => {
    const i = known.indexOf(n);
    return i === -1 ? known.length : i;
  };
  return names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Up to `max` numeric top-level `/stats` keys, in first-seen order across nodes. */
export function nodeStatKeys(report: Report, max = 6): string[] {
  const keys: string[] = [];
  for (const n of report.nodes ?? []) {
    for (const [k, v] of Object.entries(n.stats ?? {})) {
      if (typeof v === 'number' && !keys.includes(k)) keys.push(k);
    }
  }
  return keys.slice(0, max);
}
