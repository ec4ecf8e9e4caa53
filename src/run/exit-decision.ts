/**
 * The one place that turns a finished run into a verdict and an exit code: gates are
 * judged here (over one report or the trials of `--repeat`), and `decideExit` maps the
 * report to the documented exit codes for `run`, `capacity` steps and `report`.
 *
 * Precedence: interrupted (130) > harness failure (3) > saturated with
 * `--refuse-saturated` (4) > a failed check or gate (1) > an unverified check with
 * `--strict` (1) > pass (0). Without `--strict` an unverified check exits 0 and the
 * verdict line says so loudly.
 */
import type { GateResult, Report } from '../report/schema.ts';
import type { Gate } from '../gates/index.ts';
import { checkBaselineCompatible, evaluateGates, validateGateMetrics } from '../gates/index.ts';
import { countOutcomes } from '../checks/outcome.ts';
import { EXIT, usageError, type ExitCode } from '../errors.ts';

/** What the user asked about how strict the exit code is. */
export interface ExitPolicy {
  /** `--refuse-saturated`: exit 4 when the generator itself was saturated. */
  refuseSaturated: boolean;
  /** `--strict`: an unverified check fails the run (exit 1). */
  strict: boolean;
}

/** The part of a report the exit decision reads. */
export type JudgedReport = Pick<Report, 'status' | 'checks' | 'gates' | 'generator'>;

/** The exit code of one finished report (or the last trial, with `saturated` from any trial). */
export function decideExit(report: JudgedReport, policy: ExitPolicy, saturated = report.generator.saturated): ExitCode {
  if (report.status === 'interrupted') return EXIT.interrupted;
  if (report.status === 'failed') return EXIT.harness;
  if (policy.refuseSaturated && saturated) return EXIT.saturated;
  const outcomes = countOutcomes(report.checks);
  if (outcomes.failed > 0 || report.gates.some((g) => !g.passed)) return EXIT.failed;
  if (policy.strict && outcomes.unverified > 0) return EXIT.failed;
  return EXIT.pass;
}

const SEVERITY: readonly ExitCode[] = [EXIT.interrupted, EXIT.harness, EXIT.saturated, EXIT.usage, EXIT.failed, EXIT.pass];

/** The worst of several exit codes (variants of one command): interrupted > harness > saturated > usage > failed > pass. */
export function worstExit(codes: Iterable<number>): ExitCode {
  const seen = new Set(codes);
  return SEVERITY.find((c) => seen.has(c)) ?? EXIT.pass;
}

/**
 * Gates over one or more reports (the median of the trials); a gate on something the
 * run did not produce fails with the reason while the others keep their verdicts.
 */
export function judgeGates(gates: Gate[], reports: Report[], baseline?: Report): GateResult[] {
  const last = reports.at(-1)!;
  return evaluateGates(gates, reports, baseline).map((result, i) => {
    const [unknown] = validateGateMetrics([gates[i]!], last);
    return unknown ? { ...result, passed: false, actual: null, detail: unknown.message } : result;
  });
}

/**
 * The verdict of one variant of `run` over its trials: gates on the median, checks
 * that failed or were unverified in an earlier trial kept (a later trial does not
 * forgive them, nor turn them into a pass), then the
 * exit code. Mutates and returns the last trial's report.
 * @throws WsbenchError (usage) when `baseline` cannot be compared with this run
 */
export function judgeTrials(reports: Report[], gates: Gate[], policy: ExitPolicy, baseline?: { report: Report; path?: string }): { report: Report; exitCode: ExitCode } {
  const report = reports.at(-1)!;
  if (gates.length) {
    const incompatible = baseline ? checkBaselineCompatible(baseline.report, report) : [];
    if (incompatible.length) throw usageError('WSB_ERR_BASELINE', `--baseline ${baseline?.path} cannot be compared with this run`, 'use a baseline saved from the same scenario and schema', incompatible);
    report.gates = judgeGates(gates, reports, baseline?.report);
  }
  reports.slice(0, -1).forEach((r, i) => {
    for (const c of r.checks) if (!c.passed) report.checks.push({ ...c, name: `trial${i + 1}.${c.name}` });
  });
  const saturated = reports.some((r) => r.generator.saturated);
  return { report, exitCode: decideExit(report, policy, saturated) };
}
