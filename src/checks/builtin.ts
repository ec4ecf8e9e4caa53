/**
 * Checks every run gets: all clients connected and joined, the delivery ledger
 * balanced, the server accepted the publishes, the bundled target stayed up. Each has
 * a name, an outcome (passed, failed, or unverified with the reason) and evidence.
 */
import type { CheckResult, Report } from '../report/schema.ts';
import type { CommonOptions } from '../scenario/types.ts';
import type { JudgedLedger } from './judge-ledger.ts';
import { failedCheck, passedCheck, unverifiedCheck } from './outcome.ts';
import { CLOSE_COUNTER_PREFIX } from '../metrics/names.ts';

/**
 * What the built-in checks judge: the report so far, the run's options (`clients` is this process's slice) and the ramp's connect/join counts.
 */
export interface BuiltinCheckInput {
  report: Report;
  options: CommonOptions;
  rampConnected: number;
  /** Connected clients whose every join was answered during the ramp (default: rampConnected). */
  rampJoined?: number;
  /** The judged ledger (seq or tag mode). */
  ledger: JudgedLedger;
  unexpectedExit?: string;
  examples: Record<string, number[]>;
  /** Whether the scenario published anything (no ledger check otherwise). */
  published: boolean;
}

/**
 * The checks every run gets: `connections.established`, and when the scenario published `delivery.exactly-once-in-order` (plus `publish.accepted` when the server refused publishes, tag ledger), and `target.alive` when the bundled target exited early.
 */
export function builtinChecks(i: BuiltinCheckInput): CheckResult[] {
  const out: CheckResult[] = [connectionsCheck(i)];
  if (i.published) {
    out.push(deliveryCheck(i.ledger));
    const refused = i.ledger.total.refused ?? 0;
    if (i.ledger.mode === 'tag' && refused > 0) {
      out.push(failedCheck('publish.accepted', `the server refused ${refused} publishes (an error frame for the publish, or it closed the publisher's connection while the ack was pending)`, { refused, closes: closeCounts(i.report.counters) }));
    }
  }
  if (i.unexpectedExit) out.push(failedCheck('target.alive', `the target did not stay up: ${i.unexpectedExit}`));
  return out;
}

function connectionsCheck(i: BuiltinCheckInput): CheckResult {
  const clients = i.options.clients;
  const joined = i.rampJoined ?? i.rampConnected;
  const failedExamples = Object.entries(i.examples)
    .filter(([k]) => k.startsWith('connect:'))
    .map(([k, v]) => `${k.slice(8)}: clients ${v.join(', ')}`);
  const evidence = { expected: clients, connected: i.rampConnected, joined, ...(failedExamples.length ? { examples: failedExamples } : {}) };
  const name = 'connections.established';
  if (i.rampConnected < clients) return failedCheck(name, `${clients - i.rampConnected} of ${clients} clients failed to connect during the ramp`, evidence);
  if (joined < i.rampConnected) return failedCheck(name, `all ${clients} clients connected, but ${i.rampConnected - joined} of them did not get every join answered (join timed out or refused)`, evidence);
  return passedCheck(name, `all ${clients} clients connected and joined`, evidence);
}

function deliveryCheck(l: JudgedLedger): CheckResult {
  const t = l.total;
  const name = 'delivery.exactly-once-in-order';
  const order = l.mode === 'seq' ? 'in room order' : 'in each publisher\'s order';
  const evidence: Record<string, unknown> = { ...t };
  const badRooms = l.rooms.filter((r) => r.lost || r.duplicated || r.reordered).slice(0, 5);
  if (badRooms.length) evidence.rooms = badRooms;
  if (l.receivers.length) evidence.receivers = l.receivers.slice(0, 5);
  if (l.examples.length) evidence.examples = l.examples;
  if (l.unverifiable) return unverifiedCheck(name, l.unverifiable, evidence);
  if (t.expected === 0) return unverifiedCheck(name, 'nothing was published to members, so delivery could not be verified', evidence);
  if (t.lost === 0 && t.duplicated === 0 && t.reordered === 0) return passedCheck(name, `all ${t.expected} expected deliveries arrived once and ${order} (${l.mode} ledger)`, evidence);
  return failedCheck(name, `${t.lost} lost, ${t.duplicated} duplicated, ${t.reordered} reordered of ${t.expected} expected deliveries (${l.mode} ledger, ${order})`, evidence);
}

function closeCounts(counters: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counters).filter(([k]) => k.startsWith(CLOSE_COUNTER_PREFIX)));
}
