/**
 * The live progress line. On a terminal: one coloured line, rewritten in place,
 * that always fits the terminal width. Elsewhere (CI logs): a plain timestamped
 * `key=value` line the caller prints every few seconds.
 */
import picocolors from 'picocolors';
import { formatClock, formatCount, formatDuration, formatRate } from './format.ts';
import type { ProgressLineOptions, ProgressState } from './types.ts';

type Colors = ReturnType<typeof picocolors.createColors>;
type Paint = (s: string) => string;

interface Segment {
  text: string;
  paint: Paint;
  /** Lower is dropped first when the line is too wide. */
  priority: number;
}

const plain: Paint = (s) => s;

function segments(state: ProgressState, pc: Colors): Segment[] {
  const pct = state.totalMs > 0 ? Math.min(100, Math.floor((state.elapsedMs / state.totalMs) * 100)) : 0;
  const errorsPaint: Paint = state.errors > 0 ? pc.red : pc.dim;
  return [
    { text: `[${state.phase}]`, paint: pc.cyan, priority: 10 },
    { text: `${formatClock(state.elapsedMs)}/${formatClock(state.totalMs)}`, paint: pc.bold, priority: 9 },
    { text: `${pct}%`, paint: pc.dim, priority: 2 },
    {
      text: `conn ${formatCount(state.clientsConnected, { compact: true })}/${formatCount(state.clientsTarget, { compact: true })}`,
      paint: state.clientsConnected < state.clientsTarget ? pc.yellow : plain,
      priority: 8,
    },
    { text: `sent ${formatRate(state.sentPerSec)}`, paint: plain, priority: 6 },
    { text: `recv ${formatRate(state.receivedPerSec)}`, paint: plain, priority: 7 },
    { text: `fanout p99 ${state.fanoutP99Us > 0 ? formatDuration(state.fanoutP99Us) : '-'}`, paint: pc.magenta, priority: 5 },
    { text: `err ${formatCount(state.errors, { compact: true })}`, paint: errorsPaint, priority: 4 },
    { text: state.scenario, paint: pc.dim, priority: 1 },
  ];
}

const SEPARATOR = '  ';

/** Visible length of a line built from segment texts. */
function visibleLength(parts: Segment[]): number {
  return parts.reduce((n, p) => n + [...p.text].length, 0) + SEPARATOR.length * Math.max(0, parts.length - 1);
}

/**
 * Render the progress line.
 *
 * - `tty: true`: the most important fields that fit in `width` columns (default 80,
 *   one column kept free so the cursor never wraps), coloured unless `color: false`. No newline, no
 *   control codes: the printer adds the carriage return and clear-to-end-of-line.
 * - `tty: false`: `2024-05-01T12:00:05.000Z broadcast phase=steady elapsed=12s/30s ...`,
 *   every field, no colour, no newline.
 */
export function renderProgressLine(state: ProgressState, opts: ProgressLineOptions): string {
  if (!opts.tty) {
    const stamp = new Date(opts.nowMs ?? Date.now()).toISOString();
    return [
      stamp,
      state.scenario,
      `phase=${state.phase}`,
      `elapsed=${formatClock(state.elapsedMs)}/${formatClock(state.totalMs)}`,
      `connected=${state.clientsConnected}/${state.clientsTarget}`,
      `sent/s=${Math.round(state.sentPerSec)}`,
      `deliveries/s=${Math.round(state.receivedPerSec)}`,
      `fanout.p99=${state.fanoutP99Us > 0 ? formatDuration(state.fanoutP99Us) : '-'}`,
      `errors=${state.errors}`,
    ].join(' ');
  }
  const width = Math.max(10, (opts.width ?? 80) - 1);
  let parts = segments(state, picocolors.createColors(opts.color ?? true));
  while (parts.length > 1 && visibleLength(parts) > width) {
    const lowest = parts.reduce((min, p) => (p.priority < min.priority ? p : min));
    parts = parts.filter((p) => p !== lowest);
  }
  if (visibleLength(parts) > width) {
    // Only the phase is left and it is still too wide: cut it.
    const only = parts[0]!;
    return only.paint([...only.text].slice(0, width).join(''));
  }
  return parts.map((p) => p.paint(p.text)).join(SEPARATOR);
}
