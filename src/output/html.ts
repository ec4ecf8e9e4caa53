/**
 * The HTML report: ONE self-contained file (no network, no CDN, no external
 * fonts, charts drawn here as inline SVG, no script), readable offline and
 * attachable to a CI job. Several reports overlay on the same charts (capacity
 * steps, compare). Every user-supplied text is escaped.
 */
import { SERVER_SERIES, serverSideRows } from './server-side.ts';
import type { MetricSummary, Report, TimelineEvent } from '../report/schema.ts';
import { trafficCharts } from './traffic-variants.ts';
import { escapeHtml as h } from './escape.ts';
import { formatBytes, formatCount, formatDuration, formatPercent, formatRate } from './format.ts';
import { spectrumOf, spectrumTickLabel, type Spectrum } from './spectrum.ts';
import { renderLineChart, type ChartBand, type ChartLine, type ChartMarker } from './svg-chart.ts';
import { countersByPrefix, formatGateActual, nodeStatKeys, orderedMetricNames, totalErrors, verdictOf } from './verdict.ts';
import { checkStatus } from '../checks/outcome.ts';
import { CLOSE_COUNTER_PREFIX, COUNTER, ERROR_COUNTER_PREFIX } from '../metrics/names.ts';

/** Options of `renderHtml`. */
export interface HtmlOptions {
  /** Page title; default `wsbench: <scenario>` (or the scenarios, joined). */
  title?: string;
  /** Legend label of each report when several are overlaid; default scenario name and start time. */
  labels?: string[];
}

/** Line colours, colour-blind friendly order; red is kept for faults. */
const PALETTE = ['#2563eb', '#e67e22', '#16a34a', '#9333ea', '#0891b2', '#ca8a04', '#db2777', '#475569'];
const FAULT_COLOR = '#dc2626';

interface Run {
  report: Report;
  label: string;
  color: string;
}

function reportLabels(reports: Report[], labels?: string[]): string[] {
  const names = new Set(reports.map((r) => r.scenario.name));
  return reports.map((r, i) => {
    if (labels?.[i]) return labels[i]!;
    if (reports.length === 1) return r.scenario.name;
    return names.size === reports.length ? r.scenario.name : `#${i + 1} ${r.scenario.name} (${r.startedAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')})`;
  });
}

/** A row of line keys (colour swatch and label) above a chart; dashed keys for dashed lines. */
export function legend(items: Array<{ label: string; color: string; dashed?: boolean }>): string {
  if (items.length === 0) return '';
  return `<div class="legend">${items
    .map((i) => `<span class="key"><span class="swatch${i.dashed ? ' dashed' : ''}" style="border-color:${h(i.color)}"></span>${h(i.label)}</span>`)
    .join('')}</div>`;
}

// ---------- summary cards ----------

function card(label: string, value: string, sub = '', tone: 'ok' | 'bad' | 'warn' | '' = ''): string {
  return `<div class="card${tone ? ` tone-${tone}` : ''}"><div class="card-label">${h(label)}</div><div class="card-value">${h(value)}</div>${
    sub ? `<div class="card-sub">${h(sub)}</div>` : ''
  }</div>`;
}

function headlineMetric(report: Report): [string, MetricSummary] | undefined {
  const names = orderedMetricNames(report.metrics);
  const name = report.metrics.fanout ? 'fanout' : names.find((n) => report.metrics[n]!.count > 0);
  return name ? [name, report.metrics[name]!] : undefined;
}

function cards(run: Run): string {
  const r = run.report;
  const v = verdictOf(r);
  const conns = r.series.connections ?? [];
  const peak = conns.length ? Math.max(...conns) : undefined;
  const headline = headlineMetric(r);
  const errors = totalErrors(r.counters);
  const topError = countersByPrefix(r.counters, ERROR_COUNTER_PREFIX)[0];
  const l = r.ledger;
  const ledgerBad = l.lost + l.duplicated + l.reordered > 0;
  const g = r.generator;
  return `<div class="cards">${[
    card('Verdict', v.passed ? (v.unverifiedChecks ? 'NOT PROVEN' : 'PASS') : 'FAIL', v.summary, v.passed ? (v.unverifiedChecks ? 'warn' : 'ok') : 'bad'),
    card('Duration', formatDuration(r.durationMs * 1000), r.status, r.status === 'completed' ? '' : 'warn'),
    card('Peak connections', peak === undefined ? '-' : formatCount(peak), `${formatCount(r.counters[COUNTER.connectionsOpened] ?? 0)} opened, ${formatCount(r.counters[COUNTER.connectionsFailed] ?? 0)} failed`),
    card('Sent', formatRate(r.rates.messagesSentPerSec), `${formatCount(r.counters[COUNTER.messagesSent] ?? 0)} messages`),
    card('Deliveries', formatRate(r.rates.deliveriesPerSec), `${formatCount(r.counters[COUNTER.messagesReceived] ?? 0)} received`),
    headline ? card(`${headline[0]} p99`, formatDuration(headline[1].p99), `p50 ${formatDuration(headline[1].p50)} · max ${formatDuration(headline[1].max)}`) : '',
    card('Errors', formatCount(errors), topError ? `most: ${topError[0]} (${formatCount(topError[1])})` : 'none', errors > 0 ? 'warn' : ''),
    card('Ledger', ledgerBad ? `${formatCount(l.lost)} lost` : 'exact', `${formatCount(l.delivered)} of ${formatCount(l.expected)} · ${formatCount(l.duplicated)} dup · ${formatCount(l.reordered)} reordered`, ledgerBad ? 'bad' : 'ok'),
    card('Generator', g.saturated ? 'SATURATED' : 'healthy', `${g.processes} proc · loop p99 ${formatDuration(g.eventLoopDelayP99Us)} · CPU ${formatPercent(g.cpuPercent)}`, g.saturated ? 'bad' : ''),
  ].join('')}</div>`;
}

function saturationBanner(run: Run, multi: boolean): string {
  const g = run.report.generator;
  if (!g.saturated) return '';
  return `<div class="banner" role="alert"><strong>Generator saturated${multi ? ` (${h(run.label)})` : ''}:</strong> ${h(
    g.reason ?? 'the load generator could not keep up',
  )}. Latencies and rates of this run measure the load generator as much as the server: do not trust them.</div>`;
}

// ---------- latency ----------

function latencyTable(runs: Run[]): string {
  const multi = runs.length > 1;
  const rows: string[] = [];
  const names = orderedMetricNames(Object.assign({}, ...runs.map((r) => r.report.metrics)));
  for (const name of names) {
    for (const run of runs) {
      const m = run.report.metrics[name];
      if (!m) continue;
      rows.push(
        `<tr><td><code>${h(name)}</code></td>${multi ? `<td>${h(run.label)}</td>` : ''}${[m.count].map((c) => `<td class="num">${h(formatCount(c))}</td>`).join('')}${[
          m.p50,
          m.p90,
          m.p99,
          m.p999,
          m.max,
        ]
          .map((v) => `<td class="num">${h(formatDuration(v))}</td>`)
          .join('')}</tr>`,
      );
    }
  }
  return `<table><thead><tr><th>metric</th>${multi ? '<th>run</th>' : ''}<th class="num">count</th><th class="num">p50</th><th class="num">p90</th><th class="num">p99</th><th class="num">p99.9</th><th class="num">max</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function spectrumCharts(runs: Run[]): string {
  const names = orderedMetricNames(Object.assign({}, ...runs.map((r) => r.report.metrics)));
  const charts: string[] = [];
  for (const name of names) {
    const spectra: Array<{ run: Run; spectrum: Spectrum }> = [];
    for (const run of runs) {
      const m = run.report.metrics[name];
      if (m && m.count > 0) spectra.push({ run, spectrum: spectrumOf(m) });
    }
    if (spectra.length === 0) continue;
    const maxX = Math.max(3, ...spectra.flatMap((s) => s.spectrum.points.map((p) => p.x)));
    const lastTick = Math.ceil(maxX);
    const lines: ChartLine[] = spectra.map(({ run, spectrum }) => ({
      label: run.label,
      color: run.color,
      points: spectrum.points.map((p): [number, number] => [p.x, p.valueUs]),
      dots: spectrum.source === 'summary' || spectrum.points.length < 12,
    }));
    const fromSummary = spectra.some((s) => s.spectrum.source === 'summary');
    const svg = renderLineChart({
      title: `${name} latency by percentile`,
      lines,
      xDomain: [0, lastTick],
      xTicks: Array.from({ length: lastTick + 1 }, (_, k) => ({ value: k, label: spectrumTickLabel(k) })),
      xLabel: 'percentile (log scale: 1 / (1 - p))',
      yFormat: formatDuration,
      // Drawn three abreast: a narrower viewBox keeps the text the same size on screen.
      width: 420,
      height: 230,
    });
    charts.push(
      `<figure class="chart-card"><figcaption><code>${h(name)}</code> latency by percentile</figcaption>${runs.length > 1 ? legend(spectra.map((s) => ({ label: s.run.label, color: s.run.color }))) : ''}${svg}${
        fromSummary ? '<p class="hint">Drawn from the summary percentiles (p50 to max): the report carries no decodable HDR snapshot for this metric.</p>' : ''
      }</figure>`,
    );
  }
  return charts.length ? `<div class="charts small">${charts.join('')}</div>` : '<p class="muted">No latency samples.</p>';
}

// ---------- per-second series ----------

function phaseBands(report: Report, endSec: number): ChartBand[] {
  const phases = report.timeline.filter((e) => e.kind === 'phase').sort((a, b) => a.atMs - b.atMs);
  return phases.map((p, i) => ({ from: p.atMs / 1000, to: i + 1 < phases.length ? phases[i + 1]!.atMs / 1000 : endSec, label: p.name }));
}

function timelineMarkers(runs: Run[]): ChartMarker[] {
  // The same fault at the same second in several overlaid runs (the usual case:
  // one scenario, two builds) is one marker; otherwise each is named after its run.
  const byKey = new Map<string, { marker: ChartMarker; runs: string[] }>();
  for (const run of runs) {
    for (const e of run.report.timeline) {
      if (e.kind !== 'fault' && e.kind !== 'note') continue;
      const key = `${e.kind}\u0000${e.name}\u0000${Math.round(e.atMs / 1000)}`;
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.runs.includes(run.label)) seen.runs.push(run.label);
        continue;
      }
      byKey.set(key, {
        marker: { at: e.atMs / 1000, label: e.name, kind: e.kind, detail: e.detail, color: e.kind === 'fault' ? FAULT_COLOR : undefined },
        runs: [run.label],
      });
    }
  }
  return [...byKey.values()].map(({ marker, runs: seenIn }) =>
    runs.length > 1 && seenIn.length < runs.length ? { ...marker, label: `${marker.label} (${seenIn.join(', ')})` } : marker,
  );
}

interface SeriesPick {
  key: string;
  label: string;
  /** Latency series: a 0 means "no sample that second" and breaks the line. */
  latency?: boolean;
  dashed?: boolean;
}

function seriesChart(
  runs: Run[],
  title: string,
  picks: SeriesPick[],
  yFormat: (v: number) => string,
  endSec: number,
  opts: { legend?: boolean } = {},
): string | undefined {
  const multi = runs.length > 1;
  const lines: ChartLine[] = [];
  const keys: Array<{ label: string; color: string; dashed?: boolean }> = [];
  runs.forEach((run, ri) => {
    picks.forEach((pick, pi) => {
      const values = run.report.series[pick.key];
      if (!values || values.length === 0) return;
      const color = multi ? run.color : PALETTE[pi % PALETTE.length]!;
      const label = multi ? `${run.label}: ${pick.label}` : pick.label;
      const dashed = multi ? pi > 0 && pick.dashed !== false : pick.dashed;
      lines.push({
        label,
        color,
        dashed,
        area: !multi && picks.length === 1,
        points: values.map((v, i): [number, number | null] => [i + 0.5, pick.latency && v <= 0 ? null : v]),
      });
      if (multi && ri === 0 && picks.length > 1) keys.push({ label: pick.label, color: '#888888', dashed });
      if (!multi) keys.push({ label: pick.label, color, dashed });
    });
  });
  if (lines.length === 0) return undefined;
  const svg = renderLineChart({
    title,
    lines,
    xDomain: [0, endSec],
    xFormat: (s) => `${s}s`,
    xLabel: 'seconds since start',
    yFormat,
    bands: phaseBands(runs[0]!.report, endSec),
    markers: timelineMarkers(runs),
  });
  const showLegend = opts.legend || picks.length > 1 || multi;
  return `<figure class="chart-card"><figcaption>${h(title)}</figcaption>${showLegend ? legend(multi ? [...runs.map((r) => ({ label: r.label, color: r.color })), ...keys] : keys) : ''}${svg}</figure>`;
}

function seriesCharts(runs: Run[]): string {
  const endSec = Math.max(1, ...runs.map((r) => Math.max(r.report.durationMs / 1000, ...Object.values(r.report.series).map((s) => s.length))));
  const compact = (v: number) => formatCount(v, { compact: true });
  const perSec = (v: number) => formatRate(v);
  const charts = [
    seriesChart(runs, 'Open connections', [{ key: 'connections', label: 'connections' }], compact, endSec),
    seriesChart(runs, 'Messages sent per second', [{ key: COUNTER.messagesSent, label: 'sent/s' }], perSec, endSec),
    seriesChart(runs, 'Deliveries (messages received) per second', [{ key: COUNTER.messagesReceived, label: 'received/s' }], perSec, endSec),
    seriesChart(
      runs,
      'Fan-out latency per second',
      [
        { key: 'fanout.p99', label: 'p99', latency: true, dashed: false },
        { key: 'fanout.p50', label: 'p50', latency: true, dashed: true },
      ],
      formatDuration,
      endSec,
    ),
    seriesChart(runs, 'Errors per second', [{ key: 'errors', label: 'errors/s' }], compact, endSec),
    // The server's own figures (--scrape) beside what clients saw.
    ...SERVER_SERIES.map((x) => seriesChart(runs, x.title, [{ key: x.key, label: x.key }], x.format, endSec)),
  ];
  // Every other metric with a per-second p99 series, together on one chart.
  const others = new Set<string>();
  for (const run of runs) {
    for (const key of Object.keys(run.report.series)) {
      const m = /^(.+)\.p99$/.exec(key);
      if (m && m[1] !== 'fanout') others.add(m[1]!);
    }
  }
  if (others.size > 0) {
    const ordered = orderedMetricNames(Object.fromEntries([...others].map((n) => [n, 1])));
    charts.push(seriesChart(runs, 'Other latencies, p99 per second', ordered.map((n) => ({ key: `${n}.p99`, label: `${n} p99`, latency: true })), formatDuration, endSec, { legend: true }));
  }
  const drawn = charts.filter((c): c is string => c !== undefined);
  return drawn.length ? `<div class="charts">${drawn.join('')}</div>` : '<p class="muted">No per-second series in this report.</p>';
}

function timelineTable(runs: Run[]): string {
  const multi = runs.length > 1;
  const rows = runs.flatMap((run) =>
    run.report.timeline.map(
      (e: TimelineEvent) =>
        `<tr class="tl-${h(e.kind)}"><td class="num">${h(`${(e.atMs / 1000).toFixed(1)}s`)}</td>${multi ? `<td>${h(run.label)}</td>` : ''}<td><span class="tag tag-${h(e.kind)}">${h(e.kind)}</span></td><td>${h(e.name)}</td><td>${h(e.detail ?? '')}</td></tr>`,
    ),
  );
  if (rows.length === 0) return '';
  return `<details open><summary>Timeline (${rows.length} events)</summary><table><thead><tr><th class="num">at</th>${multi ? '<th>run</th>' : ''}<th>kind</th><th>event</th><th>detail</th></tr></thead><tbody>${rows.join('')}</tbody></table></details>`;
}

// ---------- per-run details ----------

function passFail(passed: boolean): string {
  return passed ? '<span class="pill pass">PASS</span>' : '<span class="pill fail">FAIL</span>';
}

function checkPill(c: Report['checks'][number]): string {
  return checkStatus(c) === 'unverified' ? '<span class="pill unverified">UNVERIFIED</span>' : passFail(c.passed);
}

function nodesTable(r: Report): string {
  const nodes = r.nodes ?? [];
  if (nodes.length === 0) return '';
  const keys = nodeStatKeys(r);
  const rows = nodes
    .map(
      (n) =>
        `<tr><td>${h(n.id)}</td><td><code>${h(n.url)}</code></td><td class="num">${n.clients === undefined ? '-' : h(formatCount(n.clients))}</td>${keys
          .map((k) => {
            const v = n.stats?.[k];
            return `<td class="num">${typeof v === 'number' ? h(formatCount(v)) : v === undefined ? '-' : h(String(v))}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('');
  return `<h3>Nodes</h3><table><thead><tr><th>node</th><th>url</th><th class="num">clients</th>${keys.map((k) => `<th class="num">${h(k)}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

function verdictTables(r: Report): string {
  const parts: string[] = [];
  if (r.checks.length > 0) {
    parts.push(
      `<h3>Checks</h3><table class="verdicts"><thead><tr><th>check</th><th>result</th><th>detail</th></tr></thead><tbody>${r.checks
        .map(
          (c) =>
            `<tr class="${checkStatus(c) === 'failed' ? 'fail' : checkStatus(c) === 'unverified' ? 'unverified' : 'pass'}"><td><code>${h(c.name)}</code></td><td>${checkPill(c)}</td><td>${h(c.detail)}${
              c.evidence ? `<details><summary>evidence</summary><pre>${h(JSON.stringify(c.evidence, null, 2))}</pre></details>` : ''
            }</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  }
  if (r.gates.length > 0) {
    parts.push(
      `<h3>Gates</h3><table class="verdicts"><thead><tr><th>gate</th><th>result</th><th class="num">actual</th><th>detail</th></tr></thead><tbody>${r.gates
        .map(
          (g) =>
            `<tr class="${g.passed ? 'pass' : 'fail'}"><td><code>${h(g.expr)}</code></td><td>${passFail(g.passed)}</td><td class="num">${h(formatGateActual(g))}</td><td>${h(g.detail ?? '')}</td></tr>`,
        )
        .join('')}</tbody></table>`,
    );
  }
  if (parts.length === 0) parts.push('<p class="muted">No checks or gates configured.</p>');
  return parts.join('');
}

function countersTables(r: Report): string {
  const l = r.ledger;
  const bad = (n: number) => `<td class="num${n > 0 ? ' bad' : ''}">${h(formatCount(n))}</td>`;
  const errors = countersByPrefix(r.counters, ERROR_COUNTER_PREFIX);
  const closes = countersByPrefix(r.counters, CLOSE_COUNTER_PREFIX);
  const list = (items: Array<[string, number]>, cls: string) =>
    items.length ? items.map(([k, v]) => `<tr><td class="${cls}">${h(k)}</td><td class="num">${h(formatCount(v))}</td></tr>`).join('') : '<tr><td class="muted">none</td><td></td></tr>';
  const rooms = (r.rooms ?? []).filter((x) => x.lost + x.duplicated + x.reordered > 0);
  return `<div class="cols">
<div><h3>Delivery ledger</h3><table><thead><tr><th class="num">expected</th><th class="num">delivered</th><th class="num">lost</th><th class="num">duplicated</th><th class="num">reordered</th></tr></thead><tbody><tr><td class="num">${h(formatCount(l.expected))}</td><td class="num">${h(formatCount(l.delivered))}</td>${bad(l.lost)}${bad(l.duplicated)}${bad(l.reordered)}</tr></tbody></table>${
    rooms.length
      ? `<table><thead><tr><th>room with a problem</th><th class="num">lost</th><th class="num">dup</th><th class="num">reordered</th></tr></thead><tbody>${rooms
          .map((x) => `<tr><td>${h(x.room)}</td>${bad(x.lost)}${bad(x.duplicated)}${bad(x.reordered)}</tr>`)
          .join('')}</tbody></table>`
      : ''
  }</div>
<div><h3>Errors</h3><table><tbody>${list(errors, 'bad')}</tbody></table></div>
<div><h3>Close codes</h3><table><tbody>${list(closes, '')}</tbody></table></div>
</div>`;
}

function serverSideTable(r: Report): string {
  const rows = serverSideRows(r.server);
  if (!rows.length) return '';
  return `<h3>Server side (its own metrics)</h3><table><tbody>${rows.map(([k, v]) => `<tr><td>${h(k)}</td><td>${h(v)}</td></tr>`).join('')}</tbody></table>`;
}

function generatorTable(r: Report): string {
  const g = r.generator;
  const row = (name: string, clients: number, loop: number, cpu: number, rss: number, cls = '') =>
    `<tr class="${cls}"><td>${h(name)}</td><td class="num">${h(formatCount(clients))}</td><td class="num">${h(formatDuration(loop))}</td><td class="num">${h(formatPercent(cpu))}</td><td class="num">${h(formatBytes(rss))}</td></tr>`;
  return `<h3>Generator health</h3><p>${g.processes} process${g.processes === 1 ? '' : 'es'}; ${
    g.saturated ? `<strong class="bad">SATURATED: ${h(g.reason ?? 'no reason given')}</strong>` : '<span class="good">not saturated</span>'
  }</p><table><thead><tr><th>worker</th><th class="num">clients</th><th class="num">event-loop p99</th><th class="num">CPU</th><th class="num">RSS peak</th></tr></thead><tbody>${row(
    'all',
    g.workers.reduce((n, w) => n + w.clients, 0),
    g.eventLoopDelayP99Us,
    g.cpuPercent,
    g.rssBytesPeak,
    'total',
  )}${g.workers.map((w) => row(String(w.id), w.clients, w.eventLoopDelayP99Us, w.cpuPercent, w.rssBytesPeak)).join('')}</tbody></table>`;
}

function runInfo(r: Report): string {
  const m = r.machine;
  const rows: Array<[string, string]> = [
    ['scenario', r.scenario.name],
    ['description', r.scenario.description ?? ''],
    ['target', `${r.target.kind} ${r.target.protocol}, ${r.target.nodes} node${r.target.nodes === 1 ? '' : 's'}`],
    ['urls', r.target.urls.join('  ')],
    ['started', r.startedAt],
    ['ended', r.endedAt],
    ['tool', `${r.tool.name} ${r.tool.version}${r.git ? ` (${r.git.sha})` : ''}`],
    ['machine', `${m.hostname}: ${m.platform}/${m.arch}, ${m.cpus} x ${m.cpuModel}, ${formatBytes(m.totalMemBytes)} RAM, node ${m.node}`],
  ];
  return `<h3>Run</h3><table class="kv"><tbody>${rows
    .filter(([, v]) => v !== '')
    .map(([k, v]) => `<tr><th>${h(k)}</th><td>${h(v)}</td></tr>`)
    .join('')}</tbody></table><details><summary>Options (raw)</summary><pre>${h(JSON.stringify(r.scenario.options, null, 2))}</pre></details>`;
}

function notesList(r: Report): string {
  if (r.notes.length === 0) return '';
  return `<h3>Notes</h3><ul class="notes">${r.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul>`;
}

function details(run: Run, multi: boolean): string {
  const r = run.report;
  return `<section class="details">${multi ? `<h2><span class="swatch" style="border-color:${h(run.color)}"></span>${h(run.label)}</h2>` : '<h2>Delivery, errors, nodes and generator</h2>'}
${countersTables(r)}
${nodesTable(r)}
${generatorTable(r)}
${serverSideTable(r)}
${notesList(r)}
${runInfo(r)}
</section>`;
}

/** The stylesheet of every wsbench HTML page (reports and the capacity page): light and dark, no external resources. */
export const PAGE_CSS = `
:root{--bg:#f6f7f9;--fg:#1f2937;--muted:#6b7280;--card:#fff;--line:#e5e7eb;--grid:#eceef1;--band0:#f1f5f9;--band1:#ffffff;--good:#15803d;--bad:#b91c1c;--warn:#b45309;--code:#f3f4f6}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--fg:#e5e7eb;--muted:#9ca3af;--card:#1a1f26;--line:#2d333b;--grid:#252b33;--band0:#1e252e;--band1:#1a1f26;--good:#4ade80;--bad:#f87171;--warn:#fbbf24;--code:#232a33}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px}
header h1{margin:0 0 4px;font-size:24px}
header .meta{color:var(--muted)}
h2{font-size:18px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:18px 0 8px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
code{background:var(--code);padding:1px 4px;border-radius:4px}
pre{background:var(--code);padding:10px;border-radius:6px;overflow:auto;max-height:420px}
.verdict{display:inline-block;margin-left:8px;padding:2px 10px;border-radius:999px;font-size:14px;vertical-align:middle;color:#fff}
.verdict.pass{background:#16a34a}.verdict.fail{background:#dc2626}
.banner{margin:16px 0;padding:12px 16px;border:2px solid #dc2626;background:#fee2e2;color:#7f1d1d;border-radius:8px;font-size:15px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(124px,1fr));gap:8px;margin:14px 0}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px;border-top:4px solid var(--line)}
.card.tone-ok{border-top-color:#16a34a}.card.tone-bad{border-top-color:#dc2626}.card.tone-warn{border-top-color:#f59e0b}
.card-label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card-value{font-size:21px;font-weight:650;margin:2px 0;font-variant-numeric:tabular-nums}
.card.tone-bad .card-value{color:var(--bad)}.card.tone-ok .card-value{color:var(--good)}
.card-sub{color:var(--muted);font-size:12px}
.run-label{margin:18px 0 0;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:12px}
.charts.small{grid-template-columns:repeat(auto-fill,minmax(380px,1fr))}
.chart-card{margin:0;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 12px}
.chart-card figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;display:block;font-size:11px}
svg.chart .grid{stroke:var(--grid);stroke-width:1}
svg.chart .axis{stroke:var(--muted);stroke-width:1}
svg.chart .tick,svg.chart .axis-label{fill:var(--muted)}
svg.chart .band-0{fill:var(--band0)}svg.chart .band-1{fill:var(--band1)}
svg.chart .band-label{fill:var(--muted);font-style:italic;font-size:10.5px}
svg.chart .line{fill:none;stroke-width:2;stroke-linejoin:round;stroke-linecap:round}
svg.chart .line.dashed{stroke-dasharray:5 4;stroke-width:1.6}
svg.chart .area{opacity:.12;stroke:none}
svg.chart .marker-fault line{stroke:${FAULT_COLOR};stroke-width:1.5;stroke-dasharray:4 3}
svg.chart .marker-fault text{fill:${FAULT_COLOR};font-weight:600;font-size:11px}
svg.chart .marker-head{fill:${FAULT_COLOR}}
svg.chart .marker-note line{stroke:var(--muted);stroke-width:1;stroke-dasharray:1 3}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;color:var(--muted);margin-bottom:2px}
.key{display:inline-flex;align-items:center;gap:5px}
.swatch{display:inline-block;width:18px;height:0;border-top:3px solid;vertical-align:middle;margin-right:6px}
.key .swatch{margin-right:0}
.swatch.dashed{border-top-style:dashed}
table{border-collapse:collapse;background:var(--card);border:1px solid var(--line);border-radius:6px;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.num{text-align:right;white-space:nowrap}
td.bad,.bad{color:var(--bad);font-weight:600}.good{color:var(--good)}
tr.total td{font-weight:600}
table.kv th{color:var(--muted);font-weight:500;width:110px}
.pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:700;color:#fff}
.pill.pass{background:#16a34a}.pill.fail{background:#dc2626}.pill.unverified{background:#d97706}
tr.unverified td{background:rgba(217,119,6,.08)}
tr.fail td{background:rgba(220,38,38,.06)}
.tag{font-size:11px;padding:1px 6px;border-radius:4px;background:var(--code)}
.tag-fault{background:#fee2e2;color:#991b1b}.tag-phase{background:#e0e7ff;color:#3730a3}
.cols{display:flex;flex-wrap:wrap;gap:8px 28px}
.hint,.muted{color:var(--muted);font-size:12px;margin:4px 0 0}
.notes li{margin:2px 0}
details summary{cursor:pointer;color:var(--muted);margin:6px 0}
footer{margin:32px 0 8px;color:var(--muted);font-size:12px}
`;

/**
 * Render one report, or several overlaid on the same charts, as one
 * self-contained HTML document: summary cards, latency percentile spectra on
 * the HdrHistogram log axis, per-second series with phase bands and fault
 * markers, checks and gates, ledger and counters, nodes, generator health,
 * notes, run details and raw options.
 */
export function renderHtml(input: Report | Report[], opts: HtmlOptions = {}): string {
  const reports = Array.isArray(input) ? input : [input];
  if (reports.length === 0) throw new TypeError('renderHtml needs at least one report');
  const labels = reportLabels(reports, opts.labels);
  const runs: Run[] = reports.map((report, i) => ({ report, label: labels[i]!, color: PALETTE[i % PALETTE.length]! }));
  const multi = runs.length > 1;
  const scenarios = [...new Set(reports.map((r) => r.scenario.name))];
  const title = opts.title ?? `wsbench: ${scenarios.join(', ')}`;
  const first = reports[0]!;
  const allPassed = runs.every((r) => verdictOf(r.report).passed);
  const meta = multi
    ? `${runs.length} runs overlaid`
    : `${first.target.kind} ${first.target.protocol} · ${first.target.nodes} node${first.target.nodes === 1 ? '' : 's'} · ${formatDuration(first.durationMs * 1000)} · started ${first.startedAt} · ${first.tool.name} ${first.tool.version}`;

  const summary = runs
    .map((run) => `${multi ? `<div class="run-label"><span class="swatch" style="border-color:${h(run.color)}"></span>${h(run.label)}</div>` : ''}${cards(run)}`)
    .join('');

  return htmlPage({
    title,
    generator: `${first.tool.name} ${first.tool.version}`,
    header: `<h1>${h(title)}<span class="verdict ${allPassed ? 'pass' : 'fail'}">${allPassed ? 'PASS' : 'FAIL'}</span></h1>
<div class="meta">${h(meta)}</div>
${first.scenario.description && !multi ? `<p>${h(first.scenario.description)}</p>` : ''}
`,
    body: `${runs.map((run) => saturationBanner(run, multi)).join('')}
<section id="summary">${summary}</section>
<section id="verdicts">
<h2>Checks and gates</h2>
${runs.map((run) => `${multi ? `<div class="run-label"><span class="swatch" style="border-color:${h(run.color)}"></span>${h(run.label)}</div>` : ''}${verdictTables(run.report)}`).join('')}
</section>
<section id="latency">
<h2>Latency</h2>
${latencyTable(runs)}
<h3>Percentile spectrum</h3>
<p class="hint">Latency at each percentile; the x axis stretches the tail (90%, 99%, 99.9%, ...) as HdrHistogram plots do.</p>
${spectrumCharts(runs)}
</section>
<section id="series">
<h2>Over time</h2>
<p class="hint">One point per second. Shaded bands are phases; red dashed lines are injected faults, grey dotted lines are notes (hover for details).</p>
${seriesCharts(runs)}
${timelineTable(runs)}
</section>
${multi ? '' : trafficCharts(first.variants)}
${runs.map((run) => details(run, multi)).join('\n')}
`,
    footer: `Generated by ${h(first.tool.name)} ${h(first.tool.version)} from ${multi ? `${runs.length} reports` : 'the JSON report'} (${h(first.schema)}). Self-contained: no network access needed.`,
  });
}

/** The parts of one self-contained wsbench HTML page; every string but `title` and `generator` is HTML. */
export interface HtmlPageParts {
  /** Page title, plain text. */
  title: string;
  /** The `generator` meta tag, plain text (e.g. `wsbench 0.1.0`); omitted when undefined. */
  generator?: string;
  /** Inside `<header>`: the `<h1>` and the meta line. */
  header: string;
  /** The sections between header and footer. */
  body: string;
  /** Inside `<footer>`. */
  footer: string;
  /** Extra CSS after {@link PAGE_CSS} (default none). */
  css?: string;
}

/** The shell every wsbench HTML page shares: doctype, head with {@link PAGE_CSS}, `<main>` with header, body, footer. No script, no network. */
export function htmlPage(p: HtmlPageParts): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${p.generator === undefined ? '' : `<meta name="generator" content="${h(p.generator)}">\n`}<title>${h(p.title)}</title>
<style>${PAGE_CSS}${p.css ?? ''}</style>
</head>
<body>
<main>
<header>
${p.header}</header>
${p.body}<footer>${p.footer}</footer>
</main>
</body>
</html>
`;
}

/**
 * The "Over time" charts of a report in progress (series, timeline and duration so
 * far), exactly as the HTML report draws them: the live page (`--live`) sends this
 * markup once a second.
 */
export function renderSeriesCharts(live: Pick<Report, 'series' | 'timeline' | 'durationMs'>): string {
  return seriesCharts([{ report: live as Report, label: '', color: PALETTE[0]! }]);
}
