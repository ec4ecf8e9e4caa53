/**
 * The target's own metrics (`report.server`, from `--scrape`) as label/value rows,
 * shared by the console table, Markdown and HTML so they say the same thing.
 */
import type { Report, ServerSide } from '../report/schema.ts';
import { formatBytes, formatDuration, formatPercent } from './format.ts';

const PLURAL: Record<string, string> = { primary: 'primaries', worker: 'workers', single: 'processes' };

/**
 * Which processes the CPU figure covers: `, whole node: primary 0.21 s + 2 workers 3.1 s`
 * (the bundled server's node-wide series), or that it is only the process that answered.
 */
function cpuCoverageText(s: ServerSide): string {
  if (s.cpuCoverage === 'process') return ', the process that answered each scrape only';
  if (s.cpuCoverage !== 'node' || !s.processes?.length) return '';
  const byRole = new Map<string, { n: number; cpu: number }>();
  for (const p of s.processes) {
    const r = byRole.get(p.role) ?? { n: 0, cpu: 0 };
    r.n++;
    r.cpu += p.cpuSeconds;
    byRole.set(p.role, r);
  }
  const parts = [...byRole].map(([role, r]) => `${r.n > 1 ? `${r.n} ${PLURAL[role] ?? role}` : role === 'single' ? 'process' : role} ${Math.round(r.cpu * 1000) / 1000} s`);
  return `, whole node${s.urls.length > 1 ? 's' : ''}: ${parts.join(' + ')}`;
}

/** Rows of what the server said about itself; empty when nothing was scraped. */
export function serverSideRows(s: ServerSide | undefined): Array<[string, string]> {
  if (!s) return [];
  const rows: Array<[string, string]> = [];
  if (s.rssBytesStart !== undefined) rows.push(['memory (RSS)', `${formatBytes(s.rssBytesStart)} -> ${formatBytes(s.rssBytesEnd ?? 0)} (peak ${formatBytes(s.rssBytesPeak ?? 0)})`]);
  if (s.rssSlopeBytesPerHour !== undefined) rows.push(['memory slope', `${formatBytes(s.rssSlopeBytesPerHour)}/h${s.rssFloorsRising ? ', rising through the window' : ''}`]);
  if (s.heapBytesStart !== undefined) rows.push(['live memory (heap + Buffers)', `${formatBytes(s.heapBytesStart)} -> ${formatBytes(s.heapBytesEnd ?? 0)}, ${formatBytes(s.heapSlopeBytesPerHour ?? 0)}/h${s.heapFloorsRising ? ', rising through the window' : ''}`]);
  if (s.cpuPercentMean !== undefined) rows.push(['CPU', `${formatPercent(s.cpuPercentMean)} of a core (${s.cpuSeconds ?? 0} s)${cpuCoverageText(s)}`]);
  if (s.eventLoopLagMaxMs !== undefined) rows.push(['event-loop lag max', formatDuration(s.eventLoopLagMaxMs * 1000)]);
  rows.push(['scraped', `${s.urls.join(', ')}: ${s.scrapes} ok, ${s.failures} failed`]);
  return rows;
}

/** The per-second series of the server side worth a chart: key, title, unit formatter. */
export const SERVER_SERIES: ReadonlyArray<{ key: string; title: string; format: (v: number) => string }> = [
  { key: 'server.rss', title: 'Server memory (RSS)', format: formatBytes },
  { key: 'server.heap', title: 'Server live memory (V8 heap + Buffers)', format: formatBytes },
  { key: 'server.cpu', title: 'Server CPU (% of a core)', format: (v) => formatPercent(v) },
];

/** Whether a report has a scraped server side. */
export function hasServerSide(r: Report): boolean {
  return r.server !== undefined && (r.server.scrapes > 0 || r.server.failures > 0);
}
