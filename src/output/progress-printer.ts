/**
 * Prints the progress line: rewritten in place on a terminal, a plain line at
 * most every `intervalMs` elsewhere, nothing when quiet.
 */
import { renderProgressLine } from './progress-line.ts';
import type { ProgressPrinter, ProgressPrinterOptions, ProgressState } from './types.ts';

const CLEAR_TO_EOL = '\x1b[K';

/**
 * Create the printer the run module calls once a second.
 * Defaults: `tty` from `stream.isTTY`, `quiet` false, `intervalMs` 5000.
 */
export function createProgressPrinter(stream: NodeJS.WriteStream, opts: ProgressPrinterOptions = {}): ProgressPrinter {
  const tty = opts.tty ?? Boolean(stream.isTTY);
  const quiet = opts.quiet ?? false;
  const intervalMs = opts.intervalMs ?? 5000;
  const now = opts.now ?? Date.now;
  const color = opts.color ?? !process.env.NO_COLOR;
  let lastPrintedAt: number | undefined;
  let pending: ProgressState | undefined;
  let lineOpen = false;

  function printPlain(state: ProgressState, at: number): void {
    stream.write(`${renderProgressLine(state, { tty: false, nowMs: at })}\n`);
    lastPrintedAt = at;
    pending = undefined;
  }

  return {
    update(state) {
      if (quiet) return;
      if (tty) {
        stream.write(`\r${renderProgressLine(state, { tty: true, width: stream.columns || 80, color })}${CLEAR_TO_EOL}`);
        lineOpen = true;
        return;
      }
      const at = now();
      if (lastPrintedAt === undefined || at - lastPrintedAt >= intervalMs) printPlain(state, at);
      else pending = state;
    },
    clear() {
      // Make room for a line of text; the next update draws the progress line again.
      if (quiet || !tty || !lineOpen) return;
      stream.write(`\r${CLEAR_TO_EOL}`);
      lineOpen = false;
    },
    done() {
      if (quiet) return;
      if (tty) {
        if (lineOpen) stream.write('\n');
        lineOpen = false;
        return;
      }
      if (pending) printPlain(pending, now());
      lastPrintedAt = undefined;
    },
  };
}
