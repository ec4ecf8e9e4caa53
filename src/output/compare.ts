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

/** `12.3ms (11.9..12.8ms)`: a value and its interval, when the row has one that differs from the value. */
function withInterval(value: number, interval: [number, number] | undefined, unit: CompareUnit): string {
  const v = formatCompareValue(value, unit);
  if (!interval || (interval[0] === value && interval[1] === value)) return v;
  return `${v} (${formatCompareValue(interval[0], unit)}..${formatCompareValue(interval[1], unit)})`;
}

/** The verdict cell: REGRESSED, `within noise`, `unjudged: why`, or ok. */
function verdictCell(row: CompareRow, c: ReturnType<typeof picocolors.createColors>): string {
  const verdict = row.verdict ?? (row.regressed ? 'regressed' : 'ok');
  if (verdict === 'regressed') return c.red(c.bold('REGRESSED'));
  if (verdict === 'noise') return c.yellow('within noise');
  if (verdict === 'unjudged') return c.dim(`unjudged: ${row.why ?? 'too few samples'}`);
  return c.green('ok');
}

/**
 * Render compare rows as a console table (metric, base and next with their 95%
 * intervals, delta, verdict) followed by a one-line summary that counts the rows
 * within noise and unjudged. Empty rows give a one-line message.
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
    t.push([row.name, withInterval(row.base, row.baseInterval, row.unit), withInterval(row.next, row.nextInterval, row.unit), row.regressed ? c.red(delta) : delta, verdictCell(row, c)]);
  }
  const regressed = rows.filter((r) => r.regressed).length;
  const noise = rows.filter((r) => r.verdict === 'noise').length;
  const unjudged = rows.filter((r) => r.verdict === 'unjudged').length;
  const extra = [noise ? `${noise} within noise` : '', unjudged ? `${unjudged} unjudged` : ''].filter(Boolean).join(', ');
  const tail = extra ? ` (${extra})` : '';
  const summary =
    regressed === 0
      ? c.green(`No regression in ${rows.length} compared value${rows.length === 1 ? '' : 's'}${tail}.`)
      : c.red(c.bold(`${regressed} of ${rows.length} compared values regressed${tail}.`));
  const legend = c.dim('Values in brackets: 95% intervals (order statistics of the histogram, widened by the spread of the measured seconds); see docs/CI.md.');
  return `${t.toString()}\n${summary}\n${legend}`;
}
