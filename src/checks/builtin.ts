/**
 * Checks every run gets: all clients connected, the delivery ledger balanced, the
 * bundled target stayed up. Each has a name, a verdict and evidence.
 */
import type { CheckResult, Report } from '../report/schema.ts';
import type { CommonOptions } from '../scenario/types.ts';

export interface BuiltinCheckInput {
  report: Report;
  options: CommonOptions;
  rampConnected: number;
  ledgerExact: boolean;
  unexpectedExit?: string;
  examples: Record<string, number[]>;
  /** Whether the scenario published anything (no ledger check otherwise). */
  published: boolean;
}

export function builtinChecks(i: BuiltinCheckInput): CheckResult[] {
  const out: CheckResult[] = [];
  const failedExamples = Object.entries(i.examples)
    .filter(([k]) => k.startsWith('connect:'))
    .map(([k, v]) => `${k.slice(8)}: clients ${v.join(', ')}`);
  out.push({
    name: 'connections.established',
    passed: i.rampConnected === i.options.clients,
    detail: i.rampConnected === i.options.clients ? `all ${i.options.clients} clients connected and joined` : `${i.options.clients - i.rampConnected} of ${i.options.clients} clients failed to connect during the ramp`,
    evidence: { expected: i.options.clients, connected: i.rampConnected, ...(failedExamples.length ? { examples: failedExamples } : {}) },
  });
  if (i.published) {
    const l = i.report.ledger;
    const ok = l.lost === 0 && l.duplicated === 0 && l.reordered === 0 && l.expected > 0;
    const bad = (i.report.rooms ?? []).filter((r) => r.lost || r.duplicated || r.reordered).slice(0, 5);
    out.push({
      name: 'delivery.exactly-once-in-order',
      passed: ok,
      detail: !i.ledgerExact
        ? `not verifiable: the server's messages carry no sequence numbers (${l.delivered} delivered)`
        : l.expected === 0
          ? 'nothing was published to members, so delivery could not be verified'
          : ok
            ? `all ${l.expected} expected deliveries arrived once and in order`
            : `${l.lost} lost, ${l.duplicated} duplicated, ${l.reordered} reordered of ${l.expected} expected deliveries`,
      evidence: { ...l, ...(bad.length ? { rooms: bad } : {}) },
    });
    if (!i.ledgerExact) out[out.length - 1]!.passed = true;
  }
  if (i.unexpectedExit) {
    out.push({ name: 'target.alive', passed: false, detail: `the target did not stay up: ${i.unexpectedExit}` });
  }
  return out;
}
