/**
 * The traffic table of variants that change the payload's shape (`wsbench run payloads`):
 * per variant, deliveries/s, fan-out percentiles, the generator's deliveries per
 * CPU-second, server CPU per MB delivered and server memory per connection. Also the
 * HTML charts of the same figures.
 */
import type picocolors from 'picocolors';
import type { VariantSummary } from '../report/schema.ts';
import { formatBytes, formatCount, formatDuration } from './format.ts';
import { plainTable } from './table.ts';
import { escapeHtml as h } from './escape.ts';

const dash = (v: number | undefined, f: (x: number) => string) => (v === undefined ? '-' : f(v));

/** The text table (empty string when no row has traffic figures). */
export function renderTrafficVariants(rows: readonly VariantSummary[], c: ReturnType<typeof picocolors.createColors>): string {
  if (!rows.some((v) => v.traffic)) return '';
  const t = plainTable({
    compact: true,
    head: ['variant', 'payload', 'frames', 'deflate', 'deliveries/s', 'fanout p50', 'p99', 'p99.9', 'deliveries/CPU-s', 'server CPU/MB', 'server RSS/conn'].map((x) => c.bold(x)),
    colAligns: ['left', 'right', 'left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  for (const v of rows) {
    const f = v.traffic;
    if (!f) continue;
    t.push([
      v.label,
      formatBytes(f.payloadBytes),
      f.binary ? 'binary' : 'text',
      f.compression === 'off' ? 'off' : `${f.compression} (${formatCount(f.negotiated)} agreed)`,
      `${formatCount(f.deliveriesPerSec)}/s`,
      dash(f.fanoutP50Us, formatDuration),
      dash(f.fanoutP99Us, formatDuration),
      dash(f.fanoutP999Us, formatDuration),
      dash(f.deliveriesPerCpuSec, (x) => formatCount(Math.round(x))),
      dash(f.serverCpuMsPerMB, (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`),
      dash(f.serverRssPerConnBytes, formatBytes),
    ]);
  }
  return `Traffic, side by side (deliveries/CPU-s: the generator's; server figures from --scrape)\n${t.toString()}`;
}

/** One horizontal bar chart (SVG) of `value` per variant. */
function barChart(title: string, rows: ReadonlyArray<{ label: string; value: number | undefined }>, format: (x: number) => string): string {
  const known = rows.filter((r): r is { label: string; value: number } => r.value !== undefined && Number.isFinite(r.value));
  if (known.length === 0) return '';
  const max = Math.max(...known.map((r) => r.value), 1e-9);
  const rowH = 22;
  const labelW = 260;
  const barW = 360;
  const height = rows.length * rowH + 8;
  const bars = rows
    .map((r, i) => {
      const y = 4 + i * rowH;
      const w = r.value === undefined ? 0 : Math.max(1, (r.value / max) * barW);
      const text = r.value === undefined ? 'not measured' : format(r.value);
      return `<text x="${labelW - 6}" y="${y + 15}" text-anchor="end" class="tick">${h(r.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="${rowH - 8}" class="bar" fill="#4e79a7"></rect><text x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}" class="tick">${h(text)}</text>`;
    })
    .join('');
  return `<figure class="chart"><figcaption>${h(title)}</figcaption><svg class="chart" role="img" aria-label="${h(title)}" viewBox="0 0 ${labelW + barW + 120} ${height}" width="100%">${bars}</svg></figure>`;
}

/** The HTML section of traffic charts for a report's variants ('' when there are none). */
export function trafficCharts(rows: readonly VariantSummary[] | undefined): string {
  const withTraffic = (rows ?? []).filter((v) => v.traffic);
  if (withTraffic.length < 2) return '';
  const pick = (f: (v: NonNullable<VariantSummary['traffic']>) => number | undefined) => withTraffic.map((v) => ({ label: v.label, value: f(v.traffic!) }));
  return `<section id="traffic"><h2>Traffic variants, side by side</h2>
<p class="hint">One bar per variant. Deliveries per CPU-second are the generator's (its workers' CPU over the measured window); server figures come from the server's own metrics (--scrape).</p>
${barChart('Deliveries per second', pick((t) => t.deliveriesPerSec), (x) => `${formatCount(Math.round(x))}/s`)}
${barChart('Fan-out latency p99', pick((t) => t.fanoutP99Us), formatDuration)}
${barChart('Generator deliveries per CPU-second', pick((t) => t.deliveriesPerCpuSec), (x) => formatCount(Math.round(x)))}
${barChart('Server CPU per MB delivered', pick((t) => t.serverCpuMsPerMB), (x) => `${x.toFixed(2)} ms`)}
${barChart('Server RSS per connection', pick((t) => t.serverRssPerConnBytes), formatBytes)}
</section>`;
}
