/**
 * The console summary printed at the end of a run. The only user of cli-table3
 * in the project (with compare.ts). A pure function of the report.
 */
import Table from 'cli-table3';
import { serverSideRows } from './server-side.ts';
import picocolors from 'picocolors';
import type { Report } from '../report/schema.ts';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate } from './format.ts';
import type { TableOptions } from './types.ts';
import { countersByPrefix, formatGateActual, nodeStatKeys, orderedMetricNames, totalErrors, unverifiedNote, verdictOf } from './verdict.ts';
import { checkStatus } from '../checks/outcome.ts';
import type { CheckResult } from '../report/schema.ts';

type Colors = ReturnType<typeof picocolors.createColors>;

type TableInit = NonNullable<ConstructorParameters<typeof Table>[0]>;

/** No rule between body rows: dense numeric tables read better without. */
const COMPACT_CHARS: TableInit['chars'] = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/**
 * A cli-table3 table without colour codes of its own (colours are ours, and optional).
 * `compact` drops the rules between body rows (keep them where cells wrap).
 */
export function plainTable(opts: TableInit & { compact?: boolean } = {}): InstanceType<typeof Table> {
  const { compact, ...rest } = opts;
  return new Table({
    ...rest,
    ...(compact ? { chars: { ...COMPACT_CHARS, ...rest.chars } } : {}),
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1, ...rest.style },
  });
}

function heading(c: Colors, title: string): string {
  return c.bold(title);
}

function passFail(c: Colors, passed: boolean): string {
  return passed ? c.green('PASS') : c.red(c.bold('FAIL'));
}

function checkResult(c: Colors, check: CheckResult): string {
  return checkStatus(check) === 'unverified' ? c.yellow(c.bold('UNVERIFIED')) : passFail(c, check.passed);
}

function unverifiedBanner(report: Report, c: Colors, width: number): string | undefined {
  const text = unverifiedNote(report);
  if (!text) return undefined;
  const t = plainTable({ colWidths: [Math.max(40, width)], wordWrap: true });
  t.push([c.yellow(c.bold(text))]);
  return t.toString();
}

function headerSection(report: Report, c: Colors): string {
  const v = verdictOf(report);
  const target = `${report.target.kind} ${report.target.protocol}, ${report.target.nodes} node${report.target.nodes === 1 ? '' : 's'}`;
  const t = plainTable();
  t.push(
    { Scenario: report.scenario.name },
    { Target: `${target}${report.target.urls.length ? `\n${report.target.urls.join('\n')}` : ''}` },
    { Status: report.status === 'completed' ? report.status : c.yellow(`${report.status}${report.cause ? `: ${report.cause.message} (${report.cause.code})` : ''}`) },
    { Verdict: v.passed ? (v.unverifiedChecks ? c.yellow(c.bold(`PASS, NOT PROVEN (${v.summary.replace(/^passed, /, '')})`)) : c.green('PASS')) : c.red(c.bold(`FAIL (${v.summary.replace(/^failed: /, '')})`)) },
    { Duration: `${formatDuration(report.durationMs * 1000)}  (${report.startedAt} -> ${report.endedAt})` },
    { Generator: `${report.generator.processes} process${report.generator.processes === 1 ? '' : 'es'}${report.generator.saturated ? c.red(c.bold('  SATURATED')) : ''}` },
    { Tool: `${report.tool.name} ${report.tool.version}${report.git ? ` (${report.git.sha.slice(0, 12)})` : ''}, node ${report.machine.node}, ${report.machine.cpus} x ${report.machine.cpuModel}` },
  );
  return `${heading(c, `wsbench: ${report.scenario.name}`)}\n${t.toString()}`;
}

function saturationBanner(report: Report, c: Colors, width: number): string | undefined {
  if (!report.generator.saturated) return undefined;
  const text = `!! GENERATOR SATURATED: ${report.generator.reason ?? 'the load generator could not keep up'}. The latencies and rates of this run measure the load generator as much as the server: do not trust them.`;
  const t = plainTable({ colWidths: [Math.max(40, width)], wordWrap: true });
  t.push([c.red(c.bold(text))]);
  return t.toString();
}

function latencySection(report: Report, c: Colors): string | undefined {
  const names = orderedMetricNames(report.metrics);
  if (names.length === 0) return undefined;
  const t = plainTable({
    compact: true,
    head: ['metric', 'count', 'p50', 'p90', 'p99', 'p99.9', 'max'].map((h) => c.bold(h)),
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const name of names) {
    const m = report.metrics[name]!;
    t.push([name, formatCount(m.count), formatDuration(m.p50), formatDuration(m.p90), formatDuration(m.p99), formatDuration(m.p999), formatDuration(m.max)]);
  }
  return `${heading(c, 'Latency')}\n${t.toString()}`;
}

function throughputSection(report: Report, c: Colors): string {
  const t = plainTable({
    head: ['sent/s', 'deliveries/s', 'connects/s', 'acks/s', 'rtt/s', 'sent', 'received', 'connections opened', 'failed'].map((h) => c.bold(h)),
    colAligns: ['right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  const k = report.counters;
  const failed = k['connections.failed'] ?? 0;
  t.push([
    formatRate(report.rates.messagesSentPerSec),
    formatRate(report.rates.deliveriesPerSec),
    formatRate(report.rates.connectsPerSec),
    report.rates.acksPerSec === undefined ? '-' : formatRate(report.rates.acksPerSec),
    report.rates.roundTripsPerSec === undefined ? '-' : formatRate(report.rates.roundTripsPerSec),
    formatCount(k['messages.sent'] ?? 0),
    formatCount(k['messages.received'] ?? 0),
    formatCount(k['connections.opened'] ?? 0),
    failed > 0 ? c.yellow(formatCount(failed)) : formatCount(failed),
  ]);
  return `${heading(c, 'Throughput')}\n${t.toString()}`;
}

function countersSection(report: Report, c: Colors): string {
  const errors = countersByPrefix(report.counters, 'errors.');
  const closes = countersByPrefix(report.counters, 'close.');
  const t = plainTable({
    compact: true, head: ['errors', 'count', 'close codes', 'count'].map((h) => c.bold(h)), colAligns: ['left', 'right', 'left', 'right'] });
  const rows = Math.max(errors.length, closes.length, 1);
  for (let i = 0; i < rows; i++) {
    const e = errors[i];
    const cl = closes[i];
    t.push([
      e ? c.red(e[0]) : i === 0 ? c.dim('none') : '',
      e ? formatCount(e[1]) : '',
      cl ? cl[0] : i === 0 ? c.dim('none') : '',
      cl ? formatCount(cl[1]) : '',
    ]);
  }
  return `${heading(c, `Errors and closes (${formatCount(totalErrors(report.counters))} errors)`)}\n${t.toString()}${errorExamplesTable(report, c)}`;
}

/** What the server said, per error code: the first message seen (HTTP status and body, connect_error, error frame). */
function errorExamplesTable(report: Report, c: Colors): string {
  const said = Object.entries(report.errorExamples ?? {});
  if (!said.length) return '';
  const t = plainTable({ compact: true, head: ['error', 'what the server or the socket said (first seen)'].map((h) => c.bold(h)), colWidths: [null, 70], wordWrap: true });
  for (const [code, text] of said) t.push([c.red(code.replace(/^errors\./, '')), text]);
  return `\n${t.toString()}`;
}

function ledgerSection(report: Report, c: Colors): string {
  const l = report.ledger;
  const bad = (n: number) => (n > 0 ? c.red(formatCount(n)) : formatCount(n));
  const tag = l.mode === 'tag';
  const head = ['expected', 'delivered', 'lost', 'duplicated', 'reordered', ...(tag ? ['refused', 'unjudged'] : [])];
  const t = plainTable({ head: head.map((h) => c.bold(h)), colAligns: head.map(() => 'right' as const) });
  t.push([formatCount(l.expected), formatCount(l.delivered), bad(l.lost), bad(l.duplicated), bad(l.reordered), ...(tag ? [bad(l.refused ?? 0), formatCount(l.unjudged ?? 0)] : [])]);
  const mode = l.mode === 'tag' ? ' (tag ledger: the harness\'s own tags, order per publisher)' : l.mode === 'seq' ? ' (seq ledger: the server\'s room seq, room order)' : '';
  let out = `${heading(c, `Delivery ledger${mode}`)}\n${t.toString()}`;
  const rooms = (report.rooms ?? []).filter((r) => r.lost + r.duplicated + r.reordered > 0);
  if (rooms.length > 0) {
    const rt = plainTable({
    compact: true, head: ['room', 'expected', 'delivered', 'lost', 'duplicated', 'reordered'].map((h) => c.bold(h)), colAligns: ['left', 'right', 'right', 'right', 'right', 'right'] });
    for (const r of rooms) rt.push([r.room, formatCount(r.expected), formatCount(r.delivered), bad(r.lost), bad(r.duplicated), bad(r.reordered)]);
    out += `\nRooms with a problem:\n${rt.toString()}`;
  }
  return out;
}

function verdictsSection(report: Report, c: Colors, width: number): string | undefined {
  const parts: string[] = [];
  const detailWidth = Math.max(30, width - 50);
  if (report.checks.length > 0) {
    const t = plainTable({ head: ['check', 'result', 'detail'].map((h) => c.bold(h)), colWidths: [null, null, detailWidth], wordWrap: true });
    for (const check of report.checks) t.push([check.name, checkResult(c, check), check.detail]);
    parts.push(`${heading(c, 'Checks')}\n${t.toString()}`);
  }
  if (report.gates.length > 0) {
    const t = plainTable({ head: ['gate', 'result', 'actual', 'detail'].map((h) => c.bold(h)), colWidths: [null, null, null, Math.max(20, detailWidth - 12)], wordWrap: true });
    for (const gate of report.gates) t.push([gate.expr, passFail(c, gate.passed), formatGateActual(gate), gate.detail ?? '']);
    parts.push(`${heading(c, 'Gates')}\n${t.toString()}`);
  }
  return parts.length ? parts.join('\n\n') : undefined;
}

function generatorSection(report: Report, c: Colors): string {
  const g = report.generator;
  const t = plainTable({
    compact: true,
    head: ['worker', 'clients', 'event-loop p99', 'CPU', 'RSS peak'].map((h) => c.bold(h)),
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  t.push([c.bold('all'), formatCount(g.workers.reduce((n, w) => n + w.clients, 0)), formatDuration(g.eventLoopDelayP99Us), formatPercent(g.cpuPercent), formatBytes(g.rssBytesPeak)]);
  for (const w of g.workers) t.push([String(w.id), formatCount(w.clients), formatDuration(w.eventLoopDelayP99Us), formatPercent(w.cpuPercent), formatBytes(w.rssBytesPeak)]);
  const state = g.saturated ? c.red(c.bold(`SATURATED: ${g.reason ?? 'no reason given'}`)) : c.green('not saturated');
  const cpu = g.cpuSeconds === undefined ? '' : `, ${g.cpuSeconds.toFixed(2)} CPU s measured`;
  return `${heading(c, `Generator health (${g.processes} process${g.processes === 1 ? '' : 'es'}${cpu}, ${state})`)}\n${t.toString()}`;
}

function serverSection(report: Report, c: Colors): string | undefined {
  const rows = serverSideRows(report.server);
  if (!rows.length) return undefined;
  const t = plainTable({ compact: true });
  for (const [k, v] of rows) t.push([k, v]);
  return `${heading(c, 'Server side (its own metrics)')}\n${t.toString()}`;
}

function nodesSection(report: Report, c: Colors): string | undefined {
  const nodes = report.nodes ?? [];
  if (nodes.length <= 1) return undefined;
  const statKeys = nodeStatKeys(report);
  const t = plainTable({
    compact: true,
    head: ['node', 'url', 'clients', ...statKeys].map((h) => c.bold(h)),
    colAligns: ['left', 'left', 'right', ...statKeys.map(() => 'right' as const)],
  });
  for (const n of nodes) {
    t.push([n.id, n.url, n.clients === undefined ? '-' : formatCount(n.clients), ...statKeys.map((k) => formatStat(n.stats?.[k]))]);
  }
  return `${heading(c, 'Nodes')}\n${t.toString()}`;
}

function formatStat(v: unknown): string {
  if (typeof v === 'number') return formatCount(v);
  if (v === undefined || v === null) return '-';
  return String(v);
}

function notesSection(report: Report, c: Colors, width: number): string | undefined {
  if (report.notes.length === 0) return undefined;
  const t = plainTable({ colWidths: [Math.max(40, width)], wordWrap: true });
  for (const note of report.notes) t.push([note]);
  return `${heading(c, 'Notes')}\n${t.toString()}`;
}

/**
 * The final console summary of a run, as a string (no trailing newline):
 * header, saturation banner, latency, throughput, errors and close codes,
 * delivery ledger, checks, gates, generator health, per-node breakdown (when
 * more than one node), notes. Colours only with `color: true`.
 */
export function renderTable(report: Report, opts: TableOptions = {}): string {
  const c = picocolors.createColors(opts.color ?? false);
  const width = opts.width ?? 100;
  const banner = saturationBanner(report, c, width);
  const sections = [
    headerSection(report, c),
    banner,
    latencySection(report, c),
    throughputSection(report, c),
    countersSection(report, c),
    ledgerSection(report, c),
    verdictsSection(report, c, width),
    generatorSection(report, c),
    serverSection(report, c),
    nodesSection(report, c),
    notesSection(report, c, width),
    // Said twice on purpose: a saturated run must not be read as a clean one by someone who only sees the tail of the log.
    banner,
    // Last of all: a run that proved nothing must not read as one that passed.
    unverifiedBanner(report, c, width),
  ];
  return sections.filter((s): s is string => s !== undefined).join('\n\n');
}
