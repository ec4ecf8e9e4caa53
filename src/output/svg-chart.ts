/**
 * A small SVG line-chart renderer for the HTML report: linear axes with "nice"
 * ticks (or ticks given by the caller), lines with gaps, shaded bands (phases)
 * and vertical markers (faults, notes). Returns markup; every text is escaped.
 * Styling comes from CSS classes defined in html.ts, so dark mode works.
 */
import { escapeHtml as h } from './escape.ts';

/** One series of an SVG chart: label, CSS colour and [x, y] points in data units (x usually seconds since the start). */
export interface ChartLine {
  label: string;
  color: string;
  /** [x, y] pairs in data units; a `null` y breaks the line (no sample that second). */
  points: Array<[number, number | null]>;
  dashed?: boolean;
  /** Fill the area under the line, lightly. */
  area?: boolean;
  /** Draw a dot at every point (for sparse data). */
  dots?: boolean;
}

/** A shaded stretch of the x axis from `from` to `to` (data units), e.g. a run phase, with its label. */
export interface ChartBand {
  from: number;
  to: number;
  label: string;
}

/** A vertical line at x = `at` (data units): a fault (`fault`) or a remark (`note`), with a label and an optional tooltip `detail`. */
export interface ChartMarker {
  at: number;
  label: string;
  kind: 'fault' | 'note';
  detail?: string;
  color?: string;
}

/** One axis tick: its position in data units and the text printed there. */
export interface ChartTick {
  value: number;
  label: string;
}

/** Everything an SVG line chart shows: lines, axes (domains and ticks in data units, defaults from the points), bands and markers. */
export interface ChartSpec {
  /** Accessible name of the chart (the visible title is the caller's). */
  title: string;
  lines: ChartLine[];
  xLabel?: string;
  /** Fixed x ticks; default: nice ticks over the domain, formatted by `xFormat`. */
  xTicks?: ChartTick[];
  xFormat?: (x: number) => string;
  /** Data domain of x; default: the extent of every point. */
  xDomain?: [number, number];
  yFormat: (y: number) => string;
  /** Upper bound of the y axis at least this; the lower bound is 0. */
  yMin?: number;
  bands?: ChartBand[];
  markers?: ChartMarker[];
  width?: number;
  height?: number;
}

/** Ticks at 1, 2 or 5 times a power of ten covering [0, max], about `count` of them. */
export function niceTicks(max: number, count = 5): number[] {
  if (!(max > 0) || !Number.isFinite(max)) return [0, 1];
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let v = 0; v < max + step * 0.999; v += step) ticks.push(Math.round(v / step) * step);
  return ticks;
}

function num(v: number): string {
  return (Math.round(v * 10) / 10).toString();
}

// The right margin holds half of the last x label (`99.999%`), centred on its tick.
const MARGIN = { top: 22, right: 30, bottom: 34, left: 62 };

/** Render a chart as an `<svg>` element that scales to its container's width. */
export function renderLineChart(spec: ChartSpec): string {
  const width = spec.width ?? 560;
  const height = spec.height ?? 240;
  const plotW = width - MARGIN.left - MARGIN.right;
  const plotH = height - MARGIN.top - MARGIN.bottom;

  const xs: number[] = [];
  let yMax = spec.yMin ?? 0;
  for (const line of spec.lines) {
    for (const [x, y] of line.points) {
      if (!Number.isFinite(x)) continue;
      xs.push(x);
      if (y !== null && Number.isFinite(y)) yMax = Math.max(yMax, y);
    }
  }
  const [x0, x1] = spec.xDomain ?? [Math.min(0, ...xs), xs.length ? Math.max(...xs) : 1];
  const xSpan = x1 - x0 || 1;
  const yTicks = niceTicks(yMax > 0 ? yMax : 1);
  const yTop = yTicks[yTicks.length - 1]!;
  const sx = (x: number) => MARGIN.left + ((x - x0) / xSpan) * plotW;
  const sy = (y: number) => MARGIN.top + plotH - (y / yTop) * plotH;
  const out: string[] = [];
  out.push(
    `<svg class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${h(spec.title)}" xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">`,
  );
  out.push(`<title>${h(spec.title)}</title>`);

  // Phase bands behind everything, alternating shades, label in the top margin.
  (spec.bands ?? []).forEach((band, i) => {
    const a = sx(Math.max(x0, band.from));
    const b = sx(Math.min(x1, band.to));
    if (b <= a) return;
    out.push(`<rect class="band band-${i % 2}" x="${num(a)}" y="${MARGIN.top}" width="${num(b - a)}" height="${plotH}"><title>${h(`phase ${band.label}`)}</title></rect>`);
    if (b - a > 30) out.push(`<text class="band-label" x="${num(a + 4)}" y="${MARGIN.top + 11}">${h(band.label)}</text>`);
  });

  // Grid and y axis.
  for (const t of yTicks) {
    const y = sy(t);
    out.push(`<line class="grid" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${num(y)}" y2="${num(y)}"/>`);
    out.push(`<text class="tick" x="${MARGIN.left - 6}" y="${num(y + 3.5)}" text-anchor="end">${t === 0 ? '0' : h(spec.yFormat(t))}</text>`);
  }
  const xTicks = spec.xTicks ?? niceTicks(x1 - x0, 6).map((v) => ({ value: x0 + v, label: (spec.xFormat ?? String)(x0 + v) }));
  for (const t of xTicks) {
    if (t.value < x0 - 1e-9 || t.value > x1 + 1e-9) continue;
    const x = sx(t.value);
    out.push(`<line class="grid grid-x" x1="${num(x)}" x2="${num(x)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`);
    out.push(`<text class="tick" x="${num(x)}" y="${MARGIN.top + plotH + 14}" text-anchor="middle">${h(t.label)}</text>`);
  }
  out.push(`<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH}"/>`);
  out.push(`<line class="axis" x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}"/>`);
  if (spec.xLabel) out.push(`<text class="axis-label" x="${MARGIN.left + plotW / 2}" y="${height - 4}" text-anchor="middle">${h(spec.xLabel)}</text>`);

  // Lines: one <polyline> per unbroken run of points.
  for (const line of spec.lines) {
    const runs: Array<Array<[number, number]>> = [];
    let run: Array<[number, number]> = [];
    for (const [x, y] of line.points) {
      if (y === null || !Number.isFinite(y) || !Number.isFinite(x)) {
        if (run.length) runs.push(run);
        run = [];
        continue;
      }
      run.push([sx(x), sy(y)]);
    }
    if (run.length) runs.push(run);
    const label = h(line.label);
    for (const r of runs) {
      const pts = r.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
      if (line.area && r.length > 1) {
        const base = num(MARGIN.top + plotH);
        out.push(`<polygon class="area" fill="${h(line.color)}" points="${num(r[0]![0])},${base} ${pts} ${num(r[r.length - 1]![0])},${base}"/>`);
      }
      out.push(
        `<polyline class="line${line.dashed ? ' dashed' : ''}" stroke="${h(line.color)}" points="${pts}" data-series="${label}"><title>${label}</title></polyline>`,
      );
    }
    if (line.dots) {
      for (const [x, y] of line.points) {
        if (y === null || !Number.isFinite(y)) continue;
        out.push(`<circle class="dot" cx="${num(sx(x))}" cy="${num(sy(y))}" r="3" fill="${h(line.color)}"><title>${label}: ${h(spec.yFormat(y))}</title></circle>`);
      }
    }
  }

  // Markers on top: faults loud (red, labelled), notes quiet (grey, tooltip only).
  for (const m of spec.markers ?? []) {
    if (m.at < x0 || m.at > x1) continue;
    const x = num(sx(m.at));
    const title = h(`${m.kind}: ${m.label}${m.detail ? ` (${m.detail})` : ''}`);
    const color = m.color ? ` stroke="${h(m.color)}"` : '';
    out.push(`<g class="marker marker-${m.kind}"><title>${title}</title>`);
    out.push(`<line x1="${x}" x2="${x}" y1="${MARGIN.top - 4}" y2="${MARGIN.top + plotH}"${color}/>`);
    if (m.kind === 'fault') {
      const anchorEnd = sx(m.at) > MARGIN.left + plotW * 0.7;
      out.push(`<path class="marker-head" d="M${x} ${MARGIN.top - 2} l-5 -8 h10 z"/>`);
      out.push(`<text x="${num(sx(m.at) + (anchorEnd ? -8 : 8))}" y="${MARGIN.top - 4}" text-anchor="${anchorEnd ? 'end' : 'start'}">${h(m.label)}</text>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('');
}
