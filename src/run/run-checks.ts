/**
 * The checks of a finished run: the built-in ones (src/checks/builtin.ts) and the
 * scenario's own, each passed, failed or unverified. A scenario's checks that throw
 * fail as `scenario.checks`, naming the error.
 */
import type { CheckResult, Report } from '../report/schema.ts';
import type { CommonOptions, ScenarioDefinition } from '../scenario/types.ts';
import type { JudgedLedger } from '../checks/judge-ledger.ts';
import { builtinChecks } from '../checks/builtin.ts';
import { failedCheck } from '../checks/outcome.ts';
import { peakRatePerSec } from '../metrics/index.ts';

/**
 * What the checks of a finished run read: the scenario, the report, the options and the ramp/ledger figures of this process.
 */
export interface RunCheckInput {
  def: ScenarioDefinition;
  report: Report;
  options: Record<string, unknown> & CommonOptions;
  /** Clients this process ran (the shard's slice). */
  sliceClients: number;
  rampConnected: number;
  rampJoined: number;
  ledger: JudgedLedger;
  unexpectedExit?: string;
  examples: Record<string, number[]>;
}

/** Built-in checks, then the scenario's own `checks` (a throw fails as `scenario.checks`). */
export function runChecks(i: RunCheckInput): CheckResult[] {
  const { def, report, options } = i;
  const checks = builtinChecks({
    report,
    options: { ...options, clients: i.sliceClients },
    rampConnected: i.rampConnected,
    rampJoined: i.rampJoined,
    ledger: i.ledger,
    unexpectedExit: i.unexpectedExit,
    examples: i.examples,
    published: def.publish !== false && options.rate > 0,
  });
  if (!def.checks) return checks;
  try {
    checks.push(
      ...def.checks({
        options,
        metrics: report.metrics,
        counters: report.counters,
        ledger: report.ledger,
        rooms: i.ledger.rooms,
        rates: report.rates,
        durationMs: report.measuredMs ?? 1,
        observations: report.observations ?? {},
        examples: i.examples,
        target: report.target,
        rampConnected: i.rampConnected,
        series: report.series,
        timeline: report.timeline,
        server: report.server,
        peakRatePerSec: (metric, windowMs) => (report.metrics[metric] ? peakRatePerSec(report.metrics[metric]!.hdr, windowMs * 1000) : 0),
      }),
    );
  } catch (e) {
    checks.push(failedCheck('scenario.checks', `the scenario's checks threw: ${(e as Error).message}`));
  }
  return checks;
}
