/**
 * Gate verdicts: read a gate's value from one or several reports (`--repeat K`
 * judges the median across trials) and, for `regress`, against a baseline report.
 */
import { WsbenchError, EXIT } from '../errors.ts';
import type { GateResult, MetricSummary, Report } from '../report/schema.ts';
import { percentileOf } from '../metrics/index.ts';
import type { Gate, GateOp, GateSubject } from './types.ts';
import { formatSubject } from './parse.ts';
import { CLOSE_COUNTER_PREFIX, COUNTER, ENGINE_METRICS, isErrorCounter, sumErrorCounters } from '../metrics/names.ts';

export { ENGINE_METRICS };
import { estimateQuantile, judgeChange } from './noise.ts';

/** The error code of a gate naming a metric the run does not measure (`WSB_ERR_GATE_METRIC`, exit 2; see docs/ERRORS.md). */
export const GATE_METRIC_CODE = 'WSB_ERR_GATE_METRIC';

/** Counters the engine always may emit; absent means zero. */
const WELL_KNOWN_COUNTERS: readonly string[] = [COUNTER.connectionsOpened, COUNTER.connectionsFailed, COUNTER.messagesSent, COUNTER.messagesReceived];

/** Counter names that read 0 when a report does not have them (zero counters are left out of snapshots). */
export function isImplicitZeroCounter(name: string): boolean {
  return isErrorCounter(name) || name.startsWith(CLOSE_COUNTER_PREFIX) || WELL_KNOWN_COUNTERS.includes(name);
}

/**
 * Measured seconds of a run: the report's optional `measuredMs` when present; else
 * `messages.sent / rates.messagesSentPerSec` when both are known (exact only if the
 * counters cover the measured window too); else `durationMs / 1000`.
 */
export function measuredSeconds(report: Report): number {
  const measuredMs = (report as Report & { measuredMs?: number }).measuredMs;
  if (typeof measuredMs === 'number' && measuredMs > 0) return measuredMs / 1000;
  const sent = report.counters[COUNTER.messagesSent] ?? 0;
  const rate = report.rates?.messagesSentPerSec ?? 0;
  if (sent > 0 && rate > 0) return sent / rate;
  return report.durationMs / 1000;
}

/** `errors.rate`: every `errors` / `errors.*` counter over (messages.sent + connections.opened), a ratio. */
export function errorRate(report: Report): number {
  const errors = sumErrorCounters(report.counters);
  const ops = (report.counters[COUNTER.messagesSent] ?? 0) + (report.counters[COUNTER.connectionsOpened] ?? 0);
  if (ops === 0) return errors > 0 ? 1 : 0;
  return errors / ops;
}

/** The subject's value in its base unit, or a reason it has none. */
export function readSubject(subject: GateSubject, report: Report): { value: number | boolean } | { missing: string } {
  switch (subject.kind) {
    case 'saturated':
      return { value: report.generator.saturated };
    case 'ledger':
      return { value: report.ledger[subject.field] ?? 0 };
    case 'server': {
      const s = report.server;
      const v = subject.field === 'rss.slope' ? s?.rssSlopeBytesPerHour : subject.field === 'heap.slope' ? s?.heapSlopeBytesPerHour : s?.rssBytesPeak;
      if (v !== undefined) return { value: v };
      return { missing: s ? `the target's memory was not read in the measured window (${s.scrapes} scrapes, ${s.failures} failed)` : 'no server metrics in the report: give --scrape URL (bundled nodes are scraped by default)' };
    }
    case 'rate':
      if (subject.name === 'errors') return { value: errorRate(report) };
      if (subject.name === 'deliveries') return { value: report.rates.deliveriesPerSec };
      if (subject.name === 'messages') return { value: report.rates.messagesSentPerSec };
      return { value: report.rates.connectsPerSec };
    case 'counter': {
      const v = report.counters[subject.name];
      if (v !== undefined) return { value: v };
      return isImplicitZeroCounter(subject.name) ? { value: 0 } : { missing: `no counter "${subject.name}" in the report` };
    }
    case 'metric': {
      const m = report.metrics[subject.metric];
      if (m === undefined || m.count === 0) return { missing: `no samples of metric "${subject.metric}"` };
      const { stat } = subject;
      if (stat.kind === 'count') return { value: m.count };
      if (stat.kind === 'rate') {
        const secs = measuredSeconds(report);
        return secs > 0 ? { value: m.count / secs } : { missing: 'the run has no measured duration' };
      }
      if (stat.kind !== 'percentile') return { value: m[stat.kind] };
      const named: Record<number, number> = { 50: m.p50, 90: m.p90, 95: m.p95, 99: m.p99, 99.9: m.p999, 100: m.max };
      const known = named[stat.percentile];
      if (known !== undefined) return { value: known };
      if (!m.hdr) return { missing: `metric "${subject.metric}" has no histogram to read p${stat.percentile} from` };
      return { value: percentileOf(m.hdr, stat.percentile) };
    }
  }
}

function compare(a: number | boolean, op: GateOp, b: number | boolean): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

type Shape = 'time' | 'ratio' | 'perSec' | 'count' | 'boolean' | 'bytes' | 'bytesPerHour';

function shapeOf(subject: GateSubject): Shape {
  if (subject.kind === 'saturated') return 'boolean';
  if (subject.kind === 'server') return subject.field === 'rss.peak' ? 'bytes' : 'bytesPerHour';
  if (subject.kind === 'rate') return subject.name === 'errors' ? 'ratio' : 'perSec';
  if (subject.kind === 'metric') return subject.stat.kind === 'count' ? 'count' : subject.stat.kind === 'rate' ? 'perSec' : 'time';
  return 'count';
}

const sig3 = (x: number): string => String(Number(x.toPrecision(3)));

/** A value for humans: `41.2 ms`, `0.05%`, `98400/s`. */
export function formatValue(v: number | boolean, shape: Shape): string {
  if (typeof v === 'boolean') return String(v);
  if (!Number.isFinite(v)) return String(v);
  switch (shape) {
    case 'time':
      if (Math.abs(v) >= 1_000_000) return `${sig3(v / 1_000_000)} s`;
      if (Math.abs(v) >= 1000) return `${sig3(v / 1000)} ms`;
      return `${sig3(v)} us`;
    case 'ratio':
      return `${sig3(v * 100)}%`;
    case 'perSec':
      return `${Math.abs(v) >= 1000 ? Math.round(v) : sig3(v)}/s`;
    case 'bytes':
    case 'bytesPerHour':
      return `${sig3(v / 1024 ** 2)} MiB${shape === 'bytesPerHour' ? '/h' : ''}`;
    default:
      return String(Math.abs(v) >= 1000 || Number.isInteger(v) ? Math.round(v) : sig3(v));
  }
}

function signedPct(r: number): string {
  return `${r > 0 ? '+' : ''}${formatValue(r, 'ratio')}`;
}

/** Median of numbers (mean of the middle two for an even count). */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

/** Across trials: the median, plus min..max; booleans: true when true in at least half the trials. */
function acrossTrials(values: Array<number | boolean>): { value: number | boolean; spread?: [number, number]; trueCount?: number } {
  if (typeof values[0] === 'boolean') {
    const trueCount = values.filter((v) => v === true).length;
    return { value: trueCount * 2 >= values.length, trueCount };
  }
  const nums = values as number[];
  return { value: median(nums), spread: [Math.min(...nums), Math.max(...nums)] };
}

/**
 * Judge gates. With several trials (`--repeat K`) each gate reads the median across
 * trials (booleans: true if true in at least half) and `detail` shows the spread.
 * `regress` gates compare that median against `baseline`: (new - base) / base, a ratio;
 * a zero baseline gives +/-Infinity (reported as `actual: null`). A gate fails when its
 * value is missing from every trial or a `regress` gate has no baseline.
 */
export function evaluateGates(gates: Gate[], trials: Report[], baseline?: Report): GateResult[] {
  return gates.map((gate) => evaluateGate(gate, trials, baseline));
}

function evaluateGate(gate: Gate, trials: Report[], baseline?: Report): GateResult {
  const name = formatSubject(gate.subject);
  const shape = shapeOf(gate.subject);
  const fail = (detail: string): GateResult => ({ expr: gate.expr, passed: false, actual: null, detail });
  if (trials.length === 0) return fail('no report to judge');

  const values: Array<number | boolean> = [];
  let missing = '';
  for (const t of trials) {
    const r = readSubject(gate.subject, t);
    if ('value' in r) values.push(r.value);
    else missing = r.missing;
  }
  if (values.length === 0) return fail(missing);
  const agg = acrossTrials(values);
  const partial = values.length < trials.length ? `; missing in ${trials.length - values.length} of ${trials.length} trials (${missing})` : '';
  let over = '';
  if (values.length > 1) {
    over =
      agg.trueCount !== undefined
        ? ` (true in ${agg.trueCount} of ${values.length} trials)`
        : ` (median of ${values.length} trials, spread ${formatValue(agg.spread![0], shape)}..${formatValue(agg.spread![1], shape)})`;
  }

  if (!gate.regress) {
    const passed = compare(agg.value, gate.op, gate.threshold);
    const thr = typeof gate.threshold === 'boolean' ? String(gate.threshold) : formatValue(gate.threshold, shape);
    return {
      expr: gate.expr,
      passed,
      actual: agg.value,
      detail: `${name} = ${formatValue(agg.value, shape)}${over}${partial}; needs ${gate.op} ${thr}`,
    };
  }

  if (!baseline) return fail('a regress gate needs a baseline report (--baseline <report.json>)');
  const base = readSubject(gate.subject, baseline);
  if (!('value' in base)) return fail(`baseline: ${base.missing}`);
  const b = base.value as number;
  const next = agg.value as number;
  const ratio = b === 0 ? (next === 0 ? 0 : next > 0 ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY) : (next - b) / b;
  let passed = compare(ratio, gate.op, gate.threshold);
  const noise = passed ? undefined : regressNoise(gate, trials, baseline);
  if (noise) passed = noise.passed;
  return {
    expr: gate.expr,
    passed,
    actual: Number.isFinite(ratio) ? ratio : null,
    detail: `${name} ${Number.isFinite(ratio) ? `changed ${signedPct(ratio)}` : 'rose from a baseline of 0'}: ${formatValue(next, shape)}${over} vs baseline ${formatValue(b, shape)}${partial}; needs ${gate.op} ${formatValue(gate.threshold as number, 'ratio')}${noise ? `; ${noise.detail}` : ''}`,
  };
}

/**
 * A latency percentile that regressed past the threshold: is it beyond the noise
 * (src/gates/noise.ts)? Within noise passes; too few samples (or a saturated
 * generator) fails as "cannot tell". With several trials every trial's interval must
 * lie above the baseline's: the spread of the trials is part of the noise. Undefined
 * when the gate is not a latency percentile or the regression is beyond the noise.
 */
function regressNoise(gate: Gate, trials: Report[], baseline: Report): { passed: boolean; detail: string } | undefined {
  const s = gate.subject;
  if (s.kind !== 'metric' || (gate.op !== '<' && gate.op !== '<=')) return undefined;
  const q = s.stat.kind === 'percentile' ? s.stat.percentile / 100 : s.stat.kind === 'max' ? 1 : undefined;
  const base = baseline.metrics[s.metric];
  if (q === undefined || !base?.hdr) return undefined;
  const at = (r: Report, m: MetricSummary) => estimateQuantile(r, s.metric, m, q, q >= 1 ? m.max : percentileOf(m.hdr, q * 100));
  const b = at(baseline, base);
  const verdicts = trials.flatMap((t) => {
    const m = t.metrics[s.metric];
    return m?.hdr ? [{ e: at(t, m), v: judgeChange(b, at(t, m), 'lower', 0) }] : [];
  });
  const unjudged = [b, ...verdicts.map((x) => x.e)].find((e) => !e.judged);
  if (unjudged) return { passed: false, detail: `cannot tell regression from noise: ${unjudged.why}` };
  if (verdicts.every((x) => x.v === 'regressed')) return undefined;
  return { passed: true, detail: 'within noise: the 95% intervals overlap (docs/CI.md)' };
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

function didYouMean(name: string, known: string[]): string {
  const best = known.map((k) => ({ k, d: editDistance(name, k) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? ` Did you mean "${best.k}"?` : '';
}

const OTHER_SUBJECTS_HINT =
  'Also available: errors.rate, deliveries.rate, messages.rate, connects.rate, ledger.<expected|delivered|lost|duplicated|reordered>, generator.saturated and any counter by name.';

/**
 * Before a run: one error (WSB_ERR_GATE_METRIC, exit 2) per gate on a latency metric no
 * run can have (not one of {@link ENGINE_METRICS}), so a typo costs no run. Counters and
 * metrics a run may or may not produce are judged on the finished report
 * ({@link validateGateMetrics}).
 */
export function validateGateMetricNames(gates: Gate[]): WsbenchError[] {
  const errors: WsbenchError[] = [];
  for (const g of gates) {
    const s = g.subject;
    if (s.kind !== 'metric' || ENGINE_METRICS.includes(s.metric)) continue;
    errors.push(
      new WsbenchError(GATE_METRIC_CODE, `Gate "${g.expr}": unknown metric "${s.metric}".${didYouMean(s.metric, [...ENGINE_METRICS])} wsbench measures: ${ENGINE_METRICS.join(', ')}.`, {
        exitCode: EXIT.usage,
        hint: OTHER_SUBJECTS_HINT,
      }),
    );
  }
  return errors;
}

/**
 * Check that every gate names something the report has: a metric with samples, or
 * a counter (those of the `errors.`/`close.` families and the engine's well-known
 * counters may be absent, they read 0). Returns one error (WSB_ERR_GATE_METRIC,
 * exit 2) per unknown name, listing what the report does have.
 */
export function validateGateMetrics(gates: Gate[], report: Report): WsbenchError[] {
  const metrics = Object.keys(report.metrics).sort();
  const counters = Object.keys(report.counters).sort();
  const errors: WsbenchError[] = [];
  for (const g of gates) {
    const s = g.subject;
    if (s.kind === 'metric' && report.metrics[s.metric] === undefined) {
      errors.push(
        new WsbenchError(GATE_METRIC_CODE, `Gate "${g.expr}": unknown metric "${s.metric}".${didYouMean(s.metric, metrics)} Metrics of this run: ${metrics.join(', ') || '(none)'}.`, {
          exitCode: EXIT.usage,
          hint: OTHER_SUBJECTS_HINT,
          problems: metrics,
        }),
      );
    } else if (s.kind === 'counter' && report.counters[s.name] === undefined && !isImplicitZeroCounter(s.name)) {
      const known = [...counters, ...metrics.map((m) => `${m}.p99`)];
      errors.push(
        new WsbenchError(GATE_METRIC_CODE, `Gate "${g.expr}": unknown counter "${s.name}".${didYouMean(s.name, known)} Counters of this run: ${counters.join(', ') || '(none)'}; metrics: ${metrics.join(', ') || '(none)'}.`, {
          exitCode: EXIT.usage,
          hint: 'A metric gate needs a statistic: <metric>.p50|p90|p95|p99|p999|p<N>|min|max|mean|count|rate.',
          problems: counters,
        }),
      );
    }
  }
  return errors;
}

/** Whether any gate compares against a baseline (the CLI then requires --baseline). */
export function gatesNeedBaseline(gates: Gate[]): boolean {
  return gates.some((g) => g.regress);
}
