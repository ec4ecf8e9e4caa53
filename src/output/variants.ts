/** The side-by-side table of variants (`--set jitter=none,full`). */
import picocolors from 'picocolors';
import type { Report, VariantSummary } from '../report/schema.ts';
import { formatDuration, formatCount } from './format.ts';
import { plainTable } from './table.ts';
import { renderTrafficVariants } from './traffic-variants.ts';
import { shapesTraffic } from '../run/traffic-figures.ts';

type Colors = ReturnType<typeof picocolors.createColors>;

/** PASS, FAIL, or UNVERIFIED with the unverified checks' count (older reports: `passed` decides). */
function verdictCell(v: VariantSummary, c: Colors): string {
  const verdict = v.verdict ?? (v.passed ? 'passed' : 'failed');
  if (verdict === 'passed') return c.green('PASS');
  if (verdict === 'failed') return c.red('FAIL');
  const n = v.unverified?.length ?? 0;
  return c.yellow(n ? `UNVERIFIED (${n})` : 'UNVERIFIED');
}

/** The variants table (empty for fewer than two variants); unverified checks are listed under it. */
export function renderVariants(report: Report, opts: { color?: boolean } = {}): string {
  const rows = report.variants ?? [];
  if (rows.length < 2) return '';
  const c = picocolors.createColors(opts.color ?? false);
  const t = plainTable({
    compact: true,
    head: ['variant', 'verdict', 'herd peak', 'reconnect p50', 'p99', 'max', 'attempts', 'fanout p99', 'lost', 'dup'].map((h) => c.bold(h)),
    colAligns: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
  });
  const d = (us: number | undefined) => (us === undefined ? '-' : formatDuration(us));
  for (const v of rows) {
    t.push([
      v.label,
      verdictCell(v, c),
      `${formatCount(v.herdPeakPerSec)}/s`,
      d(v.reconnectP50Us),
      d(v.reconnectP99Us),
      d(v.reconnectMaxUs),
      v.reconnectAttemptsMean === undefined ? '-' : v.reconnectAttemptsMean.toFixed(2),
      d(v.fanoutP99Us),
      formatCount(v.lost),
      formatCount(v.duplicated),
    ]);
  }
  const why = rows.filter((v) => v.unverified?.length).map((v) => `  ${v.label}: unverified ${v.unverified!.join(', ')} (see that variant's checks for the reason)`);
  const traffic = rows.some((v) => shapesTraffic(v.label)) ? `\n${renderTrafficVariants(rows, c)}` : '';
  return `Variants, side by side\n${t.toString()}${why.length ? `\n${why.join('\n')}` : ''}${traffic}`;
}
