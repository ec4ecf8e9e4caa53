/**
 * Renderers of a capacity result (`wsbench.capacity/1`): the console summary and
 * one self-contained HTML page with the capacity curve. Pure functions of the
 * result; the types are structural so this module does not import src/run.
 */
import picocolors from 'picocolors';
import type { GateResult, Report } from '../report/schema.ts';
import { escapeHtml as h } from './escape.ts';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate } from './format.ts';
import { renderLineChart, type ChartMarker } from './svg-chart.ts';
import { plainTable } from './table.ts';
import { formatGateActual } from './verdict.ts';
import { htmlPage, legend } from './html.ts';

/** The parts of a capacity step the renderers read. */
export interface CapacityStepView {
  index: number;
  kind: 'step' | 'bisect';
  load: number;
  verdict: string;
  sustainable: boolean;
  reason?: string;
  slos: GateResult[];
  failedChecks: string[];
  messagesSentPerSec: number;
  deliveriesPerSec: number;
  fanoutP99Us: number | null;
  saturated: boolean;
  saturationReason?: string;
  server: { connections: number; rssBytes: number | null; cpuPercent: number | null; rssBytesPerConnection: number | null; cpuUsPerDelivery: number | null; cpuPercentPer1kConnections: number | null };
  report: Report;
}

/** The parts of a capacity result the renderers read. */
export interface CapacityView {
  schema: string;
  tool: { name: string; version: string };
  scenario: { name: string; description?: string };
  target: { kind: string; protocol: string; nodes: number } | null;
  knob: string;
  slos: string[];
  plan: { from: number; to: number; planned: number[]; bisect: number; stepDurationMs: number };
  startedAt: string;
  steps: CapacityStepView[];
  outcome: { stop: string; sustainableLoad: number | null; firstBadLoad: number | null; lowerBound: boolean; message: string };
  curveMetric: string;
  knee: { load: number; nextLoad: number; slope: number } | null;
  resources: { marginalRssBytesPerConnection: number | null; baselineRssBytes: number | null; atSustainable: CapacityStepView['server'] | null; missing: string[] };
  projection: { targetClients: number; headroom: number; clientsPerNode: number; usableClientsPerNode: number; nodes: number; publishesPerSec: number; deliveriesPerSec: number; busMessagesPerSec: number; formulas: string[]; basis: string } | null;
  projectionNote?: string;
  notes: string[];
  exitCode: number;
}

const VERDICT_LABEL: Record<string, string> = {
  good: 'OK',
  slo: 'SLO breached',
  check: 'check failed',
  saturated: 'generator saturated',
  failed: 'failed',
  interrupted: 'interrupted',
};

function unitOf(knob: string): string {
  return knob === 'rate' ? 'publishes/s' : knob;
}

function curveP99(s: CapacityStepView, metric: string): number | null {
  return s.report.metrics[metric]?.p99 ?? null;
}

function sloCell(g: GateResult): string {
  return `${g.passed ? 'ok' : 'FAIL'} ${g.expr.replace(/\s*[<>=!]=?.*$/, '')}=${formatGateActual(g)}`;
}

function headline(v: CapacityView): string {
  const s = v.outcome.stop;
  if (s === 'slo' || s === 'check') return 'capacity found';
  if (s === 'saturated') return v.outcome.sustainableLoad === null ? 'generator saturated' : 'lower bound (generator saturated)';
  if (s === 'range-exhausted') return 'lower bound (range exhausted)';
  if (s === 'none-sustainable') return 'no step met the SLOs';
  return s;
}

/** Console summary: one row per step (in load order), the outcome, the knee, resources and the projection. */
export function renderCapacityTable(v: CapacityView, opts: { color?: boolean } = {}): string {
  const c = picocolors.createColors(opts.color ?? false);
  const unit = unitOf(v.knob);
  const out: string[] = [];
  out.push(c.bold(`wsbench capacity: ${v.scenario.name}, varying ${v.knob} ${v.plan.from}..${v.plan.to}`));
  out.push(`SLOs: ${v.slos.join(', ')}${v.target ? `   target: ${v.target.kind} ${v.target.protocol}, ${v.target.nodes} node${v.target.nodes === 1 ? '' : 's'}` : ''}`);
  const t = plainTable({ head: ['#', unit, 'verdict', 'SLOs (actual)', 'sent/s', 'deliveries/s', `${v.curveMetric} p99`, 'gen. saturated', 'server RSS', 'server CPU'], compact: true });
  for (const s of [...v.steps].sort((a, b) => a.load - b.load || a.index - b.index)) {
    const verdict = VERDICT_LABEL[s.verdict] ?? s.verdict;
    const p99 = curveP99(s, v.curveMetric);
    t.push([
      `${s.index + 1}${s.kind === 'bisect' ? 'b' : ''}`,
      formatCount(s.load),
      s.sustainable ? c.green(verdict) : s.verdict === 'saturated' ? c.yellow(verdict) : c.red(verdict),
      s.slos.map(sloCell).join('\n') || '-',
      formatRate(s.messagesSentPerSec),
      formatRate(s.deliveriesPerSec),
      p99 === null ? '-' : formatDuration(p99),
      s.saturated ? c.yellow(`yes: ${s.saturationReason ?? ''}`.slice(0, 60)) : 'no',
      s.server.rssBytes === null ? '-' : formatBytes(s.server.rssBytes),
      s.server.cpuPercent === null ? '-' : formatPercent(s.server.cpuPercent),
    ]);
  }
  out.push(t.toString());
  out.push(`${c.bold('Result')}: ${headline(v)}. ${v.outcome.message}`);
  if (v.outcome.lowerBound && v.outcome.stop === 'saturated') out.push(c.yellow('The generator, not the server, was the bottleneck: this is a lower bound on the server\'s capacity, not its capacity.'));
  out.push(`${c.bold('Knee')}: ${v.knee ? `${v.curveMetric} p99 starts growing much faster than load after ${formatCount(v.knee.load)} ${unit} (log-log slope ${v.knee.slope} up to ${formatCount(v.knee.nextLoad)})` : 'none in the measured range'}`);
  const r = v.resources;
  const at = r.atSustainable;
  const res: string[] = [];
  if (at?.rssBytesPerConnection != null) res.push(`RSS ${formatBytes(at.rssBytesPerConnection)}/connection (average, incl. baseline)`);
  if (r.marginalRssBytesPerConnection !== null) res.push(`+${formatBytes(r.marginalRssBytesPerConnection)} per added connection (fit over steps; baseline ${formatBytes(r.baselineRssBytes ?? 0)})`);
  if (at?.cpuPercent != null) res.push(`CPU ${formatPercent(at.cpuPercent)} of a core = ${at.cpuPercentPer1kConnections ?? '-'}% per 1k connections, ${at.cpuUsPerDelivery ?? '-'} us per delivery`);
  out.push(`${c.bold('Server cost')}: ${res.length ? res.join('; ') : 'not measured'}`);
  for (const m of r.missing) out.push(c.dim(`  missing: ${m}`));
  if (v.projection) {
    const p = v.projection;
    out.push(`${c.bold('Projection')}: ${formatCount(p.targetClients)} clients need ${c.bold(String(p.nodes))} node${p.nodes === 1 ? '' : 's'} with ${Math.round(p.headroom * 100)}% headroom; Redis bus ${formatRate(p.busMessagesPerSec)} (publishes ${formatRate(p.publishesPerSec)}, deliveries ${formatRate(p.deliveriesPerSec)})`);
    out.push(c.dim(`  basis: ${p.basis}`));
    for (const f of p.formulas) out.push(c.dim(`  ${f}`));
  } else if (v.projectionNote) out.push(`${c.bold('Projection')}: ${v.projectionNote}`);
  for (const n of v.notes) out.push(c.dim(`note: ${n}`));
  return out.join('\n');
}

// ---------- HTML ----------

/** What the capacity page adds to the report pages' stylesheet: the outcome box and the saturated tone. */
const CAPACITY_CSS = `
.result{margin:14px 0;padding:12px 16px;border-radius:8px;border:2px solid var(--line);background:var(--card);font-size:15px}
.result.good{border-color:#16a34a}.result.bad{border-color:#dc2626}.result.warn{border-color:#f59e0b;background:#fef9c3;color:#713f12}
.warn{color:var(--warn);font-weight:600}
`;

function verdictClass(s: CapacityStepView): string {
  return s.sustainable ? 'good' : s.verdict === 'saturated' ? 'warn' : 'bad';
}

function curveCharts(v: CapacityView): string {
  const steps = [...v.steps].filter((s) => s.verdict !== 'failed').sort((a, b) => a.load - b.load);
  if (!steps.length) return '<p class="muted">No step produced measurements.</p>';
  const unit = unitOf(v.knob);
  const markers: ChartMarker[] = [];
  if (v.outcome.sustainableLoad !== null) markers.push({ at: v.outcome.sustainableLoad, label: 'sustainable', kind: 'note', detail: `largest sustainable load ${v.outcome.sustainableLoad}` });
  if (v.knee) markers.push({ at: v.knee.load, label: 'knee', kind: 'fault', detail: `p99 grows faster than load after ${v.knee.load}` });
  const x0 = Math.min(...steps.map((s) => s.load));
  const x1 = Math.max(...steps.map((s) => s.load));
  const pad = Math.max(1, (x1 - x0) * 0.04);
  const xDomain: [number, number] = [Math.max(0, x0 - pad), x1 + pad];
  const p99 = renderLineChart({
    title: `${v.curveMetric} p99 against ${unit}`,
    xLabel: unit,
    xDomain,
    xFormat: (x) => formatCount(x, { compact: true }),
    yFormat: formatDuration,
    lines: [
      { label: `${v.curveMetric} p99`, color: '#2563eb', dots: true, points: steps.map((s) => [s.load, curveP99(s, v.curveMetric)]) },
      { label: `${v.curveMetric} p50`, color: '#94a3b8', dashed: true, points: steps.map((s) => [s.load, s.report.metrics[v.curveMetric]?.p50 ?? null]) },
    ],
    markers,
  });
  const rates = renderLineChart({
    title: `deliveries per second against ${unit}`,
    xLabel: unit,
    xDomain,
    xFormat: (x) => formatCount(x, { compact: true }),
    yFormat: (y) => formatRate(y),
    lines: [
      { label: 'deliveries/s', color: '#16a34a', dots: true, area: true, points: steps.map((s) => [s.load, s.deliveriesPerSec]) },
      { label: 'sent/s', color: '#e67e22', dots: true, points: steps.map((s) => [s.load, s.messagesSentPerSec]) },
    ],
    markers,
  });
  const p99Keys = legend([{ label: `${v.curveMetric} p99`, color: '#2563eb' }, { label: `${v.curveMetric} p50`, color: '#94a3b8', dashed: true }]);
  const rateKeys = legend([{ label: 'deliveries/s', color: '#16a34a' }, { label: 'sent/s', color: '#e67e22' }]);
  return `<div class="charts"><figure class="chart-card"><figcaption>${h(v.curveMetric)} latency against load</figcaption>${p99Keys}${p99}</figure><figure class="chart-card"><figcaption>Throughput against load</figcaption>${rateKeys}${rates}</figure></div>`;
}

function stepsTable(v: CapacityView): string {
  const rows = [...v.steps]
    .sort((a, b) => a.load - b.load || a.index - b.index)
    .map((s) => {
      const p99 = curveP99(s, v.curveMetric);
      return `<tr><td class="num">${s.index + 1}${s.kind === 'bisect' ? ' (bisect)' : ''}</td><td class="num">${h(formatCount(s.load))}</td><td class="${verdictClass(s)}">${h(VERDICT_LABEL[s.verdict] ?? s.verdict)}${s.reason ? `<div class="muted">${h(s.reason)}</div>` : ''}</td><td>${s.slos
        .map((g) => `<div class="${g.passed ? 'good' : 'bad'}"><code>${h(g.expr)}</code>: ${h(formatGateActual(g))}</div>`)
        .join('')}</td><td class="num">${h(formatRate(s.messagesSentPerSec))}</td><td class="num">${h(formatRate(s.deliveriesPerSec))}</td><td class="num">${p99 === null ? '-' : h(formatDuration(p99))}</td><td>${s.saturated ? `<span class="warn">yes</span> <span class="muted">${h(s.saturationReason ?? '')}</span>` : 'no'}</td><td class="num">${s.server.rssBytes === null ? '-' : h(formatBytes(s.server.rssBytes))}</td><td class="num">${s.server.cpuPercent === null ? '-' : h(formatPercent(s.server.cpuPercent))}</td><td class="num">${s.server.cpuUsPerDelivery === null ? '-' : h(`${s.server.cpuUsPerDelivery} us`)}</td></tr>`;
    });
  return `<table><thead><tr><th>#</th><th class="num">${h(unitOf(v.knob))}</th><th>verdict</th><th>SLOs (actual)</th><th class="num">sent/s</th><th class="num">deliveries/s</th><th class="num">${h(v.curveMetric)} p99</th><th>generator saturated</th><th class="num">server RSS</th><th class="num">server CPU</th><th class="num">CPU/delivery</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The capacity section alone (for embedding in another page that brings html.ts's PAGE_CSS and the capacity page's additions). */
export function renderCapacitySection(v: CapacityView): string {
  const tone = v.outcome.stop === 'slo' || v.outcome.stop === 'check' ? 'good' : v.outcome.stop === 'saturated' || v.outcome.stop === 'range-exhausted' ? 'warn' : 'bad';
  const r = v.resources;
  const at = r.atSustainable;
  const cost: string[] = [];
  if (at?.rssBytesPerConnection != null) cost.push(`RSS ${formatBytes(at.rssBytesPerConnection)} per connection at the sustainable load (average, including the process baseline)`);
  if (r.marginalRssBytesPerConnection !== null) cost.push(`${formatBytes(r.marginalRssBytesPerConnection)} more RSS per added connection (least-squares line over the steps; baseline ${formatBytes(r.baselineRssBytes ?? 0)})`);
  if (at?.cpuPercent != null) cost.push(`CPU ${formatPercent(at.cpuPercent)} of one core: ${at.cpuPercentPer1kConnections ?? '-'}% per 1000 connections, ${at.cpuUsPerDelivery ?? '-'} us per delivery`);
  const p = v.projection;
  return `<section id="capacity">
<div class="result ${tone}"><strong>${h(headline(v))}.</strong> ${h(v.outcome.message)}</div>
<h2>Capacity curve</h2>
${curveCharts(v)}
<p class="muted">Knee: ${v.knee ? h(`${v.curveMetric} p99 grows much faster than load after ${formatCount(v.knee.load)} (log-log slope ${v.knee.slope} up to ${formatCount(v.knee.nextLoad)})`) : 'none in the measured range'}.</p>
<h2>Steps</h2>
${stepsTable(v)}
<h2>Server cost</h2>
<ul>${cost.map((x) => `<li>${h(x)}</li>`).join('') || '<li>not measured</li>'}${r.missing.map((m) => `<li class="muted">missing: ${h(m)}</li>`).join('')}</ul>
<h2>Projection</h2>
${
  p
    ? `<p><strong>${h(formatCount(p.targetClients))} clients need ${p.nodes} node${p.nodes === 1 ? '' : 's'}</strong> with ${Math.round(p.headroom * 100)}% headroom; Redis bus load ${h(formatRate(p.busMessagesPerSec))}.</p><p class="muted">${h(p.basis)}</p><ul>${p.formulas.map((f) => `<li><code>${h(f)}</code></li>`).join('')}</ul>`
    : `<p class="muted">${h(v.projectionNote ?? 'give --target-clients N to project the nodes a target size needs')}</p>`
}
${v.notes.length ? `<h2>Notes</h2><ul>${v.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>` : ''}
</section>`;
}

/** One self-contained HTML page (no script, no network) for a capacity result, in the report pages' shell and style. */
export function renderCapacityHtml(v: CapacityView): string {
  const title = `wsbench capacity: ${v.scenario.name}`;
  const meta = `varying ${v.knob} ${v.plan.from}..${v.plan.to} · SLOs ${v.slos.join(', ')} · ${v.target ? `${v.target.kind} ${v.target.protocol}, ${v.target.nodes} node${v.target.nodes === 1 ? '' : 's'} · ` : ''}started ${v.startedAt} · ${v.tool.name} ${v.tool.version}`;
  return htmlPage({
    title,
    generator: `${v.tool.name} ${v.tool.version}`,
    header: `<h1>${h(title)}</h1><div class="meta">${h(meta)}</div>\n`,
    body: `${renderCapacitySection(v)}\n`,
    footer: `Generated from the capacity result (${h(v.schema)}); every step's full run report is embedded in the JSON. Self-contained: no network access needed.`,
    css: CAPACITY_CSS,
  });
}
