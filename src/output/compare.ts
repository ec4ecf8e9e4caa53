/** The side-by-side table of `wsbench compare` (rows computed by src/gates). */
import picocolors from 'picocolors';
import { formatCount, formatDeltaPct, formatDuration, formatRate } from './format.ts';
import { plainTable } from './table.ts';
import type { CompareOptions, CompareRow, CompareUnit } from './types.ts';

/** A compared value in its unit: `12.3ms`, `1,234`, `45.6k/s`. */
export function formatCompareValue(value: number, unit: CompareUnit): string {
  if (unit === 'us') return formatDuration(value);
  if (unit === 'rate') return formatRate(value);
  return formatCount(value);
}

/**
 * Render compare rows as a console table (metric, base, next, delta, verdict)
 * followed by a one-line summary. Empty rows give a one-line message.
 */
export function renderCompare(rows: CompareRow[], opts: CompareOptions = {}): string {
  const c = picocolors.createColors(opts.color ?? false);
  if (rows.length === 0) return 'Nothing to compare: the reports share no metric.';
  const t = plainTable({
    compact: true,
    head: ['metric', opts.baseLabel ?? 'base', opts.nextLabel ?? 'next', 'delta', 'verdict'].map((h) => c.bold(h)),
    colAligns: ['left', 'right', 'right', 'right', 'left'],
  });
  for (const row of rows) {
    const delta = formatDeltaPct(row.deltaPct);
    t.push([
      row.name,
      formatCompareValue(row.base, row.unit),
      formatCompareValue(row.next, row.unit),
      row.regressed ? c.red(delta) : delta,
      row.regressed ? c.red(c.bold('REGRESSED')) : c.green('ok'),
    ]);
  }
  const regressed = rows.filter((r) => r.regressed).length;
  const summary = regressed === 0 ? c.green(`No regression in ${rows.length} compared value${rows.length === 1 ? '' : 's'}.`) : c.red(c.bold(`${regressed} of ${rows.length} compared values regressed.`));
  return `${t.toString()}\n${summary}`;
}
